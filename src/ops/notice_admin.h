// Setting and clearing the operator's service notice, for `chatbot notice`
// and PUT/DELETE /v1/admin/notice alike: the text and its end are checked
// the same way, and every change is written to the audit log with who made
// it.
#ifndef CHATBOT_OPS_NOTICE_ADMIN_H_
#define CHATBOT_OPS_NOTICE_ADMIN_H_

#include <cstdint>
#include <string>

#include "ops/notice_store.h"

namespace chatbot::ops {

// The notice `text` shown until `until` ("" until cleared; a UTC time or a
// duration, as ParseNoticeUntil reads it), set by `set_by` at `now_ms`.
// Throws std::invalid_argument saying what is wrong with the text or the end.
ServiceNotice MakeNotice(const std::string& text, const std::string& until, std::string set_by,
                         int64_t now_ms);

// `chatbot notice set`: MakeNotice, stored in the configured notice store
// and audited (logs/audit.log) as made on the command line. Throws
// std::invalid_argument (bad input) or StoreError.
ServiceNotice SetNoticeFromCommandLine(const Settings& settings, const std::string& text,
                                       const std::string& until, int64_t now_ms);
// `chatbot notice clear`: false when there was none (nothing is audited).
bool ClearNoticeFromCommandLine(const Settings& settings, int64_t now_ms);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_NOTICE_ADMIN_H_
