// `chatbot predict`: one prediction per text argument or per stdin line.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "nlu/classifier_loader.h"
#include "nlu/text_normalizer.h"

namespace chatbot::cli {
namespace {

boost::json::object PredictionToJson(std::string_view text, const nlu::IntentPrediction& p) {
  boost::json::array ranking;
  for (const nlu::RankedIntent& r : p.ranking) {
    ranking.push_back({{"intent", r.intent}, {"confidence", r.confidence}});
  }
  return {{"text", text},
          {"intent", p.intent},
          {"confidence", p.confidence},
          {"out_of_scope", p.out_of_scope},
          {"ranking", std::move(ranking)},
          {"model", p.model}};
}

void PrintPrediction(std::string_view text, const nlu::IntentPrediction& p, bool json) {
  if (json) {
    std::printf("%s\n", boost::json::serialize(PredictionToJson(text, p)).c_str());
    return;
  }
  std::printf("%s\t%.4f%s", p.intent.c_str(), p.confidence, p.out_of_scope ? "\tout-of-scope" : "");
  std::printf("\t[");
  for (size_t i = 0; i < p.ranking.size(); ++i) {
    std::printf("%s%s %.4f", i ? ", " : "", p.ranking[i].intent.c_str(), p.ranking[i].confidence);
  }
  std::printf("]\n");
}

}  // namespace

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
    size_t bad_byte = 0;
    if (!nlu::IsValidUtf8(text, &bad_byte)) {
      std::fprintf(stderr, "%s: invalid UTF-8 at byte %zu\n", where.c_str(), bad_byte);
      status = kExitUsage;
      return;
    }
    if (text.size() > max_length) {
      std::fprintf(stderr, "%s: text of %zu bytes is longer than nlu.max_text_length (%zu)\n",
                   where.c_str(), text.size(), max_length);
      status = kExitUsage;
      return;
    }
    PrintPrediction(text, model->Predict(text, top_k), args.json);
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

}  // namespace chatbot::cli
