#include "server/json_response.h"

#include <boost/json.hpp>
#include <string>

namespace chatbot::server {

void SetJson(HttpResponse* response, int status, const boost::json::value& body) {
  response->status = status;
  response->content_type = "application/json";
  response->body = boost::json::serialize(body);
}

void SetError(HttpResponse* response, int status, std::string_view code, std::string_view message) {
  SetJson(response, status, boost::json::object{{"error", {{"code", code}, {"message", message}}}});
}

void MethodNotAllowed(HttpResponse* response, const char* allow) {
  SetError(response, 405, "method_not_allowed", std::string("use ") + allow + " for this resource");
  response->headers.emplace_back("Allow", allow);
}

}  // namespace chatbot::server
