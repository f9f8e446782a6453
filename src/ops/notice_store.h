// The service notice an operator sets to tell users about an outage or
// maintenance (`chatbot notice`, /v1/admin/notice; docs/OPERATIONS.md,
// "Telling users"): one text, optionally until a time, stored with the rest
// of the state so that every instance shows the same one. SQLite keeps it in
// notice.db beside security.database; PostgreSQL in the database of [store]
// (component "notice").
//
// Implementations are thread-safe, and several processes may open the same
// store at once.
#ifndef CHATBOT_OPS_NOTICE_STORE_H_
#define CHATBOT_OPS_NOTICE_STORE_H_

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/config.h"

namespace chatbot::ops {

struct ServiceNotice {
  std::string text;
  int64_t set_at_ms = 0;
  std::string set_by;  // the actor, as the audit log names it
  // The notice disappears by itself at this time; none: until cleared.
  std::optional<int64_t> until_ms;

  bool active(int64_t now_ms) const { return !until_ms || now_ms < *until_ms; }
  friend bool operator==(const ServiceNotice&, const ServiceNotice&) = default;
};

// The longest notice accepted (bytes of UTF-8): a banner, not a page.
inline constexpr size_t kMaxNoticeBytes = 500;

class NoticeStore {
 public:
  virtual ~NoticeStore() = default;

  // The stored notice, expired or not; nullopt when none is set.
  virtual std::optional<ServiceNotice> Get() = 0;
  // Replaces the notice.
  virtual void Set(const ServiceNotice& notice) = 0;
  // Removes it; false when there was none.
  virtual bool Clear() = 0;
  // Where it lives, for messages: a file, or postgresql://host:port/database.
  virtual const std::string& where() const = 0;
};

// The store `settings` name (store.backend). Throws StoreError naming the
// file or the server (StoreUnavailable when the server cannot be reached).
std::unique_ptr<NoticeStore> OpenNoticeStore(const Settings& settings);

// Why `text` cannot be a notice ("" when it can): empty, longer than
// kMaxNoticeBytes, or with control characters (a banner is one paragraph).
std::string NoticeTextProblem(const std::string& text);

// {"text", "set_at", "set_by", "until"} (times RFC 3339, until null when
// none), or null: the admin API and `chatbot notice --json`.
boost::json::value NoticeToJson(const std::optional<ServiceNotice>& notice);
// What `chatbot notice` prints: the text and who set it when, until when.
std::string NoticeDescription(const std::optional<ServiceNotice>& notice, int64_t now_ms);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_NOTICE_STORE_H_
