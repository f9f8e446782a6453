#include "nlu/prediction_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

const std::vector<std::string> kLabels = {"greeting", "oos", "order_status", "return_item"};

std::vector<std::string> Names(const IntentPrediction& p) {
  std::vector<std::string> names;
  for (const RankedIntent& r : p.ranking) names.push_back(r.intent);
  return names;
}

TEST(PredictionBuilderTest, FindsTheOutOfScopeLabel) {
  EXPECT_EQ(OutOfScopeIndex(kLabels), 1);
  EXPECT_EQ(OutOfScopeIndex({"a", "b"}), -1);
}

TEST(PredictionBuilderTest, RanksAndDecides) {
  const std::vector<float> p = {0.1f, 0.2f, 0.6f, 0.1f};
  const IntentPrediction prediction = BuildPrediction(p, kLabels, 1, 0.5f, 3, "bert");
  EXPECT_EQ(prediction.intent, "order_status");
  EXPECT_EQ(prediction.confidence, 0.6f);
  EXPECT_FALSE(prediction.out_of_scope);
  EXPECT_EQ(prediction.model, "bert");
  // Ties go to the lower index.
  EXPECT_THAT(Names(prediction), ElementsAre("order_status", "oos", "greeting"));
  EXPECT_EQ(prediction.ranking[2].confidence, 0.1f);
}

TEST(PredictionBuilderTest, BelowTheThresholdOrOnTheOosLabelIsOutOfScope) {
  const std::vector<float> p = {0.1f, 0.2f, 0.6f, 0.1f};
  const IntentPrediction low = BuildPrediction(p, kLabels, 1, 0.61f, 2, "svm");
  EXPECT_TRUE(low.out_of_scope);
  EXPECT_EQ(low.intent, kOutOfScopeLabel);
  EXPECT_EQ(low.confidence, 0.6f);
  EXPECT_EQ(low.ranking[0].intent, "order_status");  // the ranking still shows it
  EXPECT_FALSE(BuildPrediction(p, kLabels, 1, 0.6f, 2, "svm").out_of_scope);  // at = in scope

  const std::vector<float> oos = {0.1f, 0.7f, 0.1f, 0.1f};
  const IntentPrediction predicted_oos = BuildPrediction(oos, kLabels, 1, 0.0f, 1, "svm");
  EXPECT_TRUE(predicted_oos.out_of_scope);
  EXPECT_EQ(predicted_oos.intent, kOutOfScopeLabel);
  // Without an "oos" label only the threshold decides.
  EXPECT_FALSE(BuildPrediction(oos, kLabels, -1, 0.0f, 1, "svm").out_of_scope);
  EXPECT_EQ(BuildPrediction(oos, kLabels, -1, 0.0f, 1, "svm").intent, "oos");
}

TEST(PredictionBuilderTest, ClampsTopKAndRejectsMismatchedLengths) {
  const std::vector<float> p = {0.4f, 0.3f, 0.2f, 0.1f};
  EXPECT_THAT(BuildPrediction(p, kLabels, 1, 0, 0, "svm").ranking, SizeIs(1));
  EXPECT_THAT(BuildPrediction(p, kLabels, 1, 0, -3, "svm").ranking, SizeIs(1));
  EXPECT_THAT(BuildPrediction(p, kLabels, 1, 0, 99, "svm").ranking, SizeIs(4));
  const std::vector<float> short_row = {0.5f, 0.5f};
  EXPECT_THROW(BuildPrediction(short_row, kLabels, 1, 0, 1, "svm"), ModelError);
  EXPECT_THROW(BuildPrediction({}, {}, -1, 0, 1, "svm"), ModelError);
}

// Implements only Predict: the interface's defaults must derive the rest.
class PredictOnly : public IntentClassifier {
 public:
  IntentPrediction Predict(std::string_view text, int top_k) const override {
    const std::vector<float> p = text == "x" ? std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}
                                             : std::vector<float>{0.7f, 0.1f, 0.1f, 0.1f};
    return BuildPrediction(p, kLabels, 1, 0, top_k, "fake");
  }
  std::string_view kind() const override { return "fake"; }
  std::string version() const override { return "1"; }
  const std::vector<std::string>& labels() const override { return kLabels; }
  float out_of_scope_threshold() const override { return 0; }
};

TEST(IntentClassifierTest, DefaultsDeriveFromPredict) {
  const PredictOnly model;
  EXPECT_THAT(model.Probabilities("x"), ElementsAre(0.1f, 0.2f, 0.3f, 0.4f));
  const std::vector<std::string> texts = {"x", "y"};
  EXPECT_THAT(model.ProbabilitiesBatch(texts),
              ElementsAre(0.1f, 0.2f, 0.3f, 0.4f, 0.7f, 0.1f, 0.1f, 0.1f));
  const std::vector<IntentPrediction> batch = model.PredictBatch(texts, 2);
  ASSERT_THAT(batch, SizeIs(2));
  EXPECT_EQ(batch[0].intent, "return_item");
  EXPECT_EQ(batch[1].intent, "greeting");
  EXPECT_THAT(batch[1].ranking, SizeIs(2));
}

TEST(SvmProbabilitiesTest, PredictIsBuiltFromProbabilities) {
  const std::map<std::string, std::vector<std::string>> intents = {
      {"greeting", {"hello", "hi there", "good morning", "hey", "hello again", "hiya"}},
      {"goodbye", {"bye", "see you later", "goodbye", "farewell", "bye bye", "see you"}},
      {"order_status",
       {"where is my order", "has my order shipped", "track my parcel", "order status",
        "when will my order arrive", "where is my package"}},
      {"oos",
       {"what is the weather", "tell me a joke", "book a flight", "who won the match",
        "play some music", "what is the capital of france"}},
  };
  std::vector<TrainingExample> examples;
  for (const auto& [intent, texts] : intents) {
    for (const std::string& text : texts) examples.push_back({text, intent, "tiny"});
  }
  const SvmTrainingResult trained = TrainSvmModel(examples, {}, SvmTrainingOptions{});
  const SvmIntentModel& model = *trained.model;
  const std::vector<std::string> texts = {"hello", "where is my order", "tell me a joke", ""};
  const std::vector<float> rows = model.ProbabilitiesBatch(texts);
  const size_t classes = model.labels().size();
  ASSERT_THAT(rows, SizeIs(texts.size() * classes));
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> p = model.Probabilities(texts[i]);
    EXPECT_EQ(p, std::vector<float>(rows.begin() + i * classes, rows.begin() + (i + 1) * classes));
    EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-5) << texts[i];
    const IntentPrediction direct = model.Predict(texts[i], 3);
    const IntentPrediction built =
        BuildPrediction(p, model.labels(), OutOfScopeIndex(model.labels()),
                        model.out_of_scope_threshold(), 3, "svm");
    EXPECT_EQ(direct.model, "svm");
    EXPECT_EQ(direct.intent, built.intent) << texts[i];
    EXPECT_EQ(direct.confidence, built.confidence) << texts[i];
    EXPECT_EQ(Names(direct), Names(built)) << texts[i];
  }
  EXPECT_EQ(model.Predict("hello", 1).intent, "greeting");
}

}  // namespace
}  // namespace chatbot::nlu
