// The desktop client's window: the conversations on the left, the chat on
// the right, the operator console in a second tab when the key's role allows
// it, and a status bar with the connection. It owns the API client and the
// chat backend (a server's, or the local model's in local mode, which has no
// console: there is no server to administer) and turns every failure into a
// message a person can act on: a rate limit counts down from Retry-After and
// sends again by itself.
#ifndef CHATBOT_DESKTOP_MAIN_WINDOW_H_
#define CHATBOT_DESKTOP_MAIN_WINDOW_H_

#include <QMainWindow>
#include <QStringList>
#include <memory>

#include "desktop/api_client.h"
#include "desktop/chat_backend.h"
#include "desktop/client_settings.h"

class QLabel;
class QTabWidget;
class QTimer;

namespace chatbot::desktop {

class ConversationView;
class MessageInput;
class OperatorConsole;
class SessionList;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  MainWindow(std::unique_ptr<ClientSettings> settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Connects with the stored settings: welcome, sessions, console probe, and
  // the last session reopened.
  void start();

  ApiClient* api() const { return api_; }
  ChatBackend* backend() const { return backend_; }
  bool localMode() const { return local_; }
  ConversationView* conversation() const { return conversation_; }
  MessageInput* input() const { return input_; }
  SessionList* sessions() const { return sessions_; }
  OperatorConsole* console() const { return console_; }
  QTabWidget* tabs() const { return tabs_; }
  bool consoleVisible() const;
  QString currentSession() const { return session_id_; }
  QString bannerText() const;
  QString connectionText() const;
  bool busy() const { return waiting_; }

 public Q_SLOTS:
  // Sends `text`, showing `shown` (empty: the text) as the user's message.
  void sendMessage(const QString& text, const QString& shown = QString());
  void newConversation();
  void openSession(const QString& id);
  void showSettings();
  void showChat();
  void showConsole();

 protected:
  void closeEvent(QCloseEvent* event) override;
  void changeEvent(QEvent* event) override;

 private:
  void buildMenus();
  void applyConnection();
  void useBackend(ChatBackend* backend);
  void loadWelcome();
  void sendNext();
  void onReplied(const QString& session_id, const ChatTurn& turn);
  void onFailed(const QString& what, const ApiReply& reply, const QString& text);
  void onAnswered(const ApiReply& reply);
  void showBanner(const QString& text, bool error);
  void hideBanner();
  void startRetryCountdown(int seconds);
  void setConnection(const QString& text, const QString& state);

  std::unique_ptr<ClientSettings> settings_;
  ApiClient* api_;
  ChatBackend* backend_ = nullptr;
  bool local_ = false;
  QTabWidget* tabs_;
  SessionList* sessions_;
  ConversationView* conversation_;
  MessageInput* input_;
  QLabel* banner_;
  // The service notice (docs/desktop.md): above the conversation while one
  // is shown.
  QLabel* notice_;
  OperatorConsole* console_;
  QWidget* chat_page_;
  QLabel* connection_;
  QLabel* key_label_;
  QTimer* countdown_;
  QString session_id_;
  QStringList outbox_;  // messages waiting to be sent, in order
  bool waiting_ = false;
  int retry_left_s_ = 0;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_MAIN_WINDOW_H_
