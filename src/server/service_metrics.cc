#include "server/service_metrics.h"

#include <array>
#include <string>

namespace chatbot::server {
namespace {

// Texts per batch: 1 to the largest /v1/parse/batch.
constexpr double kBatchBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

// The label of every status code, built once: no allocation per request.
const std::array<std::string, 600>& StatusLabels() {
  static const std::array<std::string, 600> labels = [] {
    std::array<std::string, 600> out;
    for (int i = 0; i < 600; ++i) out[i] = std::to_string(i);
    return out;
  }();
  return labels;
}

template <typename Metric>
Metric& Single(metrics::Family<Metric>& family) {
  return family.WithLabels(std::span<const std::string_view>());
}

constexpr std::string_view kEndpointClasses[] = {"chat",   "parse",   "sessions", "admin",
                                                 "health", "metrics", "static",   "other"};

}  // namespace

std::string_view RouteLabel(std::string_view path) {
  static constexpr std::string_view kRoutes[] = {
      "/v1/parse",         "/v1/parse/batch",   "/v1/chat", "/v1/sessions", "/v1/model",
      "/v1/model/reload",  "/health",           "/ready",   "/metrics",     "/v1/review",
      "/v1/review/labels", "/v1/review/export", "/",        "/admin",       "/demo",
      "/widget.js"};
  for (std::string_view route : kRoutes) {
    if (path == route) return route;
  }
  constexpr std::string_view kSessionPrefix = "/v1/sessions/";
  if (path.size() > kSessionPrefix.size() && path.starts_with(kSessionPrefix) &&
      path.find('/', kSessionPrefix.size()) == std::string_view::npos) {
    return "/v1/sessions/{id}";
  }
  if (path.starts_with("/v1/admin/")) return "/v1/admin";
  if (path.starts_with("/v1/review/labels/")) return "/v1/review/labels/{id}";
  if (path.starts_with("/static/")) return "/static";
  return "other";
}

std::string_view EndpointClass(std::string_view route) {
  if (route == "/v1/chat") return "chat";
  if (route.starts_with("/v1/parse")) return "parse";
  if (route.starts_with("/v1/sessions")) return "sessions";
  if (route.starts_with("/v1/admin") || route.starts_with("/v1/model") ||
      route.starts_with("/v1/review")) {
    return "admin";
  }
  if (route == "/health" || route == "/ready") return "health";
  if (route == "/metrics") return "metrics";
  if (route == "/" || route == "/admin" || route == "/demo" || route == "/widget.js" ||
      route == "/static") {
    return "static";
  }
  return "other";
}

ServiceMetrics::ServiceMetrics(std::string_view version)
    : requests_(registry_.AddCounter("chatbot_http_requests_total",
                                     "HTTP requests answered, by route and status code.",
                                     {"route", "status"})),
      request_duration_(registry_.AddHistogram(
          "chatbot_http_request_duration_seconds",
          "Time from a request's first byte to its response written, by route.", {"route"},
          metrics::LatencyBucketsSeconds())),
      in_flight_(Single(
          registry_.AddIntGauge("chatbot_http_requests_in_flight", "Requests being handled now."))),
      predictions_(registry_.AddCounter("chatbot_predictions_total",
                                        "Intent predictions, by model and endpoint.",
                                        {"model", "endpoint"})),
      prediction_duration_(registry_.AddHistogram("chatbot_prediction_duration_seconds",
                                                  "Time of one prediction, by model.", {"model"},
                                                  metrics::LatencyBucketsSeconds())),
      intents_(registry_.AddCounter(
          "chatbot_intent_predictions_total",
          "Predictions by the intent decided (oos when out of scope), by model.",
          {"model", "intent"})),
      out_of_scope_(registry_.AddCounter("chatbot_out_of_scope_predictions_total",
                                         "Predictions that were out of scope, by model.",
                                         {"model"})),
      chat_replies_(registry_.AddCounter(
          "chatbot_chat_replies_total",
          "Chat replies by kind: answer, clarification (a question back) or fallback (the "
          "out-of-scope reply).",
          {"kind"})),
      batch_size_(registry_.AddHistogram(
          "chatbot_batch_size",
          "Texts per batch: kind request is one /v1/parse/batch call, kind inference one "
          "encoder pass of a batching model.",
          {"model", "kind"}, kBatchBuckets)),
      cache_(registry_.AddCounter("chatbot_prediction_cache_requests_total",
                                  "Prediction cache lookups, by model and result (hit or miss).",
                                  {"model", "result"})),
      sessions_stored_(
          Single(registry_.AddGauge("chatbot_sessions_stored", "Sessions in the session store."))),
      sessions_deleted_(registry_.AddCounter(
          "chatbot_sessions_deleted_total",
          "Sessions deleted by this process, by reason (api or retention).", {"reason"})),
      received_bytes_(registry_.AddCounter(
          "chatbot_http_received_bytes_total",
          "Bytes of HTTP requests read (head and body), by endpoint class.", {"class"})),
      sent_bytes_(registry_.AddCounter(
          "chatbot_http_sent_bytes_total",
          "Bytes of HTTP responses written (head and body), by endpoint class.", {"class"})) {
  // Every class from the start, so that rates exist before its first request.
  for (std::string_view c : kEndpointClasses) {
    received_bytes_.WithLabels({c});
    sent_bytes_.WithLabels({c});
  }
  const std::string build_version(version);
  registry_.AddCollector([build_version](metrics::MetricWriter& w) {
    w.Gauge("chatbot_build_info", "The running chatbot's version (always 1).", 1,
            {{"version", build_version}});
  });
}

void ServiceMetrics::ObserveRequest(std::string_view path, int status, int64_t latency_us) {
  const std::string_view route = RouteLabel(path);
  const std::string_view code =
      status >= 0 && status < 600 ? std::string_view(StatusLabels()[status]) : "other";
  requests_.WithLabels({route, code}).Inc();
  request_duration_.WithLabels({route}).Observe(static_cast<double>(latency_us) * 1e-6);
}

void ServiceMetrics::ObserveTraffic(std::string_view path, uint64_t received, uint64_t sent) {
  const std::string_view endpoint_class = EndpointClass(RouteLabel(path));
  received_bytes_.WithLabels({endpoint_class}).Inc(received);
  sent_bytes_.WithLabels({endpoint_class}).Inc(sent);
}

void ServiceMetrics::ObservePrediction(std::string_view model, std::string_view endpoint,
                                       const nlu::IntentPrediction& prediction, double seconds) {
  predictions_.WithLabels({model, endpoint}).Inc();
  prediction_duration_.WithLabels({model}).Observe(seconds);
  intents_.WithLabels({model, prediction.intent}).Inc();
  if (prediction.out_of_scope) out_of_scope_.WithLabels({model}).Inc();
}

void ServiceMetrics::ObserveChatReply(std::string_view kind) {
  chat_replies_.WithLabels({kind}).Inc();
}

void ServiceMetrics::ObserveBatch(std::string_view model, std::string_view kind, size_t size) {
  batch_size_.WithLabels({model, kind}).Observe(static_cast<double>(size));
}

void ServiceMetrics::ObserveCache(std::string_view model, bool hit) {
  cache_.WithLabels({model, hit ? "hit" : "miss"}).Inc();
}

void ServiceMetrics::SessionsDeleted(std::string_view reason, int64_t count) {
  if (count <= 0) return;
  sessions_deleted_.WithLabels({reason}).Inc(static_cast<uint64_t>(count));
  sessions_stored_.Add(-static_cast<double>(count));
}

void ServiceMetrics::Render(HttpResponse* response) const {
  response->status = 200;
  response->content_type = std::string(metrics::MetricsRegistry::kContentType);
  response->body = registry_.Render();
}

}  // namespace chatbot::server
