// The serving model's accuracy as Prometheus sees it: what it scored on
// held-out data at training, and a live estimate from the turns operators
// labelled in the review queue (review_api.h), so that an alert can say
// when the model does worse on real traffic than it promised.
//
// Series (collected at each scrape; the labels are read from the store at
// most once a minute):
//   chatbot_model_heldout_accuracy{model}       the answering model's accuracy on held-out
//                                               examples at training (for the ensemble, the
//                                               better of its two models': a lower bound)
//   chatbot_model_live_accuracy                 share of labelled turns whose intent the bot
//                                               decided right, over the window
//   chatbot_model_live_accuracy_samples         labelled turns in the window
//   chatbot_model_accuracy_alert_drop           [monitoring] accuracy_alert_drop, a fraction
//   chatbot_model_accuracy_alert_min_samples    [monitoring] accuracy_alert_min_samples
// The last two carry the settings to the alert rule (deploy/prometheus/
// chatbot-rules.yml), so that the chatbot's configuration sets the rule's
// margin.
#ifndef CHATBOT_SERVER_MODEL_ACCURACY_METRICS_H_
#define CHATBOT_SERVER_MODEL_ACCURACY_METRICS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "common/config.h"
#include "metrics/metrics_registry.h"
#include "server/model_registry.h"
#include "store/session_store.h"

namespace chatbot::server {

struct LiveAccuracy {
  double accuracy = 0;  // 0 without samples
  size_t samples = 0;
};

// Accuracy over the newest `max_labels` of `labels` (a label is right when
// the bot decided the labelled intent, "oos" included).
LiveAccuracy ComputeLiveAccuracy(const std::vector<store::TurnLabel>& labels, size_t max_labels);

// The held-out accuracy of the model answering in `snapshot`, from its
// manifest; nullopt when none is recorded.
std::optional<double> HeldOutAccuracy(const ModelSnapshot& snapshot);

// Adds the collector of the series above to `registry`. `models` and
// `sessions` must outlive the registry's scrapes.
void AddModelAccuracyCollector(metrics::MetricsRegistry* registry, const Settings& settings,
                               const ModelRegistry* models, store::SessionStore* sessions);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_MODEL_ACCURACY_METRICS_H_
