#include "desktop/api_client.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>

namespace chatbot::desktop {

QString DescribeFailure(const ApiReply& reply) {
  switch (reply.failure) {
    case ApiFailure::kNone:
      return {};
    case ApiFailure::kUnreachable:
      return QObject::tr("The server cannot be reached (%1). Check the address in Settings.")
          .arg(reply.message);
    case ApiFailure::kTls:
      return QObject::tr(
                 "The server's TLS certificate is not trusted (%1). The connection was "
                 "not made.")
          .arg(reply.message);
    case ApiFailure::kKeyRefused:
      return QObject::tr("The server refused the API key (%1). Enter a valid key in Settings.")
          .arg(reply.code.isEmpty() ? QString::number(reply.status) : reply.code);
    case ApiFailure::kForbidden:
      return QObject::tr("This key is not allowed to do that (%1).").arg(reply.message);
    case ApiFailure::kRateLimited:
      return QObject::tr("Too many requests: the server asks to wait %n second(s).", nullptr,
                         reply.retry_after_s);
    case ApiFailure::kLockdown:
      return QObject::tr("The service is in lockdown: only administrators are served for now.");
    case ApiFailure::kUnavailable:
      return QObject::tr("The service is unavailable (%1). Try again shortly.").arg(reply.message);
    case ApiFailure::kRequestError:
      return QObject::tr("The request was refused: %1").arg(reply.message);
    case ApiFailure::kServerError:
      return QObject::tr("The server failed (%1): %2").arg(reply.status).arg(reply.message);
    case ApiFailure::kLocal:
      return reply.message;
  }
  return reply.message;
}

ApiClient::ApiClient(QObject* parent) : QObject(parent), network_(new QNetworkAccessManager(this)) {
  // Keep-alive and HTTP/1.1 pipelining are Qt's defaults; nothing to tune.
}

void ApiClient::get(const QString& path, QObject* context, Callback callback) {
  send("GET", path, nullptr, context, std::move(callback));
}

void ApiClient::post(const QString& path, const QJsonObject& body, QObject* context,
                     Callback callback) {
  const QByteArray bytes = QJsonDocument(body).toJson(QJsonDocument::Compact);
  send("POST", path, &bytes, context, std::move(callback));
}

void ApiClient::patch(const QString& path, const QJsonObject& body, QObject* context,
                      Callback callback) {
  const QByteArray bytes = QJsonDocument(body).toJson(QJsonDocument::Compact);
  send("PATCH", path, &bytes, context, std::move(callback));
}

void ApiClient::remove(const QString& path, QObject* context, Callback callback) {
  send("DELETE", path, nullptr, context, std::move(callback));
}

void ApiClient::send(const QByteArray& method, const QString& path, const QByteArray* body,
                     QObject* context, Callback callback) {
  QUrl url = base_;
  const qsizetype question = path.indexOf(u'?');
  QString base_path = url.path();
  if (base_path.endsWith(u'/')) base_path.chop(1);
  url.setPath(base_path + (question < 0 ? path : path.left(question)), QUrl::TolerantMode);
  if (question >= 0) url.setQuery(path.mid(question + 1), QUrl::TolerantMode);

  QNetworkRequest request(url);
  request.setTransferTimeout(timeout_ms_);
  request.setRawHeader("Accept", "application/json");
  if (!key_.isEmpty()) request.setRawHeader("Authorization", "Bearer " + key_.toUtf8());
  QNetworkReply* reply = nullptr;
  if (body != nullptr) {
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    reply = network_->sendCustomRequest(request, method, *body);
  } else {
    reply = network_->sendCustomRequest(request, method);
  }
  ++pending_;
  QPointer<QObject> guard(context);
  const bool guarded = context != nullptr;
  connect(reply, &QNetworkReply::finished, this,
          [this, reply, guard, guarded, callback = std::move(callback)] {
            --pending_;
            reply->deleteLater();
            const ApiReply result = Classify(reply);
            Q_EMIT answered(result);
            if (guarded && guard.isNull()) return;  // the asker is gone
            if (callback) callback(result);
          });
}

ApiReply ApiClient::Classify(QNetworkReply* reply) {
  ApiReply out;
  const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
  out.status = status.isValid() ? status.toInt() : 0;
  out.body = reply->readAll();
  if (out.status == 0) {
    const auto error = reply->error();
    out.failure = error == QNetworkReply::SslHandshakeFailedError ? ApiFailure::kTls
                                                                  : ApiFailure::kUnreachable;
    out.message = reply->errorString();
    return out;
  }
  const QJsonDocument document = QJsonDocument::fromJson(out.body);
  if (document.isObject()) out.json = document.object();
  const QJsonObject error = out.json.value(QStringLiteral("error")).toObject();
  out.code = error.value(QStringLiteral("code")).toString();
  out.message = error.value(QStringLiteral("message")).toString();
  out.retry_after_s = reply->rawHeader("Retry-After").toInt();
  if (out.status < 400) return out;
  if (out.message.isEmpty()) out.message = QStringLiteral("HTTP %1").arg(out.status);
  switch (out.status) {
    case 401:
      out.failure = ApiFailure::kKeyRefused;
      break;
    case 403:
      out.failure = ApiFailure::kForbidden;
      break;
    case 429:
      out.failure = ApiFailure::kRateLimited;
      if (out.retry_after_s <= 0) out.retry_after_s = 1;
      break;
    case 503:
      // /health says so in `status` rather than in the error shape.
      out.failure =
          out.code == QLatin1String("lockdown") ||
                  out.json.value(QStringLiteral("status")).toString() == QLatin1String("lockdown")
              ? ApiFailure::kLockdown
              : ApiFailure::kUnavailable;
      break;
    default:
      out.failure = out.status >= 500 ? ApiFailure::kServerError : ApiFailure::kRequestError;
  }
  return out;
}

}  // namespace chatbot::desktop
