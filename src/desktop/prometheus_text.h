// Reads the Prometheus text format that GET /metrics serves (docs/
// OPERATIONS.md "Monitoring") and derives, from two scrapes, what the
// console charts: request rate, mean response time, error rate (5xx share),
// CPU use and resident memory. Rates need two scrapes because the counters
// count since the service started.
#ifndef CHATBOT_DESKTOP_PROMETHEUS_TEXT_H_
#define CHATBOT_DESKTOP_PROMETHEUS_TEXT_H_

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>
#include <functional>
#include <optional>

namespace chatbot::desktop {

struct MetricSample {
  QString name;
  QMap<QString, QString> labels;
  double value = 0;
};

// Comment lines and unparsable lines are skipped.
QList<MetricSample> ParsePrometheusText(const QByteArray& text);

// The sum of the samples named `name` whose labels pass `filter` (all when
// it is empty).
double SumSamples(const QList<MetricSample>& samples, const QString& name,
                  const std::function<bool(const QMap<QString, QString>&)>& filter = {});

// The counters of one scrape that the derived figures need.
struct ScrapeTotals {
  double at_s = 0;  // when it was taken (monotonic seconds)
  double requests = 0;
  double errors = 0;  // 5xx
  double duration_sum_s = 0;
  double duration_count = 0;
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double sessions = 0;
};
ScrapeTotals TotalsOf(const QList<MetricSample>& samples, double at_s);

struct DerivedMetrics {
  double requests_per_s = 0;
  std::optional<double> mean_response_ms;  // none: no request in between
  double error_percent = 0;
  double cpu_percent = 0;  // of one core
  double memory_mib = 0;
};
DerivedMetrics Derive(const ScrapeTotals& before, const ScrapeTotals& after);

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_PROMETHEUS_TEXT_H_
