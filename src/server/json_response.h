// How the API's handlers write JSON answers, so that every error has the
// same shape: {"error": {"code": "...", "message": "..."}} (docs/api.md).
#ifndef CHATBOT_SERVER_JSON_RESPONSE_H_
#define CHATBOT_SERVER_JSON_RESPONSE_H_

#include <boost/json/value.hpp>
#include <string_view>

#include "server/http_types.h"

namespace chatbot::server {

void SetJson(HttpResponse* response, int status, const boost::json::value& body);

void SetError(HttpResponse* response, int status, std::string_view code, std::string_view message);

// 405 with the Allow header; `allow` lists the methods ("GET, DELETE").
void MethodNotAllowed(HttpResponse* response, const char* allow);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_JSON_RESPONSE_H_
