#include "nlu/batching_classifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "nlu/prediction_builder.h"

namespace chatbot::nlu {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;
using ::testing::SizeIs;
using namespace std::chrono_literals;

// A model whose answers are a pure function of the text, and which records
// every batch it is given. A text starting with "gate" blocks its batch until
// OpenGate(), so a test can fill the queue while the only worker is busy; a
// batch containing "boom" throws.
class RecordingModel : public IntentClassifier {
 public:
  explicit RecordingModel(std::chrono::microseconds work = 0us) : work_(work) {}

  std::vector<float> Probabilities(std::string_view text) const override {
    const uint64_t h = std::hash<std::string_view>{}(text);
    std::vector<float> p(labels_.size());
    float sum = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      p[k] = 1.0f + static_cast<float>((h >> (8 * k)) % 97);
      sum += p[k];
    }
    for (float& v : p) v /= sum;
    return p;
  }

  IntentPrediction Predict(std::string_view text, int top_k) const override {
    return BuildPrediction(Probabilities(text), labels_, 3, 0.3f, top_k, "bert");
  }

  std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                             int top_k) const override {
    Record(texts, top_k);
    std::vector<IntentPrediction> out;
    for (const std::string& text : texts) out.push_back(Predict(text, top_k));
    return out;
  }

  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override {
    Record(texts, 0);
    std::vector<float> rows;
    for (const std::string& text : texts) {
      const std::vector<float> row = Probabilities(text);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  }

  std::string_view kind() const override { return "bert"; }
  std::string version() const override { return "recording-1"; }
  const std::vector<std::string>& labels() const override { return labels_; }
  float out_of_scope_threshold() const override { return 0.3f; }

  std::vector<std::vector<std::string>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::vector<int> top_ks() const {
    std::lock_guard lock(mutex_);
    return top_ks_;
  }
  void WaitUntilGateEntered() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return gate_entered_; });
  }
  void OpenGate() const {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }

 private:
  void Record(std::span<const std::string> texts, int top_k) const {
    const bool gate = std::any_of(texts.begin(), texts.end(),
                                  [](const std::string& t) { return t.starts_with("gate"); });
    {
      std::unique_lock lock(mutex_);
      batches_.emplace_back(texts.begin(), texts.end());
      top_ks_.push_back(top_k);
      if (gate) {
        gate_entered_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return gate_open_; });
      }
    }
    if (std::find(texts.begin(), texts.end(), "boom") != texts.end()) {
      throw ModelError("recording model: boom");
    }
    if (work_ > 0us) std::this_thread::sleep_for(work_);
  }

  const std::vector<std::string> labels_ = {"alpha", "beta", "gamma", "oos"};
  std::chrono::microseconds work_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable std::vector<std::vector<std::string>> batches_;
  mutable std::vector<int> top_ks_;
  mutable bool gate_entered_ = false;
  mutable bool gate_open_ = false;
};

void ExpectSame(const IntentPrediction& a, const IntentPrediction& b, const std::string& text) {
  EXPECT_EQ(a.intent, b.intent) << text;
  EXPECT_EQ(a.confidence, b.confidence) << text;
  EXPECT_EQ(a.out_of_scope, b.out_of_scope) << text;
  EXPECT_EQ(a.model, b.model) << text;
  ASSERT_EQ(a.ranking.size(), b.ranking.size()) << text;
  for (size_t i = 0; i < a.ranking.size(); ++i) {
    EXPECT_EQ(a.ranking[i].intent, b.ranking[i].intent) << text;
    EXPECT_EQ(a.ranking[i].confidence, b.ranking[i].confidence) << text;
  }
}

BatchingOptions Options(int max_batch, std::chrono::microseconds max_wait, int threads) {
  BatchingOptions options;
  options.max_batch = max_batch;
  options.max_wait = max_wait;
  options.threads = threads;
  return options;
}

TEST(BatchingClassifierTest, EveryConcurrentCallerGetsItsOwnAnswer) {
  auto model = std::make_shared<RecordingModel>(300us);
  constexpr int kMaxBatch = 8;
  constexpr int kThreads = 16;
  constexpr int kRequests = 150;
  std::vector<std::vector<IntentPrediction>> answers(kThreads);
  {
    BatchingClassifier batching(model, Options(kMaxBatch, 1000us, 2));
    EXPECT_EQ(batching.threads(), 2);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kRequests; ++i) {
          const std::string text = "request " + std::to_string(t) + " " + std::to_string(i) +
                                   std::string(static_cast<size_t>(i % 7), '!');
          answers[t].push_back(batching.Predict(text, 1 + i % 4));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();

    const BatchingStats stats = batching.Stats();
    EXPECT_EQ(stats.requests, uint64_t{kThreads} * kRequests);
    EXPECT_GT(stats.mean_batch_size, 1.5);  // concurrency really produced batches
    ASSERT_THAT(stats.batch_sizes, SizeIs(kMaxBatch + 1));
    EXPECT_EQ(stats.batch_sizes[0], 0u);
    uint64_t batches = 0, requests = 0;
    for (size_t n = 0; n < stats.batch_sizes.size(); ++n) {
      batches += stats.batch_sizes[n];
      requests += n * stats.batch_sizes[n];
    }
    EXPECT_EQ(batches, stats.batches);
    EXPECT_EQ(requests, stats.requests);
    EXPECT_GT(stats.mean_queue_wait_us, 0.0);
  }
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_THAT(answers[t], SizeIs(kRequests));
    for (int i = 0; i < kRequests; ++i) {
      const std::string text = "request " + std::to_string(t) + " " + std::to_string(i) +
                               std::string(static_cast<size_t>(i % 7), '!');
      ExpectSame(answers[t][i], model->Predict(text, 1 + i % 4), text);
    }
  }
  size_t largest = 0;
  for (const auto& batch : model->batches()) largest = std::max(largest, batch.size());
  EXPECT_LE(largest, static_cast<size_t>(kMaxBatch));
  EXPECT_GT(largest, 1u);
}

TEST(BatchingClassifierTest, RespectsMaxBatchWhenMoreAreWaiting) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(3, 0us, 1));
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  std::vector<std::future<IntentPrediction>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(batching.PredictAsync("same length", 1));
  model->OpenGate();
  gate.get();
  for (auto& future : futures) future.get();
  std::vector<size_t> sizes;
  for (const auto& batch : model->batches()) sizes.push_back(batch.size());
  EXPECT_THAT(sizes, ElementsAre(1, 3, 3, 3, 1));
  const BatchingStats stats = batching.Stats();
  EXPECT_EQ(stats.batches, 5u);
  EXPECT_EQ(stats.batch_sizes[3], 3u);
  EXPECT_EQ(stats.batch_sizes[1], 2u);
}

TEST(BatchingClassifierTest, GroupsRequestsOfSimilarLength) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(4, 0us, 1));
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  // Long and short texts alternate in arrival order.
  std::vector<std::future<IntentPrediction>> futures;
  for (int i = 0; i < 4; ++i) {
    futures.push_back(batching.PredictAsync(std::string(100 + i, 'l'), 1));
    futures.push_back(batching.PredictAsync(std::string(1 + i, 's'), 1));
  }
  model->OpenGate();
  gate.get();
  for (auto& future : futures) future.get();
  const auto batches = model->batches();
  ASSERT_THAT(batches, SizeIs(3));
  // The oldest (a long text) goes first, with the other long ones.
  for (const std::string& text : batches[1]) EXPECT_GE(text.size(), 100u) << text;
  for (const std::string& text : batches[2]) EXPECT_LE(text.size(), 4u) << text;
  EXPECT_THAT(batches[1], SizeIs(4));
  EXPECT_THAT(batches[2], SizeIs(4));
}

TEST(BatchingClassifierTest, UsesTheModelsLengthFunction) {
  auto model = std::make_shared<RecordingModel>();
  BatchingOptions options = Options(2, 0us, 1);
  // Length = number of words, not bytes.
  options.length = [](std::string_view text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), ' ') + 1);
  };
  BatchingClassifier batching(model, options);
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  std::vector<std::future<IntentPrediction>> futures;
  futures.push_back(batching.PredictAsync("aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1));  // 1 word
  futures.push_back(batching.PredictAsync("b b b b b b", 1));                   // 6 words
  futures.push_back(batching.PredictAsync("c", 1));                             // 1 word
  futures.push_back(batching.PredictAsync("d d d d d d", 1));                   // 6 words
  model->OpenGate();
  gate.get();
  for (auto& future : futures) future.get();
  const auto batches = model->batches();
  ASSERT_THAT(batches, SizeIs(3));
  EXPECT_THAT(batches[1], ElementsAre("aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "c"));
  EXPECT_THAT(batches[2], ElementsAre("b b b b b b", "d d d d d d"));
}

TEST(BatchingClassifierTest, WaitsUpToMaxWaitForABatchToFill) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(8, 300ms, 1));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<IntentPrediction>> futures;
  for (int i = 0; i < 3; ++i)
    futures.push_back(batching.PredictAsync("text " + std::to_string(i), 2));
  for (auto& future : futures) future.get();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(model->batches(), ElementsAre(SizeIs(3)));
  EXPECT_GE(elapsed, 250ms);  // the batch was held open, not run at once
}

TEST(BatchingClassifierTest, AFullBatchRunsWithoutWaiting) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(4, 10s, 1));
  std::vector<std::string> texts = {"one", "two", "three", "four"};
  const auto start = std::chrono::steady_clock::now();
  const std::vector<IntentPrediction> predictions = batching.PredictBatch(texts, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_THAT(predictions, SizeIs(4));
  for (size_t i = 0; i < texts.size(); ++i)
    ExpectSame(predictions[i], model->Predict(texts[i], 2), texts[i]);
}

TEST(BatchingClassifierTest, OneCallUsesTheLargestTopKAndTrimsEachAnswer) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(4, 0us, 1));
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  auto one = batching.PredictAsync("x", 1);
  auto three = batching.PredictAsync("y", 3);
  auto all = batching.PredictAsync("z", 100);
  model->OpenGate();
  gate.get();
  ExpectSame(one.get(), model->Predict("x", 1), "x");
  ExpectSame(three.get(), model->Predict("y", 3), "y");
  ExpectSame(all.get(), model->Predict("z", 100), "z");
  EXPECT_THAT(model->top_ks(), ElementsAre(1, 100));
}

TEST(BatchingClassifierTest, DestructorAnswersEverythingQueued) {
  auto model = std::make_shared<RecordingModel>();
  std::vector<std::future<IntentPrediction>> futures;
  std::thread opener;
  const auto start = std::chrono::steady_clock::now();
  {
    BatchingClassifier batching(model, Options(4, 10s, 1));
    // A full first batch runs at once and holds the only worker at the gate.
    for (const char* text : {"gate", "w", "x", "y"})
      futures.push_back(batching.PredictAsync(text, 1));
    model->WaitUntilGateEntered();
    // Ten more: two full batches and two that would wait out max_wait.
    for (int i = 0; i < 10; ++i) futures.push_back(batching.PredictAsync(std::to_string(i), 1));
    EXPECT_EQ(batching.queue_length(), 10u);
    opener = std::thread([&] {
      std::this_thread::sleep_for(50ms);
      model->OpenGate();
    });
  }  // blocks until every request is answered, without waiting out max_wait
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  opener.join();
  ASSERT_THAT(futures, SizeIs(14));
  for (auto& future : futures) {
    ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
    EXPECT_NO_THROW(future.get());
  }
  std::vector<size_t> sizes;
  for (const auto& batch : model->batches()) sizes.push_back(batch.size());
  EXPECT_THAT(sizes, ElementsAre(4, 4, 4, 2));
}

TEST(BatchingClassifierTest, ModelErrorsReachEveryCallerOfTheBatch) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(4, 0us, 1));
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  auto boom = batching.PredictAsync("boom", 1);
  auto neighbour = batching.PredictAsync("neighbour", 1);
  model->OpenGate();
  EXPECT_NO_THROW(gate.get());
  EXPECT_THROW(boom.get(), ModelError);
  EXPECT_THROW(neighbour.get(), ModelError);
  // The workers survive it.
  ExpectSame(batching.Predict("fine", 2), model->Predict("fine", 2), "fine");
}

TEST(BatchingClassifierTest, CacheAnswersRepeatsWithoutTheModel) {
  auto model = std::make_shared<RecordingModel>();
  BatchingOptions options = Options(4, 0us, 1);
  options.cache_capacity = 100;
  options.cache_key = [](std::string_view text) {
    std::string key(text);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
  };
  BatchingClassifier batching(model, options);
  const IntentPrediction first = batching.Predict("hello", 2);
  const IntentPrediction again = batching.Predict("HELLO", 1);  // same key, shorter ranking
  EXPECT_THAT(model->batches(), SizeIs(1));
  EXPECT_EQ(again.intent, first.intent);
  EXPECT_THAT(again.ranking, SizeIs(1));
  batching.Predict("Hello", 3);  // needs a longer ranking than cached: asks the model
  EXPECT_THAT(model->batches(), SizeIs(2));
  batching.Predict("hello", 3);
  EXPECT_THAT(model->batches(), SizeIs(2));
  const BatchingStats stats = batching.Stats();
  EXPECT_EQ(stats.cache.hits, 2u);
  EXPECT_EQ(stats.cache.misses, 2u);
  EXPECT_EQ(stats.requests, 2u);  // cache hits never reach the queue
}

TEST(BatchingClassifierTest, BatchesProbabilityRequestsToo) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(8, 0us, 1));
  auto gate = batching.PredictAsync("gate", 1);
  model->WaitUntilGateEntered();
  std::vector<std::future<std::vector<float>>> futures;
  std::vector<std::thread> threads;
  std::vector<std::vector<float>> single(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back(
        [&, i] { single[i] = batching.Probabilities("probabilities " + std::to_string(i)); });
  }
  // Wait until the three are queued (they cannot run: the worker is held).
  while (batching.queue_length() < 3) std::this_thread::sleep_for(1ms);
  model->OpenGate();
  for (std::thread& thread : threads) thread.join();
  gate.get();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(single[i], model->Probabilities("probabilities " + std::to_string(i)));
  }
  const auto batches = model->batches();
  ASSERT_THAT(batches, SizeIs(2));
  EXPECT_THAT(batches[1], SizeIs(3));
  EXPECT_THAT(model->top_ks(), ElementsAre(1, 0));  // one ProbabilitiesBatch call

  const std::vector<std::string> texts = {"p", "q"};
  std::vector<float> expected = model->Probabilities("p");
  const std::vector<float> q = model->Probabilities("q");
  expected.insert(expected.end(), q.begin(), q.end());
  EXPECT_EQ(batching.ProbabilitiesBatch(texts), expected);
}

TEST(BatchingClassifierTest, ForwardsTheModelsIdentity) {
  auto model = std::make_shared<RecordingModel>();
  BatchingClassifier batching(model, Options(4, 0us, 0));
  EXPECT_EQ(batching.kind(), "bert");
  EXPECT_EQ(batching.version(), "recording-1");
  EXPECT_EQ(batching.labels(), model->labels());
  EXPECT_EQ(batching.out_of_scope_threshold(), 0.3f);
  EXPECT_GE(batching.threads(), 1);  // 0 = one per core
}

TEST(BatchingClassifierTest, RefusesInvalidOptions) {
  auto model = std::make_shared<RecordingModel>();
  EXPECT_THROW(BatchingClassifier(model, Options(0, 0us, 1)), ConfigError);
  EXPECT_THROW(BatchingClassifier(model, Options(4, -1us, 1)), ConfigError);
  EXPECT_THROW(BatchingClassifier(model, Options(4, 0us, -2)), ConfigError);
  EXPECT_THROW(BatchingClassifier(nullptr, Options(4, 0us, 1)), ModelError);
}

}  // namespace
}  // namespace chatbot::nlu
