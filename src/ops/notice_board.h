// The service notice as a running service shows it: the operator's notice
// (notice_store.h) while it is active, otherwise the configured [bot]
// notice. A background thread reads the store once a second, so a notice set
// on any instance or with `chatbot notice` reaches every instance within a
// second; an expired one disappears at its time without a read. When the
// store cannot be read (the database is down) the last notice read stays:
// an outage is when users most need it.
//
// Text() is on the request path (every chat turn, /health, refusals): it
// copies one string under a mutex and never touches the store.
#ifndef CHATBOT_OPS_NOTICE_BOARD_H_
#define CHATBOT_OPS_NOTICE_BOARD_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ops/notice_store.h"

namespace chatbot::ops {

class NoticeBoard {
 public:
  // `configured`: [bot] notice ("" none). `now_ms`: the wall clock (tests
  // pass their own). Reads the store once.
  NoticeBoard(std::unique_ptr<NoticeStore> store, std::string configured,
              std::function<int64_t()> now_ms);
  ~NoticeBoard();
  NoticeBoard(const NoticeBoard&) = delete;
  NoticeBoard& operator=(const NoticeBoard&) = delete;

  // Starts the thread that reads the store every `interval`. Stop() (or
  // the destructor) ends it.
  void Start(std::chrono::milliseconds interval);
  void Stop();

  // The notice users see now ("" none).
  std::string Text() const;
  // The operator's notice while it is active.
  std::optional<ServiceNotice> Current() const;

  // Writes the operator's notice and shows it at once. Throws StoreError.
  void Set(const ServiceNotice& notice);
  // Removes it; false when there was none. Throws StoreError.
  bool Clear();
  // Reads the store now; false (and the last notice kept) when it cannot.
  bool Refresh();

 private:
  std::unique_ptr<NoticeStore> store_;
  const std::string configured_;
  const std::function<int64_t()> now_ms_;
  mutable std::mutex mu_;
  std::optional<ServiceNotice> notice_;  // guarded by mu_
  bool read_failed_ = false;             // guarded by mu_: logged once per outage
  bool stopping_ = false;                // guarded by mu_
  std::condition_variable cv_;
  std::thread thread_;
};

// `text` as the end of a notice: an RFC 3339 UTC time
// ("2026-12-04T20:00:00Z") or a duration from `now_ms` ("2h", "30m").
// nullopt when it is neither or not in the future.
std::optional<int64_t> ParseNoticeUntil(const std::string& text, int64_t now_ms);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_NOTICE_BOARD_H_
