// Presenting an EvaluationReport: a plain-text summary for the terminal, JSON
// for scripts and CI, and a self-contained HTML page (inline CSS, no scripts,
// no external resources, so it can be attached to a ticket or opened offline)
// with a confusion-matrix heat map that stays readable for 150+ intents.
#ifndef CHATBOT_NLU_EVALUATION_REPORT_H_
#define CHATBOT_NLU_EVALUATION_REPORT_H_

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "nlu/evaluation.h"

namespace chatbot::nlu {

// Headline metrics as percentages (2 decimals), the per-intent
// precision/recall/F1/support table, the most confused pairs, and latency.
// When there are more intents than `max_intents_listed`, the table lists the
// worst ones by F1 (what a reader acts on) and says how many were left out;
// a negative value lists them all, alphabetically.
std::string FormatReport(const EvaluationReport& report, int max_intents_listed = 30);

// Every field under stable snake_case keys: examples, accuracy, macro_f1,
// has_out_of_scope, in_scope_accuracy, oos_recall, oos_precision,
// per_intent[{intent, precision, recall, f1, support}],
// confused_pairs[{expected, predicted, count}], labels[],
// latency_us{mean, p50, p90, p99, max}. Ratios are in [0, 1], not percent.
// The confusion matrix ("confusion", rows = expected, columns = predicted, in
// `labels` order) is quadratic in the label count, so only on request.
boost::json::object ReportToJson(const EvaluationReport& report, bool include_confusion = false);

// `chatbot evaluate`'s report under `title`: ReportToJson with the title,
// one line, or the title and FormatReport; ends with '\n'.
std::string TitledReport(const EvaluationReport& report, const std::string& title, bool as_json);

// A complete HTML document: headline metrics, the per-intent table, the
// confused pairs and the confusion matrix as a heat map (row-normalised;
// diagonal green, errors red; a tooltip on every non-zero cell). All text is
// HTML-escaped.
std::string RenderHtmlReport(const EvaluationReport& report, std::string_view title);

// Escapes &, <, >, " and ' so `text` is safe in element content and in
// quoted attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_EVALUATION_REPORT_H_
