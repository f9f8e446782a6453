// Metrics in the Prometheus text exposition format (version 0.0.4), cheap
// enough for the request path.
//
// Recording never takes a lock and never allocates once a series exists:
//   - counters, integer gauges and histograms are split into kMetricShards
//     cache-line-sized shards; a thread always writes its own shard with
//     relaxed atomic adds, so I/O threads do not fight over cache lines;
//   - histograms have fixed bucket bounds (a binary search, then one add);
//   - a labelled series is found in an append-only open-addressing table by
//     hashing the label values (lock-free on a hit; the first use of a new
//     label combination takes the family's mutex once to create it).
// Render() sums the shards. It is the only reader and runs per scrape.
//
// Values computed on demand (process CPU and memory, sessions stored, GPU,
// a model's cache statistics) come from collectors: callbacks that write
// samples through a MetricWriter during Render(). AddCollector returns an
// id that RemoveCollector takes, so a component can plug in its own source
// (the BERT batcher, say) and unplug it when it goes away.
#ifndef CHATBOT_METRICS_METRICS_REGISTRY_H_
#define CHATBOT_METRICS_METRICS_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatbot::metrics {

// Shards per metric: at least the number of I/O threads on common machines;
// more threads share shards (still correct, slightly more contention).
inline constexpr int kMetricShards = 16;

// The calling thread's shard, fixed for the thread's life.
int ThisThreadShard();

// A monotonically increasing count.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    shards_[ThisThreadShard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> value{0};
  };
  std::array<Shard, kMetricShards> shards_;
};

// A gauge moved up and down on the hot path (requests in flight): sharded
// deltas, summed when read.
class IntGauge {
 public:
  void Add(int64_t delta) {
    shards_[ThisThreadShard()].value.fetch_add(delta, std::memory_order_relaxed);
  }
  int64_t Value() const;

 private:
  struct alignas(64) Shard {
    std::atomic<int64_t> value{0};
  };
  std::array<Shard, kMetricShards> shards_;
};

// A gauge set now and then (sessions stored, last retention run).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets ("le" upper bounds, +Inf
// implied), with their sum and count.
class Histogram {
 public:
  // `bounds` strictly increasing and finite; at most kMaxBuckets of them.
  explicit Histogram(std::span<const double> bounds);
  static constexpr size_t kMaxBuckets = 30;

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  std::span<const double> bounds() const { return {bounds_.data(), bucket_count_}; }

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kMaxBuckets + 1> buckets{};
    std::atomic<double> sum{0};
  };
  std::array<double, kMaxBuckets> bounds_{};
  size_t bucket_count_ = 0;
  std::unique_ptr<Shard[]> shards_;
};

// Bucket bounds, in seconds, for request and inference latency: 50 µs to
// 10 s, with 0.5 s (the latency alert's threshold) among them.
std::span<const double> LatencyBucketsSeconds();

enum class MetricType { kCounter, kGauge, kHistogram };

// A family of series sharing a name and label names, one series per
// combination of label values.
class FamilyBase {
 public:
  // Series beyond this share one whose label values are all "_overflow",
  // so that a label fed by unbounded input cannot exhaust memory.
  static constexpr size_t kMaxSeries = 2048;

  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  struct Series {
    std::vector<std::string> values;
    size_t hash = 0;
    void* metric = nullptr;  // owned by the derived family
  };
  // The series of these label values (as many as label_names), created with
  // `create` on first use. Lock-free when it exists.
  Series& Find(std::span<const std::string_view> values, const std::function<void*()>& create);
  // Every series in creation order (takes the mutex; for rendering).
  std::vector<const Series*> AllSeries() const;

 private:
  static constexpr size_t kTableSize = 2 * kMaxSeries;  // load factor <= 1/2
  Series& Insert(std::span<const std::string_view> values, size_t hash,
                 const std::function<void*()>& create);

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::unique_ptr<std::atomic<Series*>[]> table_;
  mutable std::mutex mu_;       // guards series_ and insertion
  std::deque<Series> series_;   // stable addresses
  Series* overflow_ = nullptr;  // guarded by mu_ until set
};

template <typename Metric>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        make_(std::move(make)) {}
  ~Family() override {
    for (const Series* s : AllSeries()) delete static_cast<Metric*>(s->metric);
  }

  // The series for these label values, in label-name order.
  Metric& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& WithLabels(std::span<const std::string_view> values) {
    return *static_cast<Metric*>(Find(values, [this] { return make_().release(); }).metric);
  }

  // (label values, metric) for every series, for rendering.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const Series* s : AllSeries()) visit(s->values, *static_cast<const Metric*>(s->metric));
  }

 private:
  std::function<std::unique_ptr<Metric>()> make_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using IntGaugeFamily = Family<IntGauge>;
using HistogramFamily = Family<Histogram>;

using Label = std::pair<std::string_view, std::string_view>;

// Writes samples in the text format. A family's samples must be written
// together; HELP and TYPE are written before the first sample of each name.
class MetricWriter {
 public:
  explicit MetricWriter(std::string* out) : out_(out) {}

  void Counter(std::string_view name, std::string_view help, double value,
               std::initializer_list<Label> labels = {});
  void Gauge(std::string_view name, std::string_view help, double value,
             std::initializer_list<Label> labels = {});
  // A sample under a header written with Header() (for label sets built at
  // run time).
  void Header(std::string_view name, std::string_view help, MetricType type);
  void Sample(std::string_view name, std::span<const Label> labels, double value);

 private:
  void Begin(std::string_view name, std::string_view help, MetricType type);

  std::string* out_;
  std::string last_family_;
};

// Appends a sample value: integers without a fraction, +Inf, -Inf, NaN.
void AppendMetricValue(std::string* out, double value);
// Appends a label value escaped for the text format (\\, \", \n).
void AppendLabelValue(std::string* out, std::string_view value);

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Families live as long as the registry; names must be unique (throws
  // std::invalid_argument otherwise, or for a name the format forbids).
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  IntGaugeFamily& AddIntGauge(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::span<const double> bounds);

  using Collector = std::function<void(MetricWriter&)>;
  // Collectors run during Render(), after the families, in the order added;
  // they must be thread-safe and quick (they delay the scrape).
  int AddCollector(Collector collector);
  void RemoveCollector(int id);

  // The whole exposition. Safe to call concurrently with recording.
  std::string Render() const;

  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void CheckName(const std::string& name, const std::vector<std::string>& label_names);

  mutable std::mutex mu_;  // guards families_ and collectors_ (not the series)
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::map<int, Collector> collectors_;
  int next_collector_ = 1;
};

}  // namespace chatbot::metrics

#endif  // CHATBOT_METRICS_METRICS_REGISTRY_H_
