// The service's metrics and GET /metrics (Prometheus text format).
//
// ApiHandler records into a ServiceMetrics through the small API below, at
// the places where requests end and predictions happen; everything else
// (process CPU and memory, descriptors, sessions stored, the loaded models,
// GPUs, a model's batching and cache) is added as a collector on registry()
// by whoever owns the figure. Recording is lock-free (ops/metrics_registry.h),
// so it may sit on the request path.
//
// Series:
//   chatbot_http_requests_total{route,status}           counter
//   chatbot_http_request_duration_seconds{route}        histogram, first byte to response written
//   chatbot_http_requests_in_flight                     gauge
//   chatbot_predictions_total{model,endpoint}           counter
//   chatbot_prediction_duration_seconds{model}          histogram, one Predict call
//   chatbot_intent_predictions_total{model,intent}      counter (the intent decided, "oos"
//   included) chatbot_out_of_scope_predictions_total{model}       counter
//   chatbot_chat_replies_total{kind}                    counter: answer|clarification|fallback
//   chatbot_batch_size{model,kind}                      histogram: texts per request or per encoder
//   batch chatbot_prediction_cache_requests_total{model,result} counter: hit|miss
//   chatbot_sessions_stored                             gauge
//   chatbot_sessions_deleted_total{reason}              counter: api|retention
//   chatbot_http_received_bytes_total{class}            counter: request bytes read
//   chatbot_http_sent_bytes_total{class}                counter: response bytes written
//   chatbot_build_info{version}                         gauge, 1
// Routes are a fixed set (ids in paths become "/v1/sessions/{id}", the
// administration paths "/v1/admin", unknown paths "other"), so no request
// can create new series. The byte counters are by endpoint class, fewer
// still (EndpointClass): the network bandwidth of capacity planning, per
// kind of traffic.
#ifndef CHATBOT_SERVER_SERVICE_METRICS_H_
#define CHATBOT_SERVER_SERVICE_METRICS_H_

#include <cstdint>
#include <string_view>

#include "metrics/metrics_registry.h"
#include "nlu/intent_classifier.h"
#include "server/http_types.h"

namespace chatbot::server {

// The route label of a request path (see above).
std::string_view RouteLabel(std::string_view path);

// The class of a route label: "chat", "parse" (/v1/parse and batch),
// "sessions", "admin" (/v1/admin, /v1/model, /v1/review), "health" (/health,
// /ready), "metrics", "static" (the pages, /widget.js, /static) or "other".
std::string_view EndpointClass(std::string_view route);

class ServiceMetrics {
 public:
  explicit ServiceMetrics(std::string_view version = "0.1.0");

  metrics::MetricsRegistry& registry() { return registry_; }

  // A finished request (HttpServerOptions::on_response).
  void ObserveRequest(std::string_view path, int status, int64_t latency_us);
  // Its bytes on the connection (HttpRequest::received_bytes,
  // HttpResponse::sent_bytes).
  void ObserveTraffic(std::string_view path, uint64_t received, uint64_t sent);

  // Counts a request as in flight for the object's lifetime.
  class InFlight {
   public:
    explicit InFlight(ServiceMetrics& metrics) : gauge_(metrics.in_flight_) { gauge_.Add(1); }
    ~InFlight() { gauge_.Add(-1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    metrics::IntGauge& gauge_;
  };

  // One prediction by `model` ("svm", "bert", "ensemble") for `endpoint`
  // ("parse", "batch", "chat"), which took `seconds`.
  void ObservePrediction(std::string_view model, std::string_view endpoint,
                         const nlu::IntentPrediction& prediction, double seconds);
  // What a chat turn answered: "answer", "clarification" or "fallback".
  void ObserveChatReply(std::string_view kind);
  // Texts in one batch: kind "request" (a /v1/parse/batch call) or
  // "inference" (one encoder pass of a batching model).
  void ObserveBatch(std::string_view model, std::string_view kind, size_t size);
  void ObserveCache(std::string_view model, bool hit);

  // Sessions stored: set from a count, moved by the API's creations and
  // deletions in between.
  void SetSessionsStored(int64_t count) { sessions_stored_.Set(static_cast<double>(count)); }
  void SessionCreated() { sessions_stored_.Add(1); }
  // `reason`: "api" or "retention".
  void SessionsDeleted(std::string_view reason, int64_t count);

  // GET /metrics.
  void Render(HttpResponse* response) const;

 private:
  metrics::MetricsRegistry registry_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& request_duration_;
  metrics::IntGauge& in_flight_;
  metrics::CounterFamily& predictions_;
  metrics::HistogramFamily& prediction_duration_;
  metrics::CounterFamily& intents_;
  metrics::CounterFamily& out_of_scope_;
  metrics::CounterFamily& chat_replies_;
  metrics::HistogramFamily& batch_size_;
  metrics::CounterFamily& cache_;
  metrics::Gauge& sessions_stored_;
  metrics::CounterFamily& sessions_deleted_;
  metrics::CounterFamily& received_bytes_;
  metrics::CounterFamily& sent_bytes_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_SERVICE_METRICS_H_
