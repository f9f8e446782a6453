#include "desktop/monitoring_panel.h"

#include <QGridLayout>
#include <QJsonArray>
#include <QLabel>
#include <QStyle>
#include <QTimer>
#include <QVBoxLayout>

#include "desktop/bar_chart.h"
#include "desktop/sparkline.h"

namespace chatbot::desktop {

MonitoringPanel::MonitoringPanel(ApiClient* api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 16, 16, 16);
  layout->setSpacing(12);
  status_ = new QLabel(tr("Checking…"));
  status_->setObjectName(QStringLiteral("healthStatus"));
  details_ = new QLabel;
  details_->setObjectName(QStringLiteral("hint"));
  details_->setWordWrap(true);
  details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  status_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
  details_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
  layout->addWidget(status_);
  layout->addWidget(details_);

  auto* grid = new QGridLayout;
  grid->setSpacing(12);
  latency_ = new Sparkline(tr("Mean response time"), QStringLiteral("ms"), 1);
  errors_ = new Sparkline(tr("Error rate (5xx)"), QStringLiteral("%"), 1);
  rate_ = new Sparkline(tr("Requests per second"), QStringLiteral("/s"), 1);
  accuracy_ = new Sparkline(tr("Model accuracy (held out)"), QStringLiteral("%"), 1);
  cpu_ = new Sparkline(tr("CPU (one core = 100 %)"), QStringLiteral("%"), 0);
  memory_ = new Sparkline(tr("Memory (resident)"), QStringLiteral("MiB"), 0);
  latency_->setColor(QColor(0x2f, 0x80, 0xed));
  accuracy_->setColor(QColor(0x14, 0xb8, 0xa6));
  // Small values stay small: an idle service's 1 % CPU is not a full chart.
  latency_->setMinimumScale(5);
  errors_->setMinimumScale(5);
  rate_->setMinimumScale(1);
  cpu_->setMinimumScale(25);
  errors_->setColor(QColor(0xe0, 0x4f, 0x4f));
  rate_->setColor(QColor(0x27, 0xae, 0x60));
  cpu_->setColor(QColor(0xf2, 0x99, 0x4a));
  memory_->setColor(QColor(0x9b, 0x51, 0xe0));
  const QList<Sparkline*> cards{latency_, errors_, rate_, accuracy_, cpu_, memory_};
  for (int i = 0; i < cards.size(); ++i) grid->addWidget(cards[i], i / 3, i % 3);
  grid->setRowStretch(0, 1);
  grid->setRowStretch(1, 1);
  intents_ = new BarChart(tr("Intents answered since the service started"), 8);
  intents_->setColor(QColor(0x25, 0x63, 0xeb));
  grid->addWidget(intents_, 2, 0, 1, 3);
  layout->addLayout(grid, 1);
  layout->addStretch(0);

  timer_ = new QTimer(this);
  timer_->setInterval(qEnvironmentVariableIntValue("CHATBOT_DESKTOP_REFRESH_MS") > 0
                          ? qEnvironmentVariableIntValue("CHATBOT_DESKTOP_REFRESH_MS")
                          : 3000);
  connect(timer_, &QTimer::timeout, this, &MonitoringPanel::refresh);
  clock_.start();
}

void MonitoringPanel::start() {
  if (timer_->isActive()) return;
  refresh();
  timer_->start();
}

void MonitoringPanel::stop() {
  timer_->stop();
}
void MonitoringPanel::setIntervalMs(int ms) {
  timer_->setInterval(ms);
}
QString MonitoringPanel::healthText() const {
  return status_->text();
}

void MonitoringPanel::refresh() {
  api_->get(QStringLiteral("/health"), this, [this](const ApiReply& reply) {
    const QJsonObject& h = reply.json;
    const QString status = h.value(QStringLiteral("status")).toString();
    if (reply.status == 0) {
      status_->setText(tr("● Unreachable"));
      status_->setProperty("state", QStringLiteral("bad"));
    } else if (status == QLatin1String("ok")) {
      status_->setText(tr("● Healthy"));
      status_->setProperty("state", QStringLiteral("good"));
    } else {
      status_->setText(tr("● %1").arg(status.isEmpty() ? QString::number(reply.status) : status));
      status_->setProperty("state", QStringLiteral("bad"));
    }
    status_->style()->unpolish(status_);
    status_->style()->polish(status_);
    QStringList parts;
    if (h.contains(QStringLiteral("version"))) {
      parts << tr("Service %1").arg(h.value(QStringLiteral("version")).toString());
    }
    if (h.contains(QStringLiteral("uptime_s"))) {
      const int minutes = static_cast<int>(h.value(QStringLiteral("uptime_s")).toDouble() / 60);
      parts << tr("up %1 h %2 min").arg(minutes / 60).arg(minutes % 60);
    }
    const QJsonObject models = h.value(QStringLiteral("models")).toObject();
    for (auto it = models.begin(); it != models.end(); ++it) {
      const QJsonObject m = it.value().toObject();
      parts << tr("model %1 %2 (%3 intents)")
                   .arg(it.key(), m.value(QStringLiteral("version")).toString())
                   .arg(m.value(QStringLiteral("labels")).toInt());
    }
    if (h.contains(QStringLiteral("storage"))) {
      parts << tr("storage %1").arg(h.value(QStringLiteral("storage")).toString());
    }
    if (!h.value(QStringLiteral("reason")).toString().isEmpty()) {
      parts << h.value(QStringLiteral("reason")).toString();
    }
    details_->setText(parts.join(QStringLiteral("  ·  ")));
  });
  api_->get(QStringLiteral("/v1/model"), this, [this](const ApiReply& reply) {
    if (!reply.ok()) return;
    const QJsonObject models = reply.json.value(QStringLiteral("models")).toObject();
    QStringList values;
    std::optional<double> best;
    for (auto it = models.begin(); it != models.end(); ++it) {
      const QJsonValue accuracy = it.value()
                                      .toObject()
                                      .value(QStringLiteral("heldout_metrics"))
                                      .toObject()
                                      .value(QStringLiteral("accuracy"));
      if (accuracy.isDouble()) {
        values << QStringLiteral("%1 %").arg(accuracy.toDouble() * 100, 0, 'f', 1);
        best = qMax(best.value_or(0.0), accuracy.toDouble());
      }
    }
    accuracy_->setValueText(
        values.isEmpty() ? tr("not measured") : values.join(QStringLiteral(" / ")), best);
  });
  api_->get(QStringLiteral("/metrics"), this, [this](const ApiReply& reply) { onMetrics(reply); });
}

void MonitoringPanel::onMetrics(const ApiReply& reply) {
  if (!reply.ok()) return;
  const QList<MetricSample> samples = ParsePrometheusText(reply.body);
  const ScrapeTotals now = TotalsOf(samples, clock_.elapsed() / 1000.0);
  if (previous_) {
    const DerivedMetrics d = Derive(*previous_, now);
    latency_->addPoint(d.mean_response_ms);
    errors_->addPoint(d.error_percent);
    rate_->addPoint(d.requests_per_s);
    cpu_->addPoint(d.cpu_percent);
  }
  memory_->addPoint(now.resident_bytes / (1024.0 * 1024.0));
  QMap<QString, double> by_intent;
  for (const MetricSample& sample : samples) {
    if (sample.name == QLatin1String("chatbot_intent_predictions_total")) {
      by_intent[sample.labels.value(QStringLiteral("intent"))] += sample.value;
    }
  }
  QList<QPair<QString, double>> items;
  for (auto it = by_intent.cbegin(); it != by_intent.cend(); ++it)
    items << qMakePair(it.key(), it.value());
  intents_->setItems(items);
  previous_ = now;
  ++scrapes_;
}

}  // namespace chatbot::desktop
