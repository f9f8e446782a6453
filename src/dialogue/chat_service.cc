#include "dialogue/chat_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "common/error.h"
#include "common/time.h"
#include "nlu/model_domain.h"
#include "nlu/training_data.h"

namespace chatbot::dialogue {

nlu::TrainingData LoadDomain(const Settings& settings) {
  return nlu::LoadTrainingData(
      std::vector<std::filesystem::path>(settings.paths.data.begin(), settings.paths.data.end()));
}

nlu::TrainingData DomainFor(const Settings& settings, const nlu::LoadedClassifier& loaded) {
  if (loaded.domain) return *loaded.domain;
  try {
    return LoadDomain(settings);
  } catch (const DataError& e) {
    throw DataError("the model in " + settings.paths.models + " carries no replies (no " +
                    nlu::kDomainFile + "), and [paths] data has none: " + e.what());
  }
}

std::shared_ptr<const DialogueEngine> LoadDialogueEngine(const Settings& settings,
                                                         const nlu::TrainingData& domain) {
  DialogueOptions options;
  options.ambiguity_margin = settings.dialogue.ambiguity_margin;
  options.min_clarify_confidence = settings.dialogue.min_clarify_confidence;
  return std::make_shared<DialogueEngine>(domain.intents, VariablesFromSettings(settings.bot),
                                          options);
}

std::string NewSessionId() {
  // 6 bytes of the creation time (ms), then 10 random ones. Ids in the
  // order of their creation make a new session's rows land at the end of
  // the stores' indexes (sessions' and turns' keys), not at a random place:
  // one page written per index and commit instead of one page each anywhere
  // in a large file, which made a new session per turn cost twice a turn of
  // a known one. 80 random bits keep an id unguessable.
  unsigned char bytes[16];
  uint64_t now = static_cast<uint64_t>(NowMs());
  for (int i = 5; i >= 0; --i, now >>= 8) bytes[i] = static_cast<unsigned char>(now & 0xff);
  if (RAND_bytes(bytes + 6, 10) != 1) throw Error("no random bytes for a session id");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int i = 0; i < 16; ++i) {
    id[2 * i] = kHex[bytes[i] >> 4];
    id[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return id;
}

std::string_view ReplyKind(const DialogueReply& reply) {
  return reply.clarification ? "clarification" : reply.out_of_scope ? "fallback" : "answer";
}

namespace {

// How long a turn keeps retrying its append before the conflict is
// reported (503). Each retry follows a turn another instance stored
// meanwhile; an instance that keeps sending turns without a pause can win
// many rounds in a row (its read and append follow each other at once), so
// the bound is a time, not a count, and each retry waits a little longer
// (up to 5 ms), which lets the other instance's next read come after it.
constexpr auto kTurnRetryBudget = std::chrono::seconds(5);

void WaitBeforeRetry(int attempt) {
  std::this_thread::sleep_for(std::chrono::microseconds(250 * std::min(attempt, 20)));
}

}  // namespace

ChatService::ChatService(store::SessionStore* sessions, int top_k)
    : sessions_(sessions), top_k_(std::max(2, top_k)) {}

std::mutex& ChatService::SessionLock(const std::string& id) {
  return session_locks_[std::hash<std::string>{}(id) % session_locks_.size()];
}

std::optional<ChatTurn> ChatService::Reply(const ChatRequest& request, const ChatModels& models) {
  const int64_t received = NowMs();
  ChatTurn out;
  out.session_id = request.session_id;
  out.new_session = out.session_id.empty();
  if (out.new_session) out.session_id = NewSessionId();
  std::lock_guard lock(SessionLock(out.session_id));
  // The classification does not depend on the session: once per turn.
  const auto started = std::chrono::steady_clock::now();
  out.prediction = models.classifier.Predict(request.message, top_k_);
  out.predict_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The lock serialises this process's turns of the session; another
  // instance may still store one between our read and our append. Its
  // TurnConflict sends us back to the state that now follows it, so both
  // turns are stored, in order, each decided from the state it follows.
  for (int attempt = 1;; ++attempt) {
    std::optional<store::Session> session;
    if (out.new_session) {
      session.emplace();
      session->summary.id = out.session_id;
      session->summary.created_at_ms = received;
      session->summary.updated_at_ms = received;
    } else {
      session = sessions_->GetSession(out.session_id, false);
      if (!session) return std::nullopt;
      if (!request.sees_all_sessions && session->summary.owner != request.owner) {
        return std::nullopt;
      }
    }
    DialogueState state = ParseState(session->dialogue_state);
    out.reply = models.engine.Respond(request.message, out.prediction, &state);

    store::Turn& turn = out.stored;
    turn.number = session->summary.turn_count + 1;
    turn.user_text = std::string(request.message);
    turn.intent = out.reply.intent;
    turn.confidence = out.reply.confidence;
    turn.out_of_scope = out.reply.out_of_scope;
    turn.reply = out.reply.reply;
    turn.model = out.prediction.model;
    turn.model_version = models.classifier.version();
    turn.received_at_ms = received;
    turn.replied_at_ms = NowMs();
    try {
      // A new session is stored with its first turn: one commit, as for
      // any later turn.
      if (out.new_session) {
        sessions_->CreateSessionWithTurn(out.session_id, request.owner, turn,
                                         SerializeState(state));
      } else {
        sessions_->AppendTurn(out.session_id, turn, SerializeState(state));
      }
      break;
    } catch (const store::TurnConflict&) {
      if (std::chrono::steady_clock::now() - started > kTurnRetryBudget) throw;
      WaitBeforeRetry(attempt);
    }
  }
  return out;
}

}  // namespace chatbot::dialogue
