// logs/api.log: one JSON object per request (time, request id, method,
// path, status, response bytes, latency, client address). Message texts only
// when [server] log_text is on; secrets (keys, tokens) never, because only
// these fields are ever written.
#ifndef CHATBOT_SERVER_ACCESS_LOG_H_
#define CHATBOT_SERVER_ACCESS_LOG_H_

#include <cstdint>

#include "server/http_types.h"

namespace chatbot::server {

void WriteAccessLogLine(const HttpRequest& request, const HttpResponse& response,
                        int64_t latency_us, bool include_text);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_ACCESS_LOG_H_
