// Defences a black-box review checks from outside, against the real
// `chatbot serve` (docs/security.md):
//   - the client address behind a trusted proxy comes only from the header
//     the operator configured (security.proxy_header), walked from the right
//     across trusted proxies; a client's own Forwarded header, and unknown
//     or obfuscated identifiers, never make it a loopback client;
//   - a session search built to be slow (long almost-matching texts) does
//     not stall another client's chat;
//   - /health and every error answer name states, never paths or source
//     locations (http_client.cc scans every error body of every test);
//   - state and log files are private (0600, directories 0700) whatever the
//     umask, and 0640 for logs with a configured log group.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "security_fixture.h"
#include "session_fill.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int Status(HttpClient& client, const HttpHeaders& headers) {
  return client.Post("/v1/parse", json::object{{"text", "where is my order"}}, headers).status;
}

class HardeningTest : public SecurityTest {
 protected:
  // The address the server recorded for the key's last request.
  std::string LastAddress(HttpClient& client, const std::string& admin, const std::string& key) {
    const HttpResult r = client.Get("/v1/admin/keys/" + IdOf(key), Bearer(admin));
    return std::string(r.Json().at("usage").at("last_used_address").as_string());
  }

  // A key allowed from 10.0.0.0/8 only: `ignored` naming 10.1.2.3 (the
  // client's own header) is refused, `configured` naming it is served from
  // there.
  void ExpectOnlyTheConfiguredHeaderReachesTheAllowlist(
      HttpClient& client, const std::string& admin,
      const std::pair<std::string, std::string>& ignored,
      const std::pair<std::string, std::string>& configured) {
    const std::string key =
        CreateKey(client, admin, "internal", "client", {{"allow", json::array{"10.0.0.0/8"}}});
    HttpHeaders spoofed = Bearer(key);
    spoofed.push_back(ignored);
    EXPECT_EQ(Status(client, spoofed), 403);
    HttpHeaders forwarded = Bearer(key);
    forwarded.push_back(configured);
    EXPECT_EQ(Status(client, forwarded), 200);
    EXPECT_EQ(LastAddress(client, admin, key), "10.1.2.3");
  }
};

// ---------------------------------------------------------------------------
// The client address behind a trusted proxy.

TEST_F(HardeningTest, ForwardedFromTheClientIsIgnoredWithTheDefaultHeader) {
  // nginx's usual configuration: it sets X-Forwarded-For and passes other
  // headers through, so a Forwarded header is the client's own.
  ServerProcess& server = StartServer({"--set", "security.trusted_proxies=127.0.0.1/32"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  for (const std::string spelling :
       {"for=127.0.0.1", "for=unknown", "for=_hidden", "for=\"[::1]\"", "for=\"[::1]:80\""}) {
    SCOPED_TRACE(spelling);
    // Served as an anonymous loopback client, it would be 200.
    EXPECT_EQ(Status(client, {{"Forwarded", spelling}}), 401);
  }
  ExpectOnlyTheConfiguredHeaderReachesTheAllowlist(client, admin, {"Forwarded", "for=10.1.2.3"},
                                                   {"X-Forwarded-For", "10.1.2.3"});
}

TEST_F(HardeningTest, UnknownAndObfuscatedHopsAreTheProxyNeverLoopback) {
  ServerProcess& server = StartServer({"--set", "security.trusted_proxies=127.0.0.1/32"});
  HttpClient client(server.port());
  // Without the configured header the proxy did not say who the client is.
  EXPECT_EQ(Status(client, {}), 401);
  for (const std::string spelling : {"unknown", "_hidden", "not-an-address", ""}) {
    SCOPED_TRACE(spelling);
    EXPECT_EQ(Status(client, {{"X-Forwarded-For", spelling}}), 401);
  }
  // A client's own X-Forwarded-For, with the proxy's hop appended on the right.
  EXPECT_EQ(Status(client, {{"X-Forwarded-For", "127.0.0.1, 203.0.113.9"}}), 401);
  EXPECT_EQ(Status(client, {{"X-Forwarded-For", "[::1], 203.0.113.9"}}), 401);
  // A client on the proxy's machine, named by the proxy.
  EXPECT_EQ(Status(client, {{"X-Forwarded-For", "127.0.0.1"}}), 200);
}

TEST_F(HardeningTest, ConfiguredForwardedHeaderIsWalkedFromTheRight) {
  ServerProcess& server = StartServer({"--set", "security.trusted_proxies=127.0.0.1/32", "--set",
                                       "security.proxy_header=forwarded"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  for (const std::string spelling : {"for=unknown", "for=_hidden", "for=\"_x:80\""}) {
    SCOPED_TRACE(spelling);
    EXPECT_EQ(Status(client, {{"Forwarded", spelling}}), 401);
  }
  EXPECT_EQ(Status(client, {{"Forwarded", "for=127.0.0.1, for=203.0.113.9"}}), 401);
  EXPECT_EQ(Status(client, {{"Forwarded", "for=\"[::1]\";proto=https"}}), 200);
  // X-Forwarded-For is now the client's own header.
  ExpectOnlyTheConfiguredHeaderReachesTheAllowlist(
      client, admin, {"X-Forwarded-For", "10.1.2.3"},
      {"Forwarded", "for=10.1.2.3;proto=http;by=127.0.0.1"});
}

TEST_F(HardeningTest, ChainsOfTrustedProxiesEndAtTheFirstUntrustedHop) {
  ServerProcess& server =
      StartServer({"--set", "security.trusted_proxies=127.0.0.1/32,192.0.2.0/24"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  // A key per chain: the last address a key was used from is recorded at
  // most once a second.
  const auto address_for = [&](const std::string& chain) {
    const std::string key = CreateKey(client, admin, "chain", "client");
    HttpHeaders headers = Bearer(key);
    headers.emplace_back("X-Forwarded-For", chain);
    EXPECT_EQ(Status(client, headers), 200) << chain;
    return LastAddress(client, admin, key);
  };
  EXPECT_EQ(address_for("203.0.113.9, 192.0.2.5"), "203.0.113.9");
  EXPECT_EQ(address_for("10.1.2.3, 203.0.113.9, 192.0.2.5"), "203.0.113.9");
  EXPECT_EQ(address_for("198.51.100.4:4711, 192.0.2.7"), "198.51.100.4");
  // The hop a trusted proxy could not name is that proxy.
  EXPECT_EQ(address_for("unknown, 192.0.2.5"), "192.0.2.5");
  EXPECT_EQ(address_for("_hidden"), "127.0.0.1");
}

// ---------------------------------------------------------------------------
// Session search cannot stall other clients.

// The p-th percentile (0..100) of `samples`, in milliseconds.
double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size(), std::max<size_t>(rank, 1)) - 1];
}

TEST_F(HardeningTest, SlowSearchesDoNotStallAnotherClientsChat) {
  // The attack of the review: anonymous (loopback) sessions holding 800
  // turns of 2,000 'a', searched for 'a's and a 'b' by four clients at once.
  // Rate limits are off, so that only the search's own bounds count.
  fs::create_directories(work_.path() / "data" / "sessions");
  FillSessions(work_.path() / "data" / "sessions" / "sessions.db", "attack", 40, 20,
               std::string(2000, 'a'));
  ServerProcess& server = StartServer(
      {"--set", "sessions.path=" + (work_.path() / "data" / "sessions" / "sessions.db").string(),
       "--set", "security.rate_limit_client=0"});
  const std::string admin = AdminKey();
  HttpClient setup(server.port());
  const std::string victim = CreateKey(setup, admin, "victim", "client");

  // Two attackers with the review's q of 2,000 characters, two with the
  // longest q the limit lets through, whose search runs.
  std::atomic<bool> stop{false};
  std::atomic<int> searches{0};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 4; ++i) {
    const size_t q_chars = i % 2 == 0 ? 2000 : 256;
    attackers.emplace_back([&, q_chars] {
      const std::string target = "/v1/sessions?limit=1000&q=" + std::string(q_chars - 1, 'a') + "b";
      HttpClient attacker(server.port(), "127.0.0.1", std::chrono::seconds(60));
      while (!stop) {
        try {
          if (attacker.Get(target).status == 200) ++searches;
        } catch (const std::exception&) {
          // A timeout is the attack succeeding; the chat's figures say so.
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(300));  // the searches are under way

  HttpClient chat(server.port());
  std::vector<double> latencies_ms;
  json::value session_id = nullptr;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < 200 && Clock::now() < deadline; ++i) {
    const Clock::time_point start = Clock::now();
    const HttpResult r = chat.Post(
        "/v1/chat", json::object{{"message", "where is my order"}, {"session_id", session_id}},
        Bearer(victim));
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    ASSERT_EQ(r.status, 200) << r.Describe();
    session_id = r.Json().at("session_id");
  }
  stop = true;
  for (std::thread& t : attackers) t.join();
  EXPECT_GT(searches.load(), 0);
  ASSERT_GE(latencies_ms.size(), 100u) << "chat requests were stalled";
  EXPECT_LT(Percentile(latencies_ms, 99), 50.0)
      << "chat p50 " << Percentile(latencies_ms, 50) << " ms, max " << Percentile(latencies_ms, 100)
      << " ms during " << searches << " searches";
}

TEST_F(HardeningTest, SearchTextLongerThanItsLimitIs400NamingTheParameter) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult r = client.Get("/v1/sessions?q=" + std::string(257, 'a'));
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(r.Json().at("error").at("code"), "bad_parameter");
  EXPECT_NE(r.body.find("q has 257 characters; the limit is 256"), std::string::npos)
      << r.Describe();
  EXPECT_EQ(client.Get("/v1/sessions?q=" + std::string(256, 'a')).status, 200);
}

// ---------------------------------------------------------------------------
// Public answers name states, not internals.

TEST_F(HardeningTest, HealthNamesADamagedModelWithoutPathsOrSourceLocations) {
  InstallSharedModel(work_.path());
  WriteStringToFile(work_.path() / "model" / "svm" / "manifest.json", "{\"format\": \"svm\",\n");
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpResult health = client.Get("/health");
  EXPECT_EQ(health.status, 503) << health.Describe();
  const json::value body = health.Json();
  EXPECT_EQ(body.at("model"), "damaged") << health.Describe();
  EXPECT_EQ(health.body.find('/'), std::string::npos) << health.Describe();
  EXPECT_EQ(health.body.find(".hpp"), std::string::npos) << health.Describe();
  // Operators see what is wrong, but no library's source location.
  const HttpResult model = client.Get("/v1/model", Bearer(AdminKey()));
  EXPECT_EQ(model.status, 503) << model.Describe();
  EXPECT_NE(model.body.find("manifest.json"), std::string::npos) << model.Describe();
  EXPECT_EQ(model.body.find(".hpp"), std::string::npos) << model.Describe();
  const std::string app_log = ReadFileToString(work_.path() / "logs" / "app.log");
  EXPECT_NE(app_log.find("manifest.json: damaged manifest"), std::string::npos);
  EXPECT_EQ(app_log.find(".hpp"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Private files.

mode_t Mode(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

TEST_F(HardeningTest, StateAndLogFilesArePrivateWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);  // the children inherit it
  ServerProcess& server = StartServer({"--set", "sessions.path=data/sessions/sessions.db"});
  ::umask(old_umask);
  HttpClient client(server.port());
  ASSERT_EQ(client.Post("/v1/chat", json::object{{"message", "hello"}}).status, 200);
  const fs::path root = work_.path();
  for (const fs::path& dir :
       {root / "data", root / "data" / "sessions", root / "data" / "security", root / "logs"}) {
    EXPECT_EQ(Mode(dir), 0700u) << dir;
  }
  for (const fs::path& file :
       {root / "data" / "sessions" / "sessions.db", root / "data" / "sessions" / "sessions.db-wal",
        root / "data" / "security" / "keys.db", root / "logs" / "app.log",
        root / "logs" / "api.log"}) {
    EXPECT_EQ(Mode(file), 0600u) << file;
  }
}

TEST_F(HardeningTest, LogsAreGroupReadableWithAConfiguredLogGroup) {
  const group* own = ::getgrgid(::getegid());
  ASSERT_NE(own, nullptr);
  const mode_t old_umask = ::umask(0);
  ServerProcess& server = StartServer({"--set", "sessions.path=data/sessions/sessions.db", "--set",
                                       std::string("logging.group=") + own->gr_name});
  ::umask(old_umask);
  HttpClient client(server.port());
  ASSERT_EQ(client.Get("/health").status, 200);
  EXPECT_EQ(Mode(work_.path() / "logs"), 0750u);
  EXPECT_EQ(Mode(work_.path() / "logs" / "app.log"), 0640u);
  EXPECT_EQ(Mode(work_.path() / "logs" / "api.log"), 0640u);
  EXPECT_EQ(Mode(work_.path() / "data" / "sessions" / "sessions.db"), 0600u);
}

}  // namespace
}  // namespace chatbot::testing
