#include "nlu/ensemble_classifier.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "common/error.h"
#include "nlu/calibration.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

// Texts per batch call while calibrating: bounds the memory a model's batch
// API needs, whatever the size of the validation set.
constexpr size_t kCalibrationChunk = 256;
// The weight grid: 0, 1/20, ..., 1.
constexpr int kWeightSteps = 20;
// Room for rounding when comparing accuracies (ratios of counts).
constexpr double kAccuracyEpsilon = 1e-9;

// out[k] = w * svm[k] + (1 - w) * bert[bert_index[k]]. Kept out of line so
// that calibration and serving run the very same instructions (FMA
// contraction could otherwise differ by a rounding step between call sites)
// and a threshold chosen on one is exact for the other.
[[gnu::noinline]] void MixInto(const float* svm, const float* bert,
                               const std::vector<size_t>& bert_index, float w, float* out) {
  const float v = 1.0f - w;
  for (size_t k = 0; k < bert_index.size(); ++k) out[k] = w * svm[k] + v * bert[bert_index[k]];
}

std::string JoinLimited(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

// bert_index[k]: the index in bert's labels of svm's labels()[k]. Throws
// ModelError naming the labels only one of them has.
std::vector<size_t> AlignLabels(const IntentClassifier& svm, const IntentClassifier& bert) {
  const std::vector<std::string>& svm_labels = svm.labels();
  const std::vector<std::string>& bert_labels = bert.labels();
  std::unordered_map<std::string_view, size_t> bert_position;
  for (size_t i = 0; i < bert_labels.size(); ++i) bert_position.emplace(bert_labels[i], i);
  std::unordered_map<std::string_view, size_t> svm_position;
  for (size_t i = 0; i < svm_labels.size(); ++i) svm_position.emplace(svm_labels[i], i);

  std::vector<size_t> index;
  std::vector<std::string> only_svm, only_bert;
  for (const std::string& label : svm_labels) {
    const auto it = bert_position.find(label);
    if (it == bert_position.end()) {
      only_svm.push_back(label);
    } else {
      index.push_back(it->second);
    }
  }
  for (const std::string& label : bert_labels) {
    if (!svm_position.contains(label)) only_bert.push_back(label);
  }
  if (!only_svm.empty() || !only_bert.empty()) {
    const std::string partner(bert.kind());
    std::string message = "ensemble: the SVM model (" + svm.version() + ") and the " + partner +
                          " model (" + bert.version() + ") must have the same labels;";
    if (!only_svm.empty()) message += " only the SVM has " + JoinLimited(only_svm) + ";";
    if (!only_bert.empty())
      message += " only the " + partner + " model has " + JoinLimited(only_bert) + ";";
    message.pop_back();
    throw ModelError(message);
  }
  if (svm_labels.empty() || svm_labels.size() != bert_labels.size() ||
      svm_position.size() != svm_labels.size() || bert_position.size() != bert_labels.size()) {
    throw ModelError("ensemble: the models' labels are empty or repeat a label (SVM " +
                     std::to_string(svm_labels.size()) + ", " + std::string(bert.kind()) + " " +
                     std::to_string(bert_labels.size()) + ")");
  }
  return index;
}

void CheckRows(const IntentClassifier& model, size_t values, size_t texts) {
  const size_t expected = texts * model.labels().size();
  if (values != expected) {
    throw ModelError(std::string(model.kind()) + " model: " + std::to_string(values) +
                     " probabilities for " + std::to_string(texts) + " texts of " +
                     std::to_string(model.labels().size()) + " labels");
  }
}

std::vector<float> ProbabilitiesInChunks(const IntentClassifier& model,
                                         const std::vector<std::string>& texts) {
  std::vector<float> rows;
  rows.reserve(texts.size() * model.labels().size());
  for (size_t begin = 0; begin < texts.size(); begin += kCalibrationChunk) {
    const size_t count = std::min(kCalibrationChunk, texts.size() - begin);
    const std::vector<float> chunk =
        model.ProbabilitiesBatch(std::span<const std::string>(texts).subspan(begin, count));
    CheckRows(model, chunk.size(), count);
    rows.insert(rows.end(), chunk.begin(), chunk.end());
  }
  return rows;
}

// One validation example's answer, as served.
struct Outcome {
  bool out_of_scope = false;
  bool correct = false;
};

Outcome Decide(std::span<const float> row, const std::vector<std::string>& labels, int oos_label,
               float threshold, const TrainingExample& example) {
  const int best = BestIndex(row);
  Outcome outcome;
  outcome.out_of_scope = IsOutOfScope(best, row[best], oos_label, threshold);
  outcome.correct = example.intent == kOutOfScopeLabel
                        ? outcome.out_of_scope
                        : !outcome.out_of_scope && labels[best] == example.intent;
  return outcome;
}

ValidationScores Score(const std::vector<Outcome>& outcomes,
                       const std::vector<TrainingExample>& examples) {
  size_t correct = 0, in_scope = 0, in_scope_correct = 0, oos = 0, oos_caught = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    correct += outcomes[i].correct;
    if (examples[i].intent == kOutOfScopeLabel) {
      ++oos;
      oos_caught += outcomes[i].out_of_scope;
    } else {
      ++in_scope;
      in_scope_correct += outcomes[i].correct;
    }
  }
  auto rate = [](size_t part, size_t whole) { return whole ? double(part) / double(whole) : 0.0; };
  return {rate(correct, outcomes.size()), rate(in_scope_correct, in_scope), rate(oos_caught, oos)};
}

boost::json::object ScoresJson(const ValidationScores& s) {
  return {{"accuracy", s.accuracy},
          {"in_scope_accuracy", s.in_scope_accuracy},
          {"oos_recall", s.oos_recall}};
}

double NumberField(const boost::json::object& json, std::string_view name, double low,
                   double high) {
  const boost::json::value* value = json.if_contains(name);
  if (!value || !value->is_number()) {
    throw ModelError("ensemble calibration: field \"" + std::string(name) +
                     "\" is missing or not a number");
  }
  const double number = value->to_number<double>();
  if (!(number >= low && number <= high)) {
    throw ModelError("ensemble calibration: field \"" + std::string(name) +
                     "\" = " + std::to_string(number) + " is outside [" + std::to_string(low) +
                     ", " + std::to_string(high) + "]");
  }
  return number;
}

ValidationScores ScoresFromJson(const boost::json::object& json, std::string_view name) {
  const boost::json::value* value = json.if_contains(name);
  if (!value || !value->is_object()) return {};
  const boost::json::object& s = value->as_object();
  return {NumberField(s, "accuracy", 0, 1), NumberField(s, "in_scope_accuracy", 0, 1),
          NumberField(s, "oos_recall", 0, 1)};
}

}  // namespace

std::string_view EnsembleModeName(EnsembleMode mode) {
  return mode == EnsembleMode::kCascade ? "cascade" : "weighted";
}

EnsembleMode ParseEnsembleMode(std::string_view name) {
  if (name == "weighted") return EnsembleMode::kWeighted;
  if (name == "cascade") return EnsembleMode::kCascade;
  throw ConfigError("ensemble mode \"" + std::string(name) + "\" is not one of: weighted, cascade");
}

EnsembleOptions EnsembleCalibration::Options(EnsembleMode mode) const {
  EnsembleOptions options;
  options.mode = mode;
  options.svm_weight = svm_weight;
  options.oos_threshold = oos_threshold;
  options.cascade_threshold = cascade_threshold;
  return options;
}

boost::json::object EnsembleCalibration::ToJson() const {
  return {{"svm_weight", svm_weight},
          {"oos_threshold", oos_threshold},
          {"cascade_threshold", cascade_threshold},
          {"bert_call_share", bert_call_share},
          {"examples", examples},
          {"oos_examples", oos_examples},
          {"validation",
           {{"svm", ScoresJson(svm)},
            {"bert", ScoresJson(bert)},
            {"ensemble", ScoresJson(ensemble)},
            {"cascade", ScoresJson(cascade)}}}};
}

EnsembleCalibration EnsembleCalibration::FromJson(const boost::json::object& json) {
  EnsembleCalibration c;
  c.svm_weight = NumberField(json, "svm_weight", 0, 1);
  c.oos_threshold = static_cast<float>(NumberField(json, "oos_threshold", 0, 1.01));
  c.cascade_threshold = static_cast<float>(NumberField(json, "cascade_threshold", 0, 2));
  if (json.contains("bert_call_share")) {
    c.bert_call_share = NumberField(json, "bert_call_share", 0, 1);
  }
  if (json.contains("examples")) {
    c.examples = static_cast<size_t>(NumberField(json, "examples", 0, 1e15));
  }
  if (json.contains("oos_examples")) {
    c.oos_examples = static_cast<size_t>(NumberField(json, "oos_examples", 0, 1e15));
  }
  if (const auto* v = json.if_contains("validation"); v && v->is_object()) {
    const boost::json::object& validation = v->as_object();
    c.svm = ScoresFromJson(validation, "svm");
    c.bert = ScoresFromJson(validation, "bert");
    c.ensemble = ScoresFromJson(validation, "ensemble");
    c.cascade = ScoresFromJson(validation, "cascade");
  }
  return c;
}

EnsembleCalibration ChooseEnsembleWeights(const IntentClassifier& svm, const IntentClassifier& bert,
                                          const std::vector<TrainingExample>& validation,
                                          double max_accuracy_loss,
                                          double cascade_max_accuracy_loss) {
  if (validation.empty()) throw DataError("ensemble calibration: no validation examples");
  const std::vector<size_t> bert_index = AlignLabels(svm, bert);
  const std::vector<std::string>& labels = svm.labels();
  const size_t classes = labels.size();
  const size_t n = validation.size();
  const int oos_label = OutOfScopeIndex(labels);
  const int bert_oos_label = OutOfScopeIndex(bert.labels());

  std::vector<std::string> texts;
  texts.reserve(n);
  for (const TrainingExample& e : validation) texts.push_back(e.text);
  const std::vector<float> ps = ProbabilitiesInChunks(svm, texts);
  const std::vector<float> pb = ProbabilitiesInChunks(bert, texts);
  auto svm_row = [&](size_t i) { return std::span<const float>(ps).subspan(i * classes, classes); };
  auto bert_row = [&](size_t i) {
    return std::span<const float>(pb).subspan(i * classes, classes);
  };

  std::unordered_map<std::string_view, int> label_index;
  for (size_t k = 0; k < classes; ++k) label_index.emplace(labels[k], static_cast<int>(k));
  std::vector<int> expected(n, -1);
  size_t oos_examples = 0;
  for (size_t i = 0; i < n; ++i) {
    if (const auto it = label_index.find(validation[i].intent); it != label_index.end()) {
      expected[i] = it->second;
    }
    oos_examples += validation[i].intent == kOutOfScopeLabel;
  }

  // Each model alone, as it answers with its own threshold: the better
  // out-of-scope recall of the two is the bar a mixture must clear. A
  // mixture judged with a threshold chosen on these examples answers at
  // another trade-off between in-scope accuracy and out-of-scope recall;
  // one that only traded recall for accuracy is not a better model.
  std::vector<Outcome> svm_alone(n), bert_alone(n);
  for (size_t i = 0; i < n; ++i) {
    svm_alone[i] =
        Decide(svm_row(i), labels, oos_label, svm.out_of_scope_threshold(), validation[i]);
    bert_alone[i] = Decide(bert_row(i), bert.labels(), bert_oos_label,
                           bert.out_of_scope_threshold(), validation[i]);
  }
  const double recall_bar =
      std::max(Score(svm_alone, validation).oos_recall, Score(bert_alone, validation).oos_recall);

  // Each weight is judged as it would answer: the mixture, its out-of-scope
  // threshold, then the decisions. At w = 1 and w = 0 the mixture is one
  // model, which keeps its own threshold (chosen by cross-validation on its
  // training data, as it answers alone); a threshold chosen again on these
  // few examples would cost it accuracy it does not cost alone, and the
  // search would then prefer a mixture that is worse than the model alone.
  // Between them, the threshold comes from the SVM trainer's rule. The
  // weight kept has the best in-scope accuracy among those whose
  // out-of-scope recall reaches the bar (the model alone that set it always
  // does); ties go to the better recall, then to the lower negative
  // log-likelihood.
  std::vector<float> mixed(n * classes);
  auto mixed_row = [&](size_t i) {
    return std::span<const float>(mixed).subspan(i * classes, classes);
  };
  auto choose_threshold = [&] {
    std::vector<HeldOutOutcome> held_out;
    held_out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const std::span<const float> row = mixed_row(i);
      const int best = BestIndex(row);
      held_out.push_back({row[best], validation[i].intent == kOutOfScopeLabel, best == oos_label,
                          labels[best] == validation[i].intent});
    }
    return ChooseOutOfScopeThreshold(held_out, max_accuracy_loss).threshold;
  };
  int best_step = -1;
  ValidationScores best_scores;
  double best_nll = 0;
  float best_threshold = 0;
  std::vector<Outcome> outcomes(n);
  for (int step = 0; step <= kWeightSteps; ++step) {
    const float w = static_cast<float>(step / double(kWeightSteps));
    double nll = 0;
    for (size_t i = 0; i < n; ++i) {
      float* row = mixed.data() + i * classes;
      MixInto(svm_row(i).data(), bert_row(i).data(), bert_index, w, row);
      if (expected[i] >= 0) nll -= std::log(std::max(static_cast<double>(row[expected[i]]), 1e-12));
    }
    const float threshold = step == kWeightSteps ? svm.out_of_scope_threshold()
                            : step == 0          ? bert.out_of_scope_threshold()
                                                 : choose_threshold();
    for (size_t i = 0; i < n; ++i) {
      outcomes[i] = Decide(mixed_row(i), labels, oos_label, threshold, validation[i]);
    }
    const ValidationScores scores = Score(outcomes, validation);
    const bool qualifies = scores.oos_recall + 1e-12 >= recall_bar;
    if (!qualifies) continue;
    const bool better =
        best_step < 0 || scores.in_scope_accuracy > best_scores.in_scope_accuracy + 1e-12 ||
        (std::abs(scores.in_scope_accuracy - best_scores.in_scope_accuracy) <= 1e-12 &&
         (scores.oos_recall > best_scores.oos_recall + 1e-12 ||
          (std::abs(scores.oos_recall - best_scores.oos_recall) <= 1e-12 && nll < best_nll)));
    if (better) {
      best_step = step;
      best_scores = scores;
      best_nll = nll;
      best_threshold = threshold;
    }
  }

  EnsembleCalibration calibration;
  calibration.svm_weight = best_step / double(kWeightSteps);
  calibration.examples = n;
  calibration.oos_examples = oos_examples;
  const float w = static_cast<float>(calibration.svm_weight);
  for (size_t i = 0; i < n; ++i) {
    MixInto(svm_row(i).data(), bert_row(i).data(), bert_index, w, mixed.data() + i * classes);
  }
  calibration.oos_threshold = best_threshold;

  // Every example as each model and the full ensemble would answer it.
  std::vector<Outcome> svm_outcomes(n), bert_outcomes(n), ensemble_outcomes(n);
  std::vector<float> svm_confidence(n);
  for (size_t i = 0; i < n; ++i) {
    svm_outcomes[i] =
        Decide(svm_row(i), labels, oos_label, svm.out_of_scope_threshold(), validation[i]);
    bert_outcomes[i] = Decide(bert_row(i), bert.labels(), bert_oos_label,
                              bert.out_of_scope_threshold(), validation[i]);
    ensemble_outcomes[i] =
        Decide(mixed_row(i), labels, oos_label, calibration.oos_threshold, validation[i]);
    svm_confidence[i] = svm_row(i)[BestIndex(svm_row(i))];
  }
  calibration.svm = Score(svm_outcomes, validation);
  calibration.bert = Score(bert_outcomes, validation);
  calibration.ensemble = Score(ensemble_outcomes, validation);

  // The cascade threshold: lowered past the SVM's confidences, highest
  // first, handing each example to the SVM, while the cascade stays within
  // the tolerance of the full ensemble. In-scope accuracy decides when there
  // are in-scope examples, accuracy over all of them otherwise.
  size_t in_scope = n - oos_examples;
  const bool use_in_scope = in_scope > 0;
  auto counts = [&](size_t i) { return !use_in_scope || validation[i].intent != kOutOfScopeLabel; };
  if (!use_in_scope) in_scope = n;
  size_t correct = 0;
  for (size_t i = 0; i < n; ++i) correct += counts(i) && ensemble_outcomes[i].correct;
  const double floor = double(correct) / double(in_scope) - cascade_max_accuracy_loss;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return svm_confidence[a] > svm_confidence[b]; });
  // Above every confidence: BERT is always asked.
  float threshold = std::nextafter(std::max(1.0f, svm_confidence[order[0]]), 2.0f);
  for (size_t j = 0; j < n;) {
    const float confidence = svm_confidence[order[j]];
    size_t changed = correct;
    size_t k = j;
    for (; k < n && svm_confidence[order[k]] == confidence; ++k) {
      const size_t i = order[k];
      if (!counts(i)) continue;
      changed = changed - ensemble_outcomes[i].correct + svm_outcomes[i].correct;
    }
    if (double(changed) / double(in_scope) < floor - kAccuracyEpsilon) break;
    correct = changed;
    threshold = confidence;
    j = k;
  }
  calibration.cascade_threshold = threshold;

  std::vector<Outcome> cascade_outcomes(n);
  size_t bert_calls = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool svm_alone = svm_confidence[i] >= threshold;
    cascade_outcomes[i] = svm_alone ? svm_outcomes[i] : ensemble_outcomes[i];
    bert_calls += !svm_alone;
  }
  calibration.cascade = Score(cascade_outcomes, validation);
  calibration.bert_call_share = double(bert_calls) / double(n);
  return calibration;
}

EnsembleClassifier::EnsembleClassifier(std::shared_ptr<const IntentClassifier> svm,
                                       std::shared_ptr<const IntentClassifier> bert,
                                       EnsembleOptions options)
    : svm_(std::move(svm)), bert_(std::move(bert)), options_(options) {
  if (!svm_ || !bert_) throw ModelError("ensemble: needs both an SVM and a BERT model");
  if (!(options_.svm_weight >= 0 && options_.svm_weight <= 1)) {
    throw ConfigError("ensemble: svm_weight " + std::to_string(options_.svm_weight) +
                      " is outside [0, 1]");
  }
  if (!(options_.oos_threshold >= 0 && options_.oos_threshold <= 1.01f)) {
    throw ConfigError("ensemble: out-of-scope threshold " + std::to_string(options_.oos_threshold) +
                      " is outside [0, 1]");
  }
  if (!(options_.cascade_threshold >= 0)) {
    throw ConfigError("ensemble: cascade threshold " + std::to_string(options_.cascade_threshold) +
                      " must be at least 0");
  }
  bert_index_ = AlignLabels(*svm_, *bert_);
  svm_weight_ = static_cast<float>(options_.svm_weight);
  oos_label_ = OutOfScopeIndex(svm_->labels());
}

std::string EnsembleClassifier::version() const {
  return "svm:" + svm_->version() + "+" + std::string(bert_->kind()) + ":" + bert_->version();
}

bool EnsembleClassifier::SvmAnswersAlone(std::span<const float> svm_probabilities) const {
  return options_.mode == EnsembleMode::kCascade &&
         svm_probabilities[BestIndex(svm_probabilities)] >= options_.cascade_threshold;
}

IntentPrediction EnsembleClassifier::Decide(std::span<const float> probabilities, bool from_svm,
                                            int top_k) const {
  return from_svm ? BuildPrediction(probabilities, labels(), oos_label_,
                                    svm_->out_of_scope_threshold(), top_k, "svm")
                  : BuildPrediction(probabilities, labels(), oos_label_, options_.oos_threshold,
                                    top_k, "ensemble");
}

void EnsembleClassifier::Distributions(std::span<const std::string> texts, std::vector<float>* rows,
                                       std::vector<char>* from_svm) const {
  const size_t classes = labels().size();
  const size_t n = texts.size();
  std::vector<float> ps =
      NeedsSvm() ? svm_->ProbabilitiesBatch(texts) : std::vector<float>(n * classes, 0.0f);
  CheckRows(*svm_, ps.size(), n);
  from_svm->assign(n, 0);
  std::vector<size_t> ask;
  for (size_t i = 0; i < n; ++i) {
    if (SvmAnswersAlone(std::span<const float>(ps).subspan(i * classes, classes))) {
      (*from_svm)[i] = 1;
    } else if (NeedsBert()) {
      ask.push_back(i);
    }
  }
  predictions_.fetch_add(n, std::memory_order_relaxed);
  svm_answers_.fetch_add(
      static_cast<uint64_t>(std::count(from_svm->begin(), from_svm->end(), char{1})),
      std::memory_order_relaxed);
  if (ask.empty()) {
    *rows = std::move(ps);
    return;
  }
  std::vector<float> pb;
  if (ask.size() == n) {
    pb = bert_->ProbabilitiesBatch(texts);
  } else {
    std::vector<std::string> unsure;
    unsure.reserve(ask.size());
    for (size_t i : ask) unsure.push_back(texts[i]);
    pb = bert_->ProbabilitiesBatch(unsure);
  }
  CheckRows(*bert_, pb.size(), ask.size());
  bert_calls_.fetch_add(ask.size(), std::memory_order_relaxed);
  *rows = ps;
  for (size_t j = 0; j < ask.size(); ++j) {
    const size_t i = ask[j];
    MixInto(ps.data() + i * classes, pb.data() + j * classes, bert_index_, svm_weight_,
            rows->data() + i * classes);
  }
}

IntentPrediction EnsembleClassifier::Predict(std::string_view text, int top_k) const {
  const std::vector<float> ps =
      NeedsSvm() ? svm_->Probabilities(text) : std::vector<float>(labels().size(), 0.0f);
  CheckRows(*svm_, ps.size(), 1);
  predictions_.fetch_add(1, std::memory_order_relaxed);
  if (SvmAnswersAlone(ps)) {
    svm_answers_.fetch_add(1, std::memory_order_relaxed);
    return Decide(ps, true, top_k);
  }
  if (!NeedsBert()) return Decide(ps, false, top_k);
  const std::vector<float> pb = bert_->Probabilities(text);
  CheckRows(*bert_, pb.size(), 1);
  bert_calls_.fetch_add(1, std::memory_order_relaxed);
  std::vector<float> mixed(ps.size());
  MixInto(ps.data(), pb.data(), bert_index_, svm_weight_, mixed.data());
  return Decide(mixed, false, top_k);
}

std::vector<IntentPrediction> EnsembleClassifier::PredictBatch(std::span<const std::string> texts,
                                                               int top_k) const {
  std::vector<float> rows;
  std::vector<char> from_svm;
  Distributions(texts, &rows, &from_svm);
  const size_t classes = labels().size();
  std::vector<IntentPrediction> predictions;
  predictions.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    predictions.push_back(
        Decide(std::span<const float>(rows).subspan(i * classes, classes), from_svm[i], top_k));
  }
  return predictions;
}

std::vector<float> EnsembleClassifier::Probabilities(std::string_view text) const {
  const std::vector<std::string> one{std::string(text)};
  std::vector<float> rows;
  std::vector<char> from_svm;
  Distributions(one, &rows, &from_svm);
  return rows;
}

std::vector<float> EnsembleClassifier::ProbabilitiesBatch(
    std::span<const std::string> texts) const {
  std::vector<float> rows;
  std::vector<char> from_svm;
  Distributions(texts, &rows, &from_svm);
  return rows;
}

EnsembleStats EnsembleClassifier::Stats() const {
  return {predictions_.load(std::memory_order_relaxed),
          svm_answers_.load(std::memory_order_relaxed),
          bert_calls_.load(std::memory_order_relaxed)};
}

}  // namespace chatbot::nlu
