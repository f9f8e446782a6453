#include "dialogue/dialogue_engine.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <cstdint>
#include <exception>
#include <iterator>
#include <utility>

namespace chatbot::dialogue {
namespace {

using nlu::kOutOfScopeLabel;

// Intents the default domain uses to steer the conversation; the model may
// predict them for a reply to a clarifying question.
constexpr std::string_view kAffirmIntent = "affirm";
constexpr std::string_view kDenyIntent = "deny";

// Conversation intents are not topics the bot "can help with", so the
// built-in fallback does not list them.
constexpr std::string_view kConversationIntents[] = {"affirm",  "deny",   "greeting",
                                                     "goodbye", "thanks", "help"};
// The built-in fallback names at most this many topics, so that it stays one
// readable sentence even for a domain with a hundred intents.
constexpr size_t kMaxFallbackTopics = 6;

// Answers to "do you mean A or B?", compared with the whole normalised reply
// (so "no" does not match "no, I meant delivery delay", which names one).
constexpr std::string_view kFirstPhrases[] = {"yes",        "yeah",         "yep",   "sure",
                                              "correct",    "the first",    "first", "1",
                                              "the former", "the first one"};
constexpr std::string_view kSecondPhrases[] = {"the second", "the second one", "second",
                                               "2",          "the latter",     "the other one"};
constexpr std::string_view kNeitherPhrases[] = {"no", "neither", "none", "nope"};

constexpr std::string_view kDeclinedReply =
    "Sorry, I misunderstood. Could you rephrase your question?";
constexpr std::string_view kFallbackReply = "Sorry, I can't help with that.";

enum class Choice { kFirst, kSecond, kNeither, kUnresolved };

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Lower-cases ASCII, turns ASCII punctuation, whitespace and control
// characters into single spaces, and trims. Bytes of multi-byte UTF-8
// characters are kept as they are, so non-English names still match
// themselves. Underscores become spaces too, so "order_status" and "order
// status" normalise alike.
std::string NormalizeForMatching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && !IsAsciiAlnum(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
  }
  return out;
}

template <size_t N>
bool IsOneOf(std::string_view text, const std::string_view (&phrases)[N]) {
  for (std::string_view phrase : phrases) {
    if (text == phrase) return true;
  }
  return false;
}

// True when `words` occurs in `text` as whole words (both normalised, so
// words are separated by single spaces): "order status" is in "my order
// status please" but "order" is not in "reorder".
bool ContainsWords(std::string_view text, std::string_view words) {
  if (words.empty()) return false;
  for (size_t pos = text.find(words); pos != std::string_view::npos;
       pos = text.find(words, pos + 1)) {
    const size_t end = pos + words.size();
    if ((pos == 0 || text[pos - 1] == ' ') && (end == text.size() || text[end] == ' ')) {
      return true;
    }
  }
  return false;
}

// The length of the longest way of naming `intent` (its name, its human
// name) that `answer` contains, or 0. Longest wins so that an answer naming
// "order status" picks order_status over a rival intent called "order".
size_t LongestMention(const DialogueEngine& engine, std::string_view answer,
                      const std::string& intent) {
  size_t longest = 0;
  for (const std::string& key :
       {NormalizeForMatching(intent), NormalizeForMatching(engine.HumanName(intent))}) {
    if (key.size() > longest && ContainsWords(answer, key)) longest = key.size();
  }
  return longest;
}

// Reads the user's answer to "do you mean `first` or `second`?". Fixed
// phrases come first, then intents named in the answer (so "no, delivery
// delay" picks delivery_delay rather than declining), then the model's
// reading of the answer as a yes or a no ("yes please", "nah").
Choice ResolveChoice(const DialogueEngine& engine, std::string_view user_text,
                     const nlu::IntentPrediction& prediction, const std::string& first,
                     const std::string& second) {
  const std::string answer = NormalizeForMatching(user_text);
  if (IsOneOf(answer, kFirstPhrases)) return Choice::kFirst;
  if (IsOneOf(answer, kSecondPhrases)) return Choice::kSecond;
  if (IsOneOf(answer, kNeitherPhrases)) return Choice::kNeither;
  const size_t first_mention = LongestMention(engine, answer, first);
  const size_t second_mention = LongestMention(engine, answer, second);
  if (first_mention > second_mention) return Choice::kFirst;
  if (second_mention > first_mention) return Choice::kSecond;
  if (!prediction.out_of_scope) {
    if (prediction.intent == kAffirmIntent) return Choice::kFirst;
    if (prediction.intent == kDenyIntent) return Choice::kNeither;
  }
  return Choice::kUnresolved;
}

// Returns the response to send for `intent` and advances the session's
// rotation. The stored index is kept below the number of responses, so it
// cannot overflow however long a session lasts; an intent with a single
// response leaves the state alone, so the state only grows where rotation
// matters.
const std::string& NextResponse(const nlu::IntentDefinition& intent, DialogueState* state) {
  const size_t count = intent.responses.size();
  if (count == 1) return intent.responses.front();
  const auto it = state->next_variant.find(intent.name);
  // A negative index can only come from a hand-built state; read it as 0.
  const size_t stored =
      it == state->next_variant.end() ? 0 : static_cast<size_t>(std::max(it->second, 0));
  const size_t index = stored % count;
  const int next = static_cast<int>((index + 1) % count);
  if (it == state->next_variant.end()) {
    state->next_variant.emplace(intent.name, next);
  } else {
    it->second = next;
  }
  return intent.responses[index];
}

bool IsTopic(const nlu::IntentDefinition& intent) {
  if (intent.name == kOutOfScopeLabel || intent.responses.empty()) return false;
  for (std::string_view name : kConversationIntents) {
    if (intent.name == name) return false;
  }
  return true;
}

// "a", "a and b", "a, b and c".
std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) joined += (i + 1 == names.size()) ? " and " : ", ";
    joined += names[i];
  }
  return joined;
}

}  // namespace

std::string SerializeState(const DialogueState& state) {
  boost::json::object root;
  if (!state.next_variant.empty()) {
    boost::json::object variants;
    for (const auto& [intent, next] : state.next_variant) {
      // Negative means the same as absent (see NextResponse), and ParseState
      // would refuse it, losing the rest of the state.
      if (next >= 0) variants[intent] = next;
    }
    if (!variants.empty()) root["v"] = std::move(variants);
  }
  if (state.pending_choice) {
    root["pending"] = boost::json::array{boost::json::string(state.pending_choice->first),
                                         boost::json::string(state.pending_choice->second)};
  }
  return boost::json::serialize(root);
}

DialogueState ParseState(std::string_view json) {
  if (json.empty()) return {};
  // All or nothing: a state that is wrong anywhere is not trusted anywhere.
  // Unknown keys are ignored so that a state written by a newer version still
  // reads.
  try {
    boost::system::error_code error;
    const boost::json::value root = boost::json::parse(json, error);
    if (error || !root.is_object()) return {};
    DialogueState state;
    const boost::json::object& object = root.get_object();
    if (const boost::json::value* v = object.if_contains("v")) {
      const boost::json::object* variants = v->if_object();
      if (variants == nullptr) return {};
      for (const auto& [intent, next] : *variants) {
        const int64_t* index = next.if_int64();
        if (index == nullptr || *index < 0 || *index > INT_MAX) return {};
        state.next_variant[std::string(intent)] = static_cast<int>(*index);
      }
    }
    if (const boost::json::value* pending = object.if_contains("pending")) {
      const boost::json::array* pair = pending->if_array();
      if (pair == nullptr || pair->size() != 2) return {};
      const boost::json::string* first = (*pair)[0].if_string();
      const boost::json::string* second = (*pair)[1].if_string();
      if (first == nullptr || second == nullptr || first->empty() || second->empty()) return {};
      state.pending_choice.emplace(std::string(*first), std::string(*second));
    }
    return state;
  } catch (const std::exception&) {
    // Only allocation failure can get here; a session must survive even that.
    return {};
  }
}

DialogueEngine::DialogueEngine(const std::vector<nlu::IntentDefinition>& intents,
                               TemplateVariables variables, DialogueOptions options)
    : variables_(std::move(variables)), options_(options) {
  std::vector<const nlu::IntentDefinition*> topics;
  for (const nlu::IntentDefinition& intent : intents) {
    // LoadTrainingData merges repeated intents already; should a caller pass
    // one twice anyway, the first definition wins.
    const bool inserted = intents_.emplace(intent.name, intent).second;
    if (inserted && IsTopic(intent)) topics.push_back(&intent);
  }

  // Names topics in domain order: the domain author's order is the most
  // deliberate one available.
  fallback_ = kFallbackReply;
  if (!topics.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < topics.size() && i < kMaxFallbackTopics; ++i) {
      names.push_back(HumanName(topics[i]->name));
    }
    fallback_ +=
        topics.size() > kMaxFallbackTopics ? " I can help with things like " : " I can help with ";
    fallback_ += JoinNames(names);
    fallback_ += '.';
  }
}

std::string DialogueEngine::HumanName(const std::string& intent) const {
  const auto it = intents_.find(intent);
  if (it != intents_.end()) {
    const std::string& label = it->second.description;
    if (!label.empty() && label.size() <= kMaxLabelLength && label.back() != '.' &&
        label.back() != '!' && label.back() != '?') {
      return label;
    }
  }
  std::string name = intent;
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

DialogueReply DialogueEngine::Respond(std::string_view user_text,
                                      const nlu::IntentPrediction& prediction,
                                      DialogueState* state) const {
  if (state->pending_choice) {
    // The question is answered or abandoned by this turn either way; clearing
    // it first means a new question below starts from a clean state.
    const auto [first, second] = std::move(*state->pending_choice);
    state->pending_choice.reset();
    switch (ResolveChoice(*this, user_text, prediction, first, second)) {
      case Choice::kFirst:
        return Answer(first, 1.0f, state);
      case Choice::kSecond:
        return Answer(second, 1.0f, state);
      case Choice::kNeither: {
        DialogueReply reply;
        reply.reply = kDeclinedReply;
        reply.intent = kOutOfScopeLabel;
        reply.confidence = 1.0f;  // the user said so
        reply.out_of_scope = true;
        return reply;
      }
      case Choice::kUnresolved:
        break;  // a new question: handled below like any other message
    }
  }

  if (prediction.out_of_scope || prediction.intent.empty() ||
      prediction.intent == kOutOfScopeLabel) {
    return OutOfScope(prediction.confidence, state);
  }

  if (IsCloseCall(prediction)) {
    const nlu::RankedIntent& best = prediction.ranking[0];
    const nlu::RankedIntent& second = prediction.ranking[1];
    // Asking "A or B?" about two unlikely intents would mostly offer wrong
    // choices; saying what the bot can do is the better answer.
    if (best.confidence < options_.min_clarify_confidence) {
      return OutOfScope(prediction.confidence, state);
    }
    DialogueReply reply;
    reply.reply = "Just to be sure: do you mean " + HumanName(best.intent) + " or " +
                  HumanName(second.intent) + "?";
    reply.intent = best.intent;
    reply.confidence = best.confidence;
    reply.clarification = true;
    reply.choices = {best.intent, second.intent};
    state->pending_choice.emplace(best.intent, second.intent);
    return reply;
  }

  return Answer(prediction.intent, prediction.confidence, state);
}

bool DialogueEngine::IsCloseCall(const nlu::IntentPrediction& prediction) const {
  if (options_.ambiguity_margin <= 0 || prediction.ranking.size() < 2) return false;
  const nlu::RankedIntent& best = prediction.ranking[0];
  const nlu::RankedIntent& second = prediction.ranking[1];
  // The ranking must agree with the decision; if a model ever reports a
  // decision that is not its top entry, asking about other intents would be
  // confusing, so the decision is answered as it stands.
  if (best.intent != prediction.intent || second.intent == best.intent) return false;
  if (best.intent == kOutOfScopeLabel || second.intent == kOutOfScopeLabel) return false;
  return static_cast<double>(best.confidence) - static_cast<double>(second.confidence) <
         options_.ambiguity_margin;
}

DialogueReply DialogueEngine::Answer(const std::string& intent, float confidence,
                                     DialogueState* state) const {
  DialogueReply reply;
  reply.intent = intent;
  reply.confidence = confidence;
  const auto it = intents_.find(intent);
  if (it != intents_.end() && !it->second.responses.empty()) {
    reply.reply = RenderTemplate(NextResponse(it->second, state), variables_);
  } else {
    // A model trained on a benchmark knows intents the domain has no replies
    // for; saying what was understood is more useful than a fallback.
    reply.reply = "I understood that as \u201c" + HumanName(intent) +
                  "\u201d, but I have no answer configured for it.";
  }
  return reply;
}

DialogueReply DialogueEngine::OutOfScope(float confidence, DialogueState* state) const {
  DialogueReply reply;
  reply.intent = kOutOfScopeLabel;
  reply.confidence = confidence;
  reply.out_of_scope = true;
  const auto it = intents_.find(kOutOfScopeLabel);
  if (it != intents_.end() && !it->second.responses.empty()) {
    reply.reply = RenderTemplate(NextResponse(it->second, state), variables_);
  } else {
    reply.reply = fallback_;
  }
  return reply;
}

}  // namespace chatbot::dialogue
