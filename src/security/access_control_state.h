// The state behind AccessControl that both of its halves use: the request
// pipeline (access_control.cc) reads the key table and counts usage and
// refusals; the key table (access_control_keys.cc) builds the snapshot,
// refreshes it and flushes the counts. Private to those two files.
#ifndef CHATBOT_SECURITY_ACCESS_CONTROL_STATE_H_
#define CHATBOT_SECURITY_ACCESS_CONTROL_STATE_H_

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "security/access_control.h"
#include "security/api_key.h"

namespace chatbot::security {

struct AccessControl::KeyUsage {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> refused{0};
  std::atomic<int64_t> last_used_ms{0};
  std::mutex address_mu;
  IpAddress last_address;            // guarded by address_mu
  int64_t flushed_last_used_ms = 0;  // guarded by reload_mu_
};

struct AccessControl::KeyEntry {
  uint64_t id = 0;
  std::string id_text;
  std::string name;
  Role role = Role::kClient;
  KeyHash hash{};
  bool has_previous = false;
  KeyHash previous{};
  int64_t previous_until_ms = 0;
  int64_t expires_at_ms = INT64_MAX;
  bool revoked = false;
  int64_t revoked_at_ms = 0;
  NetworkList allow;
  bool allow_broken = false;  // the stored list does not parse: refuse everything
  RateLimit limit;
  KeyUsage* usage = nullptr;
};

struct AccessControl::Snapshot {
  std::unordered_map<uint64_t, KeyEntry> keys;
  LockdownState lockdown;
  uint64_t generation = 0;
};

struct AccessControl::RefusalCounter {
  struct Key {
    IpAddress address;
    uint64_t key_id = 0;
    std::string code;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      uint64_t h = std::hash<std::string>{}(k.code) ^ (k.key_id * 0x9e3779b97f4a7c15ULL);
      for (uint8_t b : k.address.bytes()) h = (h ^ b) * 0x100000001b3ULL;
      return static_cast<size_t>(h);
    }
  };
  std::mutex mu;
  std::unordered_map<Key, int64_t, Hash> counts;  // guarded by mu
  int64_t since_ms = 0;                           // guarded by mu
};

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_ACCESS_CONTROL_STATE_H_
