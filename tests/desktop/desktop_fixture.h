// What the desktop QTest suites share: the real `chatbot serve` on an
// ephemeral port (tests/integration/server_process.h) in a fresh directory
// with the default domain's model, its first admin key, keys made through
// the admin API, and a MainWindow connected to it with its own settings
// file (or, OpenLocalWindow, in local mode on a models directory). Message
// boxes the window opens are answered with AcceptNextDialog.
#ifndef CHATBOT_TESTS_DESKTOP_DESKTOP_FIXTURE_H_
#define CHATBOT_TESTS_DESKTOP_DESKTOP_FIXTURE_H_

#include <QApplication>
#include <QMessageBox>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "desktop/client_settings.h"
#include "desktop/main_window.h"
#include "desktop/message_input.h"
#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::desktop_test {

using chatbot::testing::HttpClient;
using chatbot::testing::HttpHeaders;
using chatbot::testing::HttpResult;

class DesktopServer {
 public:
  // Starts the server; false (with the reason in error()) when it cannot.
  bool Start(const std::vector<std::string>& extra_args = {}) {
    const chatbot::testing::SharedModel& model = chatbot::testing::SharedTrainedModel();
    if (!model.ok) {
      error_ = "training the shared model failed:\n" + model.training.out + model.training.err;
      return false;
    }
    chatbot::testing::InstallSharedModel(dir_.path());
    server_ = std::make_unique<chatbot::testing::ServerProcess>(
        chatbot::testing::ServerOptions{dir_.path(), extra_args, {}});
    try {
      server_->Start();
    } catch (const std::exception& e) {
      error_ = e.what();
      return false;
    }
    client_ = std::make_unique<HttpClient>(server_->port());
    return true;
  }

  const std::string& error() const { return error_; }
  uint16_t port() const { return server_->port(); }
  HttpClient& http() { return *client_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  std::string AdminKey() const {
    std::string key =
        chatbot::testing::ReadFileToString(dir_.path() / "data" / "security" / "admin.key");
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    return key;
  }

  static HttpHeaders Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  // A key made through the admin API; "" when refused.
  std::string CreateKey(const std::string& name, const std::string& role,
                        boost::json::object extra = {}) {
    extra["name"] = name;
    extra["role"] = role;
    const HttpResult r = client_->Post("/v1/admin/keys", extra, Bearer(AdminKey()));
    if (r.status != 201) return "";
    return std::string(r.Json().at("key").as_string());
  }

  static std::string IdOf(const std::string& key) {
    return key.size() > 20 ? key.substr(4, 16) : "";
  }

 private:
  chatbot::testing::TempDir dir_{"chatbot-desktop"};
  std::unique_ptr<chatbot::testing::ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
  std::string error_;
};

// What a suite's test class derives from: a private folder for the settings
// files its windows write, one file per name.
class DesktopSuite : public QObject {
 protected:
  QString SettingsFile(const QString& name) {
    return settings_dir_.filePath(name + QStringLiteral(".conf"));
  }

 private:
  QTemporaryDir settings_dir_;
};

// A window connected to `port` with `key`, its settings in `settings_file`
// (optionally with a last session to reopen); started and shown.
inline std::unique_ptr<chatbot::desktop::MainWindow> OpenWindow(
    uint16_t port, const std::string& key, const QString& settings_file,
    const QString& last_session = QString()) {
  auto settings = std::make_unique<chatbot::desktop::ClientSettings>(settings_file);
  settings->setServer(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
  settings->setApiKey(QString::fromStdString(key));
  settings->setLastSession(last_session);
  settings->sync();
  auto window = std::make_unique<chatbot::desktop::MainWindow>(std::move(settings));
  window->show();
  window->start();
  return window;
}

// A window in local mode on `models_dir` (no server), its settings in
// `settings_file`; started and shown.
inline std::unique_ptr<chatbot::desktop::MainWindow> OpenLocalWindow(
    const std::filesystem::path& models_dir, const QString& settings_file) {
  auto settings = std::make_unique<chatbot::desktop::ClientSettings>(settings_file);
  settings->setMode(chatbot::desktop::ConnectionMode::kLocal);
  settings->setModelsDirectory(QString::fromStdString(models_dir.string()));
  settings->sync();
  auto window = std::make_unique<chatbot::desktop::MainWindow>(std::move(settings));
  window->show();
  window->start();
  return window;
}

// Types `text` into the message box and presses Enter, as a person would.
inline void Type(chatbot::desktop::MainWindow& window, const QString& text) {
  window.input()->setFocus();
  QTest::keyClicks(window.input(), text);
  QTest::keyClick(window.input(), Qt::Key_Return);
}

// Answers the next modal message box (a confirmation) with Yes, once it is
// open; polls because QMessageBox::question blocks in its own event loop.
inline void AcceptNextDialog() {
  auto* timer = new QTimer(qApp);
  timer->setInterval(50);
  QObject::connect(timer, &QTimer::timeout, timer, [timer] {
    auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
    if (box == nullptr) return;
    QAbstractButton* yes = box->button(QMessageBox::Yes);
    (yes != nullptr ? yes : box->defaultButton())->click();
    timer->deleteLater();
  });
  timer->start();
}

// Outside CI a missing prerequisite may skip; under CI=true nothing may.
inline bool UnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace chatbot::desktop_test

#endif  // CHATBOT_TESTS_DESKTOP_DESKTOP_FIXTURE_H_
