// `chatbot predict`: one prediction per text argument or per stdin line.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "nlu/classifier_loader.h"
#include "nlu/prediction_text.h"

namespace chatbot::cli {
namespace {

struct PredictArgs {
  std::vector<std::string> texts;  // empty: one query per line of stdin
  bool json = false;
  int top_k = 0;  // 0: [nlu] top_k
};

int RunPredict(const GlobalOptions& global, const PredictArgs& args) {
  const Configuration config = LoadConfiguration(global);
  StartLogging(config);
  const Settings& settings = config.settings();
  const nlu::LoadedClassifier loaded = nlu::LoadClassifier(
      settings.paths.models, nlu::LoadOptionsFromSettings(settings, /*serving=*/false));
  const nlu::IntentClassifier* model = loaded.classifier.get();
  const int top_k = args.top_k > 0 ? args.top_k : static_cast<int>(settings.nlu.top_k);
  const size_t max_length = static_cast<size_t>(settings.nlu.max_text_length);

  int status = kExitOk;
  auto answer = [&](const std::string& text, const std::string& where) {
    if (const std::optional<std::string> problem = nlu::TextProblem(text, max_length)) {
      std::fprintf(stderr, "%s: %s\n", where.c_str(), problem->c_str());
      status = kExitUsage;
    } else if (const nlu::IntentPrediction p = model->Predict(text, top_k); args.json) {
      std::printf("%s\n", boost::json::serialize(nlu::PredictionJson(text, p)).c_str());
    } else {
      std::printf("%s\n", nlu::PredictionLine(p).c_str());
    }
  };
  if (!args.texts.empty()) {
    for (size_t i = 0; i < args.texts.size(); ++i) {
      answer(args.texts[i], "argument " + std::to_string(i + 1));
    }
  } else {
    std::string line;
    for (size_t number = 1; std::getline(std::cin, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      answer(line, "stdin line " + std::to_string(number));
      std::fflush(stdout);
    }
  }
  return status;
}

}  // namespace

void AddPredictCommand(CLI::App& app, const GlobalOptions& global, std::function<int()>* run) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd =
      app.add_subcommand("predict", "Predict the intent of each TEXT, or of each line of stdin");
  cmd->add_option("texts", args->texts, "Texts to classify");
  cmd->add_flag("--json", args->json, "One JSON object per input");
  cmd->add_option("--top-k", args->top_k, "Entries in the ranking")->check(CLI::Range(1, 50));
  OnParse(cmd, run, [&global, args] { return RunPredict(global, *args); });
}

}  // namespace chatbot::cli
