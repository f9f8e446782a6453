// The request pipeline in-process, with a ManualClock: trusted proxies,
// rate limits with their 429 headers and an unavailable limiter, the
// slow-down of failed authentications, usage counters, the aggregated
// audit of refusals, and a table of 100,000 keys (access_control_fixture.h).
#include "access_control_fixture.h"

namespace chatbot::security {
namespace {

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
