// ChatBackend in this process, for offline use and demos: no server. The
// classifier, the dialogue engine and the welcome come from a models
// directory through dialogue/chat_models.h, as the server loads them, and
// every turn goes through the shared chat use case (dialogue::ChatService),
// so clarifying questions and fallbacks behave as with a server. Sessions are
// kept in an SQLite session store in the user's data directory (created
// private, 0700), so the session list, history, search and resuming work as
// they do against a server.
//
// Settings ([bot], [dialogue], [nlu]) are the service's: CHATBOT_CONFIG or
// ./config/chatbot.toml, then CHATBOT_* variables (except the client's own
// CHATBOT_DESKTOP_*). Relative [paths] data entries are taken from the models
// directory's parent, the layout of both a checkout and an installation
// (model/ beside data/domain/).
//
// Loading and every request run on one worker thread, in the order they
// were asked, so the window never waits for the model; results come back to
// the GUI thread as queued signals.
#ifndef CHATBOT_DESKTOP_LOCAL_CHAT_BACKEND_H_
#define CHATBOT_DESKTOP_LOCAL_CHAT_BACKEND_H_

#include <QString>
#include <functional>
#include <memory>

#include "desktop/chat_backend.h"

class QThreadPool;

namespace chatbot::desktop {

class LocalChatBackend : public ChatBackend {
  Q_OBJECT

 public:
  // Starts loading at once; ready() or loadFailed() follows. `data_dir`
  // holds sessions.db (empty: DefaultDataDirectory()).
  explicit LocalChatBackend(const QString& models_dir, const QString& data_dir = QString(),
                            QObject* parent = nullptr);
  // Waits for the request in progress, if any.
  ~LocalChatBackend() override;

  // The per-user data directory (QStandardPaths::AppDataLocation).
  static QString DefaultDataDirectory();

  QString modelsDirectory() const { return models_dir_; }
  QString sessionsDatabase() const;

  // What the worker thread owns (defined in the .cc file).
  struct Core;

  void send(const QString& session_id, const QString& text) override;
  void listSessions(const QString& query) override;
  void openSession(const QString& id) override;
  void rank(const QString& text) override;
  void loadWelcome() override;

 Q_SIGNALS:
  // The model answers; `version` is its manifest's version.
  void ready(const QString& version);
  // Nothing can be answered: `message` says why, naming the file.
  void loadFailed(const QString& message);

 private:
  // Runs `task` on the worker; it may call deliver() to reach the GUI thread.
  void run(std::function<void(Core&)> task);
  // Runs `emit` on the GUI thread, unless this object is gone by then.
  void deliver(std::function<void()> emit);
  void fail(const QString& what, const QString& message, const QString& text,
            const QString& code = QString());

  QString models_dir_;
  QString data_dir_;
  std::shared_ptr<Core> core_;
  QThreadPool* pool_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_LOCAL_CHAT_BACKEND_H_
