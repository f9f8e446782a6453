// Screenshots of the desktop client for the documentation, under a virtual X
// server (xvfb-run, see CMakeLists.txt): the chat window and the operator
// console, light and dark, with a realistic conversation of the default
// domain against the real server, and the chat in local mode (no server, the
// same model in the client's process). Written to CHATBOT_DESKTOP_SCREENSHOTS
// (docs/images/desktop-{welcome,chat,console,keys}-{light,dark}.png,
// desktop-local-light.png).
#include <QApplication>
#include <QDir>
#include <QImage>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "desktop/conversation_view.h"
#include "desktop/keys_panel.h"
#include "desktop/message_input.h"
#include "desktop/monitoring_panel.h"
#include "desktop/operator_console.h"
#include "desktop/session_list.h"
#include "desktop/theme.h"
#include "desktop_fixture.h"

using chatbot::desktop::ConsoleAccess;
using chatbot::desktop::MainWindow;
using chatbot::desktop_test::DesktopServer;
using chatbot::desktop_test::OpenLocalWindow;
using chatbot::desktop_test::OpenWindow;

class DesktopScreenshotTest : public QObject {
  Q_OBJECT

 private:
  DesktopServer server_;
  QTemporaryDir settings_dir_;
  QString out_dir_;

  // A picture with content: more than a handful of distinct colours.
  static void CheckAndSave(const QImage& image, const QString& path) {
    QVERIFY(!image.isNull());
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
      for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
    }
    QVERIFY2(colours.size() > 40, qPrintable(QStringLiteral("%1 colours").arg(colours.size())));
    QVERIFY2(image.save(path), qPrintable(path));
  }

  void Send(MainWindow& window, const QString& text) {
    const int before = window.conversation()->replyCount();
    window.input()->setFocus();
    QTest::keyClicks(window.input(), text);
    QTest::keyClick(window.input(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(window.conversation()->replyCount(), before + 1, 10000);
  }

  void Shoot(chatbot::desktop::ThemeChoice theme, const QString& suffix) {
    chatbot::desktop::ApplyTheme(*qApp, theme);
    auto window = OpenWindow(server_.port(), server_.AdminKey(),
                             settings_dir_.filePath(suffix + QStringLiteral(".conf")));
    window->resize(1280, 800);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QTRY_COMPARE_WITH_TIMEOUT(window->console()->access(), ConsoleAccess::kAdmin, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(window->sessions()->count() >= 3, 10000);
    // The welcome (GET /v1/bot) before the first message.
    QTRY_VERIFY_WITH_TIMEOUT(window->windowTitle().startsWith(QStringLiteral("Ava")), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(window->api()->pending(), 0, 10000);
    CheckAndSave(window->grab().toImage(),
                 QDir(out_dir_).filePath(QStringLiteral("desktop-welcome-%1.png").arg(suffix)));
    Send(*window, QStringLiteral("Hi!"));
    Send(*window, QStringLiteral("Where is my order? I ordered hiking boots last week."));
    // Close between refund and exchange for the default model: a clarifying
    // question, answered with its button.
    Send(*window, QStringLiteral("can I swap them or get my money back?"));
    const QList<QPushButton*> choices = window->conversation()->choiceButtons();
    QCOMPARE(choices.size(), 2);
    QTest::mouseClick(choices.last(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 4, 10000);
    Send(*window, QStringLiteral("What's the weather like in Paris?"));
    QTRY_COMPARE_WITH_TIMEOUT(window->api()->pending(), 0, 10000);
    QTest::qWait(300);  // titles of the listed sessions, scroll to the end
    CheckAndSave(window->grab().toImage(),
                 QDir(out_dir_).filePath(QStringLiteral("desktop-chat-%1.png").arg(suffix)));

    window->showConsole();
    // Charts need a few scrapes with traffic in between.
    // Parse requests: traffic that adds no session to the side list.
    const char* const traffic[] = {"do you ship to Canada?", "where is my order",
                                   "how much is delivery",   "I want to return my boots",
                                   "can I pay with paypal",  "what are your opening hours",
                                   "my parcel is late",      "where is my order"};
    for (int i = 0; i < 14; ++i) {
      for (int j = 0; j <= i % 4; ++j) {
        server_.http().Post("/v1/parse", {{"text", traffic[(i + j) % std::size(traffic)]}});
      }
      const int scrapes = window->console()->monitoring()->scrapes();
      QTRY_VERIFY_WITH_TIMEOUT(window->console()->monitoring()->scrapes() > scrapes, 5000);
    }
    QTRY_COMPARE_WITH_TIMEOUT(window->api()->pending(), 0, 10000);
    CheckAndSave(window->grab().toImage(),
                 QDir(out_dir_).filePath(QStringLiteral("desktop-console-%1.png").arg(suffix)));

    // The keys (a few were made in initTestCase).
    chatbot::desktop::OperatorConsole* console = window->console();
    QSignalSpy keys(console->keys(), &chatbot::desktop::KeysPanel::refreshed);
    console->tabs()->setCurrentWidget(console->keys());
    QTRY_VERIFY_WITH_TIMEOUT(!keys.isEmpty(), 10000);
    CheckAndSave(window->grab().toImage(),
                 QDir(out_dir_).filePath(QStringLiteral("desktop-keys-%1.png").arg(suffix)));
  }

 private Q_SLOTS:
  void initTestCase() {
    out_dir_ = qEnvironmentVariable("CHATBOT_DESKTOP_SCREENSHOTS");
    if (out_dir_.isEmpty()) out_dir_ = QStringLiteral(CHATBOT_SOURCE_DIR "/docs/images");
    QVERIFY(QDir().mkpath(out_dir_));
    QCOMPARE(QGuiApplication::platformName(), QStringLiteral("xcb"));
    QVERIFY2(server_.Start(), server_.error().c_str());
    // Keys for the console's list.
    for (const char* name : {"support desk laptops", "shop frontend", "nightly export"}) {
      server_.CreateKey(name, std::string(name) == "nightly export" ? "operator" : "client");
    }
    // Earlier conversations for the side list.
    for (const char* first :
         {"How long does delivery take to Germany?", "I was charged twice for the same order",
          "Do you have the trail jacket in medium?"}) {
      server_.http().Post("/v1/chat", {{"message", first}},
                          DesktopServer::Bearer(server_.AdminKey()));
    }
  }

  void chatAndConsoleLight() {
    Shoot(chatbot::desktop::ThemeChoice::kLight, QStringLiteral("light"));
  }
  void chatAndConsoleDark() { Shoot(chatbot::desktop::ThemeChoice::kDark, QStringLiteral("dark")); }

  void localModeLight() {
    chatbot::desktop::ApplyTheme(*qApp, chatbot::desktop::ThemeChoice::kLight);
    // The server's model, with the domain beside it where local mode looks;
    // the conversations in a data directory of this test's own.
    const std::filesystem::path dir = server_.dir();
    std::filesystem::create_directories(dir / "data");
    std::filesystem::copy(chatbot::testing::DefaultDomainDir(), dir / "data" / "domain",
                          std::filesystem::copy_options::recursive);
    qputenv("XDG_DATA_HOME", settings_dir_.filePath(QStringLiteral("xdg")).toUtf8());
    auto window =
        OpenLocalWindow(dir / "model", settings_dir_.filePath(QStringLiteral("local.conf")));
    window->resize(1280, 800);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QTRY_VERIFY_WITH_TIMEOUT(window->connectionText().contains(QStringLiteral("Local model")),
                             10000);
    Send(*window, QStringLiteral("Do you ship to Canada?"));
    Send(*window, QStringLiteral("can I swap them or get my money back?"));
    const QList<QPushButton*> choices = window->conversation()->choiceButtons();
    QCOMPARE(choices.size(), 2);
    QTest::mouseClick(choices.first(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 3, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 1, 10000);
    QTest::qWait(300);
    CheckAndSave(window->grab().toImage(),
                 QDir(out_dir_).filePath(QStringLiteral("desktop-local-light.png")));
  }
};

QTEST_MAIN(DesktopScreenshotTest)
#include "desktop_screenshot_test.moc"
