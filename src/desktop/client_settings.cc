#include "desktop/client_settings.h"

#include <QFile>
#include <QSettings>

namespace chatbot::desktop {

namespace {

const QString kServer = QStringLiteral("connection/server");
const QString kKey = QStringLiteral("connection/api_key");
const QString kMode = QStringLiteral("connection/mode");
const QString kModelsDir = QStringLiteral("connection/models_dir");
const QString kLastSession = QStringLiteral("chat/last_session");
const QString kLastLocalSession = QStringLiteral("local/last_session");
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
ConnectionMode ClientSettings::mode() const {
  if (!local_for_this_run_.isEmpty()) return ConnectionMode::kLocal;
  return settings_->value(kMode).toString() == QLatin1String("local") ? ConnectionMode::kLocal
                                                                      : ConnectionMode::kServer;
}
void ClientSettings::setMode(ConnectionMode mode) {
  local_for_this_run_.clear();
  settings_->setValue(
      kMode, mode == ConnectionMode::kLocal ? QStringLiteral("local") : QStringLiteral("server"));
}
QString ClientSettings::modelsDirectory() const {
  if (!local_for_this_run_.isEmpty()) return local_for_this_run_;
  return settings_->value(kModelsDir).toString();
}
void ClientSettings::setModelsDirectory(const QString& dir) {
  local_for_this_run_.clear();
  settings_->setValue(kModelsDir, dir);
}
void ClientSettings::useLocalForThisRun(const QString& dir) {
  local_for_this_run_ = dir;
}
QString ClientSettings::lastSession() const {
  return settings_->value(mode() == ConnectionMode::kLocal ? kLastLocalSession : kLastSession)
      .toString();
}
void ClientSettings::setLastSession(const QString& id) {
  settings_->setValue(mode() == ConnectionMode::kLocal ? kLastLocalSession : kLastSession, id);
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
