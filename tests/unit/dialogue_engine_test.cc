// The chat engine's rules (docs/dialogue.md), driven by hand-built
// predictions so that no model is needed.
#include "dialogue/dialogue_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"

namespace chatbot::dialogue {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

nlu::IntentDefinition Intent(std::string name, std::vector<std::string> responses,
                             std::string description = "") {
  return {std::move(name), std::move(description), std::move(responses)};
}

std::vector<nlu::IntentDefinition> ShopIntents() {
  return {
      Intent("order_status", {"Order reply 1.", "Order reply 2.", "Order reply 3."},
             "The customer asks where an order is."),
      Intent("delivery_delay", {"Delay reply 1.", "Delay reply 2."}),
      Intent("greeting", {"Hello, I'm {bot_name}."}),
      Intent("payment_methods", {"We take cards. {unknown} stays."}, "ways to pay"),
      Intent("affirm", {"Great."}),
      Intent("deny", {"Okay."}),
      Intent("benchmark_only", {}),
  };
}

TemplateVariables Variables() {
  return {{"bot_name", "Ada"}};
}

DialogueEngine Engine(std::vector<nlu::IntentDefinition> intents = ShopIntents(),
                      DialogueOptions options = {}) {
  return DialogueEngine(intents, Variables(), options);
}

// A confident prediction of `intent` (ranking: it, then a distant runner-up).
nlu::IntentPrediction Confident(const std::string& intent, float confidence = 0.9f) {
  return {intent, confidence, false, {{intent, confidence}, {"greeting", 0.01f}}};
}

nlu::IntentPrediction OutOfScope(float confidence = 0.3f) {
  return {"oos", confidence, true, {{"oos", confidence}, {"order_status", 0.2f}}};
}

nlu::IntentPrediction Ranked(std::vector<nlu::RankedIntent> ranking) {
  nlu::IntentPrediction prediction;
  prediction.intent = ranking.front().intent;
  prediction.confidence = ranking.front().confidence;
  prediction.out_of_scope = prediction.intent == "oos";
  prediction.ranking = std::move(ranking);
  return prediction;
}

// order_status 0.45 vs delivery_delay 0.40: within the default margin.
nlu::IntentPrediction Ambiguous() {
  return Ranked({{"order_status", 0.45f}, {"delivery_delay", 0.40f}, {"greeting", 0.05f}});
}

// ---- Replies to confident intents ----

TEST(DialogueEngineTest, RotatesResponsesPerIntent) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  std::vector<std::string> replies;
  for (const char* intent : {"order_status", "delivery_delay", "order_status", "delivery_delay",
                             "order_status", "order_status", "delivery_delay"}) {
    const DialogueReply reply = engine.Respond("text", Confident(intent), &state);
    EXPECT_EQ(reply.intent, intent);
    EXPECT_FLOAT_EQ(reply.confidence, 0.9f);
    EXPECT_FALSE(reply.out_of_scope);
    EXPECT_FALSE(reply.clarification);
    EXPECT_THAT(reply.choices, IsEmpty());
    replies.push_back(reply.reply);
  }
  EXPECT_THAT(replies,
              ElementsAre("Order reply 1.", "Delay reply 1.", "Order reply 2.", "Delay reply 2.",
                          "Order reply 3.", "Order reply 1.", "Delay reply 1."));
}

TEST(DialogueEngineTest, RotatesPerSession) {
  const DialogueEngine engine = Engine();
  DialogueState alice;
  DialogueState bob;
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &alice).reply, "Order reply 1.");
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &alice).reply, "Order reply 2.");
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &bob).reply, "Order reply 1.");
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &alice).reply, "Order reply 3.");
  EXPECT_EQ(alice.next_variant.at("order_status"), 0);  // kept below the response count
  EXPECT_EQ(bob.next_variant.at("order_status"), 1);
}

TEST(DialogueEngineTest, ReadsTheStoredIndexModuloTheResponseCount) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  state.next_variant["order_status"] = 7;  // e.g. the domain had more responses before
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &state).reply, "Order reply 2.");
  state.next_variant["order_status"] = -5;  // hand-built nonsense reads as 0
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &state).reply, "Order reply 1.");
}

TEST(DialogueEngineTest, SingleResponseLeavesTheStateAlone) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  engine.Respond("hi", Confident("greeting"), &state);
  engine.Respond("hi", Confident("greeting"), &state);
  EXPECT_THAT(state.next_variant, IsEmpty());
}

TEST(DialogueEngineTest, RendersVariables) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  EXPECT_EQ(engine.Respond("hi", Confident("greeting"), &state).reply, "Hello, I'm Ada.");
  // An unknown variable stays visible (RenderTemplate's rule).
  EXPECT_EQ(engine.Respond("pay?", Confident("payment_methods"), &state).reply,
            "We take cards. {unknown} stays.");
}

TEST(DialogueEngineTest, IntentWithoutResponsesGetsANeutralReply) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply = engine.Respond("x", Confident("benchmark_only"), &state);
  EXPECT_EQ(reply.reply,
            "I understood that as \u201cbenchmark only\u201d, but I have no answer "
            "configured for it.");
  EXPECT_EQ(reply.intent, "benchmark_only");
  EXPECT_FALSE(reply.out_of_scope);
  // An intent the domain does not define at all is treated the same way.
  EXPECT_THAT(engine.Respond("x", Confident("not_in_domain"), &state).reply,
              HasSubstr("\u201cnot in domain\u201d"));
}

TEST(DialogueEngineTest, HumanNames) {
  const DialogueEngine engine = Engine();
  EXPECT_EQ(engine.HumanName("order_status"), "order status");      // description is a sentence
  EXPECT_EQ(engine.HumanName("delivery_delay"), "delivery delay");  // no description
  EXPECT_EQ(engine.HumanName("payment_methods"), "ways to pay");    // short label
  EXPECT_EQ(engine.HumanName("unknown_intent"), "unknown intent");
  const DialogueEngine long_label =
      Engine({Intent("a_b", {"r"}, "a label that is far too long to read as a short name")});
  EXPECT_EQ(long_label.HumanName("a_b"), "a b");
}

// ---- Out of scope ----

TEST(DialogueEngineTest, OutOfScopeUsesTheDomainsOosResponsesInTurn) {
  std::vector<nlu::IntentDefinition> intents = ShopIntents();
  intents.push_back(Intent("oos", {"I'm {bot_name}; I can't help with that.", "Not my area."}));
  const DialogueEngine engine = Engine(intents);
  DialogueState state;
  const DialogueReply first = engine.Respond("weather?", OutOfScope(0.3f), &state);
  EXPECT_EQ(first.reply, "I'm Ada; I can't help with that.");
  EXPECT_EQ(first.intent, "oos");
  EXPECT_TRUE(first.out_of_scope);
  EXPECT_FALSE(first.clarification);
  EXPECT_FLOAT_EQ(first.confidence, 0.3f);
  EXPECT_EQ(engine.Respond("weather?", OutOfScope(), &state).reply, "Not my area.");
  EXPECT_EQ(engine.Respond("weather?", OutOfScope(), &state).reply,
            "I'm Ada; I can't help with that.");
}

TEST(DialogueEngineTest, OutOfScopeWithoutOosResponsesNamesTopics) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply = engine.Respond("weather?", OutOfScope(0.2f), &state);
  // Conversation intents and intents without replies are not topics.
  EXPECT_EQ(reply.reply,
            "Sorry, I can't help with that. I can help with order status, delivery delay and "
            "ways to pay.");
  EXPECT_EQ(reply.intent, "oos");
  EXPECT_TRUE(reply.out_of_scope);
  EXPECT_FLOAT_EQ(reply.confidence, 0.2f);
  EXPECT_THAT(state.next_variant, IsEmpty());
}

TEST(DialogueEngineTest, FallbackNamesAtMostSixTopics) {
  std::vector<nlu::IntentDefinition> intents;
  for (const char* name : {"t1", "t2", "t3", "t4", "t5", "t6", "t7"}) {
    intents.push_back(Intent(name, {"r"}));
  }
  DialogueState state;
  EXPECT_EQ(Engine(intents).Respond("?", OutOfScope(), &state).reply,
            "Sorry, I can't help with that. I can help with things like t1, t2, t3, t4, t5 "
            "and t6.");
}

TEST(DialogueEngineTest, FallbackWithNothingToOffer) {
  DialogueState state;
  EXPECT_EQ(Engine({Intent("a", {}), Intent("oos", {})}).Respond("?", OutOfScope(), &state).reply,
            "Sorry, I can't help with that.");
  EXPECT_EQ(Engine({}).Respond("?", OutOfScope(), &state).reply, "Sorry, I can't help with that.");
}

TEST(DialogueEngineTest, OosIntentIsOutOfScopeEvenIfNotFlagged) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  nlu::IntentPrediction prediction = OutOfScope();
  prediction.out_of_scope = false;
  EXPECT_TRUE(engine.Respond("?", prediction, &state).out_of_scope);
}

// ---- Clarification ----

TEST(DialogueEngineTest, AsksWhenTheTwoBestAreWithinTheMargin) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply = engine.Respond("my parcel?", Ambiguous(), &state);
  EXPECT_EQ(reply.reply, "Just to be sure: do you mean order status or delivery delay?");
  EXPECT_TRUE(reply.clarification);
  EXPECT_FALSE(reply.out_of_scope);
  EXPECT_EQ(reply.intent, "order_status");
  EXPECT_FLOAT_EQ(reply.confidence, 0.45f);
  EXPECT_THAT(reply.choices, ElementsAre("order_status", "delivery_delay"));
  ASSERT_TRUE(state.pending_choice.has_value());
  EXPECT_EQ(*state.pending_choice,
            std::make_pair(std::string("order_status"), std::string("delivery_delay")));
  EXPECT_THAT(state.next_variant, IsEmpty());  // no response was used
}

TEST(DialogueEngineTest, QuestionUsesShortDescriptions) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  EXPECT_EQ(
      engine.Respond("?", Ranked({{"payment_methods", 0.5f}, {"delivery_delay", 0.45f}}), &state)
          .reply,
      "Just to be sure: do you mean ways to pay or delivery delay?");
}

TEST(DialogueEngineTest, DoesNotAskWhenTheMarginIsZero) {
  const DialogueEngine engine = Engine(ShopIntents(), {.ambiguity_margin = 0});
  DialogueState state;
  const DialogueReply reply = engine.Respond("my parcel?", Ambiguous(), &state);
  EXPECT_FALSE(reply.clarification);
  EXPECT_EQ(reply.reply, "Order reply 1.");
  EXPECT_FALSE(state.pending_choice.has_value());
}

TEST(DialogueEngineTest, DoesNotAskWhenTheGapIsAtLeastTheMargin) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply =
      engine.Respond("?", Ranked({{"order_status", 0.60f}, {"delivery_delay", 0.40f}}), &state);
  EXPECT_FALSE(reply.clarification);
  EXPECT_EQ(reply.intent, "order_status");
}

TEST(DialogueEngineTest, DoesNotAskWhenOosIsAmongTheTwoBest) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  // Best is oos: the fallback answers.
  const DialogueReply oos_best =
      engine.Respond("?", Ranked({{"oos", 0.45f}, {"order_status", 0.40f}}), &state);
  EXPECT_FALSE(oos_best.clarification);
  EXPECT_TRUE(oos_best.out_of_scope);
  // Runner-up is oos: the in-scope best answers.
  const DialogueReply oos_second =
      engine.Respond("?", Ranked({{"order_status", 0.45f}, {"oos", 0.40f}}), &state);
  EXPECT_FALSE(oos_second.clarification);
  EXPECT_EQ(oos_second.reply, "Order reply 1.");
  EXPECT_FALSE(state.pending_choice.has_value());
}

TEST(DialogueEngineTest, CloseCallBelowTheMinimumConfidenceGetsTheFallback) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply =
      engine.Respond("?", Ranked({{"order_status", 0.20f}, {"delivery_delay", 0.18f}}), &state);
  EXPECT_FALSE(reply.clarification);
  EXPECT_TRUE(reply.out_of_scope);
  EXPECT_EQ(reply.intent, "oos");
  EXPECT_FLOAT_EQ(reply.confidence, 0.20f);
  EXPECT_THAT(reply.reply, HasSubstr("I can help with"));
  EXPECT_FALSE(state.pending_choice.has_value());
}

TEST(DialogueEngineTest, LowConfidenceWithoutRivalIsAnswered) {
  // Only close calls are affected: a clear, if modest, winner the model
  // kept in scope is answered.
  const DialogueEngine engine = Engine();
  DialogueState state;
  const DialogueReply reply =
      engine.Respond("?", Ranked({{"order_status", 0.20f}, {"delivery_delay", 0.02f}}), &state);
  EXPECT_EQ(reply.intent, "order_status");
  EXPECT_FALSE(reply.out_of_scope);
  // With clarification disabled, a low close call is answered too.
  const DialogueEngine never_asks = Engine(ShopIntents(), {.ambiguity_margin = 0});
  EXPECT_EQ(
      never_asks.Respond("?", Ranked({{"order_status", 0.20f}, {"delivery_delay", 0.18f}}), &state)
          .intent,
      "order_status");
}

TEST(DialogueEngineTest, DoesNotAskWhenOutOfScopeOrWithoutRunnerUp) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  nlu::IntentPrediction below_threshold = Ambiguous();
  below_threshold.intent = "oos";
  below_threshold.out_of_scope = true;
  EXPECT_TRUE(engine.Respond("?", below_threshold, &state).out_of_scope);
  nlu::IntentPrediction single = Ranked({{"order_status", 0.45f}});
  EXPECT_FALSE(engine.Respond("?", single, &state).clarification);
  EXPECT_FALSE(state.pending_choice.has_value());
}

// ---- Resolving a clarifying question ----

struct Resolution {
  const char* answer;
  const char* intent;  // nullptr: the user declined
};

class DialogueResolutionTest : public ::testing::TestWithParam<Resolution> {};

TEST_P(DialogueResolutionTest, ResolvesTheAnswer) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  ASSERT_TRUE(engine.Respond("my parcel?", Ambiguous(), &state).clarification);
  // The model reads the answer as something unrelated and unsure, so only
  // the engine's own rules can resolve it.
  const nlu::IntentPrediction answer_prediction = Ranked({{"greeting", 0.3f}, {"thanks", 0.2f}});
  const DialogueReply reply = engine.Respond(GetParam().answer, answer_prediction, &state);
  EXPECT_FALSE(state.pending_choice.has_value());
  EXPECT_FALSE(reply.clarification);
  EXPECT_FLOAT_EQ(reply.confidence, 1.0f);
  if (GetParam().intent == nullptr) {
    EXPECT_EQ(reply.reply, "Sorry, I misunderstood. Could you rephrase your question?");
    EXPECT_EQ(reply.intent, "oos");
    EXPECT_TRUE(reply.out_of_scope);
  } else {
    EXPECT_EQ(reply.intent, GetParam().intent);
    EXPECT_FALSE(reply.out_of_scope);
    EXPECT_EQ(reply.reply, std::string(GetParam().intent) == "order_status" ? "Order reply 1."
                                                                            : "Delay reply 1.");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Phrases, DialogueResolutionTest,
    ::testing::Values(
        Resolution{"yes", "order_status"}, Resolution{"Yes!", "order_status"},
        Resolution{"  yeah ", "order_status"}, Resolution{"yep", "order_status"},
        Resolution{"sure", "order_status"}, Resolution{"correct", "order_status"},
        Resolution{"the first", "order_status"}, Resolution{"The first one.", "order_status"},
        Resolution{"first", "order_status"}, Resolution{"1", "order_status"},
        Resolution{"the former", "order_status"}, Resolution{"the second", "delivery_delay"},
        Resolution{"the second one", "delivery_delay"}, Resolution{"Second!", "delivery_delay"},
        Resolution{"2", "delivery_delay"}, Resolution{"the latter", "delivery_delay"},
        Resolution{"the other one", "delivery_delay"},
        // Intent names, with underscores or spaces, anywhere in the answer.
        Resolution{"delivery_delay", "delivery_delay"},
        Resolution{"I meant the Delivery Delay, thanks", "delivery_delay"},
        Resolution{"order status please", "order_status"},
        // A named intent beats a leading "no".
        Resolution{"no, delivery delay", "delivery_delay"},
        // Declining.
        Resolution{"no", nullptr}, Resolution{"No.", nullptr}, Resolution{"neither", nullptr},
        Resolution{"none", nullptr}, Resolution{"nope", nullptr}));

TEST(DialogueEngineTest, ResolvesByHumanName) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  engine.Respond("?", Ranked({{"delivery_delay", 0.5f}, {"payment_methods", 0.45f}}), &state);
  const DialogueReply reply =
      engine.Respond("the ways to pay one", Ranked({{"greeting", 0.3f}, {"thanks", 0.2f}}), &state);
  EXPECT_EQ(reply.intent, "payment_methods");
  EXPECT_FLOAT_EQ(reply.confidence, 1.0f);
}

TEST(DialogueEngineTest, LongestNameWins) {
  const DialogueEngine engine =
      Engine({Intent("order", {"Order."}), Intent("order_status", {"Status."})});
  DialogueState state;
  engine.Respond("?", Ranked({{"order", 0.5f}, {"order_status", 0.45f}}), &state);
  EXPECT_EQ(
      engine.Respond("my order status", Ranked({{"order", 0.3f}, {"x", 0.2f}}), &state).intent,
      "order_status");
  // Whole words only: "reorder" does not name "order".
  engine.Respond("?", Ranked({{"order", 0.5f}, {"order_status", 0.45f}}), &state);
  EXPECT_EQ(engine.Respond("reorder", OutOfScope(), &state).intent, "oos");
}

TEST(DialogueEngineTest, ModelsAffirmAndDenyAnswerTheQuestion) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  engine.Respond("my parcel?", Ambiguous(), &state);
  const DialogueReply affirmed = engine.Respond("yes please", Confident("affirm"), &state);
  EXPECT_EQ(affirmed.intent, "order_status");
  EXPECT_EQ(affirmed.reply, "Order reply 1.");
  EXPECT_FLOAT_EQ(affirmed.confidence, 1.0f);

  engine.Respond("my parcel?", Ambiguous(), &state);
  const DialogueReply denied = engine.Respond("nah not really", Confident("deny"), &state);
  EXPECT_EQ(denied.intent, "oos");
  EXPECT_TRUE(denied.out_of_scope);
  EXPECT_EQ(denied.reply, "Sorry, I misunderstood. Could you rephrase your question?");
  EXPECT_FALSE(state.pending_choice.has_value());
}

TEST(DialogueEngineTest, AnUnrelatedFollowUpIsANewMessage) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  engine.Respond("my parcel?", Ambiguous(), &state);
  const DialogueReply reply = engine.Respond("how can I pay", Confident("payment_methods"), &state);
  EXPECT_EQ(reply.intent, "payment_methods");
  EXPECT_FLOAT_EQ(reply.confidence, 0.9f);
  EXPECT_FALSE(state.pending_choice.has_value());

  // A follow-up that is itself ambiguous asks again, about its own intents.
  engine.Respond("my parcel?", Ambiguous(), &state);
  const DialogueReply again =
      engine.Respond("?", Ranked({{"payment_methods", 0.5f}, {"greeting", 0.45f}}), &state);
  EXPECT_TRUE(again.clarification);
  EXPECT_EQ(*state.pending_choice,
            std::make_pair(std::string("payment_methods"), std::string("greeting")));

  // And an out-of-scope follow-up gets the fallback.
  EXPECT_TRUE(engine.Respond("weather", OutOfScope(), &state).out_of_scope);
  EXPECT_FALSE(state.pending_choice.has_value());
}

TEST(DialogueEngineTest, ChosenIntentRotatesLikeAnyOther) {
  const DialogueEngine engine = Engine();
  DialogueState state;
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &state).reply, "Order reply 1.");
  engine.Respond("my parcel?", Ambiguous(), &state);
  EXPECT_EQ(engine.Respond("the first one", OutOfScope(), &state).reply, "Order reply 2.");
}

// ---- State ----

TEST(DialogueStateTest, SerializesCompactly) {
  EXPECT_EQ(SerializeState({}), "{}");
  DialogueState state;
  state.next_variant = {{"order_status", 2}, {"delivery_delay", 1}};
  EXPECT_EQ(SerializeState(state), R"({"v":{"delivery_delay":1,"order_status":2}})");
  state.pending_choice.emplace("order_status", "delivery_delay");
  EXPECT_EQ(
      SerializeState(state),
      R"({"v":{"delivery_delay":1,"order_status":2},"pending":["order_status","delivery_delay"]})");
  state.next_variant.clear();
  EXPECT_EQ(SerializeState(state), R"({"pending":["order_status","delivery_delay"]})");
}

TEST(DialogueStateTest, RoundTrips) {
  DialogueState state;
  state.next_variant = {{"order_status", 2}, {"odd \"name\"\n", 0}, {"b", 2147483647}};
  state.pending_choice.emplace("a", "b");
  const DialogueState parsed = ParseState(SerializeState(state));
  EXPECT_EQ(parsed.next_variant, state.next_variant);
  EXPECT_EQ(parsed.pending_choice, state.pending_choice);

  // Through a conversation too.
  const DialogueEngine engine = Engine();
  DialogueState live;
  engine.Respond("", Confident("order_status"), &live);
  engine.Respond("", Ambiguous(), &live);
  DialogueState restored = ParseState(SerializeState(live));
  EXPECT_EQ(engine.Respond("second", OutOfScope(), &restored).intent, "delivery_delay");
  EXPECT_EQ(engine.Respond("", Confident("order_status"), &restored).reply, "Order reply 2.");
}

TEST(DialogueStateTest, NegativeIndexesAreNotWritten) {
  DialogueState state;
  state.next_variant = {{"a", -1}, {"b", 1}};
  EXPECT_EQ(SerializeState(state), R"({"v":{"b":1}})");
}

TEST(DialogueStateTest, IgnoresUnknownKeys) {
  const DialogueState state = ParseState(R"({"v":{"a":1},"future":[1,2,3]})");
  EXPECT_EQ(state.next_variant.at("a"), 1);
}

TEST(DialogueStateTest, MalformedGivesTheInitialState) {
  for (const char* json :
       {"",
        "not json",
        "{",
        R"({"v":{"a":1})",
        "[]",
        "null",
        "42",
        R"("text")",
        R"({"v":[1]})",
        R"({"v":{"a":"1"}})",
        R"({"v":{"a":1.5}})",
        R"({"v":{"a":-1}})",
        R"({"v":{"a":2147483648}})",
        R"({"v":{"a":18446744073709551615}})",
        R"({"v":{"a":1},"pending":"a"})",
        R"({"pending":["a"]})",
        R"({"pending":["a","b","c"]})",
        R"({"pending":[1,2]})",
        R"({"pending":["","b"]})",
        R"({"v":{"a":1}} trailing)",
        "{\"v\":{\"a\":1}}\xff",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
    SCOPED_TRACE(json);
    const DialogueState state = ParseState(json);
    EXPECT_THAT(state.next_variant, IsEmpty());
    EXPECT_FALSE(state.pending_choice.has_value());
  }
}

// ---- The default domain ----

TEST(DialogueEngineDomainTest, EveryIntentGetsARenderedReply) {
  const nlu::TrainingData domain =
      nlu::LoadTrainingData({std::filesystem::path(CHATBOT_SOURCE_DIR) / "data" / "domain"});
  const DialogueEngine engine(domain.intents, VariablesFromSettings(Settings{}.bot), {});
  DialogueState state;
  int in_scope = 0;
  for (const nlu::IntentDefinition& intent : domain.intents) {
    if (intent.name == nlu::kOutOfScopeLabel) continue;
    SCOPED_TRACE(intent.name);
    ++in_scope;
    // Every variant, not just the first.
    for (size_t i = 0; i < intent.responses.size(); ++i) {
      const DialogueReply reply = engine.Respond("text", Confident(intent.name), &state);
      EXPECT_EQ(reply.intent, intent.name);
      EXPECT_THAT(reply.reply, Not(IsEmpty()));
      EXPECT_EQ(reply.reply.find('{'), std::string::npos) << reply.reply;
      EXPECT_THAT(reply.reply, Not(HasSubstr("no answer configured")));
    }
  }
  EXPECT_GE(in_scope, 25);
  const DialogueReply fallback = engine.Respond("weather", OutOfScope(), &state);
  EXPECT_THAT(fallback.reply, HasSubstr(Settings{}.bot.name));
  EXPECT_EQ(engine.HumanName("order_status"), "order status");
  EXPECT_EQ(engine.HumanName("delivery_delay"), "delivery delay");
}

}  // namespace
}  // namespace chatbot::dialogue
