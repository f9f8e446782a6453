// The console's lockdown switch (admin role): the state (GET
// /v1/admin/lockdown) and one button that starts or ends it after a
// confirmation, with a reason (POST /v1/admin/lockdown).
#ifndef CHATBOT_DESKTOP_LOCKDOWN_PANEL_H_
#define CHATBOT_DESKTOP_LOCKDOWN_PANEL_H_

#include <QWidget>

#include "desktop/api_client.h"

class QLabel;
class QLineEdit;
class QPushButton;

namespace chatbot::desktop {

class LockdownPanel : public QWidget {
  Q_OBJECT

 public:
  LockdownPanel(ApiClient* api, QWidget* parent = nullptr);

  bool isOn() const { return on_; }

 public Q_SLOTS:
  void refresh();
  // Asks for confirmation, then switches.
  void toggle();

 Q_SIGNALS:
  void changed(bool on);
  void message(const QString& text, bool ok);

 private:
  void display(const QJsonObject& lockdown);

  ApiClient* api_;
  QLabel* state_;
  QLineEdit* reason_;
  QPushButton* button_;
  bool on_ = false;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_LOCKDOWN_PANEL_H_
