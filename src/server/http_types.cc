#include "server/http_types.h"

namespace chatbot::server {

std::string_view HttpRequest::Header(std::string_view lower_case_name) const {
  // A linear scan: requests carry a handful of headers, and a map would cost
  // an allocation per header on every request for no measurable gain.
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

}  // namespace chatbot::server
