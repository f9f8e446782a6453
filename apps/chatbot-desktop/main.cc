// chatbot-desktop: the Qt desktop client of the chatbot service (docs/
// desktop.md). Options: --theme light|dark|system, --settings FILE,
// --startup-report (prints the time to the first paint and the memory then;
// with --quit-after-report it exits right after).
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>

#include "desktop/app_icon.h"
#include "desktop/client_settings.h"
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
  parser.addOptions({theme, settings, report, quit});
  parser.process(app);

  const QString theme_name =
      parser.isSet(theme) ? parser.value(theme) : qEnvironmentVariable("CHATBOT_DESKTOP_THEME");
  qputenv("CHATBOT_DESKTOP_THEME", theme_name.toUtf8());
  chatbot::desktop::ApplyTheme(app, chatbot::desktop::ThemeFromName(theme_name));

  chatbot::desktop::MainWindow window(
      std::make_unique<chatbot::desktop::ClientSettings>(parser.value(settings)));
  if (parser.isSet(report)) {
    const bool exit_after = parser.isSet(quit);
    new chatbot::desktop::StartupProbe(&window, [exit_after](const auto& figures) {
      std::printf("window shown after %.0f ms; resident memory %.1f MiB\n", figures.first_paint_ms,
                  figures.resident_mib);
      std::fflush(stdout);
      if (exit_after) QTimer::singleShot(0, qApp, &QApplication::quit);
    });
  }
  window.show();
  window.start();
  return app.exec();
}
