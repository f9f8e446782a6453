#include "nlu/evaluation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "nlu/evaluation_report.h"

namespace chatbot::nlu {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Predicts the label it was given for a known text and "oos" for anything
// else; optionally counts how often each text was asked about.
class FakeClassifier : public IntentClassifier {
 public:
  explicit FakeClassifier(std::unordered_map<std::string, std::string> answers,
                          std::map<std::string, int>* calls = nullptr)
      : answers_(std::move(answers)), calls_(calls) {
    std::set<std::string> labels;
    for (const auto& [text, label] : answers_) labels.insert(label);
    labels_.assign(labels.begin(), labels.end());
  }

  IntentPrediction Predict(std::string_view text, int) const override {
    if (calls_ != nullptr) ++(*calls_)[std::string(text)];
    IntentPrediction p;
    auto it = answers_.find(std::string(text));
    p.intent = it == answers_.end() ? kOutOfScopeLabel : it->second;
    p.out_of_scope = p.intent == kOutOfScopeLabel;
    p.confidence = 1;
    p.ranking.push_back({p.intent, 1});
    return p;
  }
  std::string_view kind() const override { return "fake"; }
  std::string version() const override { return "test"; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return 0; }

 private:
  std::unordered_map<std::string, std::string> answers_;
  std::map<std::string, int>* calls_;
  std::vector<std::string> labels_;
};

// expected: a a a b b oos oos
// predicted: a a b b oos oos a
std::vector<std::string> TinyExpected() {
  return {"a", "a", "a", "b", "b", "oos", "oos"};
}
std::vector<std::string> TinyPredicted() {
  return {"a", "a", "b", "b", "oos", "oos", "a"};
}

std::vector<TrainingExample> ToExamples(const std::vector<std::string>& labels) {
  std::vector<TrainingExample> examples;
  for (size_t i = 0; i < labels.size(); ++i) {
    examples.push_back({"text " + std::to_string(i), labels[i], "test:" + std::to_string(i + 1)});
  }
  return examples;
}

void ExpectFinite(const EvaluationReport& r) {
  for (double v : {r.accuracy, r.macro_f1, r.in_scope_accuracy, r.oos_recall, r.oos_precision,
                   r.latency.mean_us, r.latency.p50_us, r.latency.p90_us, r.latency.p99_us,
                   r.latency.max_us}) {
    EXPECT_TRUE(std::isfinite(v));
  }
  for (const auto& s : r.per_intent) {
    EXPECT_TRUE(std::isfinite(s.precision) && std::isfinite(s.recall) && std::isfinite(s.f1))
        << s.intent;
  }
}

TEST(EvaluationTest, HeadlineMetricsOnTinyCase) {
  const EvaluationReport r = ScorePredictions(TinyExpected(), TinyPredicted());
  EXPECT_EQ(r.examples, 7u);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 7);
  // F1: a = 2/3, b = 1/2, oos = 1/2.
  EXPECT_DOUBLE_EQ(r.macro_f1, (2.0 / 3 + 0.5 + 0.5) / 3);
  EXPECT_TRUE(r.has_out_of_scope);
  EXPECT_DOUBLE_EQ(r.in_scope_accuracy, 3.0 / 5);
  EXPECT_DOUBLE_EQ(r.oos_recall, 0.5);
  EXPECT_DOUBLE_EQ(r.oos_precision, 0.5);
  ExpectFinite(r);
}

TEST(EvaluationTest, PerIntentScores) {
  const EvaluationReport r = ScorePredictions(TinyExpected(), TinyPredicted());
  ASSERT_EQ(r.per_intent.size(), 3u);
  EXPECT_EQ(r.per_intent[0].intent, "a");
  EXPECT_DOUBLE_EQ(r.per_intent[0].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_intent[0].recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_intent[0].f1, 2.0 / 3);
  EXPECT_EQ(r.per_intent[0].support, 3);
  EXPECT_EQ(r.per_intent[1].intent, "b");
  EXPECT_DOUBLE_EQ(r.per_intent[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_intent[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_intent[1].f1, 0.5);
  EXPECT_EQ(r.per_intent[1].support, 2);
  EXPECT_EQ(r.per_intent[2].intent, "oos");
  EXPECT_EQ(r.per_intent[2].support, 2);
}

TEST(EvaluationTest, AsymmetricPrecisionAndRecall) {
  // x: 4 expected, 2 found, 1 false alarm -> P 2/3, R 1/2, F1 4/7.
  const EvaluationReport r =
      ScorePredictions({"x", "x", "x", "x", "y", "y"}, {"x", "x", "y", "y", "y", "x"});
  ASSERT_EQ(r.per_intent.size(), 2u);
  EXPECT_DOUBLE_EQ(r.per_intent[0].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_intent[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_intent[0].f1, 4.0 / 7);
  // y: 2 expected, 1 found, 2 false alarms -> P 1/3, R 1/2.
  EXPECT_DOUBLE_EQ(r.per_intent[1].precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_intent[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_intent[1].f1, 0.4);
}

TEST(EvaluationTest, ConfusionMatrixAndConfusedPairs) {
  const EvaluationReport r = ScorePredictions({"a", "a", "a", "b", "b", "c", "c", "c"},
                                              {"b", "b", "a", "a", "b", "oos", "a", "c"});
  EXPECT_EQ(r.labels, (std::vector<std::string>{"a", "b", "c", "oos"}));
  ASSERT_EQ(r.confusion.size(), 4u);
  EXPECT_EQ(r.confusion[0], (std::vector<int>{1, 2, 0, 0}));
  EXPECT_EQ(r.confusion[1], (std::vector<int>{1, 1, 0, 0}));
  EXPECT_EQ(r.confusion[2], (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(r.confusion[3], (std::vector<int>{0, 0, 0, 0}));
  ASSERT_EQ(r.confused_pairs.size(), 4u);
  // Most frequent first, ties in (expected, predicted) order.
  EXPECT_EQ(r.confused_pairs[0].expected, "a");
  EXPECT_EQ(r.confused_pairs[0].predicted, "b");
  EXPECT_EQ(r.confused_pairs[0].count, 2);
  EXPECT_EQ(r.confused_pairs[1].expected, "b");
  EXPECT_EQ(r.confused_pairs[1].predicted, "a");
  EXPECT_EQ(r.confused_pairs[2].expected, "c");
  EXPECT_EQ(r.confused_pairs[2].predicted, "a");
  EXPECT_EQ(r.confused_pairs[3].expected, "c");
  EXPECT_EQ(r.confused_pairs[3].predicted, "oos");
  // "oos" was predicted but never expected: listed, precision 0, no macro F1.
  EXPECT_FALSE(r.has_out_of_scope);
  EXPECT_EQ(r.per_intent[3].intent, "oos");
  EXPECT_EQ(r.per_intent[3].support, 0);
  EXPECT_DOUBLE_EQ(r.per_intent[3].precision, 0);
  // a: P 1/3, R 1/3 -> F1 1/3; b: P 1/3, R 1/2 -> 0.4; c: P 1, R 1/3 -> 0.5.
  EXPECT_DOUBLE_EQ(r.per_intent[0].f1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_intent[1].f1, 0.4);
  EXPECT_DOUBLE_EQ(r.per_intent[2].f1, 0.5);
  EXPECT_DOUBLE_EQ(r.macro_f1, (1.0 / 3 + 0.4 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(r.oos_recall, 0);
  EXPECT_DOUBLE_EQ(r.oos_precision, 0);
}

TEST(EvaluationTest, ConfusedPairsCappedAtTwenty) {
  std::vector<std::string> expected, predicted;
  for (int i = 0; i < 30; ++i) {
    // (append, not "e" + to_string: GCC 12 -O3 warns falsely on the latter.)
    expected.push_back(std::string("e").append(std::to_string(i)));
    predicted.push_back(std::string("p").append(std::to_string(i)));
  }
  expected.push_back("e7");
  predicted.push_back("p7");
  const EvaluationReport r = ScorePredictions(expected, predicted);
  ASSERT_EQ(r.confused_pairs.size(), kMaxConfusedPairs);
  EXPECT_EQ(r.confused_pairs[0].expected, "e7");
  EXPECT_EQ(r.confused_pairs[0].count, 2);
}

TEST(EvaluationTest, EmptyInputGivesZeros) {
  const EvaluationReport r = ScorePredictions({}, {});
  EXPECT_EQ(r.examples, 0u);
  EXPECT_EQ(r.accuracy, 0);
  EXPECT_EQ(r.macro_f1, 0);
  EXPECT_EQ(r.in_scope_accuracy, 0);
  EXPECT_FALSE(r.has_out_of_scope);
  EXPECT_TRUE(r.labels.empty());
  EXPECT_TRUE(r.confusion.empty());
  EXPECT_TRUE(r.confused_pairs.empty());
  ExpectFinite(r);
  // The presenters cope with it too.
  EXPECT_THAT(FormatReport(r), HasSubstr("0.00%"));
  EXPECT_THAT(RenderHtmlReport(r, "empty"), HasSubstr("No examples."));
}

TEST(EvaluationTest, NoOutOfScopeExamples) {
  const EvaluationReport r = ScorePredictions({"a", "b", "b"}, {"a", "b", "a"});
  EXPECT_FALSE(r.has_out_of_scope);
  EXPECT_DOUBLE_EQ(r.in_scope_accuracy, r.accuracy);
  EXPECT_EQ(r.oos_recall, 0);
  EXPECT_EQ(r.oos_precision, 0);
  ExpectFinite(r);
}

TEST(EvaluationTest, OnlyOutOfScopeExamples) {
  const EvaluationReport r = ScorePredictions({"oos", "oos"}, {"oos", "a"});
  EXPECT_TRUE(r.has_out_of_scope);
  EXPECT_EQ(r.in_scope_accuracy, 0);  // no in-scope examples: 0, not NaN
  EXPECT_DOUBLE_EQ(r.oos_recall, 0.5);
  EXPECT_DOUBLE_EQ(r.oos_precision, 1.0);
  ExpectFinite(r);
}

TEST(EvaluationTest, MismatchedLengthsRejected) {
  EXPECT_THROW(ScorePredictions({"a"}, {}), std::invalid_argument);
}

TEST(EvaluationTest, LatencyPercentilesByNearestRank) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  const LatencySummary s = SummarizeLatencies(samples);
  EXPECT_DOUBLE_EQ(s.mean_us, 50.5);
  EXPECT_DOUBLE_EQ(s.p50_us, 50);
  EXPECT_DOUBLE_EQ(s.p90_us, 90);
  EXPECT_DOUBLE_EQ(s.p99_us, 99);
  EXPECT_DOUBLE_EQ(s.max_us, 100);

  const LatencySummary one = SummarizeLatencies({7});
  EXPECT_DOUBLE_EQ(one.p50_us, 7);
  EXPECT_DOUBLE_EQ(one.p99_us, 7);
  const LatencySummary none = SummarizeLatencies({});
  EXPECT_EQ(none.mean_us, 0);
  EXPECT_EQ(none.max_us, 0);
}

TEST(EvaluationTest, EvaluateRunsTheModel) {
  const auto expected = TinyExpected();
  const auto predicted = TinyPredicted();
  const auto examples = ToExamples(expected);
  std::unordered_map<std::string, std::string> answers;
  for (size_t i = 0; i < examples.size(); ++i) {
    if (predicted[i] != "oos") answers[examples[i].text] = predicted[i];
  }
  std::map<std::string, int> calls;
  FakeClassifier model(answers, &calls);
  const EvaluationReport r = Evaluate(model, examples);
  EXPECT_EQ(r.examples, 7u);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 7);
  EXPECT_DOUBLE_EQ(r.oos_recall, 0.5);
  EXPECT_EQ(r.confusion, ScorePredictions(expected, predicted).confusion);
  EXPECT_EQ(calls.size(), examples.size());
  EXPECT_GE(r.latency.max_us, r.latency.p50_us);
  EXPECT_GE(r.latency.p50_us, 0);
}

// 10 a, 7 b, 3 c, 5 oos.
std::vector<TrainingExample> CvData() {
  std::vector<std::string> labels;
  for (int i = 0; i < 10; ++i) labels.push_back("a");
  for (int i = 0; i < 7; ++i) labels.push_back("b");
  for (int i = 0; i < 3; ++i) labels.push_back("c");
  for (int i = 0; i < 5; ++i) labels.push_back("oos");
  // Interleave so that data order and intent order differ.
  std::vector<std::string> shuffled;
  for (size_t i = 0; i < labels.size(); ++i) shuffled.push_back(labels[(i * 7) % labels.size()]);
  return ToExamples(shuffled);
}

TEST(EvaluationTest, FoldsAreStratifiedAndBalanced) {
  const auto data = CvData();
  const std::vector<int> folds = AssignFolds(data, 5, 42);
  ASSERT_EQ(folds.size(), data.size());
  std::map<int, std::set<std::string>> intents_in_fold;
  std::map<int, int> fold_size;
  for (size_t i = 0; i < data.size(); ++i) {
    ASSERT_GE(folds[i], 0);
    ASSERT_LT(folds[i], 5);
    intents_in_fold[folds[i]].insert(data[i].intent);
    ++fold_size[folds[i]];
  }
  ASSERT_EQ(intents_in_fold.size(), 5u);
  for (const auto& [fold, intents] : intents_in_fold) {
    // Every intent with >= 5 examples is in every fold; "c" (3) cannot be.
    EXPECT_TRUE(intents.count("a") && intents.count("b") && intents.count("oos")) << fold;
  }
  for (const auto& [fold, size] : fold_size) EXPECT_EQ(size, 5) << fold;
}

TEST(EvaluationTest, FoldsAreDeterministicUnderSeed) {
  const auto data = CvData();
  EXPECT_EQ(AssignFolds(data, 5, 7), AssignFolds(data, 5, 7));
  EXPECT_NE(AssignFolds(data, 5, 7), AssignFolds(data, 5, 8));
}

TEST(EvaluationTest, CrossValidateRejectsBadFoldCounts) {
  const auto data = CvData();
  auto trainer = [](const std::vector<TrainingExample>&) -> std::unique_ptr<IntentClassifier> {
    return std::make_unique<FakeClassifier>(std::unordered_map<std::string, std::string>{});
  };
  EXPECT_THROW(CrossValidate(data, 1, 0, trainer), DataError);
  EXPECT_THROW(CrossValidate(data, 21, 0, trainer), DataError);
  EXPECT_THROW(CrossValidate(data, 0, 0, trainer), DataError);
  EXPECT_THROW(CrossValidate(ToExamples({"a", "b"}), 3, 0, trainer), DataError);
  EXPECT_NO_THROW(CrossValidate(data, 2, 0, trainer));
  EXPECT_NO_THROW(CrossValidate(data, 20, 0, trainer));
  auto no_model = [](const std::vector<TrainingExample>&) -> std::unique_ptr<IntentClassifier> {
    return nullptr;
  };
  EXPECT_THROW(CrossValidate(data, 2, 0, no_model), Error);
}

TEST(EvaluationTest, CrossValidateScoresEveryExampleOnceOnHeldOutData) {
  const auto data = CvData();
  std::map<std::string, int> calls;
  std::vector<std::vector<TrainingExample>> train_sets;
  // Memorises its training set; anything else is "oos".
  auto trainer = [&](const std::vector<TrainingExample>& train) {
    train_sets.push_back(train);
    std::unordered_map<std::string, std::string> answers;
    for (const auto& ex : train) answers[ex.text] = ex.intent;
    return std::make_unique<FakeClassifier>(answers, &calls);
  };
  const EvaluationReport r = CrossValidate(data, 5, 3, trainer);

  ASSERT_EQ(train_sets.size(), 5u);
  EXPECT_EQ(r.examples, data.size());
  ASSERT_EQ(calls.size(), data.size());
  for (const auto& ex : data) EXPECT_EQ(calls[ex.text], 1) << ex.text;
  // Each model only ever saw texts it was not trained on.
  std::set<std::string> trained_on_somewhere;
  for (const auto& train : train_sets) {
    EXPECT_EQ(train.size(), data.size() - 5);
    for (const auto& ex : train) trained_on_somewhere.insert(ex.text);
  }
  EXPECT_EQ(trained_on_somewhere.size(), data.size());
  // Unseen text is always "oos", so only the oos examples are right.
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 25);
  EXPECT_DOUBLE_EQ(r.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(r.oos_precision, 5.0 / 25);
  EXPECT_DOUBLE_EQ(r.in_scope_accuracy, 0);
  // Merged confusion: every row sums to the intent's size.
  ASSERT_EQ(r.labels, (std::vector<std::string>{"a", "b", "c", "oos"}));
  EXPECT_EQ(r.confusion[0][3], 10);
  EXPECT_EQ(r.confusion[1][3], 7);
  EXPECT_EQ(r.confusion[2][3], 3);
  EXPECT_EQ(r.confusion[3][3], 5);

  // Same seed, same result.
  train_sets.clear();
  calls.clear();
  const EvaluationReport again = CrossValidate(data, 5, 3, trainer);
  EXPECT_EQ(again.confusion, r.confusion);
}

TEST(EvaluationTest, CrossValidateFoldsSeeEveryIntent) {
  const auto data = CvData();
  std::vector<std::set<std::string>> held_out_intents;
  auto trainer = [&](const std::vector<TrainingExample>& train) {
    std::set<std::string> trained;
    for (const auto& ex : train) trained.insert(ex.text);
    std::set<std::string> held_out;
    for (const auto& ex : data) {
      if (!trained.count(ex.text)) held_out.insert(ex.intent);
    }
    held_out_intents.push_back(held_out);
    return std::make_unique<FakeClassifier>(std::unordered_map<std::string, std::string>{});
  };
  CrossValidate(data, 5, 11, trainer);
  ASSERT_EQ(held_out_intents.size(), 5u);
  for (const auto& intents : held_out_intents) {
    EXPECT_TRUE(intents.count("a") && intents.count("b") && intents.count("oos"));
  }
}

TEST(EvaluationReportTest, TextReport) {
  const EvaluationReport r = ScorePredictions(TinyExpected(), TinyPredicted(), {10, 20, 30});
  const std::string text = FormatReport(r, -1);
  EXPECT_THAT(text, HasSubstr("57.14%"));  // accuracy 4/7
  EXPECT_THAT(text, HasSubstr("55.56%"));  // macro F1 5/9
  EXPECT_THAT(text, HasSubstr("60.00%"));  // in-scope 3/5
  EXPECT_THAT(text, HasSubstr("OOS recall"));
  EXPECT_THAT(text, HasSubstr("precision"));
  EXPECT_THAT(text, HasSubstr("a -> b"));
  EXPECT_THAT(text, HasSubstr("p50 20.0"));

  const std::string short_text = FormatReport(r, 1);
  EXPECT_THAT(short_text, HasSubstr("worst 1 of 3"));
  EXPECT_THAT(short_text, HasSubstr("2 more not listed"));
}

TEST(EvaluationReportTest, JsonHasStableKeys) {
  const EvaluationReport r = ScorePredictions(TinyExpected(), TinyPredicted(), {5});
  const boost::json::object json = ReportToJson(r);
  for (const char* key :
       {"examples", "accuracy", "macro_f1", "has_out_of_scope", "in_scope_accuracy", "oos_recall",
        "oos_precision", "per_intent", "confused_pairs", "labels", "latency_us"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_FALSE(json.contains("confusion"));
  EXPECT_EQ(json.at("examples").as_uint64(), 7u);
  EXPECT_DOUBLE_EQ(json.at("accuracy").as_double(), 4.0 / 7);
  const auto& first = json.at("per_intent").as_array().at(0).as_object();
  for (const char* key : {"intent", "precision", "recall", "f1", "support"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first.at("intent").as_string(), "a");
  const auto& pair = json.at("confused_pairs").as_array().at(0).as_object();
  for (const char* key : {"expected", "predicted", "count"}) EXPECT_TRUE(pair.contains(key)) << key;
  const auto& latency = json.at("latency_us").as_object();
  for (const char* key : {"mean", "p50", "p90", "p99", "max"}) {
    EXPECT_TRUE(latency.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(latency.at("p99").as_double(), 5);

  const boost::json::object full = ReportToJson(r, true);
  ASSERT_TRUE(full.contains("confusion"));
  EXPECT_EQ(full.at("confusion").as_array().size(), 3u);
  EXPECT_EQ(full.at("confusion").as_array().at(0).as_array().at(0).as_int64(), 2);
  // Round-trips through the serialiser (no NaN or other non-JSON values).
  EXPECT_NO_THROW(boost::json::parse(boost::json::serialize(full)));
}

TEST(EvaluationReportTest, HtmlEscapesLabelsAndHasTooltips) {
  const EvaluationReport r = ScorePredictions({"a<b", "a<b", "x&y"}, {"a<b", "x&y", "x&y"});
  const std::string html = RenderHtmlReport(r, "Eval \"<report>\"");
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<title>Eval &quot;&lt;report&gt;&quot;</title>"));
  EXPECT_THAT(html, HasSubstr("a&lt;b"));
  EXPECT_THAT(html, HasSubstr("x&amp;y"));
  EXPECT_THAT(html, Not(HasSubstr("a<b")));
  EXPECT_THAT(html, Not(HasSubstr("<report>")));
  EXPECT_THAT(html, HasSubstr("title=\"expected a&lt;b → predicted x&amp;y: 1\""));
  EXPECT_THAT(html, HasSubstr("title=\"expected a&lt;b → predicted a&lt;b: 1\""));
  // Zero cells carry no tooltip.
  EXPECT_THAT(html, Not(HasSubstr("expected x&amp;y → predicted a&lt;b")));
  // Self-contained.
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
}

TEST(EvaluationReportTest, HtmlEscapeCoversSpecialCharacters) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain → text"), "plain → text");
}

}  // namespace
}  // namespace chatbot::nlu
