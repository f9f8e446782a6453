// What the in-process tests of the request pipeline share
// (access_control_test.cc, access_limits_test.cc): a fixture that builds
// AccessControl over a key store in a temporary directory with a
// ManualClock (time is moved, never slept) and sends requests through it,
// and the checks of an admitted or refused request.
#ifndef CHATBOT_TESTS_UNIT_ACCESS_CONTROL_FIXTURE_H_
#define CHATBOT_TESTS_UNIT_ACCESS_CONTROL_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "security/access_control.h"
#include "security/access_policy.h"
#include "security/api_key.h"
#include "temp_dir.h"

namespace chatbot::security {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using Headers = std::vector<std::pair<std::string, std::string>>;

using test_support::TempDir;

inline std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline IpAddress Ip(std::string_view text) {
  return IpAddress::ParseWithPort(text).value();
}

struct Outcome {
  bool admitted = false;
  Principal principal;
  Refusal refusal;
  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : refusal.headers) {
      if (n == name) return v;
    }
    return "";
  }
};

class AccessControlTest : public ::testing::Test {
 protected:
  AccessControlTest() {
    settings_.security.rate_limit_anonymous = 0;
    settings_.security.rate_limit_client = 0;
    settings_.security.rate_limit_operator = 0;
    settings_.security.rate_limit_admin = 0;
    store_ = KeyStore::Open(dir_.path() / "keys.db");
    audit_ = std::make_unique<AuditLog>(dir_.path() / "audit.log");
  }

  // (Re)creates the access control from settings_.
  AccessControl& Start() {
    access_.reset();
    access_ = std::make_unique<AccessControl>(SecurityOptions::FromSettings(settings_),
                                              store_.get(), audit_.get(), &clock_);
    access_->Start(/*background=*/false);
    return *access_;
  }

  std::string Create(Role role, const NewKey& extra = {}) {
    NewKey request = extra;
    if (request.name.empty()) request.name = std::string(RoleName(role)) + " key";
    request.role = role;
    return access_->CreateKey(request, Actor::System("test")).key;
  }

  static std::string IdOf(const std::string& key) { return std::string(ParseKey(key)->id_text); }

  Outcome Send(std::string_view path, const Headers& headers = {},
               std::string_view peer = "127.0.0.1") {
    Outcome out;
    AccessRequest request;
    request.method = "GET";
    request.path = path;
    request.headers = &headers;
    request.peer = Ip(peer);
    out.admitted = access_->Admit(request, &out.principal, &out.refusal);
    return out;
  }
  Outcome WithKey(const std::string& key, std::string_view path = "/v1/parse",
                  std::string_view peer = "127.0.0.1") {
    return Send(path, {{"authorization", "Bearer " + key}}, peer);
  }

  TempDir dir_;
  Settings settings_;
  ManualClock clock_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AccessControl> access_;
};

#define EXPECT_ADMITTED(outcome)                                                               \
  EXPECT_TRUE((outcome).admitted) << (outcome).refusal.status << " " << (outcome).refusal.code \
                                  << ": " << (outcome).refusal.message
#define EXPECT_REFUSED(outcome, status_code, error_code) \
  do {                                                   \
    const Outcome& o_ = (outcome);                       \
    EXPECT_FALSE(o_.admitted);                           \
    EXPECT_EQ(o_.refusal.status, status_code);           \
    EXPECT_EQ(o_.refusal.code, error_code);              \
  } while (false)

}  // namespace chatbot::security

#endif  // CHATBOT_TESTS_UNIT_ACCESS_CONTROL_FIXTURE_H_
