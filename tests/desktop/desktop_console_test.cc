// The operator console against the real server (QTest, offscreen): hidden
// for a client key; for an admin key, monitoring that refreshes, the review
// queue labelling a turn, lockdown on and off, and a key revoked through the
// console then refused by the server.
#include <QSignalSpy>
#include <QTabBar>
#include <QTableWidget>
#include <QTest>

#include "desktop/keys_panel.h"
#include "desktop/lockdown_panel.h"
#include "desktop/monitoring_panel.h"
#include "desktop/operator_console.h"
#include "desktop/review_panel.h"
#include "desktop_fixture.h"

using chatbot::desktop::ConsoleAccess;
using chatbot::desktop_test::AcceptNextDialog;
using chatbot::desktop_test::DesktopServer;
using chatbot::desktop_test::DesktopSuite;
using chatbot::desktop_test::HttpResult;
using chatbot::desktop_test::OpenWindow;
namespace json = boost::json;

class DesktopConsoleTest : public DesktopSuite {
  Q_OBJECT

 private Q_SLOTS:
  void hiddenForAClientKey() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    const std::string key = server.CreateKey("desk", "client");
    QVERIFY(!key.empty());
    auto window = OpenWindow(server.port(), key, SettingsFile("client"));
    QTRY_COMPARE_WITH_TIMEOUT(window->console()->access(), ConsoleAccess::kNone, 10000);
    QVERIFY(!window->consoleVisible());
    QVERIFY(!window->tabs()->tabBar()->isVisible());
    QCOMPARE(window->tabs()->count(), 1);
    // The chat still works with that key.
    QVERIFY(window->connectionText().contains(QStringLiteral("Connected")));
  }

  void operatorSeesMonitoringAndReviewButNotKeys() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    const std::string key = server.CreateKey("ops", "operator");
    auto window = OpenWindow(server.port(), key, SettingsFile("operator"));
    QTRY_COMPARE_WITH_TIMEOUT(window->console()->access(), ConsoleAccess::kOperator, 10000);
    QVERIFY(window->consoleVisible());
    QCOMPARE(window->console()->tabs()->count(), 2);
    QCOMPARE(window->console()->tabs()->indexOf(window->console()->keys()), -1);
  }

  void adminConsoleWorksAndRevokingAKeyMakesTheServerRefuseIt() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    const std::string admin = server.AdminKey();
    auto window = OpenWindow(server.port(), admin, SettingsFile("admin"));
    QTRY_COMPARE_WITH_TIMEOUT(window->console()->access(), ConsoleAccess::kAdmin, 10000);
    QVERIFY(window->consoleVisible());
    QVERIFY(window->tabs()->tabBar()->isVisible());
    chatbot::desktop::OperatorConsole* console = window->console();
    QCOMPARE(console->tabs()->count(), 4);

    // Monitoring refreshes by itself while shown (every 300 ms here).
    window->showConsole();
    QTRY_VERIFY_WITH_TIMEOUT(console->monitoring()->scrapes() >= 3, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(
        console->monitoring()->healthText().contains(QStringLiteral("Healthy")), 5000);

    // Review: an out-of-scope turn, labelled through the console.
    QCOMPARE(server.http().Post("/v1/chat", {{"message", "zxqv blorft wibble"}}).status, 200);
    console->tabs()->setCurrentWidget(console->review());
    QTRY_VERIFY_WITH_TIMEOUT(console->review()->table()->rowCount() >= 1, 10000);
    QSignalSpy labelled(console->review(), &chatbot::desktop::ReviewPanel::labelled);
    console->review()->label(0, QStringLiteral("order_status"));
    QTRY_COMPARE_WITH_TIMEOUT(labelled.count(), 1, 10000);
    const json::value review =
        server.http().Get("/v1/review?status=labelled", DesktopServer::Bearer(admin)).Json();
    QCOMPARE(review.at("items").as_array().size(), size_t{1});
    QCOMPARE(review.at("items").as_array()[0].at("label").at("intent").as_string(), "order_status");

    // Lockdown on, then off, each after a confirmation.
    console->tabs()->setCurrentWidget(console->lockdown());
    QTRY_VERIFY_WITH_TIMEOUT(window->api()->pending() == 0, 5000);
    AcceptNextDialog();
    console->lockdown()->toggle();
    QTRY_VERIFY_WITH_TIMEOUT(console->lockdown()->isOn(), 10000);
    QCOMPARE(server.http().Get("/health").status, 503);
    AcceptNextDialog();
    console->lockdown()->toggle();
    QTRY_VERIFY_WITH_TIMEOUT(!console->lockdown()->isOn(), 10000);
    QCOMPARE(server.http().Get("/health").status, 200);

    // A key that works, revoked through the console, is refused.
    const std::string victim = server.CreateKey("laptop 7", "client");
    QVERIFY(!victim.empty());
    const std::string parse = R"({"text": "hello"})";
    QCOMPARE(server.http().Send("POST", "/v1/parse", parse, DesktopServer::Bearer(victim)).status,
             200);
    console->tabs()->setCurrentWidget(console->keys());
    const QString id = QString::fromStdString(DesktopServer::IdOf(victim));
    QTRY_VERIFY_WITH_TIMEOUT(console->keys()->selectKey(id), 10000);
    AcceptNextDialog();
    console->keys()->revokeSelected();
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
          const auto* table = console->keys()->table();
          for (int row = 0; row < table->rowCount(); ++row) {
            if (table->item(row, 1)->text() == id) return table->item(row, 3)->text() == "revoked";
          }
          return false;
        }(),
        10000);
    const HttpResult refused =
        server.http().Send("POST", "/v1/parse", parse, DesktopServer::Bearer(victim));
    QCOMPARE(refused.status, 401);
    QCOMPARE(refused.Json().at("error").at("code").as_string(), "key_revoked");

    // Create: the secret is shown once, and it works.
    QSignalSpy shown(console->keys(), &chatbot::desktop::KeysPanel::secretShown);
    QTimer::singleShot(200, [] {
      // The creation dialog: a name, then Create.
      QWidget* dialog = QApplication::activeModalWidget();
      QVERIFY(dialog != nullptr);
      QTest::keyClicks(QApplication::focusWidget(), QStringLiteral("kiosk"));
      QTest::keyClick(dialog, Qt::Key_Return);
    });
    console->keys()->createKey();
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 10000);
    const std::string created = shown.at(0).at(1).toString().toStdString();
    QCOMPARE(created.substr(0, 4), std::string("cbk_"));
    QCOMPARE(server.http().Send("POST", "/v1/parse", parse, DesktopServer::Bearer(created)).status,
             200);
  }
};

QTEST_MAIN(DesktopConsoleTest)
#include "desktop_console_test.moc"
