#include "server/expensive_requests.h"

#include <optional>
#include <string>

#include "server/query_string.h"

namespace chatbot::server {

bool IsExpensiveRequest(const HttpRequest& request) {
  const std::string_view path = request.path;
  if (path == "/v1/review" || path.starts_with("/v1/review/")) return true;
  if (path != "/v1/sessions" || request.method != "GET") return false;
  for (const char* text : {"q", "intent"}) {
    const std::optional<std::string> value = QueryParameter(request.query, text);
    if (value && !value->empty()) return true;
  }
  return QueryParameter(request.query, "since") || QueryParameter(request.query, "until");
}

}  // namespace chatbot::server
