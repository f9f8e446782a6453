#include "nlu/batching_classifier.h"

#include <algorithm>
#include <exception>
#include <numeric>

#include "common/cpu_count.h"
#include "common/error.h"

namespace chatbot::nlu {

struct BatchingClassifier::Request {
  std::string text;
  int top_k = 1;
  bool wants_probabilities = false;
  bool cached = false;  // store the answer in the cache under cache_key
  std::string cache_key;
  size_t length = 0;
  Clock::time_point enqueued;
  std::promise<IntentPrediction> prediction;
  std::promise<std::vector<float>> probabilities;
};

BatchingClassifier::BatchingClassifier(std::shared_ptr<const IntentClassifier> model,
                                       BatchingOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      max_batch_(static_cast<size_t>(std::max(options_.max_batch, 1))),
      cache_(options_.cache_capacity) {
  if (!model_) throw ModelError("batching classifier: no model to wrap");
  if (options_.max_batch < 1) {
    throw ConfigError("batching: max_batch must be at least 1 (got " +
                      std::to_string(options_.max_batch) + ")");
  }
  if (options_.max_wait.count() < 0) {
    throw ConfigError("batching: max_wait must not be negative (got " +
                      std::to_string(options_.max_wait.count()) + " us)");
  }
  if (options_.threads < 0) {
    throw ConfigError("batching: threads must not be negative (got " +
                      std::to_string(options_.threads) + ")");
  }
  batch_sizes_.assign(max_batch_ + 1, 0);
  const int threads = options_.threads > 0 ? options_.threads : UsableCores();
  try {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    throw;
  }
}

BatchingClassifier::~BatchingClassifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

std::string BatchingClassifier::CacheKey(std::string_view text) const {
  return options_.cache_key ? options_.cache_key(text) : std::string(text);
}

std::unique_ptr<BatchingClassifier::Request> BatchingClassifier::MakeRequest(
    std::string_view text, int top_k, bool wants_probabilities) const {
  auto request = std::make_unique<Request>();
  request->text = std::string(text);
  request->top_k = top_k;
  request->wants_probabilities = wants_probabilities;
  request->length = options_.length ? options_.length(text) : text.size();
  return request;
}

void BatchingClassifier::Enqueue(std::unique_ptr<Request> request) const {
  request->enqueued = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back(std::move(request));
    }
  }
  if (request) {
    // Only while the object is being destroyed: nobody is left to take it.
    Batch batch;
    batch.push_back(std::move(request));
    RunBatch(batch);
    return;
  }
  work_ready_.notify_one();
}

std::future<IntentPrediction> BatchingClassifier::PredictAsync(std::string_view text,
                                                               int top_k) const {
  std::string key;
  if (cache_.enabled()) {
    key = CacheKey(text);
    if (auto hit = cache_.Get(key, RankingSizeFor(top_k, labels().size()))) {
      std::promise<IntentPrediction> ready;
      ready.set_value(std::move(*hit));
      return ready.get_future();
    }
  }
  std::unique_ptr<Request> request = MakeRequest(text, top_k, false);
  request->cached = cache_.enabled();
  request->cache_key = std::move(key);
  std::future<IntentPrediction> future = request->prediction.get_future();
  Enqueue(std::move(request));
  return future;
}

IntentPrediction BatchingClassifier::Predict(std::string_view text, int top_k) const {
  return PredictAsync(text, top_k).get();
}

std::vector<IntentPrediction> BatchingClassifier::PredictBatch(std::span<const std::string> texts,
                                                               int top_k) const {
  std::vector<std::future<IntentPrediction>> futures;
  futures.reserve(texts.size());
  for (const std::string& text : texts) futures.push_back(PredictAsync(text, top_k));
  std::vector<IntentPrediction> predictions;
  predictions.reserve(texts.size());
  for (auto& future : futures) predictions.push_back(future.get());
  return predictions;
}

std::vector<float> BatchingClassifier::Probabilities(std::string_view text) const {
  std::unique_ptr<Request> request = MakeRequest(text, 0, true);
  std::future<std::vector<float>> future = request->probabilities.get_future();
  Enqueue(std::move(request));
  return future.get();
}

std::vector<float> BatchingClassifier::ProbabilitiesBatch(
    std::span<const std::string> texts) const {
  std::vector<std::future<std::vector<float>>> futures;
  futures.reserve(texts.size());
  for (const std::string& text : texts) {
    std::unique_ptr<Request> request = MakeRequest(text, 0, true);
    futures.push_back(request->probabilities.get_future());
    Enqueue(std::move(request));
  }
  std::vector<float> rows;
  rows.reserve(texts.size() * labels().size());
  for (auto& future : futures) {
    const std::vector<float> row = future.get();
    rows.insert(rows.end(), row.begin(), row.end());
  }
  return rows;
}

void BatchingClassifier::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and everything answered
    // Give a short queue until max_wait after its oldest request to fill up.
    while (!stopping_ && !pending_.empty() && pending_.size() < max_batch_) {
      const Clock::time_point deadline = pending_.front()->enqueued + options_.max_wait;
      if (Clock::now() >= deadline) break;
      work_ready_.wait_until(lock, deadline);
    }
    if (pending_.empty()) continue;  // another worker took them
    Batch batch = TakeBatch();
    if (!pending_.empty()) work_ready_.notify_one();
    lock.unlock();
    RunBatch(batch);
    batch.clear();
    lock.lock();
  }
}

BatchingClassifier::Batch BatchingClassifier::TakeBatch() {
  const size_t n = pending_.size();
  Batch batch;
  if (n <= max_batch_) {
    batch.swap(pending_);
  } else {
    // Sort by length (arrival order among equals) and cut the window of
    // max_batch requests that holds the oldest one with the least spread of
    // lengths.
    std::vector<size_t> by_length(n);
    std::iota(by_length.begin(), by_length.end(), 0);
    std::stable_sort(by_length.begin(), by_length.end(),
                     [&](size_t a, size_t b) { return pending_[a]->length < pending_[b]->length; });
    const size_t oldest =
        static_cast<size_t>(std::find(by_length.begin(), by_length.end(), 0) - by_length.begin());
    const size_t first = oldest + 1 >= max_batch_ ? oldest + 1 - max_batch_ : 0;
    const size_t last = std::min(oldest, n - max_batch_);
    size_t start = first;
    size_t best_spread = SIZE_MAX;
    for (size_t s = first; s <= last; ++s) {
      const size_t spread =
          pending_[by_length[s + max_batch_ - 1]]->length - pending_[by_length[s]]->length;
      if (spread < best_spread) {
        best_spread = spread;
        start = s;
      }
    }
    std::vector<char> take(n, 0);
    for (size_t i = start; i < start + max_batch_; ++i) take[by_length[i]] = 1;
    Batch rest;
    rest.reserve(n - max_batch_);
    batch.reserve(max_batch_);
    for (size_t i = 0; i < n; ++i) (take[i] ? batch : rest).push_back(std::move(pending_[i]));
    pending_.swap(rest);
  }
  std::stable_sort(batch.begin(), batch.end(),
                   [](const auto& a, const auto& b) { return a->length < b->length; });
  return batch;
}

void BatchingClassifier::RunBatch(Batch& batch) const {
  const Clock::time_point now = Clock::now();
  double waited_us = 0;
  Batch predictions, probabilities;
  for (auto& request : batch) {
    waited_us += std::chrono::duration<double, std::micro>(now - request->enqueued).count();
    (request->wants_probabilities ? probabilities : predictions).push_back(std::move(request));
  }
  {
    std::lock_guard lock(stats_mutex_);
    queue_wait_us_ += waited_us;
    for (const Batch* group : {&predictions, &probabilities}) {
      if (group->empty()) continue;
      ++batches_;
      requests_ += group->size();
      ++batch_sizes_[std::min(group->size(), max_batch_)];
    }
  }
  RunPredictions(predictions);
  RunProbabilities(probabilities);
}

void BatchingClassifier::RunPredictions(Batch& requests) const {
  if (requests.empty()) return;
  std::vector<std::string> texts;
  texts.reserve(requests.size());
  int top_k = 1;
  for (auto& request : requests) {
    texts.push_back(std::move(request->text));
    top_k = std::max(top_k, request->top_k);
  }
  size_t answered = 0;
  try {
    // One call with the largest top_k: smaller rankings are its prefixes.
    std::vector<IntentPrediction> results = model_->PredictBatch(texts, top_k);
    if (results.size() != requests.size()) {
      throw ModelError(std::string(model_->kind()) + " model: PredictBatch answered " +
                       std::to_string(results.size()) + " of " + std::to_string(requests.size()) +
                       " texts");
    }
    const size_t labels = model_->labels().size();
    for (; answered < requests.size(); ++answered) {
      Request& request = *requests[answered];
      IntentPrediction& result = results[answered];
      if (request.cached) cache_.Put(request.cache_key, result);
      const size_t keep = RankingSizeFor(request.top_k, labels);
      if (result.ranking.size() > keep) result.ranking.resize(keep);
      request.prediction.set_value(std::move(result));
    }
  } catch (...) {
    for (; answered < requests.size(); ++answered) {
      requests[answered]->prediction.set_exception(std::current_exception());
    }
  }
}

void BatchingClassifier::RunProbabilities(Batch& requests) const {
  if (requests.empty()) return;
  std::vector<std::string> texts;
  texts.reserve(requests.size());
  for (auto& request : requests) texts.push_back(std::move(request->text));
  size_t answered = 0;
  try {
    const std::vector<float> rows = model_->ProbabilitiesBatch(texts);
    const size_t classes = model_->labels().size();
    if (rows.size() != requests.size() * classes) {
      throw ModelError(std::string(model_->kind()) + " model: ProbabilitiesBatch returned " +
                       std::to_string(rows.size()) + " values for " +
                       std::to_string(requests.size()) + " texts of " + std::to_string(classes) +
                       " labels");
    }
    for (; answered < requests.size(); ++answered) {
      const auto row = rows.begin() + static_cast<std::ptrdiff_t>(answered * classes);
      requests[answered]->probabilities.set_value(std::vector<float>(row, row + classes));
    }
  } catch (...) {
    for (; answered < requests.size(); ++answered) {
      requests[answered]->probabilities.set_exception(std::current_exception());
    }
  }
}

size_t BatchingClassifier::queue_length() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

BatchingStats BatchingClassifier::Stats() const {
  BatchingStats stats;
  {
    std::lock_guard lock(stats_mutex_);
    stats.batches = batches_;
    stats.requests = requests_;
    stats.batch_sizes = batch_sizes_;
    stats.mean_batch_size =
        batches_ ? static_cast<double>(requests_) / static_cast<double>(batches_) : 0.0;
    stats.mean_queue_wait_us = requests_ ? queue_wait_us_ / static_cast<double>(requests_) : 0.0;
  }
  stats.cache = cache_.Stats();
  return stats;
}

}  // namespace chatbot::nlu
