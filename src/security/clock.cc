#include "security/clock.h"

#include "common/time.h"

namespace chatbot::security {

int64_t SystemClock::WallMs() const {
  return NowMs();
}

int64_t SystemClock::SteadyNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SystemClock* SystemClock::Instance() {
  static SystemClock clock;
  return &clock;
}

}  // namespace chatbot::security
