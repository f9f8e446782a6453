// Two instances answering the same conversation at once (two ChatServices,
// each with its own store on one database, as two processes would have):
// every turn either of them acknowledges is stored exactly once, in order,
// none is lost, and each reply was decided from the state it follows. Run
// on every backend (store_backends.h).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "dialogue/chat_service.h"
#include "nlu/intent_classifier.h"
#include "store_backends.h"

namespace chatbot::dialogue {
namespace {

// Says every message is out of scope, so the engine rotates its fallback
// replies: the dialogue state changes with every turn.
class OutOfScopeClassifier final : public nlu::IntentClassifier {
 public:
  nlu::IntentPrediction Predict(std::string_view, int) const override {
    return {.intent = "oos",
            .confidence = 0.9F,
            .out_of_scope = true,
            .ranking = {{"oos", 0.9F}, {"greeting", 0.05F}},
            .model = "stub"};
  }
  std::vector<nlu::IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                                  int top_k) const override {
    std::vector<nlu::IntentPrediction> out;
    for (const std::string& text : texts) out.push_back(Predict(text, top_k));
    return out;
  }
  std::string_view kind() const override { return "stub"; }
  std::string version() const override { return "v1"; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return 0.5F; }

 private:
  std::vector<std::string> labels_ = {"oos", "greeting"};
};

class ChatConcurrencyTest : public ::testing::TestWithParam<test_support::Backend> {
 protected:
  void SetUp() override { CHATBOT_PREPARE_STORE_OR_SKIP(location_); }
  test_support::StoreLocation location_{GetParam()};
};

TEST_P(ChatConcurrencyTest, TwoInstancesOnOneSessionStoreEveryTurnInOrder) {
  Settings settings;
  settings.paths.data = {std::string(CHATBOT_SOURCE_DIR) + "/data/domain"};
  const auto engine = LoadDialogueEngine(settings, LoadDomain(settings));
  const OutOfScopeClassifier classifier;
  auto store_a = location_.OpenSessions();
  auto store_b = location_.OpenSessions();
  ChatService instance_a(store_a.get(), 5);
  ChatService instance_b(store_b.get(), 5);
  const std::optional<ChatTurn> first =
      instance_a.Reply({"", "hello", "key:1", true}, {classifier, *engine});
  ASSERT_TRUE(first.has_value());
  const std::string id = first->session_id;

  constexpr int kTurnsEach = 30;
  std::vector<int64_t> numbers_a, numbers_b;
  auto chat = [&](ChatService* service, std::vector<int64_t>* numbers, const char* who) {
    for (int i = 0; i < kTurnsEach; ++i) {
      const std::string message = std::string(who) + " " + std::to_string(i);
      const std::optional<ChatTurn> turn =
          service->Reply({id, message, "key:1", true}, {classifier, *engine});
      ASSERT_TRUE(turn.has_value());
      numbers->push_back(turn->stored.number);
    }
  };
  std::thread a(chat, &instance_a, &numbers_a, "a");
  std::thread b(chat, &instance_b, &numbers_b, "b");
  a.join();
  b.join();

  const std::optional<store::Session> session = store_b->GetSession(id, true);
  ASSERT_TRUE(session.has_value());
  const size_t total = 1 + 2 * kTurnsEach;
  EXPECT_EQ(session->summary.turn_count, static_cast<int64_t>(total));
  ASSERT_EQ(session->turns.size(), total);
  std::set<int64_t> acknowledged(numbers_a.begin(), numbers_a.end());
  acknowledged.insert(numbers_b.begin(), numbers_b.end());
  EXPECT_EQ(acknowledged.size(), 2u * kTurnsEach);  // no number acknowledged twice
  for (size_t i = 0; i < total; ++i)
    EXPECT_EQ(session->turns[i].number, static_cast<int64_t>(i + 1));
  // Each instance's own turns are in the order it sent them.
  for (const char* who : {"a ", "b "}) {
    int expected = 0;
    for (const store::Turn& turn : session->turns) {
      if (turn.user_text.rfind(who, 0) != 0) continue;
      EXPECT_EQ(turn.user_text, who + std::to_string(expected));
      ++expected;
    }
    EXPECT_EQ(expected, kTurnsEach);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatConcurrencyTest,
                         ::testing::ValuesIn(test_support::kAllBackends),
                         test_support::BackendName);

}  // namespace
}  // namespace chatbot::dialogue
