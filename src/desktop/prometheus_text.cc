#include "desktop/prometheus_text.h"

namespace chatbot::desktop {

namespace {

// The console's own scrapes are requests too; leaving them out keeps an idle
// service at zero requests per second.
bool NotMetrics(const QMap<QString, QString>& labels) {
  return labels.value(QStringLiteral("route")) != QLatin1String("/metrics");
}

}  // namespace

QList<MetricSample> ParsePrometheusText(const QByteArray& text) {
  QList<MetricSample> out;
  for (const QByteArray& raw : text.split('\n')) {
    const QString line = QString::fromUtf8(raw).trimmed();
    if (line.isEmpty() || line.startsWith(u'#')) continue;
    MetricSample sample;
    qsizetype rest = 0;
    const qsizetype brace = line.indexOf(u'{');
    const qsizetype space = line.indexOf(u' ');
    if (space < 0) continue;
    if (brace >= 0 && brace < space) {
      sample.name = line.left(brace);
      qsizetype i = brace + 1;
      // name="value" pairs; values may hold escaped quotes and commas.
      while (i < line.size() && line[i] != u'}') {
        const qsizetype equals = line.indexOf(u'=', i);
        if (equals < 0 || equals + 1 >= line.size() || line[equals + 1] != u'"') break;
        const QString key = line.mid(i, equals - i).trimmed();
        QString value;
        qsizetype j = equals + 2;
        for (; j < line.size() && line[j] != u'"'; ++j) {
          if (line[j] == u'\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        sample.labels.insert(key, value);
        i = j + 1;
        if (i < line.size() && line[i] == u',') ++i;
      }
      rest = line.indexOf(u'}', i) + 1;
      if (rest <= 0) continue;
    } else {
      sample.name = line.left(space);
      rest = space;
    }
    const QString value_text = line.mid(rest).trimmed().section(u' ', 0, 0);
    bool ok = false;
    sample.value = value_text.toDouble(&ok);
    if (ok) out << sample;
  }
  return out;
}

double SumSamples(const QList<MetricSample>& samples, const QString& name,
                  const std::function<bool(const QMap<QString, QString>&)>& filter) {
  double sum = 0;
  for (const MetricSample& sample : samples) {
    if (sample.name == name && (!filter || filter(sample.labels))) sum += sample.value;
  }
  return sum;
}

ScrapeTotals TotalsOf(const QList<MetricSample>& samples, double at_s) {
  ScrapeTotals t;
  t.at_s = at_s;
  t.requests = SumSamples(samples, QStringLiteral("chatbot_http_requests_total"), NotMetrics);
  t.errors = SumSamples(samples, QStringLiteral("chatbot_http_requests_total"),
                        [](const QMap<QString, QString>& labels) {
                          return labels.value(QStringLiteral("status")).startsWith(u'5');
                        });
  t.duration_sum_s =
      SumSamples(samples, QStringLiteral("chatbot_http_request_duration_seconds_sum"), NotMetrics);
  t.duration_count = SumSamples(
      samples, QStringLiteral("chatbot_http_request_duration_seconds_count"), NotMetrics);
  t.cpu_seconds = SumSamples(samples, QStringLiteral("process_cpu_seconds_total"));
  t.resident_bytes = SumSamples(samples, QStringLiteral("process_resident_memory_bytes"));
  t.sessions = SumSamples(samples, QStringLiteral("chatbot_sessions_stored"));
  return t;
}

DerivedMetrics Derive(const ScrapeTotals& before, const ScrapeTotals& after) {
  DerivedMetrics d;
  const double dt = after.at_s - before.at_s;
  const double requests = after.requests - before.requests;
  if (dt > 0) {
    d.requests_per_s = qMax(0.0, requests / dt);
    d.cpu_percent = qMax(0.0, 100 * (after.cpu_seconds - before.cpu_seconds) / dt);
  }
  const double count = after.duration_count - before.duration_count;
  if (count > 0) d.mean_response_ms = 1000 * (after.duration_sum_s - before.duration_sum_s) / count;
  if (requests > 0) d.error_percent = 100 * (after.errors - before.errors) / requests;
  d.memory_mib = after.resident_bytes / (1024.0 * 1024.0);
  return d;
}

}  // namespace chatbot::desktop
