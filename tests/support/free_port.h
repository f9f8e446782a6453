// A loopback TCP port that is free now, for a program that cannot be told
// to pick its own (port 0) and report it, such as Prometheus or nginx: the
// kernel picks it for a socket that is closed at once. Another process may
// take it before the program binds it, so callers that can retry with
// another port on "address in use" do.
#ifndef CHATBOT_TESTS_SUPPORT_FREE_PORT_H_
#define CHATBOT_TESTS_SUPPORT_FREE_PORT_H_

#include <cstdint>

namespace chatbot::testing {

// 0 when no socket could be bound.
uint16_t FreeLoopbackPort();

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_SUPPORT_FREE_PORT_H_
