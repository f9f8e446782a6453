// Dynamic batching in front of a model whose PredictBatch is much cheaper
// per text than Predict (BERT: one forward pass over a padded batch keeps the
// matrix units busy; one text at a time leaves them mostly idle).
//
// Server threads call Predict / Probabilities as if the model were
// synchronous. Each call becomes a request in a queue and blocks on its own
// future. A small pool of workers (one per core by default) takes requests
// in batches of at most `max_batch`; when fewer are waiting, a worker waits
// up to `max_wait` after the oldest request arrived for more to join, which
// bounds the latency batching adds. When more are waiting than fit, the
// batch is the oldest request plus the waiting requests closest to it in
// length (the model's own measure, e.g. token count), so padding to the
// longest text wastes little and no request waits behind newer ones forever.
//
// A prediction cache (prediction_cache.h) sits in front: repeated texts are
// answered without queueing. Probabilities requests (from an ensemble) are
// batched the same way but not cached.
//
// The destructor stops taking new work, answers everything already queued and
// joins the workers.
#ifndef CHATBOT_NLU_BATCHING_CLASSIFIER_H_
#define CHATBOT_NLU_BATCHING_CLASSIFIER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nlu/intent_classifier.h"
#include "nlu/prediction_cache.h"

namespace chatbot::nlu {

// The length the batcher groups requests by; empty = bytes of text.
using TextLengthFunction = std::function<size_t(std::string_view text)>;

struct BatchingOptions {
  int max_batch = 32;                        // >= 1
  std::chrono::microseconds max_wait{2000};  // >= 0; 0 = never wait for more
  int threads = 0;                           // workers; 0 = one per core
  size_t cache_capacity = 0;                 // predictions cached; 0 = no cache
  CacheKeyFunction cache_key;                // empty = the text itself
  TextLengthFunction length;                 // empty = bytes of text
};

struct BatchingStats {
  uint64_t batches = 0;   // calls of the model's batch API
  uint64_t requests = 0;  // texts those batches held (cache hits excluded)
  double mean_batch_size = 0;
  // batch_sizes[n] = batches of n requests, n in [0, max_batch] ([0] stays 0).
  std::vector<uint64_t> batch_sizes;
  // Time from enqueueing to the start of the request's batch.
  double mean_queue_wait_us = 0;
  PredictionCacheStats cache;
};

class BatchingClassifier final : public IntentClassifier {
 public:
  // Starts the workers. Throws ConfigError for invalid options and
  // ModelError for a null model.
  BatchingClassifier(std::shared_ptr<const IntentClassifier> model, BatchingOptions options);
  ~BatchingClassifier() override;
  BatchingClassifier(const BatchingClassifier&) = delete;
  BatchingClassifier& operator=(const BatchingClassifier&) = delete;

  // Blocks until the request's batch has run; rethrows what the model threw.
  IntentPrediction Predict(std::string_view text, int top_k) const override;
  // Queues every text (they may share batches with other callers' texts).
  std::vector<IntentPrediction> PredictBatch(std::span<const std::string> texts,
                                             int top_k) const override;
  std::vector<float> Probabilities(std::string_view text) const override;
  std::vector<float> ProbabilitiesBatch(std::span<const std::string> texts) const override;

  // Predict without blocking: the future is ready at once on a cache hit.
  std::future<IntentPrediction> PredictAsync(std::string_view text, int top_k) const;

  // The wrapped model's.
  std::string_view kind() const override { return model_->kind(); }
  std::string version() const override { return model_->version(); }
  const std::vector<std::string>& labels() const override { return model_->labels(); }
  float out_of_scope_threshold() const override { return model_->out_of_scope_threshold(); }

  const IntentClassifier& model() const { return *model_; }
  const BatchingOptions& options() const { return options_; }
  int threads() const { return static_cast<int>(workers_.size()); }
  BatchingStats Stats() const;
  // Requests waiting for a worker now (a gauge for metrics).
  size_t queue_length() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Request;
  using Batch = std::vector<std::unique_ptr<Request>>;

  std::unique_ptr<Request> MakeRequest(std::string_view text, int top_k,
                                       bool wants_probabilities) const;
  void Enqueue(std::unique_ptr<Request> request) const;
  void WorkerLoop();
  // Removes the next batch from pending_; mutex_ held, pending_ not empty.
  Batch TakeBatch();
  void RunBatch(Batch& batch) const;
  void RunPredictions(Batch& requests) const;
  void RunProbabilities(Batch& requests) const;
  std::string CacheKey(std::string_view text) const;

  std::shared_ptr<const IntentClassifier> model_;
  BatchingOptions options_;
  size_t max_batch_;
  mutable PredictionCache cache_;

  mutable std::mutex mutex_;
  mutable std::condition_variable work_ready_;
  mutable Batch pending_;  // arrival order
  mutable uint64_t next_sequence_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  mutable std::mutex stats_mutex_;
  mutable uint64_t batches_ = 0;
  mutable uint64_t requests_ = 0;
  mutable double queue_wait_us_ = 0;
  mutable std::vector<uint64_t> batch_sizes_;
};

}  // namespace chatbot::nlu

#endif  // CHATBOT_NLU_BATCHING_CLASSIFIER_H_
