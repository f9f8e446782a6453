// What the desktop client remembers between runs, in a QSettings INI file
// (~/.config/chatbot/chatbot-desktop.conf, or CHATBOT_DESKTOP_SETTINGS): the
// mode (a server, or the local model), the server address, the API key, the
// models directory of local mode, the window geometry and the last session
// (one per mode: a server's sessions are not the local ones).
// The file holds a secret, so it is made readable by its owner only each time
// it is written; the key is shown masked everywhere after it was entered.
#ifndef CHATBOT_DESKTOP_CLIENT_SETTINGS_H_
#define CHATBOT_DESKTOP_CLIENT_SETTINGS_H_

#include <QByteArray>
#include <QString>
#include <QUrl>
#include <memory>

class QSettings;

namespace chatbot::desktop {

enum class ConnectionMode { kServer, kLocal };

class ClientSettings {
 public:
  // `path` empty: CHATBOT_DESKTOP_SETTINGS, else the platform's user config.
  explicit ClientSettings(const QString& path = QString());
  ~ClientSettings();

  QUrl server() const;
  void setServer(const QUrl& url);
  QString apiKey() const;
  void setApiKey(const QString& key);
  ConnectionMode mode() const;
  void setMode(ConnectionMode mode);
  QString modelsDirectory() const;
  void setModelsDirectory(const QString& dir);
  // Local mode with `dir` for this run only (`chatbot-desktop --local DIR`):
  // the stored mode and directory stay as they are until setMode or
  // setModelsDirectory is called.
  void useLocalForThisRun(const QString& dir);

  // The last session of the current mode.
  QString lastSession() const;
  void setLastSession(const QString& id);
  QByteArray windowGeometry() const;
  void setWindowGeometry(const QByteArray& geometry);

  // Writes to disk and restricts the file to its owner (0600).
  void sync();
  QString fileName() const;

 private:
  std::unique_ptr<QSettings> settings_;
  QString local_for_this_run_;  // empty: the stored mode
};

// "cbk_3f9a0c1d2e4b5a69_Xk3c…" -> "cbk_3f9a0c1d2e4b5a69_••••••••": the public
// id stays readable (it names the key in the console and the audit log), the
// secret never appears.
QString MaskApiKey(const QString& key);

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_CLIENT_SETTINGS_H_
