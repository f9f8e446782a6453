// Security against the real `chatbot serve` (docs/security.md): the first
// admin key and its file, revocation on an open keep-alive connection (by
// the admin API and by the CLI), rotation with a grace period, expiry,
// lockdown across a restart and in /health, 429 and its headers, the
// slow-down and aggregated audit of failed authentications, trusted
// proxies, allowlists, malformed entries at start, session ownership, the
// keys CLI, and HTTPS (TLS 1.2+, certificate reload on SIGHUP). After every
// test, no key may be in any log (security_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

const char kKeyPattern[] = "cbk_[0-9a-f]{16}_[0-9A-Za-z]{43}";

std::string Str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::vector<std::string> Lines(const fs::path& path) {
  return chatbot::testing::Lines(ReadFileToString(path));
}

// ---------------------------------------------------------------------------

TEST_F(SecurityTest, FirstStartWritesAnAdminKeyFileOnlyTheOwnerCanRead) {
  ServerProcess& server = StartServer();
  ASSERT_TRUE(fs::exists(AdminKeyFile()));
  EXPECT_EQ(fs::status(AdminKeyFile()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(AdminKeyFile().parent_path()).permissions() & fs::perms::all,
            fs::perms::owner_all);
  EXPECT_EQ(
      fs::status(work_.path() / "data" / "security" / "keys.db").permissions() & fs::perms::all,
      fs::perms::owner_read | fs::perms::owner_write);
  const std::string key = AdminKey();
  EXPECT_TRUE(std::regex_match(key, std::regex(kKeyPattern))) << key;
  // Said once where it is; the key itself only in the file.
  const std::string out = server.Stdout();
  EXPECT_THAT(out, HasSubstr("Created the first admin API key (id " + IdOf(key) +
                             ") in data/security/admin.key"));
  EXPECT_THAT(out, Not(HasSubstr(key.substr(21))));

  HttpClient client(server.port());
  const HttpResult keys = client.Get("/v1/admin/keys", Bearer(key));
  ASSERT_EQ(keys.status, 200) << keys.Describe();
  const json::value listed = keys.Json();
  const json::array& list = listed.at("keys").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("name"), "initial-admin");
  EXPECT_EQ(list[0].at("role"), "admin");
  EXPECT_EQ(Str(list[0].at("id")), IdOf(key));
  EXPECT_THAT(keys.body, Not(HasSubstr("hash")));

  // A restart with an admin key in the database makes no other.
  ASSERT_EQ(server.Terminate(), 0);
  ServerProcess& again = StartServer();
  EXPECT_THAT(again.Stdout(), Not(HasSubstr("Created the first admin API key")));
  EXPECT_EQ(AdminKey(), key);

  // With every admin key revoked, the next start makes a new one.
  HttpClient client2(again.port());
  ASSERT_EQ(
      client2.Post("/v1/admin/keys/" + IdOf(key) + "/revoke", json::object{}, Bearer(key)).status,
      200);
  ASSERT_EQ(again.Terminate(), 0);
  ServerProcess& third = StartServer();
  EXPECT_THAT(third.Stdout(), HasSubstr("Created the first admin API key"));
  const std::string fresh = AdminKey();
  EXPECT_NE(fresh, key);
  HttpClient client3(third.port());
  EXPECT_EQ(client3.Get("/v1/admin/keys", Bearer(fresh)).status, 200);
  EXPECT_EQ(Code(client3.Get("/v1/admin/keys", Bearer(key))), "key_revoked");
}

TEST_F(SecurityTest, RevocationReachesTheNextRequestOfAnOpenConnection) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient admin_client(server.port());

  // Through the admin API.
  const std::string key = CreateKey(admin_client, admin, "shop", "client");
  HttpClient client(server.port());
  ASSERT_EQ(Parse(client, Bearer(key)).status, 200);
  ASSERT_EQ(
      admin_client.Post("/v1/admin/keys/" + IdOf(key) + "/revoke", json::object{}, Bearer(admin))
          .status,
      200);
  const HttpResult refused = Parse(client, Bearer(key));
  EXPECT_EQ(refused.status, 401) << refused.Describe();
  EXPECT_EQ(Code(refused), "key_revoked");
  EXPECT_EQ(client.connections_opened(), 1);  // the same keep-alive connection

  // Through the command line, which writes the database from another process.
  const std::string other = CreateKey(admin_client, admin, "app", "client");
  HttpClient client2(server.port());
  ASSERT_EQ(Parse(client2, {{"X-API-Key", other}}).status, 200);
  const ProcessResult cli = Cli({"keys", "revoke", IdOf(other)});
  ASSERT_EQ(cli.exit_code, 0) << Describe(cli);
  EXPECT_THAT(cli.out, HasSubstr("Revoked key " + IdOf(other)));
  const HttpResult refused2 = Parse(client2, {{"X-API-Key", other}});
  EXPECT_EQ(refused2.status, 401) << refused2.Describe();
  EXPECT_EQ(Code(refused2), "key_revoked");
  EXPECT_EQ(client2.connections_opened(), 1);

  // The audit log says who did each.
  const std::string audit = ReadFileToString(work_.path() / "logs" / "audit.log");
  EXPECT_THAT(audit,
              HasSubstr("\"event\":\"key_revoked\",\"actor\":{\"type\":\"key\",\"key_id\":\"" +
                        IdOf(admin) + "\",\"key_name\":\"initial-admin\""));
  EXPECT_THAT(audit, HasSubstr("\"event\":\"key_revoked\",\"actor\":{\"type\":\"cli\""));
}

TEST_F(SecurityTest, RotationKeepsTheOldSecretForItsGracePeriod) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string old_key = CreateKey(client, admin, "rotating", "client");
  const ProcessResult rotated = Cli({"keys", "rotate", IdOf(old_key), "--grace", "1h"});
  ASSERT_EQ(rotated.exit_code, 0) << Describe(rotated);
  const std::vector<std::string> out = chatbot::testing::Lines(rotated.out);
  ASSERT_EQ(out.size(), 1u) << rotated.out;  // the key alone on stdout
  const std::string new_key = out[0];
  EXPECT_EQ(IdOf(new_key), IdOf(old_key));
  EXPECT_THAT(rotated.err, HasSubstr("The old secret keeps working until"));
  EXPECT_EQ(Parse(client, Bearer(new_key)).status, 200);
  EXPECT_EQ(Parse(client, Bearer(old_key)).status, 200);

  // Through the API, without a grace period: only the newest secret works.
  const HttpResult again =
      client.Post("/v1/admin/keys/" + IdOf(old_key) + "/rotate", json::object{}, Bearer(admin));
  ASSERT_EQ(again.status, 200) << again.Describe();
  const std::string newest(again.Json().at("key").as_string());
  Remember(newest);
  EXPECT_EQ(Parse(client, Bearer(newest)).status, 200);
  EXPECT_EQ(Code(Parse(client, Bearer(new_key))), "invalid_key");
  EXPECT_EQ(Code(Parse(client, Bearer(old_key))), "invalid_key");
}

TEST_F(SecurityTest, ExpiredKeysAreRefused) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string key = CreateKey(client, admin, "short-lived", "client", {{"expires", "1s"}});
  EXPECT_EQ(Parse(client, Bearer(key)).status, 200);
  std::this_thread::sleep_for(milliseconds(1100));
  const HttpResult expired = Parse(client, Bearer(key));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(Code(expired), "key_expired");
}

TEST_F(SecurityTest, LockdownSurvivesARestartAndShowsInHealth) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string op = CreateKey(client, admin, "ops", "operator");
  const HttpResult on = client.Post(
      "/v1/admin/lockdown", json::object{{"on", true}, {"reason", "incident 42"}}, Bearer(admin));
  ASSERT_EQ(on.status, 200) << on.Describe();
  EXPECT_EQ(on.Json().at("lockdown").at("on"), true);
  const auto check_locked = [&](HttpClient& c) {
    const HttpResult anonymous = Parse(c);
    EXPECT_EQ(anonymous.status, 503);
    EXPECT_EQ(Code(anonymous), "lockdown");
    EXPECT_THAT(anonymous.body, HasSubstr("only requests with an admin key are served"));
    EXPECT_THAT(anonymous.body, HasSubstr("incident 42"));
    EXPECT_EQ(Code(c.Get("/v1/model", Bearer(op))), "lockdown");
    EXPECT_EQ(Parse(c, Bearer(admin)).status, 200);
    const HttpResult health = c.Get("/health");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.Json().at("status"), "lockdown");
    EXPECT_EQ(health.Json().at("lockdown").at("on"), true);
    EXPECT_EQ(health.Json().at("lockdown").at("reason"), "incident 42");
    EXPECT_EQ(c.Get("/ready").status, 503);
  };
  check_locked(client);

  ASSERT_EQ(server.Terminate(), 0);
  ServerProcess& again = StartServer();
  HttpClient client2(again.port());
  check_locked(client2);

  // Off from the command line.
  const ProcessResult off = Cli({"lockdown", "off"});
  ASSERT_EQ(off.exit_code, 0) << Describe(off);
  EXPECT_EQ(Parse(client2).status, 200);
  EXPECT_EQ(client2.Get("/health").status, 200);
  EXPECT_EQ(client2.Get("/health").Json().at("lockdown").at("on"), false);
  const ProcessResult status = Cli({"lockdown", "status"});
  EXPECT_THAT(status.out, HasSubstr("Lockdown is off"));
  const std::string audit = ReadFileToString(work_.path() / "logs" / "audit.log");
  EXPECT_THAT(audit, HasSubstr("\"event\":\"lockdown_on\""));
  EXPECT_THAT(audit, HasSubstr("\"event\":\"lockdown_off\",\"actor\":{\"type\":\"cli\""));
}

TEST_F(SecurityTest, OverTheLimitIs429WithItsHeaders) {
  ServerProcess& server = StartServer(
      {"--set", "security.rate_limit_anonymous=1", "--set", "security.burst_seconds=2"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  // Anonymous: a bucket of 2 per address.
  EXPECT_EQ(Parse(client).status, 200);
  EXPECT_EQ(Parse(client).status, 200);
  const HttpResult limited = Parse(client);
  ASSERT_EQ(limited.status, 429) << limited.Describe();
  EXPECT_EQ(Code(limited), "rate_limited");
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Header("ratelimit-limit"), "2");
  EXPECT_EQ(limited.Header("ratelimit-remaining"), "0");
  EXPECT_THAT(limited.Header("ratelimit-reset"), ::testing::AnyOf("1", "2"));
  // A key has its own bucket: its override here.
  const std::string key =
      CreateKey(client, admin, "slow", "client", {{"rate_limit", 0.5}, {"burst", 1}});
  EXPECT_EQ(Parse(client, Bearer(key)).status, 200);
  const HttpResult key_limited = Parse(client, Bearer(key));
  EXPECT_EQ(key_limited.status, 429);
  EXPECT_EQ(key_limited.Header("retry-after"), "2");
  EXPECT_EQ(key_limited.Header("ratelimit-limit"), "1");
  // The refusals are counted against the key.
  const json::value shown = client.Get("/v1/admin/keys/" + IdOf(key), Bearer(admin)).Json();
  EXPECT_EQ(shown.at("usage").at("requests"), 1);
  EXPECT_EQ(shown.at("usage").at("refused"), 1);
  EXPECT_EQ(shown.at("usage").at("last_used_address"), "127.0.0.1");
}

TEST_F(SecurityTest, FailedAuthenticationIsSlowedAndAuditedOncePerInterval) {
  ServerProcess& server = StartServer(
      {"--set", "security.auth_failures_per_minute=3", "--set", "security.audit_interval_s=1"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  std::string wrong = admin;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  Remember(wrong);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Code(Parse(client, Bearer(wrong))), "invalid_key");
  const HttpResult slowed = Parse(client, Bearer(admin));
  EXPECT_EQ(slowed.status, 429);
  EXPECT_EQ(Code(slowed), "too_many_auth_failures");
  EXPECT_EQ(slowed.Header("retry-after"), "20");
  // Counted, then written once: one audit line per reason with its count.
  std::this_thread::sleep_for(milliseconds(2500));
  int invalid_lines = 0;
  int64_t invalid_count = 0;
  for (const std::string& line : Lines(work_.path() / "logs" / "audit.log")) {
    if (line.find("\"event\":\"requests_refused\"") == std::string::npos) continue;
    if (line.find("\"reason\":\"invalid_key\"") != std::string::npos) {
      ++invalid_lines;
      const json::value event = json::parse(line);
      invalid_count += event.at("count").as_int64();
      EXPECT_EQ(event.at("actor").at("address"), "127.0.0.1");
    }
  }
  EXPECT_EQ(invalid_count, 3);
  // One line per interval, not per attempt (the attempts took milliseconds,
  // so they almost always fall into one interval; never into three).
  EXPECT_GE(invalid_lines, 1);
  EXPECT_LE(invalid_lines, 2);
  int app_lines = 0;
  for (const std::string& line : Lines(work_.path() / "logs" / "app.log")) {
    if (line.find("refused") != std::string::npos &&
        line.find("from 127.0.0.1") != std::string::npos) {
      ++app_lines;
      EXPECT_THAT(line, HasSubstr("invalid_key"));
    }
  }
  EXPECT_GE(app_lines, 1);
  EXPECT_LE(app_lines, 2);
}

TEST_F(SecurityTest, ForwardedAddressesAreTrustedFromConfiguredProxiesOnly) {
  ServerProcess& server = StartServer({"--set", "security.trusted_proxies=127.0.0.1"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  // Through a proxy on this machine, a client on the network needs a key.
  const HttpResult remote = Parse(client, {{"X-Forwarded-For", "203.0.113.9"}});
  EXPECT_EQ(remote.status, 401) << remote.Describe();
  EXPECT_EQ(Code(remote), "authentication_required");
  EXPECT_EQ(remote.Header("www-authenticate"), "Bearer realm=\"chatbot\"");
  EXPECT_EQ(Code(Parse(client, {{"Forwarded", "for=\"[2001:db8::9]:443\""}})),
            "authentication_required");
  const std::string key =
      CreateKey(client, admin, "allowlisted", "client", {{"allow", json::array{"203.0.113.0/24"}}});
  HttpHeaders with_key = Bearer(key);
  with_key.emplace_back("X-Forwarded-For", "203.0.113.9");
  EXPECT_EQ(Parse(client, with_key).status, 200);
  HttpHeaders elsewhere = Bearer(key);
  elsewhere.emplace_back("X-Forwarded-For", "198.51.100.1");
  EXPECT_EQ(Code(Parse(client, elsewhere)), "address_not_allowed");
  // The key remembers where it was last used from.
  EXPECT_EQ(client.Get("/v1/admin/keys/" + IdOf(key), Bearer(admin))
                .Json()
                .at("usage")
                .at("last_used_address"),
            "203.0.113.9");
}

TEST_F(SecurityTest, GlobalAllowlistRefusesOtherAddresses) {
  ServerProcess& server = StartServer({"--set", "security.allow=10.0.0.0/8,2001:db8::/32"});
  HttpClient client(server.port());
  const HttpResult refused = client.Get("/health");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Code(refused), "address_not_allowed");
  EXPECT_THAT(refused.body, HasSubstr("127.0.0.1"));
  ASSERT_EQ(server.Terminate(), 0);
  ServerProcess& open = StartServer({"--set", "security.allow=127.0.0.0/8,::1/128"});
  HttpClient client2(open.port());
  EXPECT_EQ(client2.Get("/health").status, 200);
}

TEST_F(SecurityTest, MalformedNetworksStopTheStartWithTheEntryAndItsPlace) {
  InstallSharedModel(work_.path());
  ProcessOptions options;
  options.program = CHATBOT_BINARY;
  options.working_directory = work_.path();
  options.args = {"serve", "--port",          "0",
                  "--set", "paths.logs=logs", "--models",
                  "model", "--set",           "security.allow=10.0.0.0/8,300.0.0.1"};
  const ProcessResult flag = RunProcess(options);
  EXPECT_EQ(flag.exit_code, 2) << Describe(flag);
  EXPECT_THAT(flag.err, HasSubstr("flag --set security.allow=10.0.0.0/8,300.0.0.1: security.allow: "
                                  "entry 2 '300.0.0.1': '300.0.0.1' is not an IPv4 or IPv6 "
                                  "address"));
  WriteStringToFile(work_.path() / "bad.toml",
                    "[security]\n"
                    "anonymous = \"off\"\n"
                    "trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.1/8\"]\n");
  options.args = {"serve", "--port",          "0",        "--config", "bad.toml",
                  "--set", "paths.logs=logs", "--models", "model"};
  const ProcessResult file = RunProcess(options);
  EXPECT_EQ(file.exit_code, 2) << Describe(file);
  EXPECT_THAT(file.err, HasSubstr("file bad.toml:3: security.trusted_proxies: entry 2 "
                                  "'10.0.0.1/8': 10.0.0.1 has bits set beyond the /8 prefix"));
  EXPECT_FALSE(fs::exists(AdminKeyFile()));  // refused before anything was made
}

TEST_F(SecurityTest, ClientsSeeOnlyTheSessionsTheyCreated) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::string alice = CreateKey(client, admin, "alice", "client");
  const std::string bob = CreateKey(client, admin, "bob", "client");
  const std::string op = CreateKey(client, admin, "ops", "operator");
  const auto chat = [&](const HttpHeaders& headers, const std::string& session = "") {
    json::object body{{"message", "where is my order"}};
    if (!session.empty()) body["session_id"] = session;
    return client.Post("/v1/chat", body, headers);
  };
  const HttpResult started = chat(Bearer(alice));
  ASSERT_EQ(started.status, 200) << started.Describe();
  const std::string session(started.Json().at("session_id").as_string());
  const std::string anonymous_session(chat({}).Json().at("session_id").as_string());

  EXPECT_EQ(chat(Bearer(alice), session).status, 200);
  // Bob: as if it did not exist.
  EXPECT_EQ(Code(chat(Bearer(bob), session)), "session_not_found");
  EXPECT_EQ(Code(client.Get("/v1/sessions/" + session, Bearer(bob))), "session_not_found");
  EXPECT_EQ(Code(client.Send("DELETE", "/v1/sessions/" + session, "", Bearer(bob))),
            "session_not_found");
  EXPECT_EQ(client.Get("/v1/sessions", Bearer(bob)).Json().at("sessions").as_array().size(), 0u);
  // Anonymous requests are one principal of their own.
  EXPECT_EQ(Code(client.Get("/v1/sessions/" + session)), "session_not_found");
  const json::array anonymous_list = client.Get("/v1/sessions").Json().at("sessions").as_array();
  ASSERT_EQ(anonymous_list.size(), 1u);
  EXPECT_EQ(Str(anonymous_list[0].at("session_id")), anonymous_session);
  EXPECT_EQ(anonymous_list[0].at("owner"), "anonymous");
  // Alice sees hers, with its turns.
  const json::array mine =
      client.Get("/v1/sessions", Bearer(alice)).Json().at("sessions").as_array();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(Str(mine[0].at("owner")), "key:" + IdOf(alice));
  EXPECT_EQ(client.Get("/v1/sessions/" + session, Bearer(alice)).Json().at("turn_count"), 2);
  // Operators see and manage every session.
  EXPECT_EQ(client.Get("/v1/sessions", Bearer(op)).Json().at("sessions").as_array().size(), 2u);
  EXPECT_EQ(client.Get("/v1/sessions/" + session, Bearer(op)).status, 200);
  EXPECT_EQ(client.Send("DELETE", "/v1/sessions/" + session, "", Bearer(op)).status, 200);
  EXPECT_EQ(Code(client.Get("/v1/sessions/" + session, Bearer(alice))), "session_not_found");
}

TEST_F(SecurityTest, KeysCommandsManageTheWholeLifecycle) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());

  const ProcessResult created =
      Cli({"keys", "create", "--name", "cli made", "--role", "operator", "--expires", "90d",
           "--allow", "127.0.0.0/8", "--allow", "::1", "--json"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);
  const json::value made = json::parse(created.out);
  const std::string key(made.at("key").as_string());
  const std::string id(made.at("id").as_string());
  EXPECT_EQ(made.at("role"), "operator");
  EXPECT_EQ(made.at("allow").as_array().size(), 2u);
  EXPECT_FALSE(made.at("expires_at").is_null());
  EXPECT_THAT(created.err, HasSubstr("not shown again"));
  // In force when the command returns.
  EXPECT_EQ(client.Get("/v1/model", Bearer(key)).status, 200);

  const ProcessResult list = Cli({"keys", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << Describe(list);
  EXPECT_EQ(json::parse(list.out).as_array().size(), 2u);
  EXPECT_THAT(list.out, Not(HasSubstr("cbk_")));
  EXPECT_THAT(list.out, Not(HasSubstr("hash")));
  const ProcessResult table = Cli({"keys", "list"});
  EXPECT_THAT(table.out, HasSubstr(id));
  EXPECT_THAT(table.out, HasSubstr("initial-admin"));

  const ProcessResult shown = Cli({"keys", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << Describe(shown);
  EXPECT_THAT(shown.out, HasSubstr("role:        operator"));
  EXPECT_THAT(shown.out, HasSubstr("allow:       127.0.0.0/8 ::1"));

  // A role change is audited as one and applies from the next request.
  const ProcessResult demoted = Cli({"keys", "update", id, "--role", "client"});
  ASSERT_EQ(demoted.exit_code, 0) << Describe(demoted);
  EXPECT_EQ(Code(client.Get("/v1/model", Bearer(key))), "forbidden");
  EXPECT_THAT(ReadFileToString(work_.path() / "logs" / "audit.log"),
              HasSubstr("\"event\":\"key_role_changed\""));

  // Refusals and their exit statuses.
  const ProcessResult bad_allow =
      Cli({"keys", "create", "--name", "x", "--role", "client", "--allow", "10.0.0.1/8"});
  EXPECT_EQ(bad_allow.exit_code, 2);
  EXPECT_THAT(bad_allow.err, HasSubstr("allow: entry 1 '10.0.0.1/8'"));
  EXPECT_EQ(Cli({"keys", "create", "--name", "x", "--role", "root"}).exit_code, 2);
  EXPECT_EQ(
      Cli({"keys", "create", "--name", "x", "--role", "client", "--expires", "soon"}).exit_code, 2);
  const ProcessResult unknown = Cli({"keys", "show", "0123456789abcdef"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no key 0123456789abcdef"));
  EXPECT_EQ(Cli({"keys", "revoke", id}).exit_code, 0);
  EXPECT_EQ(Cli({"keys", "rotate", id}).exit_code, 1);  // revoked keys stay revoked
  EXPECT_EQ(Code(client.Get("/v1/parse", Bearer(key))), "key_revoked");
}

// ---------------------------------------------------------------------------
// HTTPS.

// A self-signed certificate for 127.0.0.1 with the given serial number.
void WriteCertificate(const fs::path& cert_path, const fs::path& key_path, long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x509 = X509_new();
  X509_set_version(x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), serial);
  X509_gmtime_adj(X509_getm_notBefore(x509), -60);
  X509_gmtime_adj(X509_getm_notAfter(x509), 86400);
  X509_set_pubkey(x509, key);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  ASSERT_GT(X509_sign(x509, key, EVP_sha256()), 0);
  const fs::path cert_temp = cert_path.string() + ".new";
  const fs::path key_temp = key_path.string() + ".new";
  FILE* f = std::fopen(cert_temp.c_str(), "w");
  PEM_write_X509(f, x509);
  std::fclose(f);
  f = std::fopen(key_temp.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  fs::rename(key_temp, key_path);
  fs::rename(cert_temp, cert_path);
  X509_free(x509);
  EVP_PKEY_free(key);
}

struct TlsResult {
  std::string error = {};  // of the handshake or the exchange; empty when it worked
  int status = 0;
  long serial = -1;
  std::string version = {};  // "TLSv1.3"
};

// One GET over HTTPS, without verifying the (self-signed) certificate;
// `min_version`/`max_version` bound what the client offers (0: OpenSSL's).
TlsResult TlsGet(uint16_t port, const std::string& target, int min_version = 0,
                 int max_version = 0) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  TlsResult result;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_verify_mode(asio::ssl::verify_none);
  if (min_version != 0 || max_version != 0) {
    // Old versions need the lowest security level to be offered at all.
    SSL_CTX_set_security_level(context.native_handle(), 0);
    if (min_version != 0) SSL_CTX_set_min_proto_version(context.native_handle(), min_version);
    if (max_version != 0) SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  beast::error_code ec;
  beast::get_lowest_layer(stream).socket().connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {"connect: " + ec.message()};
  timeval timeout{10, 0};
  const int fd = beast::get_lowest_layer(stream).socket().native_handle();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return {"handshake: " + ec.message()};
  result.version = SSL_get_version(stream.native_handle());
  if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
    result.serial = ASN1_INTEGER_get(X509_get_serialNumber(cert));
    X509_free(cert);
  }
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::connection, "close");
  http::write(stream, request, ec);
  if (ec) return {"write: " + ec.message()};
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, ec);
  if (ec) return {"read: " + ec.message()};
  result.status = static_cast<int>(response.result_int());
  return result;
}

TEST_F(SecurityTest, HttpsWithTls12OrNewerAndACertificateReloadedOnSighup) {
  const fs::path cert = work_.path() / "cert.pem";
  const fs::path key = work_.path() / "key.pem";
  WriteCertificate(cert, key, 1001);
  ServerProcess& server = StartServer(
      {"--set", "tls.certificate=" + cert.string(), "--set", "tls.private_key=" + key.string()});
  EXPECT_THAT(server.Stdout(), HasSubstr("listening on https://127.0.0.1:"));
  const TlsResult first = TlsGet(server.port(), "/health");
  ASSERT_EQ(first.error, "");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.serial, 1001);
  EXPECT_EQ(first.version, "TLSv1.3");
  const TlsResult v12 = TlsGet(server.port(), "/health", TLS1_2_VERSION, TLS1_2_VERSION);
  EXPECT_EQ(v12.error, "");
  EXPECT_EQ(v12.version, "TLSv1.2");
  // Older versions are refused; plain HTTP gets no answer.
  EXPECT_NE(TlsGet(server.port(), "/health", TLS1_VERSION, TLS1_1_VERSION).error, "");
  HttpClient plain(server.port(), "127.0.0.1", std::chrono::seconds(5));
  EXPECT_ANY_THROW(plain.Get("/health"));

  // SIGHUP: new connections get the new certificate.
  WriteCertificate(cert, key, 1002);
  server.Hup();
  long serial = -1;
  for (int i = 0; i < 100 && serial != 1002; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    serial = TlsGet(server.port(), "/health").serial;
  }
  EXPECT_EQ(serial, 1002);
  // A broken certificate on SIGHUP keeps the old one.
  WriteStringToFile(cert, "not a certificate\n");
  server.Hup();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(TlsGet(server.port(), "/health").serial, 1002);
  EXPECT_THAT(ReadFileToString(work_.path() / "logs" / "app.log"),
              HasSubstr("TLS certificate not reloaded"));
}

TEST_F(SecurityTest, Tls13OnlyWhenAskedAndBadCertificatesStopTheStart) {
  const fs::path cert = work_.path() / "cert.pem";
  const fs::path key = work_.path() / "key.pem";
  WriteCertificate(cert, key, 7);
  ServerProcess& server =
      StartServer({"--set", "tls.certificate=" + cert.string(), "--set",
                   "tls.private_key=" + key.string(), "--set", "tls.min_version=1.3"});
  EXPECT_EQ(TlsGet(server.port(), "/health", TLS1_3_VERSION, TLS1_3_VERSION).error, "");
  EXPECT_NE(TlsGet(server.port(), "/health", TLS1_2_VERSION, TLS1_2_VERSION).error, "");
  ASSERT_EQ(server.Terminate(), 0);

  ProcessOptions options;
  options.program = CHATBOT_BINARY;
  options.working_directory = work_.path();
  options.args = {"serve",
                  "--port",
                  "0",
                  "--set",
                  "paths.logs=logs",
                  "--models",
                  "model",
                  "--set",
                  "tls.certificate=missing.pem",
                  "--set",
                  "tls.private_key=" + key.string()};
  const ProcessResult missing = RunProcess(options);
  EXPECT_EQ(missing.exit_code, 2) << Describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("'missing.pem' does not exist"));
}

}  // namespace
}  // namespace chatbot::testing
