#include "desktop/remote_chat_backend.h"

#include <QJsonArray>
#include <QUrlQuery>
#include <memory>

namespace chatbot::desktop {

namespace {

QDateTime FromMs(const QJsonValue& value) {
  return value.isDouble() ? QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(value.toDouble()))
                          : QDateTime();
}

}  // namespace

RemoteChatBackend::RemoteChatBackend(ApiClient* api, QObject* parent)
    : ChatBackend(parent), api_(api) {}

ChatTurn RemoteChatBackend::TurnFromJson(const QJsonObject& json) {
  ChatTurn turn;
  turn.number = json.value(QStringLiteral("turn")).toInt();
  turn.message = json.value(QStringLiteral("message")).toString();
  turn.reply = json.value(QStringLiteral("reply")).toString();
  turn.intent = json.value(QStringLiteral("intent")).toString();
  turn.confidence = json.value(QStringLiteral("confidence")).toDouble();
  turn.out_of_scope = json.value(QStringLiteral("out_of_scope")).toBool();
  turn.clarification = json.value(QStringLiteral("clarification")).toBool();
  for (const QJsonValue& choice : json.value(QStringLiteral("choices")).toArray()) {
    turn.choices << choice.toString();
  }
  turn.model = json.value(QStringLiteral("model")).toString();
  turn.replied_at = FromMs(json.value(QStringLiteral("replied_at_ms")));
  if (!turn.replied_at.isValid()) turn.replied_at = QDateTime::currentDateTime();
  return turn;
}

void RemoteChatBackend::send(const QString& session_id, const QString& text) {
  QJsonObject body{{QStringLiteral("message"), text}};
  if (!session_id.isEmpty()) body.insert(QStringLiteral("session_id"), session_id);
  api_->post(QStringLiteral("/v1/chat"), body, this, [this, text](const ApiReply& reply) {
    // Replies carry the service notice, and so do 503s (lockdown, outage).
    const QJsonValue notice = reply.json.value(QStringLiteral("notice"));
    if (reply.ok() || (reply.status == 503 && notice.isString())) {
      if (!notice.isUndefined()) Q_EMIT noticeChanged(notice.toString());
    }
    if (!reply.ok()) return Q_EMIT failed(QStringLiteral("send"), reply, text);
    ChatTurn turn = TurnFromJson(reply.json);
    turn.message = text;  // the answer does not repeat the message
    const QString id = reply.json.value(QStringLiteral("session_id")).toString();
    if (turn.number == 1) titles_.insert(id, text);
    Q_EMIT replied(id, turn);
  });
}

void RemoteChatBackend::listSessions(const QString& query) {
  QUrlQuery url_query;
  url_query.addQueryItem(QStringLiteral("limit"), QStringLiteral("50"));
  if (!query.trimmed().isEmpty()) url_query.addQueryItem(QStringLiteral("q"), query.trimmed());
  const QString path = QStringLiteral("/v1/sessions?") + url_query.toString(QUrl::FullyEncoded);
  api_->get(path, this, [this, query](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT failed(QStringLiteral("sessions"), reply, query);
    QList<SessionSummary> list;
    for (const QJsonValue& value : reply.json.value(QStringLiteral("sessions")).toArray()) {
      const QJsonObject item = value.toObject();
      SessionSummary summary;
      summary.id = item.value(QStringLiteral("session_id")).toString();
      summary.created_at = FromMs(item.value(QStringLiteral("created_at_ms")));
      summary.updated_at = FromMs(item.value(QStringLiteral("updated_at_ms")));
      summary.turns = item.value(QStringLiteral("turns")).toInt();
      summary.title = titles_.value(summary.id);
      list << summary;
    }
    fillTitles(query, std::move(list));
  });
}

void RemoteChatBackend::fillTitles(const QString& query, QList<SessionSummary> list) {
  // The list is shown at once; titles not yet known follow in a second
  // emission when every missing one has arrived (one request per session,
  // only the first time a session is listed).
  Q_EMIT sessionsListed(query, list);
  auto missing = std::make_shared<int>(0);
  for (const SessionSummary& summary : list) {
    if (summary.title.isEmpty() && summary.turns > 0) ++*missing;
  }
  if (*missing == 0) return;
  auto shared = std::make_shared<QList<SessionSummary>>(std::move(list));
  for (qsizetype i = 0; i < shared->size(); ++i) {
    if (!(*shared)[i].title.isEmpty() || (*shared)[i].turns == 0) continue;
    const QString id = (*shared)[i].id;
    api_->get(QStringLiteral("/v1/sessions/") + id, this,
              [this, query, shared, missing, i, id](const ApiReply& reply) {
                const QJsonArray turns = reply.json.value(QStringLiteral("turns")).toArray();
                if (reply.ok() && !turns.isEmpty()) {
                  const QString title =
                      turns.first().toObject().value(QStringLiteral("message")).toString();
                  titles_.insert(id, title);
                  (*shared)[i].title = title;
                }
                if (--*missing == 0) Q_EMIT sessionsListed(query, *shared);
              });
  }
}

void RemoteChatBackend::openSession(const QString& id) {
  api_->get(QStringLiteral("/v1/sessions/") + id, this, [this, id](const ApiReply& reply) {
    if (!reply.ok()) return Q_EMIT failed(QStringLiteral("open"), reply, id);
    QList<ChatTurn> turns;
    for (const QJsonValue& value : reply.json.value(QStringLiteral("turns")).toArray()) {
      turns << TurnFromJson(value.toObject());
    }
    if (!turns.isEmpty()) titles_.insert(id, turns.first().message);
    Q_EMIT sessionOpened(id, turns);
  });
}

void RemoteChatBackend::rank(const QString& text) {
  api_->post(
      QStringLiteral("/v1/parse"), QJsonObject{{QStringLiteral("text"), text}}, this,
      [this, text](const ApiReply& reply) {
        if (!reply.ok()) return;  // a tooltip is not worth an error message
        QList<RankedIntent> ranking;
        for (const QJsonValue& value : reply.json.value(QStringLiteral("ranking")).toArray()) {
          const QJsonObject item = value.toObject();
          ranking << RankedIntent{item.value(QStringLiteral("intent")).toString(),
                                  item.value(QStringLiteral("confidence")).toDouble()};
        }
        Q_EMIT ranked(text, ranking);
      });
}

void RemoteChatBackend::loadWelcome() {
  api_->get(QStringLiteral("/v1/bot"), this, [this](const ApiReply& reply) {
    if (!reply.ok()) return;
    Welcome welcome;
    welcome.bot_name = reply.json.value(QStringLiteral("name")).toString();
    welcome.greeting = reply.json.value(QStringLiteral("greeting")).toString();
    for (const QJsonValue& v : reply.json.value(QStringLiteral("suggestions")).toArray()) {
      welcome.suggestions << v.toString();
    }
    welcome.notice = reply.json.value(QStringLiteral("notice")).toString();
    Q_EMIT welcomeLoaded(welcome);
  });
}

}  // namespace chatbot::desktop
