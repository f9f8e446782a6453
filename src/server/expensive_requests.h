// Which requests are expensive: they may read many rows of the session
// store. They run on the HTTP server's worker pool (HttpServerOptions::
// offload), so that they never hold an I/O thread, and take [security]
// expensive_request_cost tokens of the rate limits instead of one
// (docs/security.md, "Session search").
#ifndef CHATBOT_SERVER_EXPENSIVE_REQUESTS_H_
#define CHATBOT_SERVER_EXPENSIVE_REQUESTS_H_

#include "server/http_types.h"

namespace chatbot::server {

// A session search (GET /v1/sessions with a non-empty q or intent, or with
// since or until, read as ApiHandler reads them) and every /v1/review
// request (the listing, labels, the export).
bool IsExpensiveRequest(const HttpRequest& request);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_EXPENSIVE_REQUESTS_H_
