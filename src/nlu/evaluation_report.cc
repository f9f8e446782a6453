#include "nlu/evaluation_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <iterator>
#include <vector>

namespace chatbot::nlu {
namespace {

std::string Percent(double ratio) {
  return fmt::format("{:.2f}%", ratio * 100);
}

// ---- Text ----

void AppendIntentTable(const EvaluationReport& report, int max_listed, std::string& out) {
  std::vector<const IntentScores*> rows;
  rows.reserve(report.per_intent.size());
  for (const auto& s : report.per_intent) rows.push_back(&s);
  const size_t total = rows.size();
  const bool truncated = max_listed >= 0 && static_cast<size_t>(max_listed) < total;
  if (truncated) {
    // The worst intents are the ones worth reading about; stable_sort keeps
    // equal F1s in name order.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const IntentScores* a, const IntentScores* b) { return a->f1 < b->f1; });
    rows.resize(static_cast<size_t>(max_listed));
    fmt::format_to(std::back_inserter(out), "\nPer intent (worst {} of {} by F1):\n", rows.size(),
                   total);
  } else {
    fmt::format_to(std::back_inserter(out), "\nPer intent ({}):\n", total);
  }
  if (rows.empty()) return;

  size_t width = 6;  // "intent"
  for (const auto* s : rows) width = std::max(width, s->intent.size());
  fmt::format_to(std::back_inserter(out), "  {:<{}}  {:>9}  {:>7}  {:>7}  {:>7}\n", "intent", width,
                 "precision", "recall", "F1", "support");
  for (const auto* s : rows) {
    fmt::format_to(std::back_inserter(out), "  {:<{}}  {:>9}  {:>7}  {:>7}  {:>7}\n", s->intent,
                   width, Percent(s->precision), Percent(s->recall), Percent(s->f1), s->support);
  }
  if (truncated) {
    fmt::format_to(std::back_inserter(out), "  ... {} more not listed\n", total - rows.size());
  }
}

// ---- HTML ----

// Appended verbatim, never passed through fmt, which would read the CSS
// braces as replacement fields.
constexpr std::string_view kCss = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.5em; margin: 0 0 .8em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; }
.metrics { display: flex; flex-wrap: wrap; gap: .8em; }
.metric { border: 1px solid #d0d7de; border-radius: 6px; padding: .5em .9em; min-width: 8em; }
.metric .v { font-size: 1.5em; font-weight: 600; }
.metric .k { color: #656d76; font-size: .85em; }
table.scores { border-collapse: collapse; }
table.scores th, table.scores td { padding: 2px 10px; border-bottom: 1px solid #eaeef2; }
table.scores td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.scores th { text-align: left; background: #f6f8fa; }
tr.unexpected td { color: #9a6700; }
.wrap { overflow: auto; max-height: 90vh; border: 1px solid #d0d7de; }
table.cm { border-collapse: collapse; font-size: 9px; }
table.cm td { width: 14px; min-width: 14px; height: 14px; padding: 0; text-align: center;
  border: 1px solid #f0f0f0; font-variant-numeric: tabular-nums; }
table.cm th { font-weight: normal; background: #fff; white-space: nowrap; }
table.cm thead th { position: sticky; top: 0; z-index: 1; vertical-align: bottom; }
table.cm thead th div { writing-mode: vertical-rl; transform: rotate(180deg);
  max-height: 14em; overflow: hidden; text-overflow: ellipsis; padding: 2px 0; }
table.cm tbody th { position: sticky; left: 0; text-align: right; padding: 0 4px;
  max-width: 16em; overflow: hidden; text-overflow: ellipsis; }
table.cm thead th.corner { left: 0; z-index: 2; text-align: right; padding: 4px; color: #656d76; }
table.cm td.d { color: #0b3d17; }
table.cm td.o { color: #5c0b12; }
table.cm td.w { color: #fff; }
.note { color: #656d76; font-size: .9em; }
)css";

void AppendMetric(std::string& out, std::string_view name, const std::string& value) {
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"metric\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>\n",
                 HtmlEscape(value), HtmlEscape(name));
}

// A soft red-to-green background for an F1 cell, so weak intents stand out
// when scrolling a long table.
std::string F1Background(double f1) {
  return fmt::format("hsl({:.0f},70%,88%)", std::clamp(f1, 0.0, 1.0) * 120);
}

void AppendConfusionMatrix(const EvaluationReport& report, std::string& out) {
  const auto& labels = report.labels;
  if (labels.empty()) {
    out += "<p class=\"note\">No examples.</p>\n";
    return;
  }
  out +=
      "<p class=\"note\">Rows: expected intent; columns: predicted intent. Colour intensity is "
      "the share of the row; green is correct, red is a confusion. Hover a cell for its "
      "count.</p>\n<div class=\"wrap\"><table class=\"cm\">\n<thead><tr>"
      "<th class=\"corner\">expected &#8595; / predicted &#8594;</th>";
  for (const auto& label : labels) {
    const std::string l = HtmlEscape(label);
    fmt::format_to(std::back_inserter(out), "<th title=\"{}\"><div>{}</div></th>", l, l);
  }
  out += "</tr></thead>\n<tbody>\n";
  for (size_t e = 0; e < labels.size(); ++e) {
    const std::string expected = HtmlEscape(labels[e]);
    fmt::format_to(std::back_inserter(out), "<tr><th title=\"{}\">{}</th>", expected, expected);
    int row_total = 0;
    for (int c : report.confusion[e]) row_total += c;
    for (size_t p = 0; p < labels.size(); ++p) {
      const int count = report.confusion[e][p];
      if (count == 0) {
        out += "<td></td>";
        continue;
      }
      // Row-normalised so that rare intents are as visible as common ones; a
      // floor keeps single stray predictions from vanishing.
      const double share = static_cast<double>(count) / row_total;
      const double alpha = 0.12 + 0.88 * share;
      const bool diagonal = e == p;
      fmt::format_to(std::back_inserter(out),
                     "<td class=\"{}{}\" style=\"background:rgba({},{:.2f})\" "
                     "title=\"expected {} → predicted {}: {}\">{}</td>",
                     diagonal ? "d" : "o", alpha > 0.6 ? " w" : "",
                     diagonal ? "26,127,55" : "207,34,46", alpha, expected, HtmlEscape(labels[p]),
                     count, count);
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatReport(const EvaluationReport& report, int max_intents_listed) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "Evaluation of {} examples\n", report.examples);
  fmt::format_to(it, "  {:<19} {:>8}\n", "Accuracy", Percent(report.accuracy));
  fmt::format_to(it, "  {:<19} {:>8}\n", "Macro F1", Percent(report.macro_f1));
  fmt::format_to(it, "  {:<19} {:>8}\n", "In-scope accuracy", Percent(report.in_scope_accuracy));
  if (report.has_out_of_scope) {
    fmt::format_to(it, "  {:<19} {:>8}\n", "OOS recall", Percent(report.oos_recall));
    fmt::format_to(it, "  {:<19} {:>8}\n", "OOS precision", Percent(report.oos_precision));
  } else {
    // 0% would read as a failure; there was simply nothing to measure.
    fmt::format_to(it, "  {:<19} {:>8}\n", "OOS recall", "n/a (no \"oos\" examples)");
  }
  if (report.has_threshold_cost) {
    fmt::format_to(it, "  {:<19} {:>8} (in-scope accuracy {} without the out-of-scope threshold)\n",
                   "Threshold cost", fmt::format("{:.2f} pt", report.ThresholdInScopeLoss() * 100),
                   Percent(report.in_scope_accuracy_without_threshold));
  }

  AppendIntentTable(report, max_intents_listed, out);

  out += "\nMost confused (expected -> predicted):\n";
  if (report.confused_pairs.empty()) out += "  (none)\n";
  for (const auto& pair : report.confused_pairs) {
    fmt::format_to(it, "  {:>6}  {} -> {}\n", pair.count, pair.expected, pair.predicted);
  }

  const auto& l = report.latency;
  fmt::format_to(it,
                 "\nLatency per prediction (us): mean {:.1f}  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  "
                 "max {:.1f}\n",
                 l.mean_us, l.p50_us, l.p90_us, l.p99_us, l.max_us);
  return out;
}

boost::json::object ReportToJson(const EvaluationReport& report, bool include_confusion) {
  boost::json::object json;
  json["examples"] = static_cast<uint64_t>(report.examples);
  json["accuracy"] = report.accuracy;
  json["macro_f1"] = report.macro_f1;
  json["has_out_of_scope"] = report.has_out_of_scope;
  json["in_scope_accuracy"] = report.in_scope_accuracy;
  json["oos_recall"] = report.oos_recall;
  json["oos_precision"] = report.oos_precision;
  if (report.has_threshold_cost) {
    json["in_scope_accuracy_without_threshold"] = report.in_scope_accuracy_without_threshold;
    json["threshold_in_scope_loss"] = report.ThresholdInScopeLoss();
  }

  boost::json::array per_intent;
  per_intent.reserve(report.per_intent.size());
  for (const auto& s : report.per_intent) {
    per_intent.push_back(boost::json::object{{"intent", s.intent},
                                             {"precision", s.precision},
                                             {"recall", s.recall},
                                             {"f1", s.f1},
                                             {"support", s.support}});
  }
  json["per_intent"] = std::move(per_intent);

  boost::json::array pairs;
  pairs.reserve(report.confused_pairs.size());
  for (const auto& p : report.confused_pairs) {
    pairs.push_back(boost::json::object{
        {"expected", p.expected}, {"predicted", p.predicted}, {"count", p.count}});
  }
  json["confused_pairs"] = std::move(pairs);

  boost::json::array labels;
  labels.reserve(report.labels.size());
  for (const auto& label : report.labels) labels.emplace_back(label);
  json["labels"] = std::move(labels);

  const auto& l = report.latency;
  json["latency_us"] = boost::json::object{{"mean", l.mean_us},
                                           {"p50", l.p50_us},
                                           {"p90", l.p90_us},
                                           {"p99", l.p99_us},
                                           {"max", l.max_us}};

  if (include_confusion) {
    boost::json::array rows;
    rows.reserve(report.confusion.size());
    for (const auto& row : report.confusion) {
      boost::json::array cells;
      cells.reserve(row.size());
      for (int c : row) cells.emplace_back(c);
      rows.push_back(std::move(cells));
    }
    json["confusion"] = std::move(rows);
  }
  return json;
}

std::string RenderHtmlReport(const EvaluationReport& report, std::string_view title) {
  const std::string escaped_title = HtmlEscape(title);
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>{}</title>\n<style>",
                 escaped_title);
  out += kCss;
  fmt::format_to(it, "</style>\n</head>\n<body>\n<h1>{}</h1>\n", escaped_title);

  out += "<div class=\"metrics\">\n";
  AppendMetric(out, "examples", std::to_string(report.examples));
  AppendMetric(out, "accuracy", Percent(report.accuracy));
  AppendMetric(out, "macro F1", Percent(report.macro_f1));
  AppendMetric(out, "in-scope accuracy", Percent(report.in_scope_accuracy));
  if (report.has_out_of_scope) {
    AppendMetric(out, "OOS recall", Percent(report.oos_recall));
    AppendMetric(out, "OOS precision", Percent(report.oos_precision));
  }
  if (report.has_threshold_cost) {
    AppendMetric(out, "threshold cost (in-scope)",
                 fmt::format("{:.2f} pt", report.ThresholdInScopeLoss() * 100));
  }
  const auto& l = report.latency;
  AppendMetric(out, "p50 latency", fmt::format("{:.1f} µs", l.p50_us));
  AppendMetric(out, "p99 latency", fmt::format("{:.1f} µs", l.p99_us));
  out += "</div>\n";
  fmt::format_to(it,
                 "<p class=\"note\">Latency per prediction: mean {:.1f} µs, p50 {:.1f} µs, "
                 "p90 {:.1f} µs, p99 {:.1f} µs, max {:.1f} µs.</p>\n",
                 l.mean_us, l.p50_us, l.p90_us, l.p99_us, l.max_us);

  fmt::format_to(it, "<h2>Per intent ({})</h2>\n", report.per_intent.size());
  out +=
      "<table class=\"scores\">\n<thead><tr><th>intent</th><th>precision</th><th>recall</th>"
      "<th>F1</th><th>support</th></tr></thead>\n<tbody>\n";
  for (const auto& s : report.per_intent) {
    // Support 0: the label was predicted but never expected.
    fmt::format_to(it,
                   "<tr{}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                   "<td class=\"n\" style=\"background:{}\">{}</td><td class=\"n\">{}</td></tr>\n",
                   s.support == 0 ? " class=\"unexpected\"" : "", HtmlEscape(s.intent),
                   Percent(s.precision), Percent(s.recall), F1Background(s.f1), Percent(s.f1),
                   s.support);
  }
  out += "</tbody></table>\n";

  out += "<h2>Most confused pairs</h2>\n";
  if (report.confused_pairs.empty()) {
    out += "<p class=\"note\">None.</p>\n";
  } else {
    out +=
        "<table class=\"scores\">\n<thead><tr><th>expected</th><th>predicted</th><th>count</th>"
        "</tr></thead>\n<tbody>\n";
    for (const auto& p : report.confused_pairs) {
      fmt::format_to(it, "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
                     HtmlEscape(p.expected), HtmlEscape(p.predicted), p.count);
    }
    out += "</tbody></table>\n";
  }

  out += "<h2>Confusion matrix</h2>\n";
  AppendConfusionMatrix(report, out);
  out += "</body>\n</html>\n";
  return out;
}

std::string TitledReport(const EvaluationReport& report, const std::string& title, bool as_json) {
  if (!as_json) return title + "\n\n" + FormatReport(report) + "\n";
  boost::json::object out = ReportToJson(report);
  out["title"] = title;
  return boost::json::serialize(out) + "\n";
}

}  // namespace chatbot::nlu
