// The chatbot HTTP API (docs/api.md) seen from the desktop: every request is
// asynchronous over one QNetworkAccessManager, so the window never waits on
// the network. A reply is classified once, here, into the failures a person
// can act on (server unreachable, key refused, rate limited, lockdown, TLS),
// and every widget shows the same words for the same failure.
#ifndef CHATBOT_DESKTOP_API_CLIENT_H_
#define CHATBOT_DESKTOP_API_CLIENT_H_

#include <QByteArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QUrl>
#include <functional>

class QNetworkAccessManager;
class QNetworkReply;

namespace chatbot::desktop {

enum class ApiFailure {
  kNone,
  kUnreachable,   // no HTTP answer at all (refused, no route, timeout)
  kTls,           // the server's certificate was not trusted
  kKeyRefused,    // 401: no key, a wrong, expired or revoked key
  kForbidden,     // 403: the key's role is too low, or the address not allowed
  kRateLimited,   // 429: try again after retry_after_s
  kLockdown,      // 503 lockdown: only admin keys are served
  kUnavailable,   // other 503: no model, storage failing, overloaded
  kRequestError,  // other 4xx: the request itself (a bug, or a missing session)
  kServerError,   // 5xx
  kLocal,         // local mode: the in-process model or session store failed
};

struct ApiReply {
  int status = 0;  // the HTTP status; 0 when no answer arrived
  ApiFailure failure = ApiFailure::kNone;
  QJsonObject json;  // the body when it is a JSON object
  QByteArray body;   // the raw body (metrics are text)
  QString code;      // error.code of the API's error shape
  QString message;   // error.message, or the network error's text
  int retry_after_s = 0;

  bool ok() const { return failure == ApiFailure::kNone; }
};

// One sentence for a person: what happened and what to do.
QString DescribeFailure(const ApiReply& reply);

class ApiClient : public QObject {
  Q_OBJECT

 public:
  using Callback = std::function<void(const ApiReply&)>;

  explicit ApiClient(QObject* parent = nullptr);

  void setServer(const QUrl& base) { base_ = base; }
  QUrl server() const { return base_; }
  void setApiKey(const QString& key) { key_ = key; }
  bool hasApiKey() const { return !key_.isEmpty(); }
  // Per-request limit; a request that takes longer is "unreachable".
  void setTimeoutMs(int ms) { timeout_ms_ = ms; }

  // `path` may carry a query ("/v1/sessions?limit=50"). The callback runs on
  // the GUI thread, and not at all once `context` is destroyed, so widgets
  // may pass themselves and capture `this`.
  void get(const QString& path, QObject* context, Callback callback);
  void post(const QString& path, const QJsonObject& body, QObject* context, Callback callback);
  void patch(const QString& path, const QJsonObject& body, QObject* context, Callback callback);
  void remove(const QString& path, QObject* context, Callback callback);

  // Requests not yet answered (tests wait for zero).
  int pending() const { return pending_; }

 Q_SIGNALS:
  // Every answer, for the connection indicator.
  void answered(const chatbot::desktop::ApiReply& reply);

 private:
  void send(const QByteArray& method, const QString& path, const QByteArray* body, QObject* context,
            Callback callback);
  static ApiReply Classify(QNetworkReply* reply);

  QNetworkAccessManager* network_;
  QUrl base_{QStringLiteral("http://127.0.0.1:8080")};
  QString key_;
  int timeout_ms_ = 15000;
  int pending_ = 0;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_API_CLIENT_H_
