#include "desktop/local_chat_backend.h"

#include <unistd.h>

#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <QStandardPaths>
#include <QThreadPool>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>

#include "common/config.h"
#include "common/error.h"
#include "dialogue/chat_models.h"
#include "dialogue/chat_service.h"
#include "nlu/settings_options.h"
#include "store/sqlite_session_store.h"

namespace chatbot::desktop {

namespace fs = std::filesystem;

// What the worker thread owns; only tasks on it touch this.
struct LocalChatBackend::Core {
  Settings settings;
  std::unique_ptr<store::SqliteSessionStore> sessions;
  std::optional<dialogue::LoadedChatModels> models;
  std::unique_ptr<dialogue::ChatService> chat;
  QString store_problem;                  // the session store could not be opened
  QString model_problem;                  // no model answers
  std::map<std::string, QString> titles;  // a session's first message never changes
};

namespace {

constexpr int kListLimit = 50;
// Sessions made here are recorded as this owner (SessionSummary::owner).
constexpr const char* kOwner = "desktop";

QString FromUtf8(const std::string& text) {
  return QString::fromStdString(text);
}

// An exception's message for a person, without the source location.
QString Reason(const std::exception& e) {
  return FromUtf8(WithoutSourceLocation(e.what()));
}

QDateTime FromMs(int64_t ms) {
  return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms) : QDateTime();
}

ChatTurn FromStored(const store::Turn& stored) {
  ChatTurn turn;
  turn.number = static_cast<int>(stored.number);
  turn.message = FromUtf8(stored.user_text);
  turn.reply = FromUtf8(stored.reply);
  turn.intent = FromUtf8(stored.intent);
  turn.confidence = stored.confidence;
  turn.out_of_scope = stored.out_of_scope;
  turn.model = FromUtf8(stored.model);
  turn.replied_at = FromMs(stored.replied_at_ms);
  if (!turn.replied_at.isValid()) turn.replied_at = QDateTime::currentDateTime();
  return turn;
}

// The process environment without the client's own CHATBOT_DESKTOP_*
// variables, which the service's configuration would refuse as unknown.
std::map<std::string, std::string> ServiceEnvironment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos || text.rfind("CHATBOT_DESKTOP_", 0) == 0) continue;
    environment.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return environment;
}

// The service's settings with the models directory chosen here; relative
// domain paths are taken from beside the models directory.
Settings LocalSettings(const fs::path& models_dir) {
  Configuration::Sources sources;
  sources.environment = ServiceEnvironment();
  Settings settings = Configuration::Load(sources).settings();
  settings.paths.models = models_dir.string();
  for (std::string& data : settings.paths.data) {
    if (fs::path(data).is_relative()) data = (models_dir.parent_path() / data).string();
  }
  return settings;
}

void OpenStore(LocalChatBackend::Core& core, const fs::path& data_dir) {
  try {
    fs::create_directories(data_dir);
    // Conversations are the user's own: nobody else may list or read them.
    fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace);
    core.sessions = store::SqliteSessionStore::Open(data_dir / "sessions.db", false);
  } catch (const std::exception& e) {
    core.store_problem = QObject::tr("The conversations in %1 cannot be opened: %2")
                             .arg(QString::fromStdString(data_dir.string()), Reason(e));
  }
}

void LoadModels(LocalChatBackend::Core& core, const fs::path& models_dir) {
  try {
    core.settings = LocalSettings(models_dir);
    core.models = dialogue::LoadChatModels(
        core.settings, nlu::LoadOptionsFromSettings(core.settings, /*serving=*/false));
    if (core.sessions) {
      core.chat = std::make_unique<dialogue::ChatService>(
          core.sessions.get(), static_cast<int>(core.settings.nlu.top_k));
    }
  } catch (const std::exception& e) {
    core.models.reset();
    core.model_problem = QObject::tr("No model could be loaded from %1: %2")
                             .arg(QString::fromStdString(models_dir.string()), Reason(e));
  }
}

}  // namespace

LocalChatBackend::LocalChatBackend(const QString& models_dir, const QString& data_dir,
                                   QObject* parent)
    : ChatBackend(parent),
      models_dir_(QDir::cleanPath(QFileInfo(models_dir).absoluteFilePath())),
      data_dir_(data_dir.isEmpty() ? DefaultDataDirectory() : data_dir),
      core_(std::make_shared<Core>()),
      pool_(new QThreadPool(this)) {
  pool_->setMaxThreadCount(1);  // one worker: requests are answered in order
  pool_->setExpiryTimeout(-1);
  const fs::path models = models_dir_.toStdString();
  const fs::path data = data_dir_.toStdString();
  run([this, models, data](Core& core) {
    OpenStore(core, data);
    LoadModels(core, models);
    if (!core.store_problem.isEmpty() || !core.model_problem.isEmpty()) {
      const QString problem =
          !core.model_problem.isEmpty() ? core.model_problem : core.store_problem;
      return deliver([this, problem] { Q_EMIT loadFailed(problem); });
    }
    const QString version = FromUtf8(core.models->classifier.classifier->version());
    deliver([this, version] { Q_EMIT ready(version); });
  });
}

LocalChatBackend::~LocalChatBackend() {
  pool_->clear();  // requests not yet started are dropped
  pool_->waitForDone();
}

QString LocalChatBackend::DefaultDataDirectory() {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}

QString LocalChatBackend::sessionsDatabase() const {
  return QDir(data_dir_).filePath(QStringLiteral("sessions.db"));
}

void LocalChatBackend::run(std::function<void(Core&)> task) {
  pool_->start([core = core_, task = std::move(task)] { task(*core); });
}

void LocalChatBackend::deliver(std::function<void()> emit) {
  // Posted to this object: Qt drops the call if it is destroyed first (the
  // destructor waits for the worker, so `this` is alive while posting).
  QMetaObject::invokeMethod(this, std::move(emit), Qt::QueuedConnection);
}

void LocalChatBackend::fail(const QString& what, const QString& message, const QString& text,
                            const QString& code) {
  ApiReply reply;
  reply.failure = code.isEmpty() ? ApiFailure::kLocal : ApiFailure::kRequestError;
  reply.code = code;
  reply.message = message;
  deliver([this, what, reply, text] { Q_EMIT failed(what, reply, text); });
}

void LocalChatBackend::send(const QString& session_id, const QString& text) {
  run([this, session_id, text](Core& core) {
    const QString what = QStringLiteral("send");
    if (!core.chat) {
      return fail(what, core.model_problem.isEmpty() ? core.store_problem : core.model_problem,
                  text);
    }
    const std::string message = text.toStdString();
    if (message.size() > static_cast<size_t>(core.settings.nlu.max_text_length)) {
      return fail(what,
                  tr("That message is too long: please keep it under %1 bytes.")
                      .arg(core.settings.nlu.max_text_length),
                  text);
    }
    try {
      const std::optional<dialogue::ChatTurn> result = core.chat->Reply(
          {session_id.toStdString(), message, kOwner, true}, core.models->models());
      if (!result) {
        return fail(what, tr("no session %1").arg(session_id), text,
                    QStringLiteral("session_not_found"));
      }
      ChatTurn turn = FromStored(result->stored);
      turn.clarification = result->reply.clarification;
      for (const std::string& choice : result->reply.choices) turn.choices << FromUtf8(choice);
      const QString id = FromUtf8(result->session_id);
      if (turn.number == 1) core.titles[result->session_id] = text;
      deliver([this, id, turn] { Q_EMIT replied(id, turn); });
    } catch (const std::exception& e) {
      fail(what, tr("The conversation could not be stored: %1").arg(Reason(e)), text);
    }
  });
}

void LocalChatBackend::listSessions(const QString& query) {
  run([this, query](Core& core) {
    const QString what = QStringLiteral("sessions");
    if (!core.sessions) return fail(what, core.store_problem, query);
    try {
      store::SessionQuery search;
      search.limit = kListLimit;
      search.text = query.trimmed().toStdString();
      const std::vector<store::SessionSummary> found =
          search.text.empty() ? core.sessions->ListSessions(kListLimit, std::nullopt)
                              : core.sessions->FindSessions(search);
      QList<SessionSummary> list;
      for (const store::SessionSummary& s : found) {
        SessionSummary summary;
        summary.id = FromUtf8(s.id);
        summary.created_at = FromMs(s.created_at_ms);
        summary.updated_at = FromMs(s.updated_at_ms);
        summary.turns = static_cast<int>(s.turn_count);
        auto title = core.titles.find(s.id);
        if (title == core.titles.end() && s.turn_count > 0) {
          const std::optional<store::Session> session = core.sessions->GetSession(s.id, true);
          if (session && !session->turns.empty()) {
            title = core.titles.emplace(s.id, FromUtf8(session->turns.front().user_text)).first;
          }
        }
        if (title != core.titles.end()) summary.title = title->second;
        list << summary;
      }
      deliver([this, query, list] { Q_EMIT sessionsListed(query, list); });
    } catch (const std::exception& e) {
      fail(what, tr("The conversations cannot be listed: %1").arg(Reason(e)), query);
    }
  });
}

void LocalChatBackend::openSession(const QString& id) {
  run([this, id](Core& core) {
    const QString what = QStringLiteral("open");
    if (!core.sessions) return fail(what, core.store_problem, id);
    try {
      const std::optional<store::Session> session =
          core.sessions->GetSession(id.toStdString(), true);
      if (!session) {
        return fail(what, tr("no session %1").arg(id), id, QStringLiteral("session_not_found"));
      }
      QList<ChatTurn> turns;
      for (const store::Turn& stored : session->turns) turns << FromStored(stored);
      deliver([this, id, turns] { Q_EMIT sessionOpened(id, turns); });
    } catch (const std::exception& e) {
      fail(what, tr("The conversation cannot be read: %1").arg(Reason(e)), id);
    }
  });
}

void LocalChatBackend::rank(const QString& text) {
  run([this, text](Core& core) {
    if (!core.models) return;  // a tooltip is not worth an error message
    nlu::IntentPrediction prediction;
    try {
      prediction = core.models->classifier.classifier->Predict(
          text.toStdString(), static_cast<int>(core.settings.nlu.top_k));
    } catch (const std::exception&) {
      return;
    }
    QList<RankedIntent> ranking;
    for (const nlu::RankedIntent& r : prediction.ranking) {
      ranking << RankedIntent{FromUtf8(r.intent), r.confidence};
    }
    deliver([this, text, ranking] { Q_EMIT ranked(text, ranking); });
  });
}

void LocalChatBackend::loadWelcome() {
  run([this](Core& core) {
    if (!core.models) return;
    const dialogue::BotProfile& bot = core.models->bot;
    Welcome welcome;
    welcome.bot_name = FromUtf8(bot.name);
    welcome.greeting = FromUtf8(bot.greeting);
    for (const std::string& s : bot.suggestions) welcome.suggestions << FromUtf8(s);
    welcome.notice = FromUtf8(bot.notice);
    deliver([this, welcome] { Q_EMIT welcomeLoaded(welcome); });
  });
}

}  // namespace chatbot::desktop
