// The chat use case, shared by every front end (POST /v1/chat, `chatbot
// chat`): one turn of a conversation, from a session id and a message to the
// stored reply.
//
// A turn classifies the message, lets the dialogue engine decide the reply
// with the session's dialogue state (clarifying questions, fallbacks,
// rotating variants), and stores the turn and the new state in the session
// store in one transaction before the reply is returned. Turns of one
// session are decided one at a time (the dialogue state and the turn number
// depend on the previous turn); sessions hash onto a fixed set of locks so
// that unrelated sessions rarely wait for each other. Another instance
// sharing the store may still store a turn of the same session meanwhile:
// the append then fails with TurnConflict and the turn is decided again
// from the re-read state (a few times at most).
//
// Front ends check the message itself (empty, too long) and say so in their
// own way; they take the models once per turn so that a reload between two
// turns never mixes two models in one.
#ifndef CHATBOT_DIALOGUE_CHAT_SERVICE_H_
#define CHATBOT_DIALOGUE_CHAT_SERVICE_H_

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "dialogue/dialogue_engine.h"
#include "nlu/classifier_loader.h"
#include "nlu/intent_classifier.h"
#include "nlu/training_data.h"
#include "store/session_store.h"

namespace chatbot::dialogue {

// The configured domain: [paths] data's intents, examples and responses.
// Throws DataError.
nlu::TrainingData LoadDomain(const Settings& settings);

// The domain `loaded` answers with: the replies its model directory carries
// (nlu/model_domain.h), else [paths] data's. Throws DataError naming the
// files looked for when neither is there.
nlu::TrainingData DomainFor(const Settings& settings, const nlu::LoadedClassifier& loaded);

// The dialogue engine for `domain` with the [bot]
// variables and [dialogue] margins. Throws DataError.
std::shared_ptr<const DialogueEngine> LoadDialogueEngine(const Settings& settings,
                                                         const nlu::TrainingData& domain);

struct ChatRequest {
  std::string session_id;  // empty: a new session is created
  std::string_view message;
  // Recorded as the owner of a new session (SessionSummary::owner).
  std::string owner;
  // Without it, a session created by another owner is "not found".
  bool sees_all_sessions = true;
};

// The models that answer one turn.
struct ChatModels {
  const nlu::IntentClassifier& classifier;
  const DialogueEngine& engine;
};

struct ChatTurn {
  std::string session_id;
  bool new_session = false;
  DialogueReply reply;
  nlu::IntentPrediction prediction;  // what the classifier said
  double predict_seconds = 0;        // how long it took to say it
  store::Turn stored;                // the turn as stored
};

class ChatService {
 public:
  // `top_k`: ranking entries asked of the classifier (at least 2, which the
  // engine needs to notice a close call).
  ChatService(store::SessionStore* sessions, int top_k);

  // One turn; nullopt when the session is unknown or not the requester's.
  // Throws StoreError when the store fails.
  std::optional<ChatTurn> Reply(const ChatRequest& request, const ChatModels& models);

  // The lock that serialises the turns (and deletion) of session `id`.
  std::mutex& SessionLock(const std::string& id);

 private:
  store::SessionStore* sessions_;
  int top_k_;
  std::array<std::mutex, 256> session_locks_;
};

// A new session id: 32 hex digits, the creation time (ms, 12 digits) then
// 80 random bits. Throws Error without randomness.
std::string NewSessionId();

// How a reply is counted: "answer", "clarification" or "fallback".
std::string_view ReplyKind(const DialogueReply& reply);

}  // namespace chatbot::dialogue

#endif  // CHATBOT_DIALOGUE_CHAT_SERVICE_H_
