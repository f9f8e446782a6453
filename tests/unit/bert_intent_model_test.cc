// The BERT intent model end to end: fine-tuning the fixture checkpoint on a
// few intents, saving and reloading (same predictions), adopting a
// checkpoint unchanged, batching against one-by-one, and training from
// scratch with its own vocabulary.
#include "nlu/bert_intent_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bert/bert_checkpoint.h"
#include "bert/safetensors.h"
#include "ci_skip.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "nlu/bert_trainer.h"
#include "nlu/calibration.h"
#include "temp_dir.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kFixture = fs::path(CHATBOT_SOURCE_DIR) / "../shared/fixtures/bert-tiny";

// Each test's own directory, named after this suite.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("bert_intent_model_test") {}
};

// Five intents of a toy banking domain, eight phrasings each.
std::vector<TrainingExample> ToyData() {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"balance",
       {"what is my balance", "how much money do i have", "show my account balance",
        "balance please", "check my balance", "how much is in my account", "tell me my balance",
        "what's left in my account"}},
      {"transfer",
       {"transfer money to savings", "send 50 dollars to john", "move money between accounts",
        "make a transfer", "transfer funds", "send money to my mom", "wire money abroad",
        "pay my friend back"}},
      {"alarm",
       {"set an alarm for 7am", "wake me up at six", "alarm for tomorrow morning", "set alarm",
        "i need an alarm at 5:30", "wake me at noon", "create an alarm", "alarm in ten minutes"}},
      {"weather",
       {"what is the weather like", "will it rain today", "weather in new york",
        "is it sunny tomorrow", "forecast for the weekend", "how cold is it outside",
        "do i need an umbrella", "temperature today"}},
      {"greeting",
       {"hello", "hi there", "good morning", "hey", "hello bot", "good evening", "hi",
        "greetings"}},
  };
  std::vector<TrainingExample> data;
  for (const auto& [intent, texts] : intents) {
    for (const std::string& text : texts) data.push_back({text, intent, "toy"});
  }
  return data;
}

BertTrainingOptions FastOptions() {
  BertTrainingOptions options;
  options.epochs = 30;
  options.batch_size = 8;
  options.learning_rate = 2e-3;
  options.patience = 30;
  options.threads = 1;
  options.validation_fraction = 0.25;
  options.seed = 7;
  return options;
}

#define REQUIRE_FIXTURE()                                                       \
  if (!fs::exists(kFixture / "model.safetensors")) {                            \
    CHATBOT_SKIP("the BERT fixture is not available at " << kFixture.string()); \
  }

TEST(BertIntentModelTest, FineTunesTheFixtureSavesAndReloadsWithTheSamePredictions) {
  REQUIRE_FIXTURE();
  BertTrainingOptions options = FastOptions();
  options.init = kFixture;
  const std::vector<TrainingExample> data = ToyData();
  BertTrainingResult result = TrainBertModel(data, {}, options);
  ASSERT_NE(result.model, nullptr);
  EXPECT_FALSE(result.from_scratch);
  EXPECT_THAT(result.model->labels(),
              ::testing::ElementsAre("alarm", "balance", "greeting", "transfer", "weather"));
  // The fixture's own head (intent_0..4) is replaced by one for these labels.
  EXPECT_EQ(result.model->checkpoint().config.labels, result.model->labels());
  int correct = 0;
  for (const TrainingExample& e : data)
    correct += result.model->Predict(e.text, 1).intent == e.intent;
  EXPECT_GE(correct, static_cast<int>(data.size() * 0.8)) << "training accuracy after fine-tuning";
  EXPECT_EQ(result.model->Predict("hello", 1).model, "bert");

  TempDir dir;
  result.model->set_version("test-version");
  result.model->Save(dir.path() / "bert", result.heldout_examples, result.smoke_examples);
  for (const char* file : {"config.json", "tokenizer_config.json", "vocab.txt", "model.safetensors",
                           "labels.json", "heldout.jsonl", "smoke.jsonl", "manifest.json"}) {
    EXPECT_TRUE(fs::exists(dir.path() / "bert" / file)) << file;
  }
  const auto reloaded = BertIntentModel::Load(dir.path() / "bert");
  EXPECT_EQ(reloaded->version(), "test-version");
  EXPECT_EQ(reloaded->labels(), result.model->labels());
  EXPECT_FLOAT_EQ(reloaded->temperature(), result.model->temperature());
  EXPECT_FLOAT_EQ(reloaded->out_of_scope_threshold(), result.model->out_of_scope_threshold());
  for (const char* text :
       {"check my balance", "wake me at 8", "hello", "something else entirely"}) {
    const std::vector<float> before = result.model->Probabilities(text);
    const std::vector<float> after = reloaded->Probabilities(text);
    ASSERT_EQ(before.size(), after.size());
    for (size_t k = 0; k < before.size(); ++k) EXPECT_FLOAT_EQ(before[k], after[k]) << text;
  }
  // The saved directory is a Hugging Face checkpoint too.
  const bert::BertCheckpoint checkpoint = bert::BertCheckpoint::Load(dir.path() / "bert");
  EXPECT_TRUE(checkpoint.has_classifier());
  EXPECT_EQ(checkpoint.config.labels, result.model->labels());
}

TEST(BertIntentModelTest, RefusesADamagedModelDirectory) {
  REQUIRE_FIXTURE();
  TempDir dir;
  auto model = AdoptCheckpoint(kFixture);
  model->Save(dir.path() / "bert", {}, {});
  {
    std::fstream f(dir.path() / "bert" / "model.safetensors",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  EXPECT_THAT([&] { BertIntentModel::Load(dir.path() / "bert"); },
              ::testing::ThrowsMessage<ModelError>(HasSubstr("model.safetensors")));
}

TEST(BertIntentModelTest, AdoptedCheckpointPredictsTheSoftmaxOfItsLogits) {
  REQUIRE_FIXTURE();
  auto model = AdoptCheckpoint(kFixture);
  EXPECT_FLOAT_EQ(model->temperature(), 1.0f);
  EXPECT_EQ(model->labels(),
            (std::vector<std::string>{"intent_0", "intent_1", "intent_2", "intent_3", "intent_4"}));
  // The fixture's expected logits for its first test string, unpadded.
  const bert::SafeTensorsFile expected =
      bert::SafeTensorsFile::Read(kFixture / "expected.safetensors");
  const bert::Tensor& logits = expected.Get("logits");
  std::vector<float> softmax(5);
  Softmax(logits.values.data(), 5, 1.0f, softmax.data());
  const std::vector<float> probabilities = model->Probabilities("What's my account balance?");
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(probabilities[k], softmax[k], 1e-5) << k;
}

TEST(BertIntentModelTest, RefusesACheckpointWithoutAClassifier) {
  REQUIRE_FIXTURE();
  TempDir dir;
  bert::BertCheckpoint checkpoint = bert::BertCheckpoint::Load(kFixture);
  checkpoint.tensors.erase("classifier.weight");
  checkpoint.tensors.erase("classifier.bias");
  checkpoint.config.labels.clear();
  checkpoint.Save(dir.path());
  EXPECT_THAT([&] { AdoptCheckpoint(dir.path()); },
              ::testing::ThrowsMessage<ModelError>(HasSubstr("not a fine-tuned classifier")));
}

TEST(BertIntentModelTest, BatchedPredictionsEqualOneByOne) {
  REQUIRE_FIXTURE();
  auto model = AdoptCheckpoint(kFixture);
  const std::vector<std::string> texts = {"hi",
                                          "transfer $1,250.75 from checking to savings",
                                          "remind me to call mom",
                                          "",
                                          "你好 world",
                                          "what is the weather like in new york city this weekend"};
  const std::vector<float> batched = model->ProbabilitiesBatch(texts);
  const size_t labels = model->labels().size();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> single = model->Probabilities(texts[i]);
    for (size_t k = 0; k < labels; ++k) {
      EXPECT_NEAR(batched[i * labels + k], single[k], 1e-5) << texts[i];
    }
  }
  const std::vector<IntentPrediction> predictions = model->PredictBatch(texts, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(predictions[i].intent, model->Predict(texts[i], 2).intent) << texts[i];
  }
}

TEST(BertIntentModelTest, TrainsFromScratchWithItsOwnVocabulary) {
  BertTrainingOptions options = FastOptions();
  options.size = "tiny";
  options.vocab_size = 1000;
  options.epochs = 40;
  const std::vector<TrainingExample> data = ToyData();
  std::vector<std::string> progress;
  BertTrainingResult result = TrainBertModel(data, {}, options, [&](const BertTrainingProgress& p) {
    if (p.epoch_finished) progress.push_back(std::to_string(p.epoch));
  });
  EXPECT_TRUE(result.from_scratch);
  EXPECT_FALSE(progress.empty());
  EXPECT_EQ(result.history.size(), progress.size());
  EXPECT_GT(result.examples_per_second, 0);
  EXPECT_EQ(result.model->pooling(), BertPooling::kMean);
  int correct = 0;
  for (const TrainingExample& e : data)
    correct += result.model->Predict(e.text, 1).intent == e.intent;
  EXPECT_GE(correct, static_cast<int>(data.size() * 0.8));
  // The same seed trains the same model.
  BertTrainingResult again = TrainBertModel(data, {}, options);
  EXPECT_EQ(result.model->Probabilities("check my balance"),
            again.model->Probabilities("check my balance"));
}

}  // namespace
}  // namespace chatbot::nlu
