// Reading a request's query string ("limit=10&q=refund%20policy").
#ifndef CHATBOT_SERVER_QUERY_STRING_H_
#define CHATBOT_SERVER_QUERY_STRING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot::server {

// The first value of `name`, percent-decoded ('+' reads as a space);
// nullopt when absent, "" for "name" or "name=". A malformed escape ("%zz")
// is kept as written rather than refused: the value is then simply one that
// matches nothing.
std::optional<std::string> QueryParameter(std::string_view query, std::string_view name);

// A whole decimal integer ("12", "-3"); false for anything else.
bool ParseInteger(std::string_view text, int64_t* value);

// A finite decimal number ("0.5", "1e-3"); false for anything else.
bool ParseNumber(std::string_view text, double* value);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_QUERY_STRING_H_
