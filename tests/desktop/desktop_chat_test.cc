// The desktop client's chat against the real server (QTest, offscreen): a
// whole conversation with a clarifying question answered by its button, a
// session resumed with its history, and the messages for a refused key (401)
// and a rate limit (429, which counts down and sends again by itself).
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTest>

#include "desktop/conversation_view.h"
#include "desktop/message_input.h"
#include "desktop/session_list.h"
#include "desktop_fixture.h"

using chatbot::desktop::MainWindow;
using chatbot::desktop_test::DesktopServer;
using chatbot::desktop_test::DesktopSuite;
using chatbot::desktop_test::OpenWindow;
using chatbot::desktop_test::Type;
namespace json = boost::json;

class DesktopChatTest : public DesktopSuite {
  Q_OBJECT

 private Q_SLOTS:
  void fullChatWithClarificationClick() {
    DesktopServer server;
    // Any in-scope message is ambiguous with a margin of 1.
    QVERIFY2(server.Start({"--set", "dialogue.ambiguity_margin=1.0"}), server.error().c_str());
    auto window = OpenWindow(server.port(), "", SettingsFile("clarify"));

    // Shift+Enter adds a line and sends nothing.
    window->input()->setFocus();
    QTest::keyClicks(window->input(), QStringLiteral("where is"));
    QTest::keyClick(window->input(), Qt::Key_Return, Qt::ShiftModifier);
    QCOMPARE(window->input()->toPlainText(), QStringLiteral("where is\n"));
    QCOMPARE(window->conversation()->replyCount(), 0);
    window->input()->clear();

    Type(*window, QStringLiteral("where is my order"));
    QVERIFY(window->input()->toPlainText().isEmpty());
    // The box stays usable while the reply is on its way.
    QVERIFY(window->input()->isEnabled());
    QVERIFY(!window->input()->isReadOnly());
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
    const QList<QPushButton*> choices = window->conversation()->choiceButtons();
    QCOMPARE(choices.size(), 2);
    const QString session = window->currentSession();
    QCOMPARE(session.size(), 32);

    // The server says which intents it offered; the second button sends the
    // second one.
    const json::value asked = server.http().Get("/v1/sessions/" + session.toStdString()).Json();
    QCOMPARE(asked.at("turns").as_array().size(), size_t{1});
    QTest::mouseClick(choices[1], Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 2, 10000);
    QVERIFY(!choices[0]->isEnabled());
    const json::value after = server.http().Get("/v1/sessions/" + session.toStdString()).Json();
    const json::array& turns = after.at("turns").as_array();
    QCOMPARE(turns.size(), size_t{2});
    const std::string chosen(turns[1].at("intent").as_string());
    // The button sent the intent's name, and the bot answered that intent.
    QCOMPARE(std::string(turns[1].at("message").as_string()), chosen);
    QCOMPARE(choices[1]->text(), chatbot::desktop::HumanIntent(QString::fromStdString(chosen)));
    QVERIFY(!turns[1].at("out_of_scope").as_bool());

    // The intent label under the reply names the chosen intent.
    bool labelled = false;
    for (QLabel* label : window->conversation()->findChildren<QLabel*>(QStringLiteral("meta"))) {
      if (label->text().startsWith(chatbot::desktop::HumanIntent(QString::fromStdString(chosen)))) {
        labelled = true;
      }
    }
    QVERIFY(labelled);

    // The session list shows it, titled by its first message.
    QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 1, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(
        window->sessions()->list()->item(0)->text().startsWith(QStringLiteral("where is my order")),
        5000);
  }

  void welcomeShowsTheBotsNameSuggestionsAndNotice() {
    DesktopServer server;
    QVERIFY2(server.Start({"--set", "bot.name=Nora", "--set",
                           "bot.notice=Planned maintenance tonight from 22:00."}),
             server.error().c_str());
    auto window = OpenWindow(server.port(), "", SettingsFile("welcome"));
    chatbot::desktop::ConversationView* view = window->conversation();
    QTRY_COMPARE_WITH_TIMEOUT(view->findChild<QLabel*>(QStringLiteral("welcomeTitle"))->text(),
                              QStringLiteral("Nora"), 10000);
    QVERIFY(window->windowTitle().startsWith(QStringLiteral("Nora")));
    QVERIFY(view->findChild<QLabel*>(QStringLiteral("welcomeText"))
                ->text()
                .contains(QStringLiteral("I'm Nora")));
    QLabel* notice = window->findChild<QLabel*>(QStringLiteral("notice"));
    QCOMPARE(notice->text(), QStringLiteral("Planned maintenance tonight from 22:00."));
    QVERIFY(notice->isVisible());
    const auto suggestions = view->findChildren<QPushButton*>(QStringLiteral("suggestion"));
    QVERIFY(suggestions.size() >= 3);
    // A suggestion is asked, answered in scope, and the welcome gives way.
    const QString question = suggestions.first()->text();
    QTest::mouseClick(suggestions.first(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view->replyCount(), 1, 10000);
    QVERIFY(!view->findChild<QWidget*>(QStringLiteral("welcome"))->isVisible());
    const json::value session =
        server.http().Get("/v1/sessions/" + window->currentSession().toStdString()).Json();
    const json::value& turn = session.at("turns").as_array()[0];
    QCOMPARE(QString::fromStdString(std::string(turn.at("message").as_string())), question);
    QVERIFY(!turn.at("out_of_scope").as_bool());
  }

  // An operator's notice (PUT /v1/admin/notice) is a banner above the
  // conversation, replacing [bot] notice; cleared meanwhile, the next reply
  // takes it away, and the banner stays after the welcome gave way.
  void operatorNoticeIsABanner() {
    DesktopServer server;
    QVERIFY2(server.Start({"--set", "bot.notice=Opening hours change in January."}),
             server.error().c_str());
    const chatbot::testing::HttpHeaders admin{{"Authorization", "Bearer " + server.AdminKey()}};
    const std::string text = "Maintenance: replies may be slow until 20:00 UTC.";
    QCOMPARE(
        server.http()
            .Send("PUT", "/v1/admin/notice", json::serialize(json::object{{"text", text}}), admin)
            .status,
        200);
    auto window = OpenWindow(server.port(), "", SettingsFile("notice"));
    QLabel* notice = window->findChild<QLabel*>(QStringLiteral("notice"));
    QVERIFY(notice != nullptr);
    QTRY_COMPARE_WITH_TIMEOUT(notice->text(), QString::fromStdString(text), 10000);
    QVERIFY(notice->isVisible());
    QCOMPARE(server.http().Send("DELETE", "/v1/admin/notice", "", admin).status, 200);
    Type(*window, QStringLiteral("where is my order"));
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(notice->text(), QStringLiteral("Opening hours change in January."),
                              5000);
    QVERIFY(notice->isVisible());
  }

  void fallbackReplyIsMarked() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    auto window = OpenWindow(server.port(), "", SettingsFile("fallback"));
    Type(*window, QStringLiteral("zxqv blorft wibble"));
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
    QCOMPARE(
        window->conversation()->findChildren<QWidget*>(QStringLiteral("fallbackBubble")).size(), 1);
    const auto meta = window->conversation()->findChildren<QLabel*>(QStringLiteral("fallbackMeta"));
    QCOMPARE(meta.size(), 1);
    QVERIFY(meta[0]->text().contains(QStringLiteral("Fallback")));
  }

  void resumingASessionShowsItsHistory() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    // Two conversations made by another client of the same (anonymous) owner.
    const json::value first = server.http().Post("/v1/chat", {{"message", "hi there"}}).Json();
    const std::string id(first.at("session_id").as_string());
    QCOMPARE(server.http()
                 .Post("/v1/chat", {{"session_id", id}, {"message", "how do I return an item?"}})
                 .status,
             200);
    const json::value other =
        server.http().Post("/v1/chat", {{"message", "track my parcel"}}).Json();

    // The last session is reopened at start.
    const QString settings = SettingsFile("resume");
    {
      auto window = OpenWindow(server.port(), "", settings, QString::fromStdString(id));
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 2, 10000);
      QCOMPARE(window->currentSession(), QString::fromStdString(id));
      // Newest first, each titled by its first message.
      QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 2, 5000);
      QTRY_VERIFY_WITH_TIMEOUT(
          window->sessions()->list()->item(1)->text().startsWith(QStringLiteral("hi there")), 5000);
      QCOMPARE(window->sessions()->idAt(0),
               QString::fromStdString(std::string(other.at("session_id").as_string())));

      // Opening the other one from the list shows its history instead.
      QListWidget* list = window->sessions()->list();
      QTest::mouseClick(list->viewport(), Qt::LeftButton, {},
                        list->visualItemRect(list->item(0)).center());
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
      QCOMPARE(window->sessions()->idAt(0), window->currentSession());

      // Search asks the server.
      QTest::keyClicks(window->sessions()->searchBox(), QStringLiteral("HI THERE"));
      QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 1, 5000);
      QCOMPARE(window->sessions()->idAt(0), QString::fromStdString(id));
      window->close();  // remembers the open session
    }
    // The settings file holds the key: its owner's only.
    const QFile::Permissions permissions = QFile::permissions(settings);
    QVERIFY(permissions & QFile::ReadOwner);
    QVERIFY(!(permissions &
              (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther)));
    auto again = OpenWindow(server.port(), "", settings,
                            chatbot::desktop::ClientSettings(settings).lastSession());
    QTRY_COMPARE_WITH_TIMEOUT(again->conversation()->replyCount(), 1, 10000);
  }

  void refusedKeyIsExplained() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    const std::string wrong = "cbk_0123456789abcdef_" + std::string(43, 'A');
    auto window = OpenWindow(server.port(), wrong, SettingsFile("refused"));
    Type(*window, QStringLiteral("hello"));
    QTRY_VERIFY_WITH_TIMEOUT(window->bannerText().contains(QStringLiteral("refused the API key")),
                             10000);
    QVERIFY(window->bannerText().contains(QStringLiteral("invalid_key")));
    QVERIFY(window->connectionText().contains(QStringLiteral("Key refused")));
    QCOMPARE(window->conversation()->replyCount(), 0);
    QCOMPARE(window->conversation()->findChildren<QLabel*>(QStringLiteral("problem")).size(), 1);
    // The key is never shown in full.
    for (QLabel* label : window->findChildren<QLabel*>()) {
      QVERIFY2(!label->text().contains(QString(43, u'A')), qPrintable(label->text()));
    }
  }

  void rateLimitCountsDownThenSendsAgain() {
    DesktopServer server;
    QVERIFY2(server.Start(), server.error().c_str());
    // One request every 4 s: the window's own start requests empty the bucket.
    const std::string key =
        server.CreateKey("slow", "client", {{"rate_limit", 0.25}, {"burst", 1}});
    QVERIFY(!key.empty());
    auto window = OpenWindow(server.port(), key, SettingsFile("limited"));
    QTRY_COMPARE_WITH_TIMEOUT(window->api()->pending(), 0, 5000);
    Type(*window, QStringLiteral("where is my order?"));
    QTRY_VERIFY_WITH_TIMEOUT(
        window->bannerText().contains(QStringLiteral("Too many requests: sending again in")), 5000);
    QVERIFY(window->connectionText().contains(QStringLiteral("Rate limited")));
    QCOMPARE(window->conversation()->replyCount(), 0);
    // It counts down, then the same message goes again and is answered.
    QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 15000);
    QVERIFY(window->bannerText().isEmpty());
    // Asked with the admin key: the slow key's bucket is empty again.
    const json::value sessions =
        server.http().Get("/v1/sessions", DesktopServer::Bearer(server.AdminKey())).Json();
    QCOMPARE(sessions.at("sessions").as_array().size(), size_t{1});
    QCOMPARE(sessions.at("sessions").as_array()[0].at("turns").as_int64(), 1);
  }
};

QTEST_MAIN(DesktopChatTest)
#include "desktop_chat_test.moc"
