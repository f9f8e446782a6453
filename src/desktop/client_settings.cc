#include "desktop/client_settings.h"

#include <QFile>
#include <QSettings>

namespace chatbot::desktop {

namespace {

const QString kServer = QStringLiteral("connection/server");
const QString kKey = QStringLiteral("connection/api_key");
const QString kLastSession = QStringLiteral("chat/last_session");
const QString kGeometry = QStringLiteral("window/geometry");

}  // namespace

ClientSettings::ClientSettings(const QString& path) {
  QString file = path;
  if (file.isEmpty()) file = qEnvironmentVariable("CHATBOT_DESKTOP_SETTINGS");
  settings_ = file.isEmpty() ? std::make_unique<QSettings>(
                                   QSettings::IniFormat, QSettings::UserScope,
                                   QStringLiteral("chatbot"), QStringLiteral("chatbot-desktop"))
                             : std::make_unique<QSettings>(file, QSettings::IniFormat);
}

ClientSettings::~ClientSettings() {
  sync();
}

QUrl ClientSettings::server() const {
  return QUrl(settings_->value(kServer, QStringLiteral("http://127.0.0.1:8080")).toString());
}
void ClientSettings::setServer(const QUrl& url) {
  settings_->setValue(kServer, url.toString());
}
QString ClientSettings::apiKey() const {
  return settings_->value(kKey).toString();
}
void ClientSettings::setApiKey(const QString& key) {
  settings_->setValue(kKey, key);
}
QString ClientSettings::lastSession() const {
  return settings_->value(kLastSession).toString();
}
void ClientSettings::setLastSession(const QString& id) {
  settings_->setValue(kLastSession, id);
}
QByteArray ClientSettings::windowGeometry() const {
  return settings_->value(kGeometry).toByteArray();
}
void ClientSettings::setWindowGeometry(const QByteArray& geometry) {
  settings_->setValue(kGeometry, geometry);
}

void ClientSettings::sync() {
  settings_->sync();
  // QSettings writes with the process umask (often 0644): the key must not
  // be readable by other users of the machine.
  QFile::setPermissions(settings_->fileName(), QFile::ReadOwner | QFile::WriteOwner);
}

QString ClientSettings::fileName() const {
  return settings_->fileName();
}

QString MaskApiKey(const QString& key) {
  if (key.isEmpty()) return {};
  static const QString kDots = QString(8, QChar(0x2022));
  // cbk_<16 hex>_<secret>: keep the prefix and the id.
  if (key.startsWith(QLatin1String("cbk_")) && key.size() > 21) return key.left(21) + kDots;
  return key.left(qMin<qsizetype>(4, key.size() / 4)) + kDots;
}

}  // namespace chatbot::desktop
