// The request pipeline in-process, with a ManualClock: authentication,
// anonymous access, rotation grace periods and expiry (time moved, never
// slept), revocation, lockdown, allowlists for IPv4 and IPv6, trusted
// proxies, rate limits with their 429 headers, the slow-down of failed
// authentications, usage counters, the aggregated audit of refusals, and a
// table of 100,000 keys.
#include "security/access_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "security/access_policy.h"
#include "security/api_key.h"
#include "temp_dir.h"

namespace chatbot::security {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using Headers = std::vector<std::pair<std::string, std::string>>;

using test_support::TempDir;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

IpAddress Ip(std::string_view text) {
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

TEST(AccessPolicyTest, EveryKnownEndpointHasItsRole) {
  EXPECT_EQ(RequiredRole("/health"), Role::kPublic);
  EXPECT_EQ(RequiredRole("/ready"), Role::kPublic);
  EXPECT_EQ(RequiredRole("/v1/parse"), Role::kClient);
  EXPECT_EQ(RequiredRole("/v1/parse/batch"), Role::kClient);
  EXPECT_EQ(RequiredRole("/v1/chat"), Role::kClient);
  EXPECT_EQ(RequiredRole("/v1/sessions"), Role::kClient);
  EXPECT_EQ(RequiredRole("/v1/sessions/abc"), Role::kClient);
  EXPECT_EQ(RequiredRole("/v1/model"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/v1/model/reload"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/metrics"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/v1/backups"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/v1/admin/keys"), Role::kAdmin);
  EXPECT_EQ(RequiredRole("/v1/admin/keys/0123456789abcdef/revoke"), Role::kAdmin);
  EXPECT_EQ(RequiredRole("/v1/admin"), Role::kAdmin);
  EXPECT_EQ(RequiredRole("/v1/administrator"), Role::kClient);  // not under /v1/admin
  EXPECT_EQ(RequiredRole("/v1/modelx"), Role::kClient);
}

TEST_F(AccessControlTest, AnonymousAccessFollowsTheSetting) {
  Start();  // loopback (the default)
  EXPECT_ADMITTED(Send("/v1/parse", {}, "127.0.0.1"));
  EXPECT_ADMITTED(Send("/v1/parse", {}, "::1"));
  EXPECT_EQ(Send("/v1/parse").principal.role, Role::kClient);
  EXPECT_TRUE(Send("/v1/parse").principal.anonymous);
  EXPECT_EQ(Send("/v1/parse").principal.Owner(), "anonymous");
  const Outcome network = Send("/v1/parse", {}, "192.0.2.1");
  EXPECT_REFUSED(network, 401, "authentication_required");
  EXPECT_EQ(network.Header("WWW-Authenticate"), "Bearer realm=\"chatbot\"");
  // Public endpoints need no key from anywhere.
  EXPECT_ADMITTED(Send("/health", {}, "192.0.2.1"));
  EXPECT_ADMITTED(Send("/ready", {}, "2001:db8::1"));

  settings_.security.anonymous = "off";
  Start();
  EXPECT_REFUSED(Send("/v1/parse", {}, "127.0.0.1"), 401, "authentication_required");
  EXPECT_ADMITTED(Send("/health", {}, "127.0.0.1"));

  settings_.security.anonymous = "on";
  Start();
  EXPECT_ADMITTED(Send("/v1/chat", {}, "203.0.113.5"));
  // Anonymous requests have the client role, never more.
  EXPECT_REFUSED(Send("/v1/model", {}, "127.0.0.1"), 403, "forbidden");
  EXPECT_THAT(Send("/v1/model").refusal.message, HasSubstr("needs the operator role"));
}

TEST_F(AccessControlTest, KeysAuthenticateInEitherHeader) {
  Start();
  const std::string key = Create(Role::kOperator);
  const Outcome bearer = WithKey(key, "/v1/model", "192.0.2.1");
  EXPECT_ADMITTED(bearer);
  EXPECT_FALSE(bearer.principal.anonymous);
  EXPECT_EQ(bearer.principal.role, Role::kOperator);
  EXPECT_EQ(bearer.principal.Owner(), "key:" + IdOf(key));
  EXPECT_ADMITTED(Send("/v1/model", {{"authorization", "bearer   " + key + " "}}, "192.0.2.1"));
  EXPECT_ADMITTED(Send("/v1/model", {{"x-api-key", key}}, "192.0.2.1"));

  // Wrong secret, unknown id, not a key, another scheme: 401, and nothing
  // said about the key.
  std::string wrong = key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  const Outcome bad = WithKey(wrong, "/v1/parse", "192.0.2.1");
  EXPECT_REFUSED(bad, 401, "invalid_key");
  EXPECT_THAT(bad.Header("WWW-Authenticate"), HasSubstr("invalid_token"));
  EXPECT_REFUSED(WithKey("cbk_0000000000000000_" + std::string(43, 'a'), "/v1/parse", "192.0.2.2"),
                 401, "invalid_key");
  EXPECT_REFUSED(WithKey("hello", "/v1/parse", "192.0.2.3"), 401, "invalid_key");
  EXPECT_REFUSED(Send("/v1/parse", {{"authorization", "Basic dXNlcjpwYXNz"}}, "192.0.2.4"), 401,
                 "invalid_key");
  // A bad key is refused even where anonymous access would be allowed.
  EXPECT_REFUSED(WithKey(wrong, "/v1/parse", "127.0.0.1"), 401, "invalid_key");
  EXPECT_REFUSED(WithKey(wrong, "/health", "127.0.0.1"), 401, "invalid_key");
}

TEST_F(AccessControlTest, RotationKeepsTheOldSecretForTheGracePeriodOnly) {
  Start();
  const std::string old_key = Create(Role::kClient);
  const IssuedKey rotated =
      access_->RotateKey(IdOf(old_key), hours(24) / milliseconds(1), Actor::System("test"));
  EXPECT_EQ(IdOf(rotated.key), IdOf(old_key));  // same key, new secret
  EXPECT_NE(rotated.key, old_key);
  EXPECT_ADMITTED(WithKey(rotated.key));
  EXPECT_ADMITTED(WithKey(old_key));

  clock_.Advance(hours(24) - milliseconds(1));
  EXPECT_ADMITTED(WithKey(old_key));
  clock_.Advance(milliseconds(1));
  EXPECT_REFUSED(WithKey(old_key), 401, "invalid_key");
  EXPECT_ADMITTED(WithKey(rotated.key));

  // Without a grace period the old secret stops at once.
  const IssuedKey again = access_->RotateKey(IdOf(old_key), 0, Actor::System("test"));
  EXPECT_REFUSED(WithKey(rotated.key), 401, "invalid_key");
  EXPECT_ADMITTED(WithKey(again.key));
  // The grace period is in the database too.
  const IssuedKey graced =
      access_->RotateKey(IdOf(old_key), hours(1) / milliseconds(1), Actor::System("test"));
  const KeyRecord record = access_->GetKey(IdOf(old_key));
  ASSERT_TRUE(record.previous_hash.has_value());
  EXPECT_EQ(record.previous_valid_until_ms, clock_.WallMs() + 3'600'000);
  EXPECT_TRUE(record.rotated_at_ms.has_value());
  Start();  // a restart keeps it
  EXPECT_ADMITTED(WithKey(again.key));
  EXPECT_ADMITTED(WithKey(graced.key));
  clock_.Advance(hours(1));
  EXPECT_REFUSED(WithKey(again.key), 401, "invalid_key");
}

TEST_F(AccessControlTest, ExpiredKeysAreRefused) {
  Start();
  NewKey request;
  request.expires_in_ms = 90LL * 86'400'000;
  const std::string key = Create(Role::kClient, request);
  clock_.Advance(hours(24 * 90) - milliseconds(1));
  EXPECT_ADMITTED(WithKey(key));
  clock_.Advance(milliseconds(1));
  const Outcome expired = WithKey(key);
  EXPECT_REFUSED(expired, 401, "key_expired");
  EXPECT_THAT(expired.refusal.message, HasSubstr("expired at"));
  // Rotating an expired key does not bring it back.
  EXPECT_THROW(access_->RotateKey(IdOf(key), 0, Actor::System("test")), KeyError);
}

TEST_F(AccessControlTest, RevocationTakesEffectOnTheNextRequest) {
  Start();
  const std::string key = Create(Role::kClient);
  EXPECT_ADMITTED(WithKey(key));
  access_->RevokeKey(IdOf(key), Actor::System("test"));
  const Outcome revoked = WithKey(key);
  EXPECT_REFUSED(revoked, 401, "key_revoked");
  EXPECT_THAT(revoked.refusal.message, HasSubstr("revoked at"));
  EXPECT_THROW(access_->RotateKey(IdOf(key), 0, Actor::System("test")), KeyError);
}

TEST_F(AccessControlTest, ChangesByAnotherProcessArriveWithTheNextRefresh) {
  Start();
  const std::string key = Create(Role::kClient);
  // The CLI: its own connection and manager.
  auto cli_store = KeyStore::Open(dir_.path() / "keys.db");
  KeyManager cli(cli_store.get(), audit_.get(), &clock_);
  cli.Revoke(IdOf(key), Actor::CommandLine());
  // Until the refresh (every [security] refresh_ms in the service) the
  // table in memory still has it...
  EXPECT_ADMITTED(WithKey(key));
  access_->Refresh();
  EXPECT_REFUSED(WithKey(key), 401, "key_revoked");
  // ... and a refresh without changes keeps the same table.
  access_->Refresh();
  EXPECT_REFUSED(WithKey(key), 401, "key_revoked");
  const IssuedKey made =
      cli.Create({.name = "made by the cli", .role = Role::kAdmin}, Actor::CommandLine());
  access_->Refresh();
  EXPECT_ADMITTED(WithKey(made.key, "/v1/admin/keys"));
}

TEST_F(AccessControlTest, RolesAreOrdered) {
  Start();
  const std::string client = Create(Role::kClient);
  const std::string op = Create(Role::kOperator);
  const std::string admin = Create(Role::kAdmin);
  for (const char* path : {"/v1/parse", "/v1/chat", "/v1/sessions", "/health"}) {
    EXPECT_ADMITTED(WithKey(client, path));
    EXPECT_ADMITTED(WithKey(op, path));
    EXPECT_ADMITTED(WithKey(admin, path));
  }
  for (const char* path : {"/v1/model", "/v1/model/reload", "/metrics"}) {
    EXPECT_REFUSED(WithKey(client, path), 403, "forbidden");
    EXPECT_ADMITTED(WithKey(op, path));
    EXPECT_ADMITTED(WithKey(admin, path));
  }
  for (const char* path : {"/v1/admin/keys", "/v1/admin/lockdown", "/v1/admin/config"}) {
    EXPECT_REFUSED(WithKey(client, path), 403, "forbidden");
    EXPECT_REFUSED(WithKey(op, path), 403, "forbidden");
    EXPECT_ADMITTED(WithKey(admin, path));
  }
  // A role change applies from the next request.
  KeyChange change;
  change.role = Role::kAdmin;
  access_->UpdateKey(IdOf(client), change, Actor::System("test"));
  EXPECT_ADMITTED(WithKey(client, "/v1/admin/keys"));
  EXPECT_THAT(ReadAll(audit_->path()), HasSubstr("\"event\":\"key_role_changed\""));
}

TEST_F(AccessControlTest, LockdownServesAdminsOnlyAndSurvivesARestart) {
  Start();
  const std::string client = Create(Role::kClient);
  const std::string op = Create(Role::kOperator);
  const std::string admin = Create(Role::kAdmin);
  access_->SetLockdown(true, "incident 42", Actor::System("test"));
  const Outcome refused = WithKey(client);
  EXPECT_REFUSED(refused, 503, "lockdown");
  EXPECT_THAT(refused.refusal.message, HasSubstr("lockdown"));
  EXPECT_THAT(refused.refusal.message, HasSubstr("incident 42"));
  EXPECT_REFUSED(WithKey(op, "/v1/model"), 503, "lockdown");
  EXPECT_REFUSED(Send("/v1/parse"), 503, "lockdown");
  EXPECT_ADMITTED(WithKey(admin));
  EXPECT_ADMITTED(WithKey(admin, "/v1/admin/lockdown"));
  EXPECT_ADMITTED(Send("/health"));  // it reports the lockdown itself

  Start();  // a restart
  EXPECT_TRUE(access_->lockdown().on);
  EXPECT_EQ(access_->lockdown().reason, "incident 42");
  EXPECT_REFUSED(WithKey(client), 503, "lockdown");
  access_->SetLockdown(false, "", Actor::System("test"));
  EXPECT_ADMITTED(WithKey(client));
  const std::string audit = ReadAll(audit_->path());
  EXPECT_THAT(audit, HasSubstr("\"event\":\"lockdown_on\""));
  EXPECT_THAT(audit, HasSubstr("\"event\":\"lockdown_off\""));
}

TEST_F(AccessControlTest, GlobalAllowlistCoversBothFamiliesToTheEdge) {
  settings_.security.allow = {"10.0.0.0/8", "2001:db8::/32", "127.0.0.1"};
  settings_.security.anonymous = "on";
  Start();
  EXPECT_ADMITTED(Send("/v1/parse", {}, "10.0.0.0"));
  EXPECT_ADMITTED(Send("/v1/parse", {}, "10.255.255.255"));
  EXPECT_REFUSED(Send("/v1/parse", {}, "11.0.0.0"), 403, "address_not_allowed");
  EXPECT_REFUSED(Send("/v1/parse", {}, "9.255.255.255"), 403, "address_not_allowed");
  EXPECT_ADMITTED(Send("/v1/parse", {}, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_REFUSED(Send("/v1/parse", {}, "2001:db9::"), 403, "address_not_allowed");
  EXPECT_REFUSED(Send("/v1/parse", {}, "::1"), 403, "address_not_allowed");
  EXPECT_ADMITTED(Send("/v1/parse", {}, "127.0.0.1"));
  EXPECT_REFUSED(Send("/v1/parse", {}, "127.0.0.2"), 403, "address_not_allowed");
  // Keys too.
  const std::string admin = Create(Role::kAdmin);
  EXPECT_REFUSED(WithKey(admin, "/v1/parse", "192.0.2.1"), 403, "address_not_allowed");
  EXPECT_THAT(WithKey(admin, "/v1/parse", "192.0.2.1").refusal.message,
              HasSubstr("192.0.2.1 are not allowed"));
}

TEST_F(AccessControlTest, KeyAllowlistCoversBothFamiliesToTheEdge) {
  Start();
  NewKey request;
  request.allow = {"192.0.2.0/25", "2001:db8:1::/48"};
  const std::string key = Create(Role::kClient, request);
  EXPECT_ADMITTED(WithKey(key, "/v1/parse", "192.0.2.0"));
  EXPECT_ADMITTED(WithKey(key, "/v1/parse", "192.0.2.127"));
  EXPECT_REFUSED(WithKey(key, "/v1/parse", "192.0.2.128"), 403, "address_not_allowed");
  EXPECT_ADMITTED(WithKey(key, "/v1/parse", "[2001:db8:1:ffff::9]:443"));
  EXPECT_REFUSED(WithKey(key, "/v1/parse", "2001:db8:2::1"), 403, "address_not_allowed");
  EXPECT_REFUSED(WithKey(key, "/v1/parse", "127.0.0.1"), 403, "address_not_allowed");
  // Malformed entries are refused with the entry and its place.
  NewKey bad;
  bad.allow = {"10.0.0.0/8", "10.0.0.1/8"};
  try {
    Create(Role::kClient, bad);
    FAIL() << "expected KeyError";
  } catch (const KeyError& e) {
    EXPECT_EQ(e.kind(), KeyError::Kind::kInvalid);
    EXPECT_THAT(e.what(), HasSubstr("allow: entry 2 '10.0.0.1/8'"));
  }
}

TEST_F(AccessControlTest, MalformedGlobalEntriesStopTheStart) {
  Settings settings;
  settings.security.trusted_proxies = {"10.0.0.0/8", "::1/200"};
  try {
    SecurityOptions::FromSettings(settings);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("security.trusted_proxies: entry 2 '::1/200'"));
    EXPECT_THAT(e.what(), HasSubstr("out of range"));
  }
}

TEST_F(AccessControlTest, ForwardedHeadersAreTrustedFromConfiguredProxiesOnly) {
  settings_.security.trusted_proxies = {"127.0.0.1/32", "10.0.0.0/8"};
  Start();  // anonymous = loopback
  // Through the proxy on this machine: the client is the forwarded address,
  // so anonymous "loopback" does not open the service to the network.
  const Outcome remote =
      Send("/v1/parse", {{"x-forwarded-for", "203.0.113.5, 10.1.1.1"}}, "127.0.0.1");
  EXPECT_REFUSED(remote, 401, "authentication_required");
  EXPECT_EQ(Send("/health", {{"x-forwarded-for", "203.0.113.5, 10.1.1.1"}}).principal.address,
            Ip("203.0.113.5"));
  // A client's own "X-Forwarded-For: 127.0.0.1" is ignored: it is not a proxy.
  const Outcome spoof = Send("/v1/parse", {{"x-forwarded-for", "127.0.0.1"}}, "192.0.2.9");
  EXPECT_REFUSED(spoof, 401, "authentication_required");
  EXPECT_EQ(Send("/health", {{"x-forwarded-for", "127.0.0.1"}}, "192.0.2.9").principal.address,
            Ip("192.0.2.9"));
  // Spoofed entries to the left of the real client do not matter.
  EXPECT_EQ(Send("/health", {{"x-forwarded-for", "127.0.0.1, 198.51.100.7"}}).principal.address,
            Ip("198.51.100.7"));
  // Only the configured header counts (X-Forwarded-For by default): a
  // Forwarded header is the client's own, passed through by the proxy.
  EXPECT_EQ(Send("/health", {{"x-forwarded-for", "192.0.2.200"},
                             {"forwarded", "for=\"[2001:db8::7]:4711\";proto=https, For=10.0.0.2"}})
                .principal.address,
            Ip("192.0.2.200"));
  EXPECT_REFUSED(Send("/v1/parse", {{"forwarded", "for=127.0.0.1"}}), 401,
                 "authentication_required");
  // A hop the proxy could not name is that proxy, and never loopback.
  EXPECT_EQ(
      Send("/health", {{"x-forwarded-for", "192.0.2.1, unknown, 10.0.0.3"}}).principal.address,
      Ip("10.0.0.3"));
  EXPECT_REFUSED(Send("/v1/parse", {{"x-forwarded-for", "_hidden"}}), 401,
                 "authentication_required");
  EXPECT_REFUSED(Send("/v1/parse", {}), 401, "authentication_required");
  // All hops trusted: the leftmost.
  EXPECT_EQ(Send("/health", {{"x-forwarded-for", "10.0.0.9, 10.0.0.8"}}).principal.address,
            Ip("10.0.0.9"));
  // Loopback clients forwarded by the proxy are still loopback.
  EXPECT_ADMITTED(Send("/v1/parse", {{"x-forwarded-for", "127.0.0.1"}}, "127.0.0.1"));
}

TEST_F(AccessControlTest, ExpensiveRequestsTakeMoreOfTheBucket) {
  settings_.security.expensive_request_cost = 4;
  Start();
  NewKey request;
  request.rate_limit = 1;
  request.burst = 10;
  const std::string key = Create(Role::kClient, request);
  const Headers bearer{{"authorization", "Bearer " + key}};
  const auto search = [&] {
    Outcome out;
    AccessRequest r;
    r.method = "GET";
    r.path = "/v1/sessions";
    r.expensive = true;
    r.headers = &bearer;
    r.peer = Ip("127.0.0.1");
    out.admitted = access_->Admit(r, &out.principal, &out.refusal);
    return out;
  };
  // 10 tokens: two searches (8), then one is refused (4 > 2) while two
  // cheap requests still pass.
  EXPECT_ADMITTED(search());
  EXPECT_ADMITTED(search());
  EXPECT_REFUSED(search(), 429, "rate_limited");
  EXPECT_ADMITTED(WithKey(key));
  EXPECT_ADMITTED(WithKey(key));
  EXPECT_REFUSED(WithKey(key), 429, "rate_limited");
}

TEST_F(AccessControlTest, RateLimitsAnswer429WithTheirHeaders) {
  Start();
  NewKey request;
  request.rate_limit = 2;  // 2/s
  request.burst = 3;
  const std::string key = Create(Role::kClient, request);
  for (int i = 0; i < 3; ++i) EXPECT_ADMITTED(WithKey(key)) << i;
  const Outcome limited = WithKey(key);
  EXPECT_REFUSED(limited, 429, "rate_limited");
  EXPECT_EQ(limited.Header("Retry-After"), "1");
  EXPECT_EQ(limited.Header("RateLimit-Limit"), "3");
  EXPECT_EQ(limited.Header("RateLimit-Remaining"), "0");
  EXPECT_EQ(limited.Header("RateLimit-Reset"), "2");  // 1.5 s until full, rounded up
  clock_.Advance(milliseconds(499));
  EXPECT_REFUSED(WithKey(key), 429, "rate_limited");
  clock_.Advance(milliseconds(1));
  EXPECT_ADMITTED(WithKey(key));
  EXPECT_REFUSED(WithKey(key), 429, "rate_limited");
  // Another key has its own bucket; refusals count against the key.
  EXPECT_ADMITTED(WithKey(Create(Role::kClient)));
  access_->FlushUsage();
  const KeyRecord record = access_->GetKey(IdOf(key));
  EXPECT_EQ(record.requests, 4);
  EXPECT_EQ(record.refused, 3);
}

// A limiter that cannot decide (its Redis down, the closed policy).
class UnavailableLimiter final : public RateLimiter {
 public:
  RateDecision Acquire(const BucketId&, const RateLimit& limit, int64_t, double) override {
    return Peek(BucketId{}, limit, 0);
  }
  RateDecision Peek(const BucketId&, const RateLimit& limit, int64_t) override {
    RateDecision d;
    if (limit.unlimited()) return d;
    d.allowed = false;
    d.unavailable = true;
    d.retry_after_s = 1.5;
    return d;
  }
};

TEST_F(AccessControlTest, AnUnavailableLimiterAnswers503WithRetryAfter) {
  settings_.security.rate_limit_anonymous = 10;
  access_ = std::make_unique<AccessControl>(SecurityOptions::FromSettings(settings_), store_.get(),
                                            audit_.get(), &clock_,
                                            std::make_unique<UnavailableLimiter>());
  access_->Start(/*background=*/false);
  const Outcome refused = Send("/v1/parse");
  EXPECT_REFUSED(refused, 503, "rate_limiter_unavailable");
  EXPECT_EQ(refused.Header("Retry-After"), "2");
  EXPECT_EQ(refused.Header("RateLimit-Limit"), "");  // no limit was exceeded
  // Without a limit, nothing to ask the limiter.
  settings_.security.rate_limit_anonymous = 0;
  access_.reset();
  access_ = std::make_unique<AccessControl>(SecurityOptions::FromSettings(settings_), store_.get(),
                                            audit_.get(), &clock_,
                                            std::make_unique<UnavailableLimiter>());
  access_->Start(/*background=*/false);
  EXPECT_ADMITTED(Send("/v1/parse"));
}

TEST_F(AccessControlTest, RoleDefaultsAndAnonymousLimitsPerAddress) {
  settings_.security.rate_limit_client = 5;
  settings_.security.burst_seconds = 1;  // buckets of 5
  settings_.security.rate_limit_anonymous = 1;
  settings_.security.anonymous = "on";
  Start();
  const std::string client = Create(Role::kClient);
  for (int i = 0; i < 5; ++i) EXPECT_ADMITTED(WithKey(client));
  EXPECT_REFUSED(WithKey(client), 429, "rate_limited");
  // Anonymous: one bucket per address.
  EXPECT_ADMITTED(Send("/v1/parse", {}, "192.0.2.1"));
  const Outcome second = Send("/v1/parse", {}, "192.0.2.1");
  EXPECT_REFUSED(second, 429, "rate_limited");
  EXPECT_EQ(second.Header("RateLimit-Limit"), "1");
  EXPECT_ADMITTED(Send("/v1/parse", {}, "192.0.2.2"));
  EXPECT_ADMITTED(Send("/v1/parse", {}, "2001:db8::1"));
  clock_.Advance(seconds(1));
  EXPECT_ADMITTED(Send("/v1/parse", {}, "192.0.2.1"));
}

TEST_F(AccessControlTest, FailedAuthenticationIsSlowedDownAndAuditedOncePerInterval) {
  settings_.security.auth_failures_per_minute = 3;
  Start();
  const std::string key = Create(Role::kClient);
  std::string wrong = key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  for (int i = 0; i < 3; ++i)
    EXPECT_REFUSED(WithKey(wrong, "/v1/parse", "192.0.2.66"), 401, "invalid_key");
  // Now even the right key waits: guessing is slowed to 3 a minute.
  const Outcome slowed = WithKey(key, "/v1/parse", "192.0.2.66");
  EXPECT_REFUSED(slowed, 429, "too_many_auth_failures");
  EXPECT_EQ(slowed.Header("Retry-After"), "20");
  EXPECT_REFUSED(WithKey(wrong, "/v1/parse", "192.0.2.66"), 429, "too_many_auth_failures");
  // Other addresses are not affected.
  EXPECT_ADMITTED(WithKey(key, "/v1/parse", "192.0.2.67"));
  clock_.Advance(seconds(20));
  EXPECT_ADMITTED(WithKey(key, "/v1/parse", "192.0.2.66"));

  // One audit line per address and reason, with the count.
  access_->FlushRefusals();
  const std::string audit = ReadAll(audit_->path());
  std::istringstream lines(audit);
  int refused_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("requests_refused") == std::string::npos) continue;
    ++refused_lines;
    EXPECT_THAT(line, HasSubstr("\"address\":\"192.0.2.66\""));
    if (line.find("invalid_key") != std::string::npos) {
      EXPECT_THAT(line, HasSubstr("\"count\":3"));
    }
    if (line.find("too_many_auth_failures") != std::string::npos) {
      EXPECT_THAT(line, HasSubstr("\"count\":2"));
    }
  }
  EXPECT_EQ(refused_lines, 2) << audit;
  // Never a secret.
  EXPECT_THAT(audit, Not(HasSubstr(std::string(ParseKey(key)->secret))));
  EXPECT_THAT(audit, Not(HasSubstr(std::string(ParseKey(wrong)->secret))));
  access_->FlushRefusals();  // nothing new: nothing written
  EXPECT_EQ(ReadAll(audit_->path()), audit);
}

TEST_F(AccessControlTest, UsageIsCountedInMemoryAndFlushedInOneGo) {
  Start();
  const std::string key = Create(Role::kClient);
  for (int i = 0; i < 7; ++i) EXPECT_ADMITTED(WithKey(key, "/v1/parse", "198.51.100.4"));
  EXPECT_REFUSED(WithKey(key, "/v1/model", "198.51.100.4"), 403, "forbidden");
  EXPECT_EQ(store_->Get(IdOf(key))->requests, 0);  // not yet written
  access_->FlushUsage();
  const KeyRecord record = *store_->Get(IdOf(key));
  EXPECT_EQ(record.requests, 7);
  EXPECT_EQ(record.refused, 1);
  EXPECT_EQ(record.last_used_at_ms, clock_.WallMs());
  EXPECT_EQ(record.last_used_address, "198.51.100.4");
  access_->FlushUsage();
  EXPECT_EQ(store_->Get(IdOf(key))->requests, 7);
}

TEST_F(AccessControlTest, AuditRecordsWhoDidWhatAndNoSecret) {
  Start();
  Actor actor;
  actor.type = Actor::Type::kKey;
  actor.key_id = "00000000000000aa";
  actor.key_name = "ops";
  actor.address = "10.0.0.7";
  const IssuedKey made = access_->CreateKey({.name = "shop", .role = Role::kClient}, actor);
  access_->RotateKey(made.record.id, 3'600'000, actor);
  access_->RevokeKey(made.record.id, Actor::CommandLine());
  const std::string audit = ReadAll(audit_->path());
  for (const char* event : {"key_created", "key_rotated", "key_revoked"}) {
    EXPECT_THAT(audit, HasSubstr(std::string("\"event\":\"") + event + "\"")) << audit;
  }
  EXPECT_THAT(audit, HasSubstr("\"key_name\":\"ops\""));
  EXPECT_THAT(audit, HasSubstr("\"address\":\"10.0.0.7\""));
  EXPECT_THAT(audit, HasSubstr("\"type\":\"cli\""));
  EXPECT_THAT(audit, Not(HasSubstr(std::string(ParseKey(made.key)->secret))));
  EXPECT_THAT(audit, Not(HasSubstr("cbk_")));
  EXPECT_EQ(fs::status(audit_->path()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(AccessControlTest, AHundredThousandKeysLookUpAsFastAsOne) {
  Start();
  const std::string key = Create(Role::kClient);
  const auto time_admits = [&] {
    const auto start = std::chrono::steady_clock::now();
    constexpr int kRounds = 20000;
    for (int i = 0; i < kRounds; ++i) {
      if (!WithKey(key).admitted) ADD_FAILURE() << "refused";
    }
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
               .count() /
           kRounds;
  };
  time_admits();  // warm up
  const double one = time_admits();

  std::vector<KeyRecord> many(100000);
  for (size_t i = 0; i < many.size(); ++i) {
    many[i].id = KeyIdText(0x1000000 + i);
    many[i].name = "load " + std::to_string(i);
    many[i].secret_hash = HashSecret(many[i].id, "x");
    many[i].created_by = "test";
  }
  ASSERT_EQ(store_->InsertMany(many), 100000);
  const auto reload_start = std::chrono::steady_clock::now();
  access_->Reload();
  const double reload_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - reload_start)
          .count();
  EXPECT_EQ(access_->key_count(), 100001u);
  const double hundred_thousand = time_admits();
  std::printf(
      "admit with a key: %.0f ns (1 key), %.0f ns (100,001 keys); reload of 100,001 keys: "
      "%.0f ms\n",
      one, hundred_thousand, reload_ms);
  // Generous bounds for a shared, noisy machine and debug builds: a hash
  // lookup does not grow with the table.
  EXPECT_LT(hundred_thousand, one * 3 + 2000);
}

}  // namespace
}  // namespace chatbot::security
