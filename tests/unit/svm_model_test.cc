#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/sha256.h"
#include "nlu/model_manifest.h"
#include "nlu/svm_intent_model.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"
#include "nlu/training_split.h"
#include "temp_dir.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;
using testing::Contains;
using testing::HasSubstr;
using testing::SizeIs;

// A fresh directory under the system temp dir, removed afterwards.
using test_support::TempDir;

struct TrainedDomain {
  TrainingData data;
  SvmTrainingResult result;
};

// The default domain, trained once per test process with the default options.
const TrainedDomain& Domain() {
  static const TrainedDomain* domain = [] {
    auto* d = new TrainedDomain;
    d->data = LoadTrainingData({fs::path(CHATBOT_SOURCE_DIR "/data/domain")});
    d->result = TrainSvmModel(d->data.examples, {}, SvmTrainingOptions{});
    return d;
  }();
  return *domain;
}

// A small model (five intents) for the tests that only need some valid model
// directory to damage: it trains in milliseconds.
const SvmTrainingResult& Tiny() {
  static const SvmTrainingResult* tiny = [] {
    const std::map<std::string, std::vector<std::string>> intents = {
        {"greeting", {"hello", "hi there", "good morning", "hey", "hello again", "hiya"}},
        {"goodbye", {"bye", "see you later", "goodbye", "farewell", "bye bye", "see you"}},
        {"order_status",
         {"where is my order", "has my order shipped", "track my parcel", "order status",
          "when will my order arrive", "where is my package"}},
        {"return_item",
         {"i want to return these boots", "how do i return an item", "return my shoes",
          "send the jacket back", "start a return", "return policy for boots"}},
        {"oos",
         {"what is the weather", "tell me a joke", "book a flight", "who won the match",
          "play some music", "what is the capital of france"}},
    };
    std::vector<TrainingExample> examples;
    for (const auto& [intent, texts] : intents) {
      for (const std::string& text : texts) examples.push_back({text, intent, "tiny"});
    }
    return new SvmTrainingResult(TrainSvmModel(examples, {}, SvmTrainingOptions{}));
  }();
  return *tiny;
}

const SvmIntentModel& Model() {
  return *Domain().result.model;
}

// Training texts (every 50th) and a few the model never saw.
std::vector<std::string> SampleTexts(size_t step = 50) {
  std::vector<std::string> texts;
  const std::vector<TrainingExample>& examples = Domain().data.examples;
  for (size_t i = 0; i < examples.size(); i += step) texts.push_back(examples[i].text);
  for (const char* text : {"hello", "where is my order", "I want to return these boots",
                           "what's the weather in Paris", "", "???", "asdfgh qwerty",
                           "caf\u00E9 cr\u00E8me", "HELLO THERE!!!", "my parcel is late again"}) {
    texts.push_back(text);
  }
  return texts;
}

void ExpectSamePrediction(const IntentPrediction& a, const IntentPrediction& b,
                          const std::string& text) {
  EXPECT_EQ(a.intent, b.intent) << text;
  EXPECT_EQ(a.confidence, b.confidence) << text;
  EXPECT_EQ(a.out_of_scope, b.out_of_scope) << text;
  ASSERT_EQ(a.ranking.size(), b.ranking.size()) << text;
  for (size_t i = 0; i < a.ranking.size(); ++i) {
    EXPECT_EQ(a.ranking[i].intent, b.ranking[i].intent) << text;
    EXPECT_EQ(a.ranking[i].confidence, b.ranking[i].confidence) << text;
  }
}

std::string ReadText(const fs::path& path) {
  return ReadFile(path);
}

void WriteText(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

boost::json::object ReadManifest(const fs::path& dir) {
  return boost::json::parse(ReadText(dir / kManifestFile)).as_object();
}

void WriteManifest(const fs::path& dir, const boost::json::object& manifest) {
  WriteText(dir / kManifestFile, boost::json::serialize(manifest));
}

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(SvmModelTest, TrainsOnTheDefaultDomain) {
  const TrainedDomain& d = Domain();
  const SvmTrainingResult& r = d.result;
  ASSERT_NE(r.model, nullptr);
  EXPECT_EQ(r.model->labels(), d.data.Labels());
  EXPECT_TRUE(std::is_sorted(r.model->labels().begin(), r.model->labels().end()));
  EXPECT_EQ(r.model->kind(), "svm");
  EXPECT_TRUE(r.heldout_from_split);
  EXPECT_TRUE(r.refitted);
  EXPECT_EQ(r.training_examples, d.data.examples.size());
  EXPECT_GT(r.heldout_examples.size(), d.data.examples.size() / 10);
  EXPECT_LT(r.heldout_examples.size(), d.data.examples.size() / 4);
  EXPECT_EQ(r.heldout.examples, r.heldout_examples.size());
  // An honest held-out score on this small domain; far above chance (1/37).
  EXPECT_GT(r.heldout.accuracy, 0.75);
  EXPECT_THAT(r.data_sha256, SizeIs(64));
  EXPECT_GT(r.model->temperature(), 0.0f);
  EXPECT_GE(r.model->out_of_scope_threshold(), 0.0f);
  EXPECT_LE(r.model->out_of_scope_threshold(), 1.0f);
  std::map<std::string, int> smoke_per_intent;
  for (const TrainingExample& e : r.smoke_examples) ++smoke_per_intent[e.intent];
  EXPECT_EQ(smoke_per_intent.size(), d.data.Labels().size());
  for (const auto& [intent, count] : smoke_per_intent) EXPECT_LE(count, 3) << intent;
}

TEST(SvmModelTest, ObviousQueriesGetTheExpectedIntent) {
  const SvmIntentModel& model = Model();
  for (const char* label : {"greeting", "order_status", "return_item", "oos"}) {
    ASSERT_THAT(model.labels(), Contains(label));
  }
  EXPECT_EQ(model.Predict("hello", 3).intent, "greeting");
  EXPECT_EQ(model.Predict("Hello!", 3).intent, "greeting");
  EXPECT_EQ(model.Predict("where is my order", 3).intent, "order_status");
  EXPECT_EQ(model.Predict("I want to return these boots", 3).intent, "return_item");
  EXPECT_FALSE(model.Predict("where is my order", 3).out_of_scope);

  const IntentPrediction weather = model.Predict("what's the weather in Paris", 3);
  EXPECT_TRUE(weather.out_of_scope) << weather.intent << " " << weather.confidence;
  EXPECT_EQ(weather.intent, kOutOfScopeLabel);
}

TEST(SvmModelTest, RankingIsSortedBoundedAndConsistent) {
  const SvmIntentModel& model = Model();
  const int labels = static_cast<int>(model.labels().size());
  for (const std::string& text : SampleTexts(97)) {
    for (int top_k : {1, 3, 5}) {
      const IntentPrediction p = model.Predict(text, top_k);
      ASSERT_THAT(p.ranking, SizeIs(top_k)) << text;
      double sum = 0;
      for (size_t i = 0; i < p.ranking.size(); ++i) {
        EXPECT_GE(p.ranking[i].confidence, 0.0f) << text;
        EXPECT_LE(p.ranking[i].confidence, 1.0f) << text;
        if (i > 0) {
          EXPECT_GE(p.ranking[i - 1].confidence, p.ranking[i].confidence) << text;
        }
        sum += p.ranking[i].confidence;
      }
      EXPECT_LE(sum, 1.0 + 1e-5) << text;
      EXPECT_EQ(p.confidence, p.ranking[0].confidence) << text;
      // The decision follows the ranking and the threshold.
      const bool oos =
          p.ranking[0].intent == kOutOfScopeLabel || p.confidence < model.out_of_scope_threshold();
      EXPECT_EQ(p.out_of_scope, oos) << text;
      EXPECT_EQ(p.intent, oos ? std::string(kOutOfScopeLabel) : p.ranking[0].intent) << text;
    }
    // The full ranking: every label once, summing to 1; shorter rankings are its prefixes.
    const IntentPrediction full = model.Predict(text, labels);
    ASSERT_THAT(full.ranking, SizeIs(labels));
    double sum = 0;
    std::set<std::string> names;
    for (const RankedIntent& r : full.ranking) {
      sum += r.confidence;
      names.insert(r.intent);
    }
    EXPECT_NEAR(sum, 1.0, 1e-4) << text;
    EXPECT_EQ(names.size(), static_cast<size_t>(labels));
    const IntentPrediction top3 = model.Predict(text, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(top3.ranking[i].intent, full.ranking[i].intent) << text;
  }
}

TEST(SvmModelTest, TopKIsClampedToAtLeastOneAndAtMostEveryLabel) {
  const SvmIntentModel& model = Model();
  EXPECT_THAT(model.Predict("hello", 0).ranking, SizeIs(1));
  EXPECT_THAT(model.Predict("hello", -5).ranking, SizeIs(1));
  EXPECT_THAT(model.Predict("hello", 100000).ranking, SizeIs(model.labels().size()));
}

TEST(SvmModelTest, SaveThenLoadPredictsIdentically) {
  const SvmIntentModel& model = Model();
  const TempDir tmp;
  const fs::path dir = tmp.path() / "svm";
  model.Save(dir, Domain().result.heldout_examples, Domain().result.smoke_examples);
  const std::unique_ptr<SvmIntentModel> loaded = SvmIntentModel::Load(dir);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->labels(), model.labels());
  EXPECT_EQ(loaded->temperature(), model.temperature());
  EXPECT_EQ(loaded->out_of_scope_threshold(), model.out_of_scope_threshold());
  EXPECT_EQ(loaded->num_features(), model.num_features());
  EXPECT_EQ(loaded->version(), model.version());

  const std::vector<std::string> texts = SampleTexts(40);
  ASSERT_GE(texts.size(), 50u);
  std::vector<float> a(model.labels().size()), b(model.labels().size());
  for (const std::string& text : texts) {
    ExpectSamePrediction(model.Predict(text, 5), loaded->Predict(text, 5), text);
    model.DecisionValues(text, a.data());
    loaded->DecisionValues(text, b.data());
    EXPECT_EQ(a, b) << text;
  }
}

TEST(SvmModelTest, ManifestDescribesTheModelAndItsFiles) {
  SvmIntentModel model = Model();  // a copy, to set its manifest and version
  model.set_version("test-version-1");
  model.set_manifest(boost::json::object{{"trained_by", "svm_model_test"}});
  const TempDir tmp;
  const fs::path dir = tmp.path() / "svm";
  const std::vector<TrainingExample>& heldout = Domain().result.heldout_examples;
  const std::vector<TrainingExample>& smoke = Domain().result.smoke_examples;
  model.Save(dir, heldout, smoke);

  const boost::json::object manifest = ReadManifest(dir);
  EXPECT_EQ(manifest.at("format").as_string(), "chatbot-svm");
  EXPECT_EQ(manifest.at("format_version").as_int64(), 1);
  EXPECT_EQ(manifest.at("version").as_string(), "test-version-1");
  EXPECT_EQ(manifest.at("trained_by").as_string(), "svm_model_test");
  std::vector<std::string> labels;
  for (const boost::json::value& v : manifest.at("labels").as_array()) {
    labels.emplace_back(v.as_string());
  }
  EXPECT_EQ(labels, model.labels());

  const boost::json::object& files = manifest.at("files").as_object();
  EXPECT_EQ(files.size(), 3u);
  for (const char* name : {"model.bin", "heldout.jsonl", "smoke.jsonl"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(files.contains(name));
    const boost::json::object& entry = files.at(name).as_object();
    const std::string sha(entry.at("sha256").as_string());
    EXPECT_THAT(sha, SizeIs(64));
    EXPECT_EQ(sha, Sha256FileHex(dir / name));
    EXPECT_EQ(boost::json::value_to<uint64_t>(entry.at("bytes")), fs::file_size(dir / name));
  }
  EXPECT_EQ(Lines(ReadText(dir / "heldout.jsonl")), heldout.size());
  const std::string smoke_text = ReadText(dir / "smoke.jsonl");
  ASSERT_EQ(Lines(smoke_text), smoke.size());
  std::istringstream lines(smoke_text);
  std::string line;
  while (std::getline(lines, line)) {
    const boost::json::object o = boost::json::parse(line).as_object();
    EXPECT_EQ(std::string(o.at("predicted").as_string()),
              model.Predict(std::string(o.at("text").as_string()), 1).intent);
  }

  const std::unique_ptr<SvmIntentModel> loaded = SvmIntentModel::Load(dir);
  EXPECT_EQ(loaded->version(), "test-version-1");
  EXPECT_EQ(loaded->manifest().at("trained_by").as_string(), "svm_model_test");
}

TEST(SvmModelTest, SaveReplacesAnExistingModelDirectory) {
  const SvmIntentModel& model = Model();
  const TempDir tmp;
  const fs::path dir = tmp.path() / "svm";
  const std::vector<TrainingExample>& heldout = Domain().result.heldout_examples;
  model.Save(dir, {heldout.begin(), heldout.begin() + 3}, {});
  EXPECT_EQ(Lines(ReadText(dir / "heldout.jsonl")), 3u);
  WriteText(dir / "stale.txt", "left over from an old model");

  model.Save(dir, {heldout.begin(), heldout.begin() + 1}, {});
  EXPECT_FALSE(fs::exists(dir / "stale.txt")) << "the old directory must be replaced whole";
  EXPECT_EQ(Lines(ReadText(dir / "heldout.jsonl")), 1u);
  std::vector<std::string> siblings;
  for (const fs::directory_entry& e : fs::directory_iterator(tmp.path())) {
    siblings.push_back(e.path().filename().string());
  }
  EXPECT_EQ(siblings, std::vector<std::string>{"svm"}) << "no *.new.* staging leftovers";
  EXPECT_NO_THROW(SvmIntentModel::Load(dir));

  // A directory that does not exist yet, below parents that do not either.
  const fs::path deep = tmp.path() / "a" / "b" / "svm";
  model.Save(deep, {}, {});
  EXPECT_NO_THROW(SvmIntentModel::Load(deep));
}

// Each test gets its own saved copy of the model to damage.
class SvmModelCorruptionTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() / "svm";
    Tiny().model->Save(dir_, Tiny().heldout_examples, Tiny().smoke_examples);
  }

  fs::path bin() const { return dir_ / "model.bin"; }

  void ExpectRefused(const std::string& message) {
    try {
      SvmIntentModel::Load(dir_);
      ADD_FAILURE() << "loaded a damaged model; expected: " << message;
    } catch (const ModelError& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a ModelError: " << e.what();
    }
  }

  // Replaces model.bin and updates its size and checksum in the manifest, so
  // that only the binary reader can notice the damage.
  void ReplaceBinaryKeepingManifestValid(const std::string& contents) {
    WriteText(bin(), contents);
    boost::json::object manifest = ReadManifest(dir_);
    boost::json::object& entry = manifest["files"].as_object()["model.bin"].as_object();
    entry["sha256"] = Sha256Hex(contents);
    entry["bytes"] = contents.size();
    WriteManifest(dir_, manifest);
  }

  TempDir tmp_;
  fs::path dir_;
};

TEST_F(SvmModelCorruptionTest, PristineCopyLoads) {
  EXPECT_NO_THROW(SvmIntentModel::Load(dir_));
}

TEST_F(SvmModelCorruptionTest, FlippedByteFailsTheChecksum) {
  std::string data = ReadText(bin());
  data[data.size() / 2] ^= 0x01;
  WriteText(bin(), data);
  ExpectRefused("checksum mismatch in model.bin");
}

TEST_F(SvmModelCorruptionTest, TruncatedBinary) {
  std::string data = ReadText(bin());
  data.resize(data.size() / 2);
  WriteText(bin(), data);
  ExpectRefused("truncated");
  ExpectRefused("model.bin");
}

TEST_F(SvmModelCorruptionTest, MissingManifest) {
  fs::remove(dir_ / kManifestFile);
  ExpectRefused("no manifest.json");
}

TEST_F(SvmModelCorruptionTest, NoDirectoryAtAll) {
  dir_ = tmp_.path() / "nowhere";
  ExpectRefused("no manifest.json");
}

TEST_F(SvmModelCorruptionTest, ManifestOfAnotherFormat) {
  boost::json::object manifest = ReadManifest(dir_);
  manifest["format"] = "chatbot-bert";
  WriteManifest(dir_, manifest);
  ExpectRefused("not a chatbot-svm model (format chatbot-bert)");
  manifest.erase("format");
  WriteManifest(dir_, manifest);
  ExpectRefused("format missing");
}

TEST_F(SvmModelCorruptionTest, UnsupportedFormatVersion) {
  boost::json::object manifest = ReadManifest(dir_);
  manifest["format_version"] = 999;
  WriteManifest(dir_, manifest);
  ExpectRefused("format version 999 is not supported");
  manifest["format_version"] = "1";
  WriteManifest(dir_, manifest);
  ExpectRefused("missing format_version");
}

TEST_F(SvmModelCorruptionTest, ListedFileMissing) {
  fs::remove(dir_ / "smoke.jsonl");
  ExpectRefused("missing file smoke.jsonl");
}

TEST_F(SvmModelCorruptionTest, ManifestThatIsNotJson) {
  WriteText(dir_ / kManifestFile, "{\"format\": \"chatbot-svm\", ");
  ExpectRefused("damaged manifest");
  WriteText(dir_ / kManifestFile, "");
  ExpectRefused("damaged manifest");
  WriteText(dir_ / kManifestFile, "[1, 2, 3]");
  ExpectRefused("not a JSON object");
}

TEST_F(SvmModelCorruptionTest, BadFileListings) {
  boost::json::object manifest = ReadManifest(dir_);
  boost::json::object pristine = manifest;
  manifest["files"] = boost::json::object{};
  WriteManifest(dir_, manifest);
  ExpectRefused("lists no files");

  manifest = pristine;
  manifest["files"].as_object()["model.bin"] = "abc";
  WriteManifest(dir_, manifest);
  ExpectRefused("bad entry for model.bin");

  manifest = pristine;
  manifest["files"].as_object()["model.bin"].as_object()["bytes"] = "many";
  WriteManifest(dir_, manifest);
  ExpectRefused("bad size for model.bin");

  manifest = pristine;
  manifest["files"].as_object()["model.bin"].as_object()["bytes"] = 12;
  WriteManifest(dir_, manifest);
  ExpectRefused("damaged or truncated");
}

TEST_F(SvmModelCorruptionTest, ChecksumOfTheWrongTypeIsAModelError) {
  boost::json::object manifest = ReadManifest(dir_);
  manifest["files"].as_object()["model.bin"].as_object()["sha256"] = 12345;
  WriteManifest(dir_, manifest);
  ExpectRefused("model.bin");
}

TEST_F(SvmModelCorruptionTest, ModelBinaryMustBeListedInTheManifest) {
  boost::json::object manifest = ReadManifest(dir_);
  manifest["files"].as_object().erase("model.bin");
  WriteManifest(dir_, manifest);
  std::string data = ReadText(bin());
  data[data.size() - 2] ^= 0x40;  // inside the last weight
  WriteText(bin(), data);
  ExpectRefused("model.bin");
}

TEST_F(SvmModelCorruptionTest, TruncatedBinaryWithAMatchingManifest) {
  const std::string data = ReadText(bin());
  ASSERT_GT(data.size(), 2000u);
  // Inside the signature, the labels, the vectoriser and the weights.
  for (size_t length : {size_t{0}, size_t{5}, size_t{8}, size_t{14}, size_t{40}, size_t{300},
                        data.size() / 4, data.size() / 2, data.size() - 1}) {
    SCOPED_TRACE(length);
    ReplaceBinaryKeepingManifestValid(data.substr(0, length));
    ExpectRefused("truncated");
  }
}

TEST_F(SvmModelCorruptionTest, TrailingBytesWithAMatchingManifest) {
  ReplaceBinaryKeepingManifestValid(ReadText(bin()) + "extra");
  ExpectRefused("unexpected trailing data");
}

TEST_F(SvmModelCorruptionTest, ForeignBinaryWithAMatchingManifest) {
  std::string data = ReadText(bin());
  data[0] ^= 0x20;
  ReplaceBinaryKeepingManifestValid(data);
  ExpectRefused("not an SVM model file");
}

TEST(SplitStratifiedTest, KeepsTwoPerIntentAndIsDeterministic) {
  const std::vector<TrainingExample> data =
      LoadTrainingData({fs::path(CHATBOT_SOURCE_DIR "/data/domain")}).examples;
  std::vector<TrainingExample> train, heldout, train2, heldout2;
  SplitStratified(data, 0.15, 42, &train, &heldout);
  SplitStratified(data, 0.15, 42, &train2, &heldout2);
  ASSERT_EQ(train.size() + heldout.size(), data.size());
  ASSERT_EQ(train.size(), train2.size());
  ASSERT_EQ(heldout.size(), heldout2.size());
  for (size_t i = 0; i < heldout.size(); ++i) {
    EXPECT_EQ(heldout[i].text, heldout2[i].text);
    EXPECT_EQ(heldout[i].source, heldout2[i].source);
  }

  std::map<std::string, int> total, in_train, held;
  for (const TrainingExample& e : data) ++total[e.intent];
  for (const TrainingExample& e : train) ++in_train[e.intent];
  for (const TrainingExample& e : heldout) ++held[e.intent];
  for (const auto& [intent, n] : total) {
    SCOPED_TRACE(intent);
    EXPECT_GE(in_train[intent], 2);
    // About 15% of each intent (rounded), never leaving fewer than two.
    const int expected = std::min(static_cast<int>(n * 0.15 + 0.5), std::max(0, n - 2));
    EXPECT_EQ(held[intent], expected);
  }

  // Both halves keep the data's order (sources are unique "FILE:LINE").
  auto position = [&](const TrainingExample& e) {
    for (size_t i = 0; i < data.size(); ++i) {
      if (data[i].source == e.source && data[i].text == e.text) return i;
    }
    return data.size();
  };
  for (size_t i = 1; i < heldout.size(); i += 17) {
    EXPECT_LT(position(heldout[i - 1]), position(heldout[i]));
  }

  std::vector<TrainingExample> train3, heldout3;
  SplitStratified(data, 0.15, 43, &train3, &heldout3);
  ASSERT_EQ(heldout3.size(), heldout.size());
  size_t differing = 0;
  for (size_t i = 0; i < heldout.size(); ++i) differing += heldout[i].source != heldout3[i].source;
  EXPECT_GT(differing, 0u) << "another seed draws another split";
}

TEST(SplitStratifiedTest, SmallIntents) {
  std::vector<TrainingExample> data;
  auto add = [&](const std::string& intent, int n) {
    for (int i = 0; i < n; ++i) data.push_back({intent + std::to_string(i), intent, ""});
  };
  add("a", 2);
  add("b", 3);
  add("c", 10);
  auto held_counts = [&](double fraction) {
    std::vector<TrainingExample> train, heldout;
    SplitStratified(data, fraction, 1, &train, &heldout);
    std::map<std::string, int> held;
    for (const TrainingExample& e : heldout) ++held[e.intent];
    EXPECT_EQ(train.size() + heldout.size(), data.size());
    return std::vector<int>{held["a"], held["b"], held["c"]};
  };
  EXPECT_EQ(held_counts(0.0), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(held_counts(0.5), (std::vector<int>{0, 1, 5}));
  EXPECT_EQ(held_counts(1.0), (std::vector<int>{0, 1, 8}));
}

TEST(SvmTrainerTest, OneIntentIsNotEnough) {
  const std::vector<TrainingExample> data = {{"hi", "greeting", ""}, {"hello", "greeting", ""}};
  EXPECT_THROW(TrainSvmModel(data, {}, SvmTrainingOptions{}), DataError);
  EXPECT_THROW(TrainSvmModel({}, {}, SvmTrainingOptions{}), DataError);
}

TEST(SvmModelTest, ConcurrentPredictionsMatchSequentialOnes) {
  const SvmIntentModel& model = Model();
  const std::vector<std::string> texts = SampleTexts(12);
  ASSERT_GE(texts.size(), 150u);
  std::vector<IntentPrediction> sequential;
  for (const std::string& text : texts) sequential.push_back(model.Predict(text, 3));

  constexpr int kThreads = 4;
  std::vector<std::vector<IntentPrediction>> results(kThreads,
                                                     std::vector<IntentPrediction>(texts.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Different starting points, so the threads work on different texts at a time.
      for (size_t n = 0; n < texts.size(); ++n) {
        const size_t i = (n + static_cast<size_t>(t) * texts.size() / kThreads) % texts.size();
        results[t][i] = model.Predict(texts[i], 3);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < texts.size(); ++i) {
      ExpectSamePrediction(results[t][i], sequential[i], texts[i]);
    }
  }
}

// A file read through `contents` is verified against the manifest or the
// directory is refused: one the manifest does not list (found by
// model_manifest_fuzz) is never handed back unread as if empty.
TEST(ModelManifestTest, AFileAskedForButNotListedIsRefused) {
  const test_support::TempDir dir("manifest-unlisted");
  const std::filesystem::path model = dir.path() / "m";
  WriteModelDirectory(model, {{"model.bin", "weights"}},
                      {{"format", "test-format"}, {"format_version", 1}});
  std::ofstream(model / "smoke.jsonl") << "{\"text\":\"hi\",\"intent\":\"greet\"}\n";
  std::map<std::string, std::string> listed{{"model.bin", ""}};
  ReadVerifiedManifest(model, "test-format", 1, {}, &listed);
  EXPECT_EQ(listed["model.bin"], "weights");
  std::map<std::string, std::string> unlisted{{"model.bin", ""}, {"smoke.jsonl", ""}};
  try {
    ReadVerifiedManifest(model, "test-format", 1, {}, &unlisted);
    ADD_FAILURE() << "a file the manifest does not list was accepted";
  } catch (const ModelError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("does not list smoke.jsonl"));
  }
}

}  // namespace
}  // namespace chatbot::nlu
