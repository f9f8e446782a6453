// The desktop client's local mode (QTest, offscreen), with no server
// running: a model trained by `chatbot train` into a temporary directory
// (model/ beside data/domain/) answers in the client's process. A whole
// conversation with a clarifying question answered by its button and a
// fallback; the backend restarted and the session resumed with its history;
// the list and its search; and the messages for a missing or damaged model.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTabWidget>
#include <QTest>
#include <filesystem>
#include <fstream>

#include "desktop/conversation_view.h"
#include "desktop/local_chat_backend.h"
#include "desktop/message_input.h"
#include "desktop/session_list.h"
#include "desktop_fixture.h"
#include "temp_dir.h"

using chatbot::desktop::LocalChatBackend;
using chatbot::desktop::MainWindow;
using chatbot::desktop_test::OpenLocalWindow;
using chatbot::desktop_test::Type;
namespace fs = std::filesystem;

class DesktopLocalTest : public chatbot::desktop_test::DesktopSuite {
  Q_OBJECT

 private:
  chatbot::test_support::TempDir dir_{"chatbot-desktop-local"};

  fs::path ModelsDir() const { return dir_.path() / "model"; }

 private Q_SLOTS:
  void initTestCase() {
    // The domain where local mode looks for it: beside the models directory.
    fs::create_directories(dir_.path() / "data");
    fs::copy(chatbot::testing::DefaultDomainDir(), dir_.path() / "data" / "domain",
             fs::copy_options::recursive);
    const chatbot::testing::ProcessResult trained =
        chatbot::testing::TrainDefaultModel(dir_.path(), ModelsDir());
    QVERIFY2(trained.exit_code == 0, chatbot::testing::Describe(trained).c_str());
    // The sessions go to the user's data directory: this test's own.
    qputenv("XDG_DATA_HOME", QByteArray::fromStdString((dir_.path() / "xdg").string()));
    // Any in-scope message is a close call between two intents: a
    // clarifying question (out-of-scope messages still get the fallback).
    qputenv("CHATBOT_DIALOGUE_AMBIGUITY_MARGIN", "1.0");
  }

  void chatClarifyFallbackAndResume() {
    const QString settings = SettingsFile(QStringLiteral("chat"));
    QString session;
    {
      auto window = OpenLocalWindow(ModelsDir(), settings);
      QVERIFY(window->localMode());
      QTRY_VERIFY_WITH_TIMEOUT(window->connectionText().startsWith(QStringLiteral("● Local model")),
                               15000);
      // No server to administer, and nothing is asked of one.
      QVERIFY(!window->consoleVisible());
      QVERIFY(!window->tabs()->tabBar()->isVisible());
      QCOMPARE(window->api()->pending(), 0);
      // The welcome comes from the domain beside the model.
      QTRY_COMPARE_WITH_TIMEOUT(
          window->conversation()->findChild<QLabel*>(QStringLiteral("welcomeTitle"))->text(),
          QStringLiteral("Ava"), 10000);

      Type(*window, QStringLiteral("where is my order"));
      // The box stays usable while the model works on the reply.
      QVERIFY(window->input()->isEnabled());
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
      const QList<QPushButton*> choices = window->conversation()->choiceButtons();
      QCOMPARE(choices.size(), 2);
      session = window->currentSession();
      QCOMPARE(session.size(), 32);

      // The second button sends the second intent; the bot answers it.
      const QString chosen_label = choices[1]->text();
      QTest::mouseClick(choices[1], Qt::LeftButton);
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 2, 10000);
      QVERIFY(!choices[0]->isEnabled());
      bool labelled = false;
      for (QLabel* label : window->conversation()->findChildren<QLabel*>(QStringLiteral("meta"))) {
        if (label->text().startsWith(chosen_label)) labelled = true;
      }
      QVERIFY2(labelled, qPrintable(chosen_label));

      // Out of scope: the fallback, marked.
      Type(*window, QStringLiteral("zxqv blorft wibble"));
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 3, 10000);
      QCOMPARE(
          window->conversation()->findChildren<QWidget*>(QStringLiteral("fallbackBubble")).size(),
          1);
      QCOMPARE(window->currentSession(), session);

      // A second conversation; the list has both, newest first, titled.
      window->newConversation();
      Type(*window, QStringLiteral("hello there"));
      QTRY_COMPARE_WITH_TIMEOUT(window->conversation()->replyCount(), 1, 10000);
      QVERIFY(window->currentSession() != session);
      QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 2, 5000);
      QCOMPARE(window->sessions()->idAt(1), session);
      QTRY_VERIFY_WITH_TIMEOUT(window->sessions()->list()->item(1)->text().startsWith(
                                   QStringLiteral("where is my order")),
                               5000);
      // Search looks in the messages and replies.
      QTest::keyClicks(window->sessions()->searchBox(), QStringLiteral("BLORFT"));
      QTRY_COMPARE_WITH_TIMEOUT(window->sessions()->count(), 1, 5000);
      QCOMPARE(window->sessions()->idAt(0), session);

      // Back to the first one: the last session at the next start.
      window->openSession(session);
      QTRY_COMPARE_WITH_TIMEOUT(window->currentSession(), session, 5000);
      window->close();
    }
    // The conversations are kept in the user's data directory, private.
    const QString data_dir = LocalChatBackend::DefaultDataDirectory();
    QVERIFY2(data_dir.startsWith(QString::fromStdString((dir_.path() / "xdg").string())),
             qPrintable(data_dir));
    QVERIFY(QFileInfo::exists(QDir(data_dir).filePath(QStringLiteral("sessions.db"))));
    QCOMPARE(QFile::permissions(data_dir) &
                 (QFile::ReadGroup | QFile::ReadOther | QFile::ExeGroup | QFile::ExeOther),
             QFile::Permissions());

    // A new window, a new backend: the session comes back with its history,
    // and goes on where it stopped.
    auto again = OpenLocalWindow(ModelsDir(), settings);
    QTRY_COMPARE_WITH_TIMEOUT(again->conversation()->replyCount(), 3, 10000);
    QCOMPARE(again->currentSession(), session);
    QTRY_COMPARE_WITH_TIMEOUT(again->sessions()->count(), 2, 5000);
    Type(*again, QStringLiteral("zxqv blorft wibble"));
    QTRY_COMPARE_WITH_TIMEOUT(again->conversation()->replyCount(), 4, 10000);
    QCOMPARE(again->currentSession(), session);
  }

  void missingModelIsExplained() {
    const fs::path empty = dir_.path() / "empty" / "model";
    fs::create_directories(empty);
    auto window = OpenLocalWindow(empty, SettingsFile(QStringLiteral("missing")));
    QTRY_VERIFY_WITH_TIMEOUT(window->connectionText().contains(QStringLiteral("No local model")),
                             10000);
    const QString banner = window->bannerText();
    QVERIFY2(banner.contains(QString::fromStdString((empty / "svm").string())), qPrintable(banner));
    QVERIFY2(banner.contains(QStringLiteral("holds no model")), qPrintable(banner));
    // A message is not answered, and says why where it was written.
    Type(*window, QStringLiteral("where is my order"));
    QTRY_COMPARE_WITH_TIMEOUT(
        window->conversation()->findChildren<QLabel*>(QStringLiteral("problem")).size(), 1, 10000);
    QCOMPARE(window->conversation()->replyCount(), 0);
  }

  void damagedModelNamesTheFile() {
    const fs::path damaged = dir_.path() / "damaged" / "model";
    fs::create_directories(damaged.parent_path());
    fs::copy(ModelsDir(), damaged, fs::copy_options::recursive);
    std::ofstream(damaged / "svm" / "model.bin", std::ios::app) << "x";
    auto window = OpenLocalWindow(damaged, SettingsFile(QStringLiteral("damaged")));
    QTRY_VERIFY_WITH_TIMEOUT(window->connectionText().contains(QStringLiteral("No local model")),
                             10000);
    const QString banner = window->bannerText();
    QVERIFY2(banner.contains(QString::fromStdString((damaged / "svm").string())),
             qPrintable(banner));
    QVERIFY2(banner.contains(QStringLiteral("model.bin")), qPrintable(banner));
  }
};

QTEST_MAIN(DesktopLocalTest)
#include "desktop_local_test.moc"
