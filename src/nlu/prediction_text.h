// A prediction as `chatbot predict` prints it: one JSON object, or one
// tab-separated line (intent, confidence, out-of-scope mark, ranking); and
// why a text cannot be classified.
#ifndef CHATBOT_NLU_PREDICTION_TEXT_H_
#define CHATBOT_NLU_PREDICTION_TEXT_H_

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "nlu/intent_classifier.h"

namespace chatbot::nlu {

// {"text", "intent", "confidence", "out_of_scope", "ranking", "model"}
boost::json::object PredictionJson(std::string_view text, const IntentPrediction& prediction);
// "intent\t0.9876[\tout-of-scope]\t[a 0.9876, b 0.0100]", no newline.
std::string PredictionLine(const IntentPrediction& prediction);
// "invalid UTF-8 at byte N" or "text of N bytes is longer than
// nlu.max_text_length (M)"; nothing for a text that can be classified.
std::optional<std::string> TextProblem(std::string_view text, size_t max_length);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_PREDICTION_TEXT_H_
