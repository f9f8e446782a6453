// The chat engine: turns a classified message into a reply, given the
// session's dialogue state, and updates that state.
//
//   - A confident, in-scope intent gets one of the domain's responses for
//     it; variants rotate per session and intent.
//   - Out of scope (the model says "oos" or its confidence is below the
//     model's threshold) gets a fallback reply: the "oos" intent's responses
//     when the domain has them, else a built-in one.
//   - When the two best in-scope intents are within `ambiguity_margin` of
//     each other, the bot asks which one was meant, naming both; the next
//     turn resolves it ("yes" / "the first one" -> the first, "the second
//     one" -> the second, either intent's name or HumanName -> that one, "no"
//     / "neither" -> asks to rephrase, the model reading the answer as the
//     "affirm" / "deny" intent -> yes / no); anything else is handled as a
//     new message. A chosen intent is answered with confidence 1.
// Response templates may use {bot_name} and the other [bot] variables.
// docs/dialogue.md has the full rules, with examples.
#ifndef CHATBOT_DIALOGUE_DIALOGUE_ENGINE_H_
#define CHATBOT_DIALOGUE_DIALOGUE_ENGINE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dialogue/response_template.h"
#include "nlu/intent_classifier.h"
#include "nlu/training_data.h"

namespace chatbot::dialogue {

struct DialogueOptions {
  // Two best in-scope intents closer than this (in calibrated confidence)
  // trigger a clarifying question. 0 disables clarification.
  double ambiguity_margin = 0.15;
  // A clarifying question is asked only when the best intent's confidence
  // is at least this; a close call below it gets the out-of-scope reply (two
  // unlikely intents neck and neck mean the model does not know).
  double min_clarify_confidence = 0.25;
};

// Per-session state, stored with the session as JSON.
struct DialogueState {
  // Per intent with more than one response: the index of the next one to
  // send (kept below the number of responses). Absent means 0.
  std::map<std::string, int> next_variant;
  // Set while a clarifying question awaits its answer.
  std::optional<std::pair<std::string, std::string>> pending_choice;
};

// Compact JSON: {"v":{"order_status":1},"pending":["a","b"]}, each part
// omitted when empty (the initial state is "{}").
std::string SerializeState(const DialogueState& state);
// An empty or malformed string gives the initial state (never throws: a
// session must stay usable even if its state was damaged). Unknown keys are
// ignored, so a state written by a newer version still reads.
DialogueState ParseState(std::string_view json);

struct DialogueReply {
  std::string reply;
  std::string intent;    // the intent answered ("oos" for a fallback)
  float confidence = 0;  // the model's confidence in it (1 when the user chose it)
  bool out_of_scope = false;
  bool clarification = false;        // the reply is a clarifying question
  std::vector<std::string> choices;  // the two intents, when clarification
};

class DialogueEngine {
 public:
  // `intents` gives the responses and descriptions (from the domain data).
  DialogueEngine(const std::vector<nlu::IntentDefinition>& intents, TemplateVariables variables,
                 DialogueOptions options);

  // Decides the reply to `user_text`, classified as `prediction` (with a
  // ranking of at least two entries when available), and updates `state`.
  // Thread-safe (const).
  DialogueReply Respond(std::string_view user_text, const nlu::IntentPrediction& prediction,
                        DialogueState* state) const;

  // How questions and replies name an intent: its description when that is
  // written as a short label (at most kMaxLabelLength bytes, not ending in
  // '.', '!' or '?'), else the name with underscores as spaces ("order
  // status" for order_status). The default domain's descriptions are
  // sentences ("The customer asks where an order is..."), which read badly
  // inside "do you mean ... or ...?", so it gets the names.
  std::string HumanName(const std::string& intent) const;

  static constexpr size_t kMaxLabelLength = 40;

 private:
  // The reply for `intent` (one of its responses, rotating, or a neutral
  // "no answer configured" reply), as chosen with `confidence`.
  DialogueReply Answer(const std::string& intent, float confidence, DialogueState* state) const;
  // The "oos" intent's responses, rotating, else fallback_.
  DialogueReply OutOfScope(float confidence, DialogueState* state) const;
  // True when the prediction's two best entries are in-scope intents closer
  // than the ambiguity margin (whatever their confidence).
  bool IsCloseCall(const nlu::IntentPrediction& prediction) const;

  std::map<std::string, nlu::IntentDefinition, std::less<>> intents_;
  TemplateVariables variables_;
  DialogueOptions options_;
  // Built once: the reply when the domain has no "oos" responses.
  std::string fallback_;
};

}  // namespace chatbot::dialogue

#endif  // CHATBOT_DIALOGUE_DIALOGUE_ENGINE_H_
