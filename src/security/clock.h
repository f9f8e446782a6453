// Time, injectable: everything in src/security asks a Clock rather than the
// system, so that expiry, rotation grace periods and rate limits are tested
// by moving a ManualClock instead of sleeping.
//
// Two readings because they answer different questions: wall time (Unix
// milliseconds) is what expiry dates and audit records are stated in;
// steady time (nanoseconds from an arbitrary origin) is what token buckets
// run on, so that a wall clock stepped by NTP neither empties nor refills
// them.
#ifndef CHATBOT_SECURITY_CLOCK_H_
#define CHATBOT_SECURITY_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace chatbot::security {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t WallMs() const = 0;
  // Monotonic nanoseconds.
  virtual int64_t SteadyNs() const = 0;
};

// The system's clocks.
class SystemClock final : public Clock {
 public:
  int64_t WallMs() const override;
  int64_t SteadyNs() const override;
  // One shared instance (stateless).
  static SystemClock* Instance();
};

// A clock that moves only when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_ms = 1'800'000'000'000, int64_t steady_ns = 1'000'000'000)
      : wall_ms_(wall_ms), steady_ns_(steady_ns) {}
  int64_t WallMs() const override { return wall_ms_.load(); }
  int64_t SteadyNs() const override { return steady_ns_.load(); }
  // Moves both readings forward.
  void Advance(std::chrono::nanoseconds by) {
    wall_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(by).count();
    steady_ns_ += by.count();
  }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> steady_ns_;
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_CLOCK_H_
