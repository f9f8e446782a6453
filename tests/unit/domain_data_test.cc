// The default bot's domain (data/domain): what the product promises about
// it, and that a model trained on it generalises.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/config.h"
#include "dialogue/response_template.h"
#include "nlu/evaluation.h"
#include "nlu/svm_trainer.h"
#include "nlu/training_data.h"

namespace chatbot::nlu {
namespace {

const TrainingData& Domain() {
  static const TrainingData data =
      LoadTrainingData({std::filesystem::path(CHATBOT_SOURCE_DIR) / "data" / "domain"});
  return data;
}

TEST(DomainDataTest, LoadsWithoutWarnings) {
  EXPECT_THAT(Domain().warnings, ::testing::IsEmpty());
}

TEST(DomainDataTest, HasTheSupportIntentsWithEnoughExamplesAndReplies) {
  std::map<std::string, int> examples;
  for (const TrainingExample& e : Domain().examples) ++examples[e.intent];
  int in_scope = 0;
  for (const IntentDefinition& intent : Domain().intents) {
    SCOPED_TRACE(intent.name);
    EXPECT_GE(examples[intent.name], 15);
    EXPECT_FALSE(intent.responses.empty());
    if (intent.name != kOutOfScopeLabel) ++in_scope;
  }
  EXPECT_GE(in_scope, 25);
  for (const char* required :
       {"greeting", "goodbye", "thanks", "help", "bot_identity", "human_handoff", "oos"}) {
    EXPECT_TRUE(examples.count(required)) << required;
  }
}

TEST(DomainDataTest, EveryReplyVariableIsKnown) {
  const dialogue::TemplateVariables variables = dialogue::VariablesFromSettings(Settings{}.bot);
  for (const IntentDefinition& intent : Domain().intents) {
    for (const std::string& response : intent.responses) {
      const std::string rendered = dialogue::RenderTemplate(response, variables);
      EXPECT_EQ(rendered.find('{'), std::string::npos) << intent.name << ": " << response;
    }
  }
}

TEST(DomainDataTest, CrossValidatedAccuracyIsHigh) {
  // 3-fold cross-validation of the default training configuration: the bot
  // must recognise unseen phrasings, not just its examples.
  const EvaluationReport report =
      CrossValidate(Domain().examples, 3, 42, [](const std::vector<TrainingExample>& train) {
        return std::unique_ptr<IntentClassifier>(
            TrainSvmModel(train, {}, SvmTrainingOptions{}).model);
      });
  EXPECT_GE(report.in_scope_accuracy, 0.85);
  EXPECT_GE(report.oos_recall, 0.6);
}

}  // namespace
}  // namespace chatbot::nlu
