// chatbot-desktop: the Qt desktop client of the chatbot service (docs/
// desktop.md). Options: --theme light|dark|system, --settings FILE,
// --local DIR (local mode with that models directory, for this run),
// --startup-report (prints the time to the first paint and the memory then,
// and in local mode also when the model answers; with --quit-after-report it
// exits right after).
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>
#include <memory>

#include "desktop/app_icon.h"
#include "desktop/client_settings.h"
#include "desktop/local_chat_backend.h"
#include "desktop/main_window.h"
#include "desktop/startup_probe.h"
#include "desktop/theme.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("chatbot-desktop"));
  QApplication::setApplicationDisplayName(QStringLiteral("Chatbot"));
  QApplication::setApplicationVersion(QStringLiteral(CHATBOT_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("chatbot-desktop"));
  QApplication::setWindowIcon(chatbot::desktop::AppIcon());

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Desktop client of the chatbot service"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption theme({QStringLiteral("theme")},
                                 QStringLiteral("light, dark or system (default: "
                                                "CHATBOT_DESKTOP_THEME, else system)"),
                                 QStringLiteral("name"));
  const QCommandLineOption settings({QStringLiteral("settings")},
                                    QStringLiteral("settings file (default: the user's config)"),
                                    QStringLiteral("file"));
  const QCommandLineOption report(QStringLiteral("startup-report"),
                                  QStringLiteral("print the time to the first paint and the "
                                                 "resident memory then"));
  const QCommandLineOption quit(QStringLiteral("quit-after-report"),
                                QStringLiteral("exit after --startup-report has printed"));
  const QCommandLineOption local(QStringLiteral("local"),
                                 QStringLiteral("local mode: answer in this process with the "
                                                "model in DIR, no server (for this run)"),
                                 QStringLiteral("DIR"));
  parser.addOptions({theme, settings, local, report, quit});
  parser.process(app);

  const QString theme_name =
      parser.isSet(theme) ? parser.value(theme) : qEnvironmentVariable("CHATBOT_DESKTOP_THEME");
  qputenv("CHATBOT_DESKTOP_THEME", theme_name.toUtf8());
  chatbot::desktop::ApplyTheme(app, chatbot::desktop::ThemeFromName(theme_name));

  auto client_settings = std::make_unique<chatbot::desktop::ClientSettings>(parser.value(settings));
  if (parser.isSet(local)) client_settings->useLocalForThisRun(parser.value(local));
  chatbot::desktop::MainWindow window(std::move(client_settings));
  window.show();
  window.start();
  if (parser.isSet(report)) {
    // Quits (when asked) once every figure is printed: the first paint, and
    // in local mode the model's answer to "ready" (or its failure).
    const bool exit_after = parser.isSet(quit);
    auto* model = qobject_cast<chatbot::desktop::LocalChatBackend*>(window.backend());
    auto reports_left = std::make_shared<int>(model != nullptr ? 2 : 1);
    auto reported = [exit_after, reports_left] {
      std::fflush(stdout);
      if (--*reports_left == 0 && exit_after) QTimer::singleShot(0, qApp, &QApplication::quit);
    };
    new chatbot::desktop::StartupProbe(&window, [reported](const auto& figures) {
      std::printf("window shown after %.0f ms; resident memory %.1f MiB\n", figures.first_paint_ms,
                  figures.resident_mib);
      reported();
    });
    if (model != nullptr) {
      QObject::connect(model, &chatbot::desktop::LocalChatBackend::ready, &window,
                       [reported](const QString& version) {
                         std::printf(
                             "local model %s ready after %.0f ms; resident memory %.1f MiB\n",
                             qPrintable(version), chatbot::desktop::MillisecondsSinceProcessStart(),
                             chatbot::desktop::ResidentMemoryMib());
                         reported();
                       });
      QObject::connect(model, &chatbot::desktop::LocalChatBackend::loadFailed, &window,
                       [reported](const QString& message) {
                         std::printf("local model failed: %s\n", qPrintable(message));
                         reported();
                       });
    }
  }
  return app.exec();
}
