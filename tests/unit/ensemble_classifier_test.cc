#include "nlu/ensemble_classifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A model answering from a table of text -> probabilities (in its own label
// order), counting how it is asked.
class TableModel : public IntentClassifier {
 public:
  TableModel(std::string kind, std::vector<std::string> labels, float threshold = 0)
      : kind_(std::move(kind)), labels_(std::move(labels)), threshold_(threshold) {}

  void Set(const std::string& text, std::vector<float> probabilities) {
    table_[text] = std::move(probabilities);
  }

  std::vector<float> Probabilities(std::string_view text) const override {
    ++single_calls;
    ++texts_asked;
    return Lookup(text);
  }
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override {
    ++batch_calls;
    texts_asked += texts.size();
    last_batch.assign(texts.begin(), texts.end());
    std::vector<float> rows;
    for (const std::string& text : texts) {
      const std::vector<float>& row = Lookup(text);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  }
  IntentPrediction Predict(std::string_view text, int top_k) const override {
    return BuildPrediction(Lookup(text), labels_, OutOfScopeIndex(labels_), threshold_, top_k,
                           kind_);
  }
  std::string_view kind() const override { return kind_; }
  std::string version() const override { return kind_ + "-v1"; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return threshold_; }

  mutable int single_calls = 0;
  mutable int batch_calls = 0;
  mutable size_t texts_asked = 0;
  mutable std::vector<std::string> last_batch;

 private:
  const std::vector<float>& Lookup(std::string_view text) const {
    const auto it = table_.find(std::string(text));
    if (it == table_.end()) throw ModelError(kind_ + ": unknown text " + std::string(text));
    return it->second;
  }

  std::string kind_;
  std::vector<std::string> labels_;
  float threshold_;
  std::map<std::string, std::vector<float>> table_;
};

const std::vector<std::string> kLabels = {"a", "b", "c"};

// p[true] = t, p[wrong] = u, the remaining label gets r (labels a, b, c).
std::vector<float> Row(int truth, int wrong, float t, float u, float r) {
  std::vector<float> p(3, r);
  p[truth] = t;
  p[wrong] = u;
  return p;
}

struct Scenario {
  explicit Scenario(std::vector<std::string> label_set = kLabels) : labels(std::move(label_set)) {}

  std::vector<std::string> labels;
  std::shared_ptr<TableModel> svm = std::make_shared<TableModel>("svm", labels);
  std::shared_ptr<TableModel> bert = std::make_shared<TableModel>("bert", labels);
  std::vector<TrainingExample> validation;
  std::vector<std::string> confident, svm_right, bert_right;

  void Add(const std::string& text, int truth, std::vector<float> svm_p,
           std::vector<float> bert_p) {
    svm->Set(text, std::move(svm_p));
    bert->Set(text, std::move(bert_p));
    validation.push_back({text, labels[truth], "test"});
  }
};

// "svm right": the SVM is right, mildly; BERT is wrong, mildly.
// "bert right": the SVM is wrong and sure-ish (0.7); BERT is right.
// The mixture is right on both for w in (0.286, 0.490) (no grid point on
// either edge), and on these examples the true label's probability rises as
// w falls, so w = 0.3 is the best grid point.
// With `confident`, examples where both are right and the SVM is at 0.95.
Scenario MakeScenario(bool confident) {
  Scenario s;
  for (int i = 0; i < 12; ++i) {
    const int truth = i % 3, wrong = (i + 1) % 3;
    const std::string x = "svm right " + std::to_string(i);
    s.Add(x, truth, Row(truth, wrong, 0.6f, 0.3f, 0.1f), Row(truth, wrong, 0.4f, 0.52f, 0.08f));
    s.svm_right.push_back(x);
    const std::string y = "bert right " + std::to_string(i);
    s.Add(y, truth, Row(truth, wrong, 0.2f, 0.7f, 0.1f), Row(truth, wrong, 0.7f, 0.22f, 0.08f));
    s.bert_right.push_back(y);
    if (confident) {
      for (int j = 0; j < 2; ++j) {
        const std::string c = "confident " + std::to_string(i) + "." + std::to_string(j);
        s.Add(c, truth, Row(truth, wrong, 0.95f, 0.03f, 0.02f),
              Row(truth, wrong, 0.6f, 0.3f, 0.1f));
        s.confident.push_back(c);
      }
    }
  }
  return s;
}

TEST(EnsembleCalibrationTest, ChoosesTheWeightWhereTheMixtureBeatsBothModels) {
  const Scenario s = MakeScenario(false);
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0);
  EXPECT_DOUBLE_EQ(c.svm_weight, 0.3);
  EXPECT_EQ(c.examples, s.validation.size());
  EXPECT_EQ(c.oos_examples, 0u);
  EXPECT_DOUBLE_EQ(c.svm.in_scope_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(c.bert.in_scope_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.accuracy, 1.0);
  EXPECT_EQ(c.oos_threshold, 0.0f);  // no accuracy may be given up
  // Each model's probabilities were computed once, in one batch call.
  EXPECT_EQ(s.svm->batch_calls, 1);
  EXPECT_EQ(s.bert->batch_calls, 1);
  EXPECT_EQ(s.svm->texts_asked, s.validation.size());
  EXPECT_EQ(s.bert->texts_asked, s.validation.size());

  // Served with that weight, the ensemble is right on every example.
  const EnsembleClassifier ensemble(s.svm, s.bert, c.Options(EnsembleMode::kWeighted));
  for (const TrainingExample& e : s.validation) {
    const IntentPrediction p = ensemble.Predict(e.text, 3);
    EXPECT_EQ(p.intent, e.intent) << e.text;
    EXPECT_EQ(p.model, "ensemble") << e.text;
    EXPECT_FALSE(p.out_of_scope) << e.text;
  }
}

// Data with no out-of-scope examples (SNIPS): a threshold chosen on the
// validation examples gives up the allowed accuracy, but the SVM's own
// (chosen by cross-validation on its training data, here 0) gives up none.
// Judged with a threshold chosen again, w = 1 would tie with mixtures whose
// true labels are likelier, and a mixture would be served although it does
// worse than the SVM alone (99 % here); judged as it answers alone, the SVM
// wins.
TEST(EnsembleCalibrationTest, EachMemberAloneIsJudgedWithItsOwnThreshold) {
  Scenario s;
  // Enough examples that a threshold chosen on them may lose a few correct
  // answers within the budget's confidence bound (12 of 2,000).
  for (int i = 0; i < 2000; ++i) {
    const int truth = i % 3, wrong = (i + 1) % 3;
    const float svm_sure = 0.55f + 0.0002f * static_cast<float>(i);
    // BERT is surer where right, and wrong on one example that the mixture
    // gets right from w = 0.8 on.
    s.Add("text " + std::to_string(i), truth, Row(truth, wrong, svm_sure, 0.95f - svm_sure, 0.05f),
          i == 0 ? Row(truth, wrong, 0.2f, 0.75f, 0.05f) : Row(truth, wrong, 0.95f, 0.03f, 0.02f));
  }
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.01);
  EXPECT_DOUBLE_EQ(c.svm_weight, 1.0);
  EXPECT_EQ(c.oos_threshold, s.svm->out_of_scope_threshold());
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, c.svm.in_scope_accuracy);
}

TEST(EnsembleCalibrationTest, CascadeThresholdLetsTheSvmAnswerOnlyWhereItCostsNothing) {
  const Scenario s = MakeScenario(true);
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0);
  // The confident examples favour the SVM a little more, within the window.
  EXPECT_GE(c.svm_weight, 0.3);
  EXPECT_LE(c.svm_weight, 0.45);
  // Lowering the threshold below 0.7 would hand the "bert right" examples
  // to the SVM, which gets them wrong.
  EXPECT_EQ(c.cascade_threshold, 0.95f);
  EXPECT_DOUBLE_EQ(c.bert_call_share, 24.0 / 48.0);
  EXPECT_DOUBLE_EQ(c.cascade.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.svm.in_scope_accuracy, 36.0 / 48.0);

  // A looser tolerance lets the SVM answer everything.
  const EnsembleCalibration loose =
      ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0, /*cascade_max_accuracy_loss=*/1.0);
  EXPECT_EQ(loose.cascade_threshold, 0.6f);
  EXPECT_DOUBLE_EQ(loose.bert_call_share, 0.0);
  EXPECT_DOUBLE_EQ(loose.cascade.in_scope_accuracy, loose.svm.in_scope_accuracy);
}

TEST(EnsembleCalibrationTest, CascadeNeverAnswersFromTheSvmWhenEveryStepCostsAccuracy) {
  Scenario s;
  // The SVM is wrong exactly where it is most confident.
  s.Add("sure but wrong", 0, Row(1, 2, 0.9f, 0.05f, 0.05f), Row(0, 1, 0.9f, 0.05f, 0.05f));
  s.Add("unsure", 1, Row(1, 0, 0.5f, 0.3f, 0.2f), Row(1, 0, 0.5f, 0.3f, 0.2f));
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0);
  EXPECT_GT(c.cascade_threshold, 1.0f);
  EXPECT_DOUBLE_EQ(c.bert_call_share, 1.0);
  EXPECT_DOUBLE_EQ(c.cascade.in_scope_accuracy, c.ensemble.in_scope_accuracy);
}

TEST(EnsembleCalibrationTest, ChoosesTheOutOfScopeThresholdLikeTheSvmTrainer) {
  const std::vector<std::string> labels = {"a", "b", "oos"};
  auto svm = std::make_shared<TableModel>("svm", labels);
  auto bert = std::make_shared<TableModel>("bert", labels);
  std::vector<TrainingExample> validation;
  for (int i = 0; i < 10; ++i) {
    const std::string in = "in scope " + std::to_string(i);
    svm->Set(in, {0.8f, 0.15f, 0.05f});
    bert->Set(in, {0.85f, 0.1f, 0.05f});
    validation.push_back({in, "a", "test"});
    // Out of scope, but both models lean (weakly) to "b".
    const std::string out = "out of scope " + std::to_string(i);
    svm->Set(out, {0.3f, 0.45f, 0.25f});
    bert->Set(out, {0.3f, 0.4f, 0.3f});
    validation.push_back({out, "oos", "test"});
  }
  const EnsembleCalibration c = ChooseEnsembleWeights(*svm, *bert, validation, 0.01);
  EXPECT_EQ(c.oos_examples, 10u);
  // Above every out-of-scope example's confidence (at most 0.45), below
  // every in-scope one's (at least 0.8).
  EXPECT_GT(c.oos_threshold, 0.4f);
  EXPECT_LT(c.oos_threshold, 0.8f);
  EXPECT_DOUBLE_EQ(c.ensemble.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.svm.oos_recall, 0.0);  // threshold 0: "b" stands
  EXPECT_DOUBLE_EQ(c.svm.accuracy, 0.5);

  const EnsembleClassifier ensemble(svm, bert, c.Options(EnsembleMode::kWeighted));
  EXPECT_EQ(ensemble.out_of_scope_threshold(), c.oos_threshold);
  const IntentPrediction out = ensemble.Predict("out of scope 3", 2);
  EXPECT_TRUE(out.out_of_scope);
  EXPECT_EQ(out.intent, "oos");
  EXPECT_EQ(out.ranking[0].intent, "b");  // the ranking still shows the runner-up labels
  EXPECT_LT(out.confidence, c.oos_threshold);
  const IntentPrediction in = ensemble.Predict("in scope 3", 2);
  EXPECT_FALSE(in.out_of_scope);
  EXPECT_EQ(in.intent, "a");
}

TEST(EnsembleClassifierTest, CascadeRoutesConfidentInputsToTheSvmAlone) {
  const Scenario s = MakeScenario(true);
  EnsembleOptions options;
  options.mode = EnsembleMode::kCascade;
  options.svm_weight = 0.3;
  options.cascade_threshold = 0.9f;
  const EnsembleClassifier ensemble(s.svm, s.bert, options);

  const IntentPrediction sure = ensemble.Predict(s.confident[0], 2);
  EXPECT_EQ(sure.model, "svm");
  EXPECT_EQ(sure.confidence, 0.95f);
  EXPECT_EQ(s.bert->texts_asked, 0u);

  const IntentPrediction unsure = ensemble.Predict(s.bert_right[0], 2);
  EXPECT_EQ(unsure.model, "ensemble");
  EXPECT_EQ(unsure.intent, s.validation[1].intent);
  EXPECT_EQ(s.bert->texts_asked, 1u);
  EXPECT_EQ(s.bert->single_calls, 1);

  const EnsembleStats stats = ensemble.Stats();
  EXPECT_EQ(stats.predictions, 2u);
  EXPECT_EQ(stats.svm_answers, 1u);
  EXPECT_EQ(stats.bert_calls, 1u);
}

TEST(EnsembleClassifierTest, BatchAsksBertOnceAndOnlyAboutUnsureTexts) {
  const Scenario s = MakeScenario(true);
  EnsembleOptions options;
  options.mode = EnsembleMode::kCascade;
  options.svm_weight = 0.3;
  options.cascade_threshold = 0.9f;
  const EnsembleClassifier ensemble(s.svm, s.bert, options);
  const std::vector<std::string> texts = {s.confident[0], s.bert_right[1], s.confident[1],
                                          s.svm_right[2]};
  const std::vector<IntentPrediction> batch = ensemble.PredictBatch(texts, 3);
  EXPECT_EQ(s.svm->batch_calls, 1);
  EXPECT_EQ(s.bert->batch_calls, 1);
  EXPECT_THAT(s.bert->last_batch, ElementsAreArray({s.bert_right[1], s.svm_right[2]}));
  EXPECT_EQ(s.svm->single_calls + s.bert->single_calls, 0);
  ASSERT_THAT(batch, SizeIs(4));
  for (size_t i = 0; i < texts.size(); ++i) {
    const IntentPrediction one = ensemble.Predict(texts[i], 3);
    EXPECT_EQ(batch[i].model, one.model) << texts[i];
    EXPECT_EQ(batch[i].intent, one.intent) << texts[i];
    EXPECT_EQ(batch[i].confidence, one.confidence) << texts[i];
    ASSERT_THAT(batch[i].ranking, SizeIs(3));
  }
  EXPECT_EQ(batch[0].model, "svm");
  EXPECT_EQ(batch[1].model, "ensemble");
  EXPECT_EQ(batch[2].model, "svm");
  EXPECT_EQ(batch[3].model, "ensemble");
  // The batch probabilities are the distributions the decisions came from.
  const std::vector<float> rows = ensemble.ProbabilitiesBatch(texts);
  ASSERT_THAT(rows, SizeIs(12));
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(std::vector<float>(rows.begin() + 3 * i, rows.begin() + 3 * i + 3),
              ensemble.Probabilities(texts[i]));
  }
}

TEST(EnsembleClassifierTest, WeightedModeMixesWeightOneSkipsBertAndWeightZeroTheSvm) {
  const Scenario s = MakeScenario(false);
  EnsembleOptions options;
  options.svm_weight = 0.25;
  const EnsembleClassifier quarter(s.svm, s.bert, options);
  const std::vector<float> mixed = quarter.Probabilities(s.svm_right[0]);
  const std::vector<float> ps = s.svm->Probabilities(s.svm_right[0]);
  const std::vector<float> pb = s.bert->Probabilities(s.svm_right[0]);
  ASSERT_THAT(mixed, SizeIs(3));
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(mixed[k], 0.25f * ps[k] + 0.75f * pb[k], 1e-6);

  options.svm_weight = 1.0;
  const EnsembleClassifier svm_only(s.svm, s.bert, options);
  const size_t asked = s.bert->texts_asked;
  const IntentPrediction p = svm_only.Predict(s.bert_right[0], 1);
  EXPECT_EQ(s.bert->texts_asked, asked);
  EXPECT_EQ(p.model, "ensemble");
  EXPECT_EQ(p.confidence, 0.7f);

  // Weight 0: BERT's answer, exactly, and the SVM never asked.
  options.svm_weight = 0.0;
  const EnsembleClassifier bert_only(s.svm, s.bert, options);
  const int svm_calls = s.svm->single_calls + s.svm->batch_calls;
  const std::vector<float> alone = s.bert->Probabilities(s.svm_right[1]);
  const std::vector<float> single = bert_only.Probabilities(s.svm_right[1]);
  const std::vector<std::string> texts{s.svm_right[1], s.bert_right[1]};
  const std::vector<float> batch = bert_only.ProbabilitiesBatch(texts);
  const IntentPrediction q = bert_only.Predict(s.bert_right[1], 1);
  EXPECT_EQ(s.svm->single_calls + s.svm->batch_calls, svm_calls);
  ASSERT_THAT(single, SizeIs(3));
  ASSERT_THAT(batch, SizeIs(6));
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(single[k], alone[k]);
    EXPECT_EQ(batch[k], alone[k]);
  }
  EXPECT_EQ(q.intent, s.bert->Predict(s.bert_right[1], 1).intent);
}

TEST(EnsembleClassifierTest, MapsLabelsByNameNotPosition) {
  auto svm = std::make_shared<TableModel>("svm", std::vector<std::string>{"a", "b", "c"});
  auto bert = std::make_shared<TableModel>("bert", std::vector<std::string>{"c", "a", "b"});
  svm->Set("t", {0.2f, 0.3f, 0.5f});
  bert->Set("t", {0.1f, 0.6f, 0.3f});  // c, a, b
  EnsembleOptions options;
  options.svm_weight = 0.5;
  const EnsembleClassifier ensemble(svm, bert, options);
  EXPECT_EQ(ensemble.labels(), svm->labels());
  const std::vector<float> p = ensemble.Probabilities("t");
  EXPECT_NEAR(p[0], 0.4f, 1e-6);  // a: (0.2 + 0.6) / 2
  EXPECT_NEAR(p[1], 0.3f, 1e-6);  // b: (0.3 + 0.3) / 2
  EXPECT_NEAR(p[2], 0.3f, 1e-6);  // c: (0.5 + 0.1) / 2
  EXPECT_EQ(ensemble.Predict("t", 1).intent, "a");
}

TEST(EnsembleClassifierTest, RefusesDifferentLabelSetsNamingTheDifference) {
  auto svm = std::make_shared<TableModel>("svm", std::vector<std::string>{"a", "b", "c"});
  auto bert = std::make_shared<TableModel>("bert", std::vector<std::string>{"a", "b", "d", "e"});
  try {
    EnsembleClassifier ensemble(svm, bert, {});
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr("only the SVM has c"), HasSubstr("only the bert model has d, e")));
  }
  EXPECT_THROW(ChooseEnsembleWeights(*svm, *bert, {{"x", "a", ""}}, 0.01), ModelError);
  EXPECT_THROW(EnsembleClassifier(svm, nullptr, {}), ModelError);
}

TEST(EnsembleClassifierTest, CascadeAppliesTheSvmThresholdAndTheMixtureItsOwn) {
  auto svm = std::make_shared<TableModel>("svm", kLabels, /*threshold=*/0.97f);
  auto bert = std::make_shared<TableModel>("bert", kLabels, /*threshold=*/0.0f);
  svm->Set("sure", {0.95f, 0.03f, 0.02f});
  bert->Set("sure", {0.95f, 0.03f, 0.02f});
  svm->Set("unsure", {0.5f, 0.3f, 0.2f});
  bert->Set("unsure", {0.5f, 0.3f, 0.2f});
  EnsembleOptions options;
  options.mode = EnsembleMode::kCascade;
  options.cascade_threshold = 0.9f;
  options.oos_threshold = 0.6f;
  const EnsembleClassifier ensemble(svm, bert, options);
  // The SVM answers alone, with its own out-of-scope threshold (0.97).
  const IntentPrediction sure = ensemble.Predict("sure", 1);
  EXPECT_EQ(sure.model, "svm");
  EXPECT_TRUE(sure.out_of_scope);
  EXPECT_EQ(sure.intent, "oos");
  // The mixture answers with the ensemble's (0.6).
  const IntentPrediction unsure = ensemble.Predict("unsure", 1);
  EXPECT_EQ(unsure.model, "ensemble");
  EXPECT_TRUE(unsure.out_of_scope);
  options.oos_threshold = 0.4f;
  EXPECT_FALSE(EnsembleClassifier(svm, bert, options).Predict("unsure", 1).out_of_scope);
}

TEST(EnsembleClassifierTest, IdentityAndOptionChecks) {
  const Scenario s = MakeScenario(false);
  const EnsembleClassifier ensemble(s.svm, s.bert, {});
  EXPECT_EQ(ensemble.kind(), "ensemble");
  EXPECT_EQ(ensemble.version(), "svm:svm-v1+bert:bert-v1");
  // The partner is named by its kind: a USE partner is not called BERT.
  auto use = std::make_shared<TableModel>("use", s.svm->labels());
  EXPECT_EQ(EnsembleClassifier(s.svm, use, {}).version(), "svm:svm-v1+use:use-v1");
  EnsembleOptions bad;
  bad.svm_weight = 1.5;
  EXPECT_THROW(EnsembleClassifier(s.svm, s.bert, bad), ConfigError);
  bad = {};
  bad.oos_threshold = -0.1f;
  EXPECT_THROW(EnsembleClassifier(s.svm, s.bert, bad), ConfigError);
  EXPECT_THROW(ChooseEnsembleWeights(*s.svm, *s.bert, {}, 0.01), DataError);

  EXPECT_EQ(ParseEnsembleMode("weighted"), EnsembleMode::kWeighted);
  EXPECT_EQ(ParseEnsembleMode("cascade"), EnsembleMode::kCascade);
  EXPECT_EQ(EnsembleModeName(EnsembleMode::kCascade), "cascade");
  EXPECT_THROW(ParseEnsembleMode("average"), ConfigError);
}

TEST(EnsembleCalibrationTest, JsonRoundTrips) {
  const Scenario s = MakeScenario(true);
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0);
  const boost::json::object json = c.ToJson();
  const EnsembleCalibration back =
      EnsembleCalibration::FromJson(boost::json::parse(boost::json::serialize(json)).as_object());
  EXPECT_EQ(back.svm_weight, c.svm_weight);
  EXPECT_EQ(back.oos_threshold, c.oos_threshold);
  EXPECT_EQ(back.cascade_threshold, c.cascade_threshold);
  EXPECT_EQ(back.bert_call_share, c.bert_call_share);
  EXPECT_EQ(back.examples, c.examples);
  EXPECT_EQ(back.cascade.in_scope_accuracy, c.cascade.in_scope_accuracy);
  EXPECT_EQ(back.svm.accuracy, c.svm.accuracy);

  boost::json::object missing = json;
  missing.erase("svm_weight");
  EXPECT_THROW(EnsembleCalibration::FromJson(missing), ModelError);
  boost::json::object out_of_range = json;
  out_of_range["svm_weight"] = 2.0;
  EXPECT_THROW(EnsembleCalibration::FromJson(out_of_range), ModelError);
}

}  // namespace
}  // namespace chatbot::nlu

namespace chatbot::nlu {
namespace {

// BERT fixes an in-scope example the SVM gets wrong but is sure of an
// out-of-scope one: the weight kept must still catch it (out-of-scope recall
// at least the SVM's), so it sits between where the mixture starts catching
// it (w > 0.68) and where it stops fixing the in-scope one (w < 0.895).
TEST(EnsembleCalibrationTest, KeepsTheSvmsOutOfScopeRecall) {
  const std::vector<std::string> labels = {"a", "b", "oos"};
  auto svm = std::make_shared<TableModel>("svm", labels);
  auto bert = std::make_shared<TableModel>("bert", labels);
  svm->Set("x1", {0.4f, 0.5f, 0.1f});
  bert->Set("x1", {0.9f, 0.05f, 0.05f});
  svm->Set("x2", {0.2f, 0.7f, 0.1f});
  bert->Set("x2", {0.3f, 0.6f, 0.1f});
  svm->Set("o1", {0.2f, 0.2f, 0.6f});
  bert->Set("o1", {0.9f, 0.05f, 0.05f});
  const std::vector<TrainingExample> validation = {
      {"x1", "a", ""}, {"x2", "b", ""}, {"o1", "oos", ""}};
  const EnsembleCalibration c = ChooseEnsembleWeights(*svm, *bert, validation, 0.0);
  EXPECT_GT(c.svm_weight, 0.68);
  EXPECT_LT(c.svm_weight, 0.895);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.oos_recall, 1.0);
  EXPECT_GE(c.ensemble.oos_recall, c.svm.oos_recall);
  EXPECT_DOUBLE_EQ(c.svm.in_scope_accuracy, 0.5);
}

TEST(EnsembleCalibrationTest, KeepsTheBetterMembersOutOfScopeRecall) {
  // BERT catches every out-of-scope example and gets one in-scope example
  // wrong; the SVM gets every in-scope example right and catches nothing.
  // Mixtures leaning to the SVM (w >= 0.5) answer like it, those leaning to
  // BERT like BERT. A mixture that only trades BERT's recall for the SVM's
  // accuracy is no better than either: the bar is the better recall.
  Scenario s({"a", "b", "oos"});
  for (int i = 0; i < 10; ++i) {
    s.Add("in scope " + std::to_string(i), 0,
          i == 0 ? std::vector<float>{0.5f, 0.45f, 0.05f} : std::vector<float>{0.9f, 0.05f, 0.05f},
          i == 0 ? std::vector<float>{0.45f, 0.5f, 0.05f} : std::vector<float>{0.9f, 0.05f, 0.05f});
    s.Add("out of scope " + std::to_string(i), 2, {0.05f, 0.9f, 0.05f}, {0.05f, 0.05f, 0.9f});
  }
  const EnsembleCalibration c = ChooseEnsembleWeights(*s.svm, *s.bert, s.validation, 0.0);
  EXPECT_DOUBLE_EQ(c.svm.in_scope_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(c.svm.oos_recall, 0.0);
  EXPECT_DOUBLE_EQ(c.bert.in_scope_accuracy, 0.9);
  EXPECT_DOUBLE_EQ(c.bert.oos_recall, 1.0);
  EXPECT_LT(c.svm_weight, 0.5);
  EXPECT_DOUBLE_EQ(c.ensemble.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(c.ensemble.in_scope_accuracy, 0.9);
}

}  // namespace
}  // namespace chatbot::nlu
