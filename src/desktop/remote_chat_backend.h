// ChatBackend over the HTTP API: POST /v1/chat, GET /v1/sessions[?q=],
// GET /v1/sessions/{id}, POST /v1/parse (a reply's ranking, asked for only
// when a person hovers over it), GET /v1/bot (the welcome). Session titles are the first message of
// each session, fetched once per session and cached: a session's first
// message never changes.
#ifndef CHATBOT_DESKTOP_REMOTE_CHAT_BACKEND_H_
#define CHATBOT_DESKTOP_REMOTE_CHAT_BACKEND_H_

#include <QHash>
#include <QJsonObject>

#include "desktop/api_client.h"
#include "desktop/chat_backend.h"

namespace chatbot::desktop {

class RemoteChatBackend : public ChatBackend {
  Q_OBJECT

 public:
  RemoteChatBackend(ApiClient* api, QObject* parent = nullptr);

  void send(const QString& session_id, const QString& text) override;
  void listSessions(const QString& query) override;
  void openSession(const QString& id) override;
  void rank(const QString& text) override;
  void loadWelcome() override;

  // Parses one turn of the API (a /v1/chat answer or a stored turn).
  static ChatTurn TurnFromJson(const QJsonObject& json);

 private:
  void fillTitles(const QString& query, QList<SessionSummary> list);

  ApiClient* api_;
  QHash<QString, QString> titles_;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_REMOTE_CHAT_BACKEND_H_
