// The console's monitoring: service health and model version (GET /health,
// GET /v1/model), and the seed's main metrics from GET /metrics, refreshed
// every few seconds: response time, error rate, requests per second, CPU and
// memory, each a small chart; the model's held-out accuracy beside them; the
// intents answered since the service started.
#ifndef CHATBOT_DESKTOP_MONITORING_PANEL_H_
#define CHATBOT_DESKTOP_MONITORING_PANEL_H_

#include <QElapsedTimer>
#include <QWidget>
#include <optional>

#include "desktop/api_client.h"
#include "desktop/prometheus_text.h"

class QLabel;
class QTimer;

namespace chatbot::desktop {

class BarChart;
class Sparkline;

class MonitoringPanel : public QWidget {
  Q_OBJECT

 public:
  MonitoringPanel(ApiClient* api, QWidget* parent = nullptr);

  // Polling runs only while the panel is started (the console is shown).
  void start();
  void stop();
  void setIntervalMs(int ms);
  int scrapes() const { return scrapes_; }
  QString healthText() const;

 public Q_SLOTS:
  void refresh();

 private:
  void onMetrics(const ApiReply& reply);

  ApiClient* api_;
  QTimer* timer_;
  QElapsedTimer clock_;
  QLabel* status_;
  QLabel* details_;
  Sparkline* latency_;
  Sparkline* errors_;
  Sparkline* rate_;
  Sparkline* accuracy_;
  Sparkline* cpu_;
  Sparkline* memory_;
  BarChart* intents_;
  std::optional<ScrapeTotals> previous_;
  int scrapes_ = 0;
};

}  // namespace chatbot::desktop

#endif  // CHATBOT_DESKTOP_MONITORING_PANEL_H_
