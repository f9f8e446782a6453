// The operator's console: monitoring, the review queue, and for admins the
// API keys and the lockdown switch. Which parts exist follows from what the
// server answers for the key in use (GET /v1/model for operators, GET
// /v1/admin/lockdown for admins): the client only hides what the server
// would refuse anyway, and adds no privilege.
#ifndef CHATBOT_DESKTOP_OPERATOR_CONSOLE_H_
#define CHATBOT_DESKTOP_OPERATOR_CONSOLE_H_

#include <QWidget>

#include "desktop/api_client.h"

class QLabel;
class QTabWidget;

namespace chatbot::desktop {

class KeysPanel;
class LockdownPanel;
class MonitoringPanel;
class ReviewPanel;

enum class ConsoleAccess { kUnknown, kNone, kOperator, kAdmin };

class OperatorConsole : public QWidget {
  Q_OBJECT

 public:
  OperatorConsole(ApiClient* api, QWidget* parent = nullptr);

  // Asks the server what this key may do; accessChanged() follows.
  void probe();
  ConsoleAccess access() const { return access_; }
  // Monitoring polls only while the console is on screen.
  void setActive(bool active);

  MonitoringPanel* monitoring() const { return monitoring_; }
  ReviewPanel* review() const { return review_; }
  KeysPanel* keys() const { return keys_; }
  LockdownPanel* lockdown() const { return lockdown_; }
  QTabWidget* tabs() const { return tabs_; }

 Q_SIGNALS:
  void accessChanged(chatbot::desktop::ConsoleAccess access);
  void message(const QString& text, bool ok);

 private:
  void setAccess(ConsoleAccess access);

  ApiClient* api_;
  QTabWidget* tabs_;
  MonitoringPanel* monitoring_;
  ReviewPanel* review_;
  KeysPanel* keys_;
  LockdownPanel* lockdown_;
  ConsoleAccess access_ = ConsoleAccess::kUnknown;
  int probe_generation_ = 0;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_OPERATOR_CONSOLE_H_
