#include "ops/notice_board.h"

#include "common/duration.h"
#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"

namespace chatbot::ops {

NoticeBoard::NoticeBoard(std::unique_ptr<NoticeStore> store, std::string configured,
                         std::function<int64_t()> now_ms)
    : store_(std::move(store)), configured_(std::move(configured)), now_ms_(std::move(now_ms)) {
  Refresh();
}

NoticeBoard::~NoticeBoard() {
  Stop();
}

void NoticeBoard::Start(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      Refresh();
      lock.lock();
    }
  });
}

void NoticeBoard::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<ServiceNotice> NoticeBoard::Current() const {
  std::lock_guard lock(mu_);
  if (notice_ && notice_->active(now_ms_())) return notice_;
  return std::nullopt;
}

std::string NoticeBoard::Text() const {
  std::lock_guard lock(mu_);
  if (notice_ && notice_->active(now_ms_())) return notice_->text;
  return configured_;
}

void NoticeBoard::Set(const ServiceNotice& notice) {
  store_->Set(notice);
  std::lock_guard lock(mu_);
  notice_ = notice;
}

bool NoticeBoard::Clear() {
  const bool had = store_->Clear();
  std::lock_guard lock(mu_);
  notice_.reset();
  return had;
}

bool NoticeBoard::Refresh() {
  try {
    std::optional<ServiceNotice> read = store_->Get();
    std::lock_guard lock(mu_);
    notice_ = std::move(read);
    if (read_failed_) AppLog()->info("notice: {} is readable again", store_->where());
    read_failed_ = false;
    return true;
  } catch (const StoreError& e) {
    std::lock_guard lock(mu_);
    if (!read_failed_) AppLog()->warn("notice: keeping the last one read: {}", e.what());
    read_failed_ = true;
    return false;
  }
}

std::optional<int64_t> ParseNoticeUntil(const std::string& text, int64_t now_ms) {
  std::optional<int64_t> until;
  if (const std::optional<int64_t> seconds = ParseUtcTimestamp(text)) {
    until = *seconds * 1000;
  } else if (const std::optional<int64_t> ms = ParseDurationMs(text)) {
    until = now_ms + *ms;
  }
  if (!until || *until <= now_ms) return std::nullopt;
  return until;
}

}  // namespace chatbot::ops
