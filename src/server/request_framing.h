// Which requests the HTTP server can frame safely (RFC 9112 sections 6.1 and
// 6.3). A request's body length comes from Transfer-Encoding when that is
// present; only "chunked" as the final (and only) coding tells where the
// body ends. Anything else would leave the server and a proxy in front of it
// disagreeing about where the next request starts, which lets one client's
// bytes be served as another request (request smuggling). Such a request is
// refused and the connection closed after the answer.
#ifndef CHATBOT_SERVER_REQUEST_FRAMING_H_
#define CHATBOT_SERVER_REQUEST_FRAMING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatbot::server {

// Why a request cannot be framed: the status to answer (400 or 501) and a
// message naming the header.
struct FramingError {
  int status = 400;
  std::string message;
};

// The values of every Transfer-Encoding field of one request, in order (a
// request may split the list over several fields). Accepted: exactly one
// coding, "chunked" (any case, surrounding spaces). Refused with 400: an
// empty list, a final coding other than chunked, chunked more than once;
// with 501: another coding before chunked (none is implemented).
std::optional<FramingError> CheckTransferEncoding(const std::vector<std::string_view>& values);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_REQUEST_FRAMING_H_
