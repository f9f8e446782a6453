#include "desktop/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "desktop/app_icon.h"
#include "desktop/connection_dialog.h"
#include "desktop/conversation_view.h"
#include "desktop/local_chat_backend.h"
#include "desktop/message_input.h"
#include "desktop/operator_console.h"
#include "desktop/remote_chat_backend.h"
#include "desktop/session_list.h"
#include "desktop/theme.h"

namespace chatbot::desktop {

MainWindow::MainWindow(std::unique_ptr<ClientSettings> settings, QWidget* parent)
    : QMainWindow(parent), settings_(std::move(settings)) {
  setWindowTitle(tr("Chatbot"));
  setWindowIcon(AppIcon());
  api_ = new ApiClient(this);

  // The chat page: the session list beside the conversation and composer.
  sessions_ = new SessionList;
  conversation_ = new ConversationView;
  input_ = new MessageInput;
  banner_ = new QLabel;
  banner_->setObjectName(QStringLiteral("banner"));
  banner_->setWordWrap(true);
  banner_->hide();
  auto* composer = new QWidget;
  composer->setObjectName(QStringLiteral("composer"));
  auto* composer_layout = new QVBoxLayout(composer);
  composer_layout->setContentsMargins(24, 10, 24, 14);
  composer_layout->setSpacing(8);
  composer_layout->addWidget(banner_);
  composer_layout->addWidget(input_);
  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  right_layout->setSpacing(0);
  notice_ = new QLabel;
  notice_->setObjectName(QStringLiteral("notice"));
  notice_->setWordWrap(true);
  notice_->setAlignment(Qt::AlignCenter);
  notice_->setAccessibleName(tr("Service notice"));
  notice_->hide();
  right_layout->addWidget(notice_);
  right_layout->addWidget(conversation_, 1);
  right_layout->addWidget(composer);
  auto* splitter = new QSplitter;
  splitter->addWidget(sessions_);
  splitter->addWidget(right);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);
  splitter->setSizes(
      {fontMetrics().averageCharWidth() * 34, fontMetrics().averageCharWidth() * 90});
  chat_page_ = splitter;

  console_ = new OperatorConsole(api_);
  tabs_ = new QTabWidget;
  tabs_->setDocumentMode(true);
  tabs_->addTab(chat_page_, tr("Chat"));
  tabs_->tabBar()->hide();  // until the console appears
  setCentralWidget(tabs_);

  connection_ = new QLabel;
  connection_->setObjectName(QStringLiteral("connection"));
  key_label_ = new QLabel;
  statusBar()->addWidget(connection_, 1);
  statusBar()->addPermanentWidget(key_label_);
  statusBar()->setSizeGripEnabled(true);

  countdown_ = new QTimer(this);
  countdown_->setInterval(1000);
  connect(countdown_, &QTimer::timeout, this, [this] {
    if (--retry_left_s_ > 0) {
      showBanner(tr("Too many requests: sending again in %n second(s)…", nullptr, retry_left_s_),
                 false);
      return;
    }
    countdown_->stop();
    showBanner(tr("Sending again…"), false);
    sendNext();
  });

  connect(input_, &MessageInput::submitted, this,
          [this](const QString& text) { sendMessage(text); });
  connect(conversation_, &ConversationView::sendRequested, this, &MainWindow::sendMessage);
  // The backend changes with the connection settings: asked at call time.
  connect(conversation_, &ConversationView::rankRequested, this,
          [this](const QString& text) { backend_->rank(text); });
  connect(sessions_, &SessionList::openRequested, this, &MainWindow::openSession);
  connect(sessions_, &SessionList::newRequested, this, &MainWindow::newConversation);
  connect(sessions_, &SessionList::searchRequested, this,
          [this](const QString& query) { backend_->listSessions(query); });
  connect(api_, &ApiClient::answered, this, &MainWindow::onAnswered);
  connect(console_, &OperatorConsole::message, this, [this](const QString& text, bool ok) {
    statusBar()->showMessage(text, ok ? 5000 : 15000);
  });
  connect(console_, &OperatorConsole::accessChanged, this, [this](ConsoleAccess access) {
    const bool shown =
        !local_ && (access == ConsoleAccess::kOperator || access == ConsoleAccess::kAdmin);
    const int index = tabs_->indexOf(console_);
    if (shown && index < 0) tabs_->addTab(console_, tr("Operator console"));
    if (!shown && index >= 0) tabs_->removeTab(index);
    tabs_->tabBar()->setVisible(tabs_->count() > 1);
  });
  connect(tabs_, &QTabWidget::currentChanged, this,
          [this] { console_->setActive(tabs_->currentWidget() == console_); });
  buildMenus();

  const QByteArray geometry = settings_->windowGeometry();
  if (geometry.isEmpty() || !restoreGeometry(geometry)) {
    resize(fontMetrics().averageCharWidth() * 150, fontMetrics().height() * 42);
  }
  input_->setFocus();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
  auto add = [this](QMenu* menu, const QString& text, const QKeySequence& keys, auto slot) {
    QAction* action = menu->addAction(text);
    action->setShortcut(keys);
    action->setShortcutContext(Qt::ApplicationShortcut);
    connect(action, &QAction::triggered, this, slot);
    return action;
  };
  QMenu* file = menuBar()->addMenu(tr("&File"));
  add(file, tr("&New conversation"), QKeySequence::New, [this] { newConversation(); });
  add(file, tr("&Connection settings…"), QKeySequence(tr("Ctrl+,")), [this] { showSettings(); });
  file->addSeparator();
  add(file, tr("&Quit"), QKeySequence::Quit, [this] { close(); });
  QMenu* view = menuBar()->addMenu(tr("&View"));
  add(view, tr("&Chat"), QKeySequence(tr("Ctrl+1")), [this] { showChat(); });
  add(view, tr("Operator &console"), QKeySequence(tr("Ctrl+2")), [this] { showConsole(); });
  add(view, tr("&Search conversations"), QKeySequence::Find, [this] {
    showChat();
    sessions_->searchBox()->setFocus();
    sessions_->searchBox()->selectAll();
  });
  add(view, tr("Go to &message box"), QKeySequence(tr("Ctrl+L")), [this] {
    showChat();
    input_->setFocus();
  });
  add(view, tr("Conversation &list"), QKeySequence(tr("Ctrl+Shift+L")), [this] {
    showChat();
    sessions_->list()->setFocus();
  });
  add(view, tr("&Refresh"), QKeySequence::Refresh, [this] {
    backend_->listSessions(sessions_->query());
    if (!local_) console_->probe();
    loadWelcome();
  });
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  add(help, tr("&About"), QKeySequence::HelpContents, [this] {
    QMessageBox::about(this, tr("About Chatbot Desktop"),
                       tr("<b>Chatbot Desktop</b> %1<br>The desktop client of the chatbot "
                          "service: chat, history and the operator's console.<br><br>"
                          "Enter sends, Shift+Enter adds a line; Ctrl+N new conversation, "
                          "Ctrl+F search, Ctrl+1 chat, Ctrl+2 console, F5 refresh.")
                           .arg(QStringLiteral(CHATBOT_VERSION)));
  });
}

void MainWindow::start() {
  applyConnection();
  const QString last = settings_->lastSession();
  if (!last.isEmpty()) openSession(last);
}

void MainWindow::applyConnection() {
  countdown_->stop();
  hideBanner();
  waiting_ = false;
  outbox_.clear();
  conversation_->setWaiting(false);
  local_ = settings_->mode() == ConnectionMode::kLocal;
  if (local_) {
    const QString dir = settings_->modelsDirectory();
    auto* local = new LocalChatBackend(dir, QString(), this);
    connect(local, &LocalChatBackend::ready, this, [this](const QString& version) {
      setConnection(tr("● Local model %1").arg(version), QStringLiteral("good"));
    });
    connect(local, &LocalChatBackend::loadFailed, this, [this](const QString& message) {
      setConnection(tr("● No local model"), QStringLiteral("bad"));
      showBanner(message, true);
    });
    useBackend(local);
    key_label_->setText(tr("Local mode: %1").arg(local->modelsDirectory()));
    key_label_->setToolTip(tr("Conversations are kept in %1").arg(local->sessionsDatabase()));
    setConnection(tr("Loading the model from %1…").arg(local->modelsDirectory()),
                  QStringLiteral("warn"));
    // No server to administer.
    const int index = tabs_->indexOf(console_);
    if (index >= 0) tabs_->removeTab(index);
    tabs_->tabBar()->hide();
  } else {
    api_->setServer(settings_->server());
    api_->setApiKey(settings_->apiKey());
    useBackend(new RemoteChatBackend(api_, this));
    key_label_->setText(settings_->apiKey().isEmpty()
                            ? tr("No API key (anonymous)")
                            : tr("Key %1").arg(MaskApiKey(settings_->apiKey())));
    key_label_->setToolTip(QString());
    setConnection(tr("Connecting to %1…").arg(settings_->server().toString()),
                  QStringLiteral("warn"));
  }
  loadWelcome();
  backend_->listSessions(sessions_->query());
  if (!local_) console_->probe();
}

void MainWindow::useBackend(ChatBackend* backend) {
  delete backend_;  // a local one first finishes the request in progress
  backend_ = backend;
  connect(backend_, &ChatBackend::ranked, conversation_, &ConversationView::setRanking);
  connect(backend_, &ChatBackend::replied, this, &MainWindow::onReplied);
  connect(backend_, &ChatBackend::failed, this, &MainWindow::onFailed);
  connect(backend_, &ChatBackend::sessionsListed, sessions_, &SessionList::setSessions);
  connect(backend_, &ChatBackend::sessionOpened, this,
          [this](const QString& id, const QList<ChatTurn>& turns) {
            session_id_ = id;
            settings_->setLastSession(id);
            sessions_->setCurrent(id);
            conversation_->showHistory(turns);
            input_->setFocus();
          });
  connect(backend_, &ChatBackend::noticeChanged, this, [this](const QString& notice) {
    notice_->setText(notice);
    notice_->setVisible(!notice.isEmpty());
  });
  connect(backend_, &ChatBackend::welcomeLoaded, this, [this](const Welcome& welcome) {
    notice_->setText(welcome.notice);
    notice_->setVisible(!welcome.notice.isEmpty());
    conversation_->setWelcome(welcome);
    if (!welcome.bot_name.isEmpty()) setWindowTitle(tr("%1 — Chatbot").arg(welcome.bot_name));
  });
}

void MainWindow::loadWelcome() {
  backend_->loadWelcome();  // without an answer the default welcome stays
}

void MainWindow::sendMessage(const QString& text, const QString& shown) {
  if (text.trimmed().isEmpty()) return;
  showChat();
  conversation_->addUserMessage(shown.isEmpty() ? text : shown);
  outbox_ << text;
  if (!waiting_ && !countdown_->isActive()) sendNext();
}

void MainWindow::sendNext() {
  if (outbox_.isEmpty() || waiting_) return;
  waiting_ = true;
  conversation_->setWaiting(true);
  backend_->send(session_id_, outbox_.first());
}

void MainWindow::onReplied(const QString& session_id, const ChatTurn& turn) {
  waiting_ = false;
  if (!outbox_.isEmpty()) outbox_.removeFirst();
  conversation_->setWaiting(false);
  hideBanner();
  session_id_ = session_id;
  settings_->setLastSession(session_id);
  conversation_->addReply(turn);
  sessions_->setCurrent(session_id);
  // The list shows each session's message count and order by last activity.
  backend_->listSessions(sessions_->query());
  sendNext();
}

void MainWindow::onFailed(const QString& what, const ApiReply& reply, const QString& text) {
  if (what == QLatin1String("send")) {
    waiting_ = false;
    conversation_->setWaiting(false);
    if (reply.failure == ApiFailure::kRateLimited) {
      // The message stays first in the outbox and goes again by itself.
      return startRetryCountdown(reply.retry_after_s);
    }
    // The message was not answered: say so where it was written, and keep
    // the later ones waiting for the person to act.
    if (!outbox_.isEmpty()) outbox_.removeFirst();
    conversation_->addProblem(tr("Not sent: %1").arg(DescribeFailure(reply)));
    showBanner(DescribeFailure(reply), true);
    const QStringList rest = outbox_;
    outbox_.clear();
    for (const QString& later : rest) {
      conversation_->addProblem(tr("Not sent: “%1”").arg(later));
    }
    if (reply.code == QLatin1String("session_not_found")) {
      session_id_.clear();
      settings_->setLastSession(QString());
    }
    return;
  }
  if (what == QLatin1String("sessions") && reply.failure == ApiFailure::kRateLimited) {
    // A background refresh: try again when the server allows, unannounced.
    QTimer::singleShot(reply.retry_after_s * 1000, this,
                       [this] { backend_->listSessions(sessions_->query()); });
    return;
  }
  if (what == QLatin1String("open")) {
    if (reply.code == QLatin1String("session_not_found")) {
      settings_->setLastSession(QString());
      if (session_id_ == text) session_id_.clear();
      showBanner(tr("That conversation no longer exists."), true);
      return;
    }
  }
  showBanner(DescribeFailure(reply), true);
}

void MainWindow::onAnswered(const ApiReply& reply) {
  if (local_) return;  // a late answer from before the switch
  const QString server = api_->server().toString();
  switch (reply.failure) {
    case ApiFailure::kNone:
    case ApiFailure::kForbidden:  // the console's probe with a client key
    case ApiFailure::kRequestError:
      return setConnection(tr("● Connected to %1").arg(server), QStringLiteral("good"));
    case ApiFailure::kUnreachable:
      return setConnection(tr("● Offline: %1 cannot be reached").arg(server),
                           QStringLiteral("bad"));
    case ApiFailure::kTls:
      return setConnection(tr("● Certificate of %1 not trusted").arg(server),
                           QStringLiteral("bad"));
    case ApiFailure::kKeyRefused:
      return setConnection(tr("● Key refused by %1").arg(server), QStringLiteral("bad"));
    case ApiFailure::kRateLimited:
      return setConnection(tr("● Rate limited by %1").arg(server), QStringLiteral("warn"));
    case ApiFailure::kLockdown:
      return setConnection(tr("● %1 is in lockdown").arg(server), QStringLiteral("warn"));
    case ApiFailure::kUnavailable:
    case ApiFailure::kServerError:
    case ApiFailure::kLocal:
      return setConnection(tr("● %1 has a problem").arg(server), QStringLiteral("warn"));
  }
}

void MainWindow::setConnection(const QString& text, const QString& state) {
  connection_->setText(text);
  connection_->setProperty("state", state);
  connection_->style()->unpolish(connection_);
  connection_->style()->polish(connection_);
}

QString MainWindow::connectionText() const {
  return connection_->text();
}

void MainWindow::showBanner(const QString& text, bool error) {
  banner_->setText(text);
  banner_->setProperty("kind", error ? QStringLiteral("error") : QStringLiteral("info"));
  banner_->style()->unpolish(banner_);
  banner_->style()->polish(banner_);
  banner_->show();
}

void MainWindow::hideBanner() {
  if (!countdown_->isActive()) banner_->hide();
}

QString MainWindow::bannerText() const {
  return banner_->isVisible() ? banner_->text() : QString();
}

void MainWindow::startRetryCountdown(int seconds) {
  retry_left_s_ = qMax(1, seconds);
  showBanner(tr("Too many requests: sending again in %n second(s)…", nullptr, retry_left_s_),
             false);
  countdown_->start();
}

void MainWindow::newConversation() {
  showChat();
  session_id_.clear();
  settings_->setLastSession(QString());
  sessions_->setCurrent(QString());
  conversation_->clear();
  input_->setFocus();
}

void MainWindow::openSession(const QString& id) {
  if (id.isEmpty()) return;
  showChat();
  backend_->openSession(id);
}

void MainWindow::showSettings() {
  ConnectionDialog dialog(*settings_, this);
  if (dialog.exec() != QDialog::Accepted) return;
  const bool local = dialog.mode() == ConnectionMode::kLocal;
  const bool changed =
      local != local_ ||
      (local ? dialog.modelsDirectory() != settings_->modelsDirectory()
             : dialog.server() != settings_->server() || dialog.apiKey() != settings_->apiKey());
  settings_->setMode(dialog.mode());
  if (local) {
    settings_->setModelsDirectory(dialog.modelsDirectory());
  } else {
    settings_->setServer(dialog.server());
    settings_->setApiKey(dialog.apiKey());
  }
  settings_->sync();
  if (!changed) return;
  newConversation();
  applyConnection();
}

void MainWindow::showChat() {
  tabs_->setCurrentWidget(chat_page_);
}

void MainWindow::showConsole() {
  if (tabs_->indexOf(console_) >= 0) tabs_->setCurrentWidget(console_);
}

bool MainWindow::consoleVisible() const {
  return tabs_->indexOf(console_) >= 0;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  settings_->setWindowGeometry(saveGeometry());
  settings_->sync();
  QMainWindow::closeEvent(event);
}

void MainWindow::changeEvent(QEvent* event) {
  // A system palette change (light <-> dark) re-derives the style sheet.
  if (event->type() == QEvent::ApplicationPaletteChange &&
      ThemeFromName(qEnvironmentVariable("CHATBOT_DESKTOP_THEME")) == ThemeChoice::kSystem) {
    qApp->setStyleSheet(StyleSheetFor(QApplication::palette()));
  }
  QMainWindow::changeEvent(event);
}

}  // namespace chatbot::desktop
