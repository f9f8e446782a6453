// `chatbot chat`: the console conversation used until the HTTP service
// exists. Trains the default model first when there is none.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "dialogue/response_template.h"
#include "nlu/classifier_loader.h"
#include "nlu/model_manifest.h"
#include "nlu/training_data.h"

namespace chatbot::cli {

int RunChat(const GlobalOptions& global) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  const std::filesystem::path model_dir = SvmModelDir(settings);
  if (!std::filesystem::exists(model_dir / nlu::kManifestFile)) {
    std::fprintf(stderr, "No model in %s: training one on %s first.\n", model_dir.c_str(),
                 settings.paths.data.front().c_str());
    TrainSvm(config, TrainArgs{});
  }
  const nlu::LoadedClassifier loaded = nlu::LoadClassifier(
      settings.paths.models, LoadOptionsFromSettings(settings, /*serving=*/false));
  const nlu::IntentClassifier* model = loaded.classifier.get();
  AppLog()->info("chat: {} model {} loaded from {}", loaded.kind, model->version(),
                 settings.paths.models);

  // Replies come from the domain files the model was trained on.
  const nlu::TrainingData domain = nlu::LoadTrainingData(
      std::vector<std::filesystem::path>(settings.paths.data.begin(), settings.paths.data.end()));
  std::map<std::string, std::vector<std::string>> responses;
  for (const nlu::IntentDefinition& intent : domain.intents)
    responses[intent.name] = intent.responses;
  const dialogue::TemplateVariables variables = dialogue::VariablesFromSettings(settings.bot);
  std::map<std::string, size_t> turns_per_intent;  // rotates the variants

  const bool interactive = ::isatty(STDIN_FILENO) == 1;
  if (interactive) {
    std::printf("%s is listening (model %s). Type a message, or Ctrl-D to leave.\n",
                settings.bot.name.c_str(), model->version().c_str());
  }
  std::string line;
  while (true) {
    if (interactive) std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.size() > static_cast<size_t>(settings.nlu.max_text_length)) {
      std::printf("(That message is too long; please keep it under %lld bytes.)\n",
                  static_cast<long long>(settings.nlu.max_text_length));
      continue;
    }
    const nlu::IntentPrediction p = model->Predict(line, 3);
    std::string reply;
    const auto it = responses.find(p.intent);
    if (it != responses.end() && !it->second.empty()) {
      const auto& variants = it->second;
      reply = variants[turns_per_intent[p.intent]++ % variants.size()];
    } else {
      reply =
          "Sorry, I can't help with that. I can answer questions about orders, deliveries, "
          "returns, payments and your account.";
    }
    std::printf("%s: %s\n   [intent %s, confidence %.2f%s]\n", settings.bot.name.c_str(),
                dialogue::RenderTemplate(reply, variables).c_str(), p.intent.c_str(), p.confidence,
                p.out_of_scope ? ", out of scope" : "");
  }
  if (interactive) std::printf("\nGoodbye.\n");
  return kExitOk;
}

}  // namespace chatbot::cli
