#include "server/access_log.h"

#include <boost/json.hpp>

#include "common/logging.h"

namespace chatbot::server {

void WriteAccessLogLine(const HttpRequest& request, const HttpResponse& response,
                        int64_t latency_us, bool include_text) {
  boost::json::object line{{"request_id", request.request_id},
                           {"method", request.method},
                           {"path", request.path},
                           {"status", response.status},
                           {"bytes", response.body.size()},
                           {"latency_ms", static_cast<double>(latency_us) / 1000.0},
                           {"client", request.client_address}};
  if (include_text && !request.body.empty()) {
    boost::system::error_code error;
    const boost::json::value body = boost::json::parse(request.body, error);
    if (!error && body.is_object()) {
      for (const char* field : {"text", "message"}) {
        if (const auto* v = body.as_object().if_contains(field); v && v->is_string()) {
          line[field] = *v;
        }
      }
    }
  }
  // The api logger's pattern writes `{"time":"...",` before the message.
  const std::string serialized = boost::json::serialize(line);
  ApiLog()->info("{}", std::string_view(serialized).substr(1));
}

}  // namespace chatbot::server
