#include "nlu/prediction_text.h"

#include <fmt/core.h>

#include <boost/json.hpp>

#include "nlu/text_normalizer.h"

namespace chatbot::nlu {

boost::json::object PredictionJson(std::string_view text, const IntentPrediction& p) {
  boost::json::array ranking;
  for (const RankedIntent& r : p.ranking) {
    ranking.push_back({{"intent", r.intent}, {"confidence", r.confidence}});
  }
  return {{"text", text},
          {"intent", p.intent},
          {"confidence", p.confidence},
          {"out_of_scope", p.out_of_scope},
          {"ranking", std::move(ranking)},
          {"model", p.model}};
}

std::string PredictionLine(const IntentPrediction& p) {
  std::string line = fmt::format("{}\t{:.4f}{}\t[", p.intent, p.confidence,
                                 p.out_of_scope ? "\tout-of-scope" : "");
  for (size_t i = 0; i < p.ranking.size(); ++i) {
    line += fmt::format("{}{} {:.4f}", i ? ", " : "", p.ranking[i].intent, p.ranking[i].confidence);
  }
  return line + "]";
}

std::optional<std::string> TextProblem(std::string_view text, size_t max_length) {
  size_t bad_byte = 0;
  if (!IsValidUtf8(text, &bad_byte)) return fmt::format("invalid UTF-8 at byte {}", bad_byte);
  if (text.size() > max_length) {
    return fmt::format("text of {} bytes is longer than nlu.max_text_length ({})", text.size(),
                       max_length);
  }
  return std::nullopt;
}

}  // namespace chatbot::nlu
