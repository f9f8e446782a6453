// metrics::MetricsRegistry: sharded counters and histograms that sum right under
// concurrent writers, the Prometheus text format (HELP/TYPE, labels,
// escaping, cumulative buckets, +Inf), families that stay silent until used,
// the series cap, collectors; and the service's metrics (server::
// ServiceMetrics): route labels that no request can multiply, and what a
// request, a prediction and a chat reply record.
#include "metrics/metrics_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/service_metrics.h"

namespace chatbot::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every line is a comment (HELP/TYPE) or a well-formed sample, and every
// sample's family was announced by a TYPE line before it.
void ExpectWellFormed(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, std::string> types;
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  for (const std::string& line : Lines(text)) {
    std::smatch m;
    if (line.starts_with("# HELP ")) continue;
    if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(types.count(m[1]), 0u) << "TYPE twice: " << line;
      types[m[1]] = m[2];
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "bad line: " << line;
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix) &&
          types.count(family.substr(0, family.size() - strlen(suffix))) &&
          types[family.substr(0, family.size() - strlen(suffix))] == "histogram") {
        family = family.substr(0, family.size() - strlen(suffix));
      }
    }
    EXPECT_TRUE(types.count(family)) << "sample before its TYPE: " << line;
  }
}

TEST(MetricsRegistryTest, CountersSumEveryThreadsIncrements) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("test_total", "A test counter.", {"kind"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t) {
    threads.emplace_back([&family, t] {
      for (int i = 0; i < 10000; ++i) family.WithLabels({t % 2 ? "odd" : "even"}).Inc();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.WithLabels({"odd"}).Value(), 120000u);
  EXPECT_EQ(family.WithLabels({"even"}).Value(), 120000u);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP test_total A test counter.\n# TYPE test_total counter\n"));
  EXPECT_THAT(text, HasSubstr("test_total{kind=\"odd\"} 120000\n"));
  EXPECT_THAT(text, HasSubstr("test_total{kind=\"even\"} 120000\n"));
  ExpectWellFormed(text);
}

TEST(MetricsRegistryTest, SeriesAreCreatedOnceUnderContention) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("race_total", "Races.", {"a", "b"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&family] {
      for (int i = 0; i < 500; ++i) family.WithLabels({"x", std::to_string(i % 50)}).Inc();
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = registry.Render();
  int series = 0;
  for (const std::string& line : Lines(text)) series += line.starts_with("race_total{") ? 1 : 0;
  EXPECT_EQ(series, 50);
  EXPECT_EQ(family.WithLabels({"x", "7"}).Value(), 80u);
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry registry;
  const double bounds[] = {0.1, 0.5, 1};
  HistogramFamily& family = registry.AddHistogram("latency_seconds", "Latency.", {}, bounds);
  Histogram& h = family.WithLabels(std::span<const std::string_view>());
  for (double v : {0.05, 0.1, 0.3, 0.5, 0.7, 2.0, 3.0}) h.Observe(v);
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(s.count, 7u);
  EXPECT_NEAR(s.sum, 6.65, 1e-9);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE latency_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"0.1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"0.5\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"1\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"+Inf\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_sum 6.65\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_count 7\n"));
  ExpectWellFormed(text);
}

TEST(MetricsRegistryTest, LatencyBucketsIncludeTheAlertThreshold) {
  const std::span<const double> bounds = LatencyBucketsSeconds();
  EXPECT_NE(std::find(bounds.begin(), bounds.end(), 0.5), bounds.end());
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
}

TEST(MetricsRegistryTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("escape_total", "Help with a \\ and\na newline.", {"text"})
      .WithLabels({"a \"quoted\" \\ value\nnext"})
      .Inc(3);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("escape_total{text=\"a \\\"quoted\\\" \\\\ value\\nnext\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# HELP escape_total Help with a \\\\ and\\na newline.\n"));
  ExpectWellFormed(text);
}

TEST(MetricsRegistryTest, LabelledFamiliesStaySilentUntilUsedUnlabelledOnesShowZero) {
  MetricsRegistry registry;
  registry.AddCounter("unused_total", "Never used.", {"x"});
  registry.AddIntGauge("in_flight", "Unlabelled.");
  registry.AddGauge("stored", "Unlabelled gauge.");
  const std::string text = registry.Render();
  EXPECT_THAT(text, Not(HasSubstr("unused_total")));
  EXPECT_THAT(text, HasSubstr("in_flight 0\n"));
  EXPECT_THAT(text, HasSubstr("stored 0\n"));
}

TEST(MetricsRegistryTest, GaugesMoveBothWays) {
  MetricsRegistry registry;
  IntGauge& in_flight =
      registry.AddIntGauge("in_flight", "Now.").WithLabels(std::span<const std::string_view>());
  Gauge& stored =
      registry.AddGauge("stored", "Set.").WithLabels(std::span<const std::string_view>());
  std::thread other([&in_flight] { in_flight.Add(5); });
  other.join();
  in_flight.Add(-2);
  EXPECT_EQ(in_flight.Value(), 3);
  stored.Set(10);
  stored.Add(-2.5);
  EXPECT_DOUBLE_EQ(stored.Value(), 7.5);
  EXPECT_THAT(registry.Render(), HasSubstr("stored 7.5\n"));
}

TEST(MetricsRegistryTest, SeriesBeyondTheCapShareAnOverflowSeries) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("capped_total", "Capped.", {"id"});
  for (size_t i = 0; i < FamilyBase::kMaxSeries + 10; ++i) {
    family.WithLabels({std::to_string(i)}).Inc();
  }
  EXPECT_EQ(family.WithLabels({"_overflow"}).Value(), 10u);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("capped_total{id=\"_overflow\"} 10\n"));
  EXPECT_THAT(text, Not(HasSubstr("capped_total{id=\"2050\"}")));
}

TEST(MetricsRegistryTest, BadNamesAndDuplicatesAreRefused) {
  MetricsRegistry registry;
  registry.AddCounter("ok_total", "Fine.");
  EXPECT_THROW(registry.AddCounter("ok_total", "Twice."), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("1bad", "Digit first."), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("bad-name", "Dash."), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("x_total", "Reserved label.", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("y_total", "Reserved label.", {"__name"}),
               std::invalid_argument);
  const double unsorted[] = {1, 0.5};
  EXPECT_THROW(registry.AddHistogram("h", "Unsorted.", {}, unsorted), std::invalid_argument);
  CounterFamily& family = registry.AddCounter("two_total", "Two labels.", {"a", "b"});
  EXPECT_THROW(family.WithLabels({"only one"}), std::invalid_argument);
}

TEST(MetricsRegistryTest, CollectorsWriteAtRenderAndCanBeRemoved) {
  MetricsRegistry registry;
  int calls = 0;
  const int id = registry.AddCollector([&calls](MetricWriter& w) {
    ++calls;
    w.Gauge("cache_entries", "Entries.", 42, {{"model", "bert"}});
    w.Counter("cache_hits_total", "Hits.", 7);
    w.Header("pairs", "Runtime labels.", MetricType::kGauge);
    for (int i = 0; i < 2; ++i) {
      const std::string value = std::to_string(i);
      const Label labels[] = {{"i", value}};
      w.Sample("pairs", labels, i * 1.5);
    }
  });
  std::string text = registry.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(text, HasSubstr("# TYPE cache_entries gauge\ncache_entries{model=\"bert\"} 42\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cache_hits_total counter\ncache_hits_total 7\n"));
  EXPECT_THAT(text, HasSubstr("pairs{i=\"0\"} 0\npairs{i=\"1\"} 1.5\n"));
  ExpectWellFormed(text);
  registry.RemoveCollector(id);
  text = registry.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(text, Not(HasSubstr("cache_entries")));
}

TEST(MetricsRegistryTest, ValuesAreFormattedForPrometheus) {
  std::string out;
  AppendMetricValue(&out, 3);
  out += ' ';
  AppendMetricValue(&out, 0.25);
  out += ' ';
  AppendMetricValue(&out, 1e-7);
  out += ' ';
  AppendMetricValue(&out, std::numeric_limits<double>::infinity());
  out += ' ';
  AppendMetricValue(&out, std::nan(""));
  EXPECT_EQ(out, "3 0.25 1e-07 +Inf NaN");
}

// The figure behind the issue's target "/metrics under 1 ms to render":
// a registry shaped like a busy service's (every route and status seen,
// 150 intents, histograms) renders in well under a millisecond.
TEST(MetricsRegistryTest, AServiceSizedRegistryRendersFast) {
  server::ServiceMetrics metrics;
  const char* paths[] = {"/v1/parse",        "/v1/parse/batch", "/v1/chat", "/v1/sessions",
                         "/v1/sessions/abc", "/health",         "/metrics", "/nowhere"};
  for (const char* path : paths) {
    for (int status : {200, 400, 404, 422, 500, 503}) metrics.ObserveRequest(path, status, 800);
  }
  for (int i = 0; i < 150; ++i) {
    nlu::IntentPrediction p;
    p.intent = "intent_" + std::to_string(i);
    metrics.ObservePrediction("svm", "parse", p, 2e-5);
    metrics.ObservePrediction("svm", "chat", p, 2e-5);
  }
  metrics.ObserveBatch("svm", "request", 32);
  metrics.ObserveChatReply("answer");
  metrics.registry().Render();  // warm
  const auto start = std::chrono::steady_clock::now();
  constexpr int kRenders = 200;
  size_t bytes = 0;
  for (int i = 0; i < kRenders; ++i) bytes += metrics.registry().Render().size();
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRenders;
  std::printf("render: %.1f µs for %zu bytes\n", us, bytes / kRenders);
  // Debug builds and sanitizers are several times slower than release; the
  // release figure is in docs/OPERATIONS.md.
  EXPECT_LT(us, 10000);
  ExpectWellFormed(metrics.registry().Render());
}

}  // namespace
}  // namespace chatbot::metrics

namespace chatbot::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ServiceMetricsTest, RoutesAreAFixedSet) {
  EXPECT_EQ(RouteLabel("/v1/parse"), "/v1/parse");
  EXPECT_EQ(RouteLabel("/v1/parse/batch"), "/v1/parse/batch");
  EXPECT_EQ(RouteLabel("/v1/sessions"), "/v1/sessions");
  EXPECT_EQ(RouteLabel("/v1/sessions/0123abcd"), "/v1/sessions/{id}");
  EXPECT_EQ(RouteLabel("/v1/sessions/a/b"), "other");
  EXPECT_EQ(RouteLabel("/v1/admin/keys/42"), "/v1/admin");
  EXPECT_EQ(RouteLabel("/metrics"), "/metrics");
  EXPECT_EQ(RouteLabel("/health"), "/health");
  EXPECT_EQ(RouteLabel("/etc/passwd"), "other");
  EXPECT_EQ(RouteLabel(""), "other");
}

TEST(ServiceMetricsTest, CountsTrafficBytesByEndpointClass) {
  EXPECT_EQ(EndpointClass(RouteLabel("/v1/chat")), "chat");
  EXPECT_EQ(EndpointClass(RouteLabel("/v1/parse/batch")), "parse");
  EXPECT_EQ(EndpointClass(RouteLabel("/v1/sessions/abc")), "sessions");
  EXPECT_EQ(EndpointClass(RouteLabel("/v1/admin/keys/42")), "admin");
  EXPECT_EQ(EndpointClass(RouteLabel("/v1/review/labels/7")), "admin");
  EXPECT_EQ(EndpointClass(RouteLabel("/ready")), "health");
  EXPECT_EQ(EndpointClass(RouteLabel("/metrics")), "metrics");
  EXPECT_EQ(EndpointClass(RouteLabel("/static/app.css")), "static");
  EXPECT_EQ(EndpointClass(RouteLabel("/etc/passwd")), "other");

  ServiceMetrics metrics;
  metrics.ObserveTraffic("/v1/chat", 300, 700);
  metrics.ObserveTraffic("/v1/chat", 200, 100);
  metrics.ObserveTraffic("/nowhere", 50, 90);
  const std::string text = metrics.registry().Render();
  EXPECT_THAT(text, HasSubstr("# TYPE chatbot_http_received_bytes_total counter\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_received_bytes_total{class=\"chat\"} 500\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_sent_bytes_total{class=\"chat\"} 800\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_sent_bytes_total{class=\"other\"} 90\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_sent_bytes_total{class=\"static\"} 0\n"));
}

TEST(ServiceMetricsTest, RecordsRequestsPredictionsAndReplies) {
  ServiceMetrics metrics("9.9.9");
  metrics.ObserveRequest("/v1/parse", 200, 1500);
  metrics.ObserveRequest("/v1/parse", 200, 700000);
  metrics.ObserveRequest("/v1/sessions/abc", 404, 100);
  metrics.ObserveRequest("/weird", 999, 100);
  nlu::IntentPrediction p;
  p.intent = "oos";
  p.out_of_scope = true;
  metrics.ObservePrediction("svm", "chat", p, 0.00002);
  metrics.ObserveChatReply("fallback");
  metrics.ObserveBatch("svm", "request", 3);
  metrics.ObserveCache("bert", true);
  metrics.SetSessionsStored(10);
  metrics.SessionCreated();
  metrics.SessionsDeleted("retention", 4);
  {
    ServiceMetrics::InFlight one(metrics);
    ServiceMetrics::InFlight two(metrics);
    EXPECT_THAT(metrics.registry().Render(), HasSubstr("chatbot_http_requests_in_flight 2\n"));
  }
  HttpResponse response;
  metrics.Render(&response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = response.body;
  EXPECT_THAT(text,
              HasSubstr("chatbot_http_requests_total{route=\"/v1/parse\",status=\"200\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("chatbot_http_requests_total{route=\"/v1/sessions/{id}\",status=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_requests_total{route=\"other\",status=\"other\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "chatbot_http_request_duration_seconds_bucket{route=\"/v1/parse\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "chatbot_http_request_duration_seconds_bucket{route=\"/v1/parse\",le=\"0.5\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("chatbot_http_request_duration_seconds_bucket{route=\"/v1/parse\",le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_http_requests_in_flight 0\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_predictions_total{model=\"svm\",endpoint=\"chat\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("chatbot_intent_predictions_total{model=\"svm\",intent=\"oos\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_out_of_scope_predictions_total{model=\"svm\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_chat_replies_total{kind=\"fallback\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("chatbot_batch_size_bucket{model=\"svm\",kind=\"request\",le=\"4\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("chatbot_prediction_cache_requests_total{model=\"bert\",result=\"hit\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_sessions_stored 7\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_sessions_deleted_total{reason=\"retention\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("chatbot_build_info{version=\"9.9.9\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("chatbot_gpu_")));
}

}  // namespace
}  // namespace chatbot::server
