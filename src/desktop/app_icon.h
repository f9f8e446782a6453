// The application's icon (the same drawing as deploy/desktop/
// chatbot-desktop.svg), painted at run time at every size the window system
// asks for: Qt's base packages have no SVG icon engine, and a painted icon is
// sharp at any scale.
#ifndef CHATBOT_DESKTOP_APP_ICON_H_
#define CHATBOT_DESKTOP_APP_ICON_H_

#include <QIcon>

namespace chatbot::desktop {

QIcon AppIcon();

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_APP_ICON_H_
