#include "metrics/metrics_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace chatbot::metrics {
namespace {

constexpr double kLatencyBuckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                      0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                      0.5,     1,      2.5,     5,      10};

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}
bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty() || !IsNameStart(name[0]) || (!allow_colon && name[0] == ':')) return false;
  for (char c : name) {
    if (!IsNameChar(c) || (!allow_colon && c == ':')) return false;
  }
  return true;
}

size_t HashValues(std::span<const std::string_view> values) {
  size_t hash = 0xcbf29ce484222325ULL;
  for (std::string_view v : values) {
    hash ^= std::hash<std::string_view>{}(v);
    hash *= 0x100000001b3ULL;
    hash ^= hash >> 29;
  }
  return hash;
}

bool SameValues(const std::vector<std::string>& stored, std::span<const std::string_view> values) {
  if (stored.size() != values.size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    if (stored[i] != values[i]) return false;
  }
  return true;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendHelp(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

// name{a="x",b="y"[,extra="z"]} value
void AppendSample(std::string* out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name,
                  std::string_view extra_value, double value) {
  *out += name;
  if (!names.empty() || !extra_name.empty()) {
    *out += '{';
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) *out += ',';
      *out += names[i];
      *out += "=\"";
      AppendLabelValue(out, values[i]);
      *out += '"';
    }
    if (!extra_name.empty()) {
      if (!names.empty()) *out += ',';
      *out += extra_name;
      *out += "=\"";
      *out += extra_value;
      *out += '"';
    }
    *out += '}';
  }
  *out += ' ';
  AppendMetricValue(out, value);
  *out += '\n';
}

}  // namespace

int ThisThreadShard() {
  static std::atomic<int> next{0};
  thread_local const int shard = next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
  return shard;
}

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.value.load(std::memory_order_relaxed);
  return total;
}

int64_t IntGauge::Value() const {
  int64_t total = 0;
  for (const Shard& s : shards_) total += s.value.load(std::memory_order_relaxed);
  return total;
}

Histogram::Histogram(std::span<const double> bounds)
    : bucket_count_(bounds.size()), shards_(new Shard[kMetricShards]) {
  if (bounds.size() > kMaxBuckets) throw std::invalid_argument("histogram: too many buckets");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      throw std::invalid_argument("histogram: bounds must be finite and strictly increasing");
    }
    bounds_[i] = bounds[i];
  }
}

void Histogram::Observe(double value) {
  // The first bound >= value ("le" is inclusive); past the last: +Inf.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.begin() + bucket_count_, value) - bounds_.begin());
  Shard& shard = shards_[ThisThreadShard()];
  shard.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  shard.sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.assign(bucket_count_ + 1, 0);
  for (int s = 0; s < kMetricShards; ++s) {
    for (size_t b = 0; b <= bucket_count_; ++b) {
      snapshot.cumulative[b] += shards_[s].buckets[b].load(std::memory_order_relaxed);
    }
    snapshot.sum += shards_[s].sum.load(std::memory_order_relaxed);
  }
  for (size_t b = 1; b <= bucket_count_; ++b) snapshot.cumulative[b] += snapshot.cumulative[b - 1];
  snapshot.count = snapshot.cumulative.back();
  return snapshot;
}

std::span<const double> LatencyBucketsSeconds() {
  return kLatencyBuckets;
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      table_(new std::atomic<Series*>[kTableSize]) {
  for (size_t i = 0; i < kTableSize; ++i) table_[i].store(nullptr, std::memory_order_relaxed);
}

FamilyBase::~FamilyBase() = default;

FamilyBase::Series& FamilyBase::Find(std::span<const std::string_view> values,
                                     const std::function<void*()>& create) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(fmt::format("metric {}: {} label values for {} labels", name_,
                                            values.size(), label_names_.size()));
  }
  const size_t hash = HashValues(values);
  for (size_t i = 0; i < kTableSize; ++i) {
    Series* s = table_[(hash + i) & (kTableSize - 1)].load(std::memory_order_acquire);
    if (s == nullptr) break;  // not there (yet)
    if (s->hash == hash && SameValues(s->values, values)) return *s;
  }
  return Insert(values, hash, create);
}

FamilyBase::Series& FamilyBase::Insert(std::span<const std::string_view> values, size_t hash,
                                       const std::function<void*()>& create) {
  std::lock_guard lock(mu_);
  // Another thread may have inserted it meanwhile: probe again under the lock.
  size_t slot = 0;
  for (size_t i = 0; i < kTableSize; ++i) {
    slot = (hash + i) & (kTableSize - 1);
    Series* s = table_[slot].load(std::memory_order_acquire);
    if (s == nullptr) break;
    if (s->hash == hash && SameValues(s->values, values)) return *s;
  }
  if (series_.size() >= kMaxSeries) {
    if (overflow_ == nullptr) {
      Series& s = series_.emplace_back();
      s.values.assign(label_names_.size(), "_overflow");
      s.metric = create();
      overflow_ = &s;
    }
    return *overflow_;
  }
  Series& s = series_.emplace_back();
  s.values.assign(values.begin(), values.end());
  s.hash = hash;
  s.metric = create();
  table_[slot].store(&s, std::memory_order_release);  // published complete
  return s;
}

std::vector<const FamilyBase::Series*> FamilyBase::AllSeries() const {
  std::lock_guard lock(mu_);
  std::vector<const Series*> all;
  all.reserve(series_.size());
  for (const Series& s : series_) all.push_back(&s);
  return all;
}

void AppendMetricValue(std::string* out, double value) {
  if (std::isnan(value)) {
    *out += "NaN";
  } else if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    fmt::format_to(std::back_inserter(*out), "{}", static_cast<int64_t>(value));
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", value);
  }
}

void AppendLabelValue(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

void MetricWriter::Begin(std::string_view name, std::string_view help, MetricType type) {
  if (name == last_family_) return;
  last_family_ = std::string(name);
  *out_ += "# HELP ";
  *out_ += name;
  *out_ += ' ';
  AppendHelp(out_, help);
  *out_ += "\n# TYPE ";
  *out_ += name;
  *out_ += ' ';
  *out_ += TypeName(type);
  *out_ += '\n';
}

void MetricWriter::Header(std::string_view name, std::string_view help, MetricType type) {
  Begin(name, help, type);
}

void MetricWriter::Sample(std::string_view name, std::span<const Label> labels, double value) {
  *out_ += name;
  if (!labels.empty()) {
    *out_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) *out_ += ',';
      first = false;
      *out_ += label;
      *out_ += "=\"";
      AppendLabelValue(out_, label_value);
      *out_ += '"';
    }
    *out_ += '}';
  }
  *out_ += ' ';
  AppendMetricValue(out_, value);
  *out_ += '\n';
}

void MetricWriter::Counter(std::string_view name, std::string_view help, double value,
                           std::initializer_list<Label> labels) {
  Begin(name, help, MetricType::kCounter);
  Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
}

void MetricWriter::Gauge(std::string_view name, std::string_view help, double value,
                         std::initializer_list<Label> labels) {
  Begin(name, help, MetricType::kGauge);
  Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

void MetricsRegistry::CheckName(const std::string& name,
                                const std::vector<std::string>& label_names) {
  if (!IsValidName(name, true)) throw std::invalid_argument("bad metric name '" + name + "'");
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false) || label.starts_with("__") || label == "le") {
      throw std::invalid_argument("metric " + name + ": bad label name '" + label + "'");
    }
  }
  for (const auto& family : families_) {
    if (family->name() == name) throw std::invalid_argument("metric " + name + " added twice");
  }
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  CheckName(name, label_names);
  auto family = std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                MetricType::kCounter, std::move(label_names),
                                                [] { return std::make_unique<Counter>(); });
  CounterFamily& result = *family;
  families_.push_back(std::move(family));
  if (result.label_names().empty())
    result.WithLabels(std::span<const std::string_view>());  // shown from the start
  return result;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  CheckName(name, label_names);
  auto family = std::make_unique<GaugeFamily>(std::move(name), std::move(help), MetricType::kGauge,
                                              std::move(label_names),
                                              [] { return std::make_unique<Gauge>(); });
  GaugeFamily& result = *family;
  families_.push_back(std::move(family));
  if (result.label_names().empty())
    result.WithLabels(std::span<const std::string_view>());  // shown from the start
  return result;
}

IntGaugeFamily& MetricsRegistry::AddIntGauge(std::string name, std::string help,
                                             std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  CheckName(name, label_names);
  auto family = std::make_unique<IntGaugeFamily>(std::move(name), std::move(help),
                                                 MetricType::kGauge, std::move(label_names),
                                                 [] { return std::make_unique<IntGauge>(); });
  IntGaugeFamily& result = *family;
  families_.push_back(std::move(family));
  if (result.label_names().empty())
    result.WithLabels(std::span<const std::string_view>());  // shown from the start
  return result;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::span<const double> bounds) {
  std::lock_guard lock(mu_);
  CheckName(name, label_names);
  Histogram{bounds};  // validates the bounds once, here, rather than on first use
  std::vector<double> copy(bounds.begin(), bounds.end());
  auto family = std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names),
      [copy] { return std::make_unique<Histogram>(copy); });
  HistogramFamily& result = *family;
  families_.push_back(std::move(family));
  if (result.label_names().empty())
    result.WithLabels(std::span<const std::string_view>());  // shown from the start
  return result;
}

int MetricsRegistry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  const int id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::RemoveCollector(int id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::Render() const {
  std::string out;
  out.reserve(16384);
  std::lock_guard lock(mu_);
  for (const auto& family : families_) {
    const std::string& name = family->name();
    const std::vector<std::string>& labels = family->label_names();
    std::string header = "# HELP " + name + " ";
    AppendHelp(&header, family->help());
    header += "\n# TYPE " + name + " " + TypeName(family->type()) + "\n";
    const size_t before = out.size();
    out += header;
    bool any = false;
    if (const auto* counters = dynamic_cast<const CounterFamily*>(family.get())) {
      counters->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        AppendSample(&out, name, labels, values, "", "", static_cast<double>(c.Value()));
        any = true;
      });
    } else if (const auto* gauges = dynamic_cast<const GaugeFamily*>(family.get())) {
      gauges->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
        AppendSample(&out, name, labels, values, "", "", g.Value());
        any = true;
      });
    } else if (const auto* ints = dynamic_cast<const IntGaugeFamily*>(family.get())) {
      ints->ForEach([&](const std::vector<std::string>& values, const IntGauge& g) {
        AppendSample(&out, name, labels, values, "", "", static_cast<double>(g.Value()));
        any = true;
      });
    } else if (const auto* histograms = dynamic_cast<const HistogramFamily*>(family.get())) {
      const std::string bucket_name = name + "_bucket";
      const std::string sum_name = name + "_sum";
      const std::string count_name = name + "_count";
      histograms->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        const Histogram::Snapshot snapshot = h.Read();
        const std::span<const double> bounds = h.bounds();
        char le[32];
        for (size_t b = 0; b < bounds.size(); ++b) {
          const auto end = fmt::format_to_n(le, sizeof le - 1, "{}", bounds[b]).out;
          AppendSample(&out, bucket_name, labels, values, "le", std::string_view(le, end - le),
                       static_cast<double>(snapshot.cumulative[b]));
        }
        AppendSample(&out, bucket_name, labels, values, "le", "+Inf",
                     static_cast<double>(snapshot.count));
        AppendSample(&out, sum_name, labels, values, "", "", snapshot.sum);
        AppendSample(&out, count_name, labels, values, "", "", static_cast<double>(snapshot.count));
        any = true;
      });
    }
    // A family without series yet says nothing (like the official clients
    // for labelled families): no HELP line without samples.
    if (!any) out.resize(before);
  }
  MetricWriter writer(&out);
  for (const auto& [id, collector] : collectors_) collector(writer);
  return out;
}

}  // namespace chatbot::metrics
