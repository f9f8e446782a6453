// The JSON bodies the HTTP API accepts (docs/api.md), read into typed
// requests before a route acts on them: one reader per body, each refusing
// what is wrong with the status, code and message the client gets. The
// routes keep what needs the service (the model, the stores, the clock); the
// readers need only the request, so every body can be fuzzed on its own
// (fuzz/api_bodies_fuzz.cc).
//
// Two families, as documented:
//  - the prediction and chat bodies need Content-Type application/json and
//    ignore fields they do not know (clients may send more than one
//    version of the API reads);
//  - the admin bodies read an empty body as {} and refuse an unknown field
//    (400 unknown_field): an admin's typo must not be an ignored change, nor
//    may a body set what the endpoint does not offer.
#ifndef CHATBOT_SERVER_REQUEST_BODIES_H_
#define CHATBOT_SERVER_REQUEST_BODIES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "security/key_manager.h"
#include "server/http_types.h"

namespace chatbot::server {

// Thrown by the readers: the answer the client gets.
struct BodyError {
  int status;  // 400, 415 or 422
  std::string code;
  std::string message;
};

// POST /v1/parse: {"text"}.
struct ParseBody {
  std::string text;
};
ParseBody ReadParseBody(const HttpRequest& request, size_t max_text_bytes);

// POST /v1/parse/batch: {"texts": [...]}, at most `max_batch` texts.
struct ParseBatchBody {
  std::vector<std::string> texts;
};
ParseBatchBody ReadParseBatchBody(const HttpRequest& request, size_t max_text_bytes,
                                  size_t max_batch);

// POST /v1/chat: {"message", "session_id"?}; no session id (or null) starts
// a session.
struct ChatBody {
  std::string message;
  std::string session_id;
};
ChatBody ReadChatBody(const HttpRequest& request, size_t max_text_bytes);

// POST /v1/review/labels: {"session_id", "turn", "intent"}.
struct LabelBody {
  std::string session_id;
  int64_t turn = 0;
  std::string intent;
};
LabelBody ReadLabelBody(const HttpRequest& request);

// POST /v1/admin/keys: {"name", "role", "expires"?, "allow"?, "rate_limit"?,
// "burst"?}.
security::NewKey ReadNewKeyBody(const HttpRequest& request);

// POST /v1/admin/keys/ID/rotate: {"grace"?}; the grace period in ms.
int64_t ReadRotateBody(const HttpRequest& request);

// PATCH /v1/admin/keys/ID: the fields of ReadNewKeyBody, each optional; null
// clears "expires", "rate_limit" and "burst".
security::KeyChange ReadKeyChangeBody(const HttpRequest& request);

// POST /v1/admin/lockdown: {"on", "reason"?}.
struct LockdownBody {
  bool on = false;
  std::string reason;
};
LockdownBody ReadLockdownBody(const HttpRequest& request);

// PUT /v1/admin/notice: {"text", "until"?}; `until` as given (a time or a
// duration, read by ops::MakeNotice), empty for none.
struct NoticeBody {
  std::string text;
  std::string until;
};
NoticeBody ReadNoticeBody(const HttpRequest& request);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_REQUEST_BODIES_H_
