// The look: the Fusion style with the system's palette (light or dark), or a
// light or dark palette of our own when CHATBOT_DESKTOP_THEME says so (for
// screenshots and for people who prefer one), and a style sheet derived from
// whichever palette is in force. Sizes are in font units (em), so the window
// stays in proportion at 200 % scale.
#ifndef CHATBOT_DESKTOP_THEME_H_
#define CHATBOT_DESKTOP_THEME_H_

#include <QPalette>
#include <QString>

class QApplication;

namespace chatbot::desktop {

enum class ThemeChoice { kSystem, kLight, kDark };

// "light", "dark", anything else: the system's.
ThemeChoice ThemeFromName(const QString& name);
QPalette LightPalette();
QPalette DarkPalette();
bool IsDark(const QPalette& palette);

// Sets the style, the palette and the style sheet on the application.
void ApplyTheme(QApplication& app, ThemeChoice choice);
// The style sheet for `palette` (public for re-applying on a palette change).
QString StyleSheetFor(const QPalette& palette);

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_THEME_H_
