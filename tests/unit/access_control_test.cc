// The request pipeline in-process, with a ManualClock: the endpoint roles,
// authentication, anonymous access, rotation grace periods and expiry,
// revocation, roles, lockdown and allowlists for IPv4 and IPv6
// (access_control_fixture.h).
#include "access_control_fixture.h"

namespace chatbot::security {
namespace {

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

}  // namespace
}  // namespace chatbot::security
