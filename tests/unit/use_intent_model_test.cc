// The USE intent model end to end on a small data set: import the encoder
// from the npm package, train the head, calibrate, save, load back (verified)
// with the same predictions, refuse a damaged directory, and be chosen by
// the classifier loader (alone, and as the SVM's partner in the ensemble),
// behind the batching front when serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "common/error.h"
#include "nlu/classifier_loader.h"
#include "nlu/evaluation_report.h"
#include "nlu/svm_trainer.h"
#include "nlu/use_encoder_files.h"
#include "nlu/use_trainer.h"
#include "ops/model_check.h"
#include "ops/model_check_report.h"
#include "temp_dir.h"
#include "use/tfjs_package.h"

namespace chatbot::nlu {
namespace {
namespace fs = std::filesystem;
using test_support::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<TrainingExample> Examples() {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"weather",
       {"what is the weather today", "will it rain tomorrow", "is it sunny outside",
        "how cold is it", "weather forecast for the weekend", "do I need an umbrella",
        "is it going to snow", "temperature outside right now"}},
      {"balance",
       {"what is my account balance", "how much money do I have", "show my balance",
        "check my savings account", "how much is in checking", "what's left in my account",
        "tell me my bank balance", "current balance please"}},
      {"greeting",
       {"hello there", "hi", "good morning", "hey, how are you", "hello", "good evening",
        "hi there friend", "greetings"}},
  };
  std::vector<TrainingExample> out;
  for (const auto& [intent, texts] : intents) {
    for (const auto& text : texts) out.push_back({text, intent, "test"});
  }
  return out;
}

class UseIntentModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(use::DefaultPackageDir() / "dist" / "model.json")) {
      CHATBOT_SKIP("the encoder package is not installed at "
                   << use::DefaultPackageDir() << " (scripts/setup.sh fetches it with npm)");
    }
    const EncoderImportResult imported =
        ImportUseEncoder({}, dir_.path() / "model" / kEncoderDirectory);
    EXPECT_EQ(imported.license, "Apache-2.0");
    EXPECT_GT(imported.parameters, 6'000'000);
  }
  // A USE model of Examples() on the imported encoder, a quarter held out.
  UseTrainingResult Train() const {
    UseTrainingOptions options;
    options.encoder = dir_.path() / "model" / kEncoderDirectory;
    options.validation_fraction = 0.25;
    return TrainUseModel(Examples(), {}, options);
  }
  TempDir dir_{"use-model-test"};
};

TEST_F(UseIntentModelTest, TrainsSavesLoadsAndServes) {
  const fs::path models = dir_.path() / "model";
  UseTrainingResult result = Train();
  ASSERT_TRUE(result.heldout_from_split);
  EXPECT_TRUE(result.refitted);
  EXPECT_GE(result.heldout.accuracy, 0.8) << "a pretrained encoder separates these intents";
  EXPECT_GT(result.model->temperature(), 0.0f);

  const std::vector<std::string> probes = {"is it raining", "how much money is in my account",
                                           "hey hello"};
  const auto before = result.model->PredictBatch(probes, 3);
  EXPECT_EQ(before[0].intent, "weather");
  EXPECT_EQ(before[1].intent, "balance");
  EXPECT_EQ(before[2].intent, "greeting");
  EXPECT_EQ(before[0].model, "use");

  result.model->set_version("test-version");
  result.model->Save(models / kUseDirectory, result.heldout_examples, result.smoke_examples);
  const auto loaded = UseIntentModel::Load(models / kUseDirectory);
  EXPECT_EQ(loaded->version(), "test-version");
  EXPECT_EQ(loaded->labels(), result.model->labels());
  const auto after = loaded->PredictBatch(probes, 3);
  for (size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(after[i].intent, before[i].intent);
    EXPECT_FLOAT_EQ(after[i].confidence, before[i].confidence);
  }

  // Served alone, and mixed with an SVM trained on the same data.
  ClassifierLoadOptions load;
  load.model = "auto";
  EXPECT_EQ(LoadClassifier(models, load).kind, "use");
  SvmTrainingOptions svm_options;
  TrainSvmModel(Examples(), {}, svm_options).model->Save(models / kSvmDirectory, {}, {});
  const LoadedClassifier ensemble = LoadClassifier(models, load);
  EXPECT_EQ(ensemble.kind, "ensemble");
  ASSERT_NE(ensemble.use, nullptr);
  EXPECT_EQ(ensemble.bert, nullptr);
  EXPECT_EQ(ensemble.classifier->Predict("will it snow tomorrow", 1).intent, "weather");

  // Served: concurrent requests share encoder batches behind the batching
  // front, and each gets the answer the model gives its text alone.
  load.model = "use";
  load.batching = true;
  load.batching_options.max_batch = 8;
  load.batching_options.max_wait = std::chrono::microseconds(2000);
  load.batching_options.threads = 1;
  const LoadedClassifier served = LoadClassifier(models, load);
  ASSERT_NE(served.batching, nullptr);
  std::vector<std::string> texts;
  for (int i = 0; i < 48; ++i) {
    texts.push_back(probes[i % probes.size()] + std::string(i % 5, '!') + " " + std::to_string(i));
  }
  std::vector<IntentPrediction> answers(texts.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < texts.size(); i += 12)
        answers[i] = served.classifier->Predict(texts[i], 2);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < texts.size(); ++i) {
    const IntentPrediction alone = loaded->Predict(texts[i], 2);
    EXPECT_EQ(answers[i].intent, alone.intent) << texts[i];
    EXPECT_NEAR(answers[i].confidence, alone.confidence, 1e-5) << texts[i];
  }
  const BatchingStats stats = served.batching->Stats();
  EXPECT_EQ(stats.requests, texts.size());
  EXPECT_LT(stats.batches, stats.requests) << "no two requests shared a batch";
}

// check-model and verify-model know both directories: the USE model is
// verified like any model, the encoder it was trained on as a part.
TEST_F(UseIntentModelTest, ModelChecksVerifyTheModelAndItsEncoder) {
  const fs::path models = dir_.path() / "model";
  UseTrainingResult result = Train();
  result.model->set_version("checked");
  // What a training run records (training_run.cc): the held-out metrics
  // measured before the refit, and that the saved model learned them.
  result.model->set_manifest(
      {{"heldout_metrics", ReportToJson(result.heldout)}, {"heldout_learned", result.refitted}});
  result.model->Save(models / kUseDirectory, result.heldout_examples, result.smoke_examples);

  const ops::VerifyReport use = ops::VerifyModel(models / kUseDirectory, "use");
  EXPECT_THAT(use.Problems(), IsEmpty());
  EXPECT_TRUE(use.status.loaded);
  EXPECT_FALSE(use.status.part);
  EXPECT_EQ(use.status.labels, result.model->labels());
  EXPECT_EQ(use.smoke_examples, result.smoke_examples.size());
  EXPECT_THAT(use.smoke_mismatches, IsEmpty());
  EXPECT_THAT(ops::VerifyText(use), HasSubstr("verify use"));

  const ops::VerifyReport encoder = ops::VerifyModel(models / kEncoderDirectory, "encoder");
  EXPECT_THAT(encoder.Problems(), IsEmpty());
  EXPECT_TRUE(encoder.status.loaded);
  EXPECT_TRUE(encoder.status.part);
  EXPECT_THAT(ops::StatusText(encoder.status), HasSubstr("healthy"));

  // A damaged encoder is reported by name, not loaded.
  std::ofstream(models / kEncoderDirectory / "encoder.safetensors", std::ios::app) << "x";
  const ops::VerifyReport damaged = ops::VerifyModel(models / kEncoderDirectory, "encoder");
  EXPECT_THAT(damaged.Problems(), Not(IsEmpty()));
  EXPECT_THAT(ops::VerifyText(damaged), HasSubstr("encoder.safetensors"));
}

TEST_F(UseIntentModelTest, RefusesADamagedEncoder) {
  const fs::path encoder = dir_.path() / "model" / kEncoderDirectory;
  {
    std::fstream file(encoder / kEncoderWeightsFile,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(1000);
    file.put('\x7f');
  }
  UseTrainingOptions options;
  options.encoder = encoder;
  try {
    TrainUseModel(Examples(), {}, options);
    FAIL() << "a damaged encoder was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(kEncoderWeightsFile), std::string::npos) << e.what();
  }
}

TEST(UseIntentModelLoaderTest, AnEnsembleWithoutAPartnerNamesWhatIsMissing) {
  TempDir dir("use-loader-test");
  ClassifierLoadOptions load;
  load.model = "use";
  try {
    LoadClassifier(dir.path(), load);
    FAIL() << "loaded a use model from an empty directory";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("train --model use"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace chatbot::nlu
