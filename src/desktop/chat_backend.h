// What the chat window talks to: a conversation partner that answers
// messages within sessions and keeps their history. The window knows only
// this interface, so the same window serves a remote server (over the HTTP
// API) or a classifier and dialogue running in this process.
#ifndef CHATBOT_DESKTOP_CHAT_BACKEND_H_
#define CHATBOT_DESKTOP_CHAT_BACKEND_H_

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

#include "desktop/api_client.h"

namespace chatbot::desktop {

// One exchange: the user's message and the bot's answer to it.
struct ChatTurn {
  int number = 0;
  QString message;
  QString reply;
  QString intent;
  double confidence = 0;
  bool out_of_scope = false;   // the fallback reply
  bool clarification = false;  // the bot asks which of `choices` was meant
  QStringList choices;
  QString model;
  QDateTime replied_at;
};

struct SessionSummary {
  QString id;
  QString title;  // the first message; empty until known
  QDateTime created_at;
  QDateTime updated_at;
  int turns = 0;
};

// What the window shows before the first message.
struct Welcome {
  QString bot_name;
  QString greeting;
  QStringList suggestions;
  QString notice;  // the service notice; empty: none
};

// One intent of a ranking, for the tooltip of a reply.
struct RankedIntent {
  QString intent;
  double confidence = 0;
};

class ChatBackend : public QObject {
  Q_OBJECT

 public:
  using QObject::QObject;

  // Answers `text` in session `session_id` (empty: a new session). Exactly
  // one of replied() or failed() follows.
  virtual void send(const QString& session_id, const QString& text) = 0;
  // Lists the caller's sessions, newest first; `query` (may be empty)
  // searches their messages and replies.
  virtual void listSessions(const QString& query) = 0;
  // Loads a session's whole history: sessionOpened() or failed().
  virtual void openSession(const QString& id) = 0;
  // The best intents for `text`, for a reply's tooltip: ranked() or nothing.
  virtual void rank(const QString& text) = 0;
  // The bot's name, greeting and suggestions: welcomeLoaded() or nothing
  // (the window keeps its default welcome).
  virtual void loadWelcome() = 0;

 Q_SIGNALS:
  void replied(const QString& session_id, const chatbot::desktop::ChatTurn& turn);
  void sessionsListed(const QString& query, const QList<chatbot::desktop::SessionSummary>& list);
  void sessionOpened(const QString& id, const QList<chatbot::desktop::ChatTurn>& turns);
  void ranked(const QString& text, const QList<chatbot::desktop::RankedIntent>& ranking);
  void welcomeLoaded(const chatbot::desktop::Welcome& welcome);
  // The service notice changed (a chat reply or a 503 carried another one);
  // empty: none. The welcome's notice is the first.
  void noticeChanged(const QString& notice);
  // `what` names the operation ("send", "sessions", "open"); a failed send
  // carries the text so that it can be sent again.
  void failed(const QString& what, const chatbot::desktop::ApiReply& reply, const QString& text);
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_CHAT_BACKEND_H_
