#include "server/model_accuracy_metrics.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"

namespace chatbot::server {
namespace {

// Reading every label of the window at each scrape (every 15 s) would be
// waste: the figure moves only as fast as people label.
constexpr int64_t kRefreshMs = 60'000;

std::optional<double> ManifestAccuracy(const boost::json::object& manifest) {
  const auto* metrics = manifest.if_contains("heldout_metrics");
  if (metrics == nullptr || !metrics->is_object()) return std::nullopt;
  const auto* accuracy = metrics->as_object().if_contains("accuracy");
  if (accuracy == nullptr || !accuracy->is_number()) return std::nullopt;
  if (const auto* examples = metrics->as_object().if_contains("examples");
      examples != nullptr && examples->is_number() && examples->to_number<double>() == 0) {
    return std::nullopt;  // nothing was held out
  }
  return accuracy->to_number<double>();
}

struct LiveCache {
  std::mutex mutex;
  int64_t refreshed_ms = -kRefreshMs;
  LiveAccuracy value;
};

}  // namespace

LiveAccuracy ComputeLiveAccuracy(const std::vector<store::TurnLabel>& labels, size_t max_labels) {
  std::vector<const store::TurnLabel*> newest;
  for (const store::TurnLabel& label : labels) newest.push_back(&label);
  std::stable_sort(newest.begin(), newest.end(), [](const auto* a, const auto* b) {
    return a->labelled_at_ms > b->labelled_at_ms;
  });
  if (newest.size() > max_labels) newest.resize(max_labels);
  LiveAccuracy out;
  out.samples = newest.size();
  size_t right = 0;
  for (const store::TurnLabel* label : newest) right += label->intent == label->predicted_intent;
  out.accuracy = out.samples ? static_cast<double>(right) / static_cast<double>(out.samples) : 0;
  return out;
}

std::optional<double> HeldOutAccuracy(const ModelSnapshot& snapshot) {
  std::optional<double> best;
  for (const auto& manifest :
       {snapshot.models.svm ? &snapshot.models.svm->manifest() : nullptr,
        snapshot.models.bert ? &snapshot.models.bert->manifest() : nullptr}) {
    if (manifest == nullptr) continue;
    if (const auto accuracy = ManifestAccuracy(*manifest))
      best = std::max(best.value_or(0), *accuracy);
  }
  return best;
}

void AddModelAccuracyCollector(metrics::MetricsRegistry* registry, const Settings& settings,
                               const ModelRegistry* models, store::SessionStore* sessions) {
  const Settings::Monitoring m = settings.monitoring;
  auto cache = std::make_shared<LiveCache>();
  registry->AddCollector([m, models, sessions, cache](metrics::MetricWriter& w) {
    if (const auto snapshot = models->Current()) {
      if (const auto accuracy = HeldOutAccuracy(*snapshot)) {
        w.Gauge("chatbot_model_heldout_accuracy",
                "Accuracy of the answering model on held-out examples at training.", *accuracy,
                {{"model", snapshot->models.kind}});
      }
    }
    LiveAccuracy live;
    {
      std::lock_guard lock(cache->mutex);
      const int64_t now = NowMs();
      if (now - cache->refreshed_ms >= kRefreshMs) {
        try {
          cache->value =
              ComputeLiveAccuracy(sessions->ListLabels(now - m.live_accuracy_days * 86'400'000LL),
                                  static_cast<size_t>(m.live_accuracy_max_labels));
          cache->refreshed_ms = now;
        } catch (const Error& e) {
          // The store is down: the last figure stays; the next scrape retries.
          AppLog()->warn("live accuracy: {}", e.what());
        }
      }
      live = cache->value;
    }
    w.Gauge("chatbot_model_live_accuracy",
            "Share of reviewed turns (labelled in the review queue, within the window) whose "
            "intent the bot decided right.",
            live.accuracy);
    w.Gauge("chatbot_model_live_accuracy_samples", "Labelled turns the live accuracy counts.",
            static_cast<double>(live.samples));
    w.Gauge("chatbot_model_accuracy_alert_drop",
            "How far the live accuracy may fall below the held-out one before the alert fires.",
            m.accuracy_alert_drop / 100.0);
    w.Gauge("chatbot_model_accuracy_alert_min_samples",
            "Labelled turns the live accuracy needs before the alert may fire.",
            static_cast<double>(m.accuracy_alert_min_samples));
  });
}

}  // namespace chatbot::server
