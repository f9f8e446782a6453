// Three instances sharing PostgreSQL and Redis behind nginx (cluster.h,
// docs/scaling.md), real processes on loopback, one test per property:
//   - 50 sessions x 20 turns, every turn sent somewhere else than the one
//     before (instance 1, 2, 3 directly, or nginx): each turn is stored
//     once, in order, and every instance reads the same history;
//   - a key limited to R requests/s gets R across the three, not 3R;
//   - an instance killed with SIGKILL while clients chat through nginx: only
//     requests in flight at that moment fail, every acknowledged turn is in
//     the database, and the instance, started again, is sent requests;
//   - Redis stopped and started again while clients send requests: every
//     request is answered, under the local policy 200, under the closed
//     policy 200 or 503 with Retry-After, and both go back to Redis.
// Key revocation, lockdown and model reloads across instances are tested
// with the change propagation they rely on.
#include "cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ci_skip.h"
#include "http_client.h"
#include "store/postgres_session_store.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

HttpResult Chat(HttpClient& client, const std::string& session, const std::string& text) {
  json::object body{{"message", text}};
  if (!session.empty()) body["session_id"] = session;
  return client.Post("/v1/chat", body);
}

// The messages of a session's turns, in the order the store returns them.
std::vector<std::string> StoredMessages(const std::string& url, const std::string& session) {
  store::PostgresSessionStore store(
      db::PgOptions{.url = url, .pool_size = 1, .connect_timeout_ms = 5000});
  std::vector<std::string> messages;
  const auto stored = store.GetSession(session, true);
  if (!stored) return messages;
  for (const auto& turn : stored->turns) messages.push_back(turn.user_text);
  return messages;
}

// Runs `body(thread index)` on `n` threads and joins them.
template <typename Body>
void OnThreads(int n, Body body) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(body, i);
  for (std::thread& thread : threads) thread.join();
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
template <typename Done>
bool WaitUntil(Done done, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = Cluster::Unavailable(); !why.empty()) {
      CHATBOT_SKIP(why);
    }
  }
};

TEST_F(ClusterTest, EveryTurnOnAnotherInstanceIsStoredOnceInOrder) {
  Cluster cluster;
  constexpr int kSessions = 50;
  constexpr int kTurns = 20;
  constexpr int kThreads = 5;
  // Targets 0-2: the instances directly; 3: nginx.
  const int targets = cluster.size() + 1;
  const auto text_of = [](int session, int turn) {
    return "session " + std::to_string(session) + " turn " + std::to_string(turn) +
           (turn % 2 == 0 ? ": where is my order" : ": can i pay with paypal");
  };

  std::vector<std::string> ids(kSessions);
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  // Each thread advances its sessions together, a turn each in turn, so
  // that turns of different sessions interleave on every instance.
  OnThreads(kThreads, [&](int thread) {
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int t = 0; t < targets; ++t) clients.push_back(cluster.Connect(t));
    for (int turn = 0; turn < kTurns; ++turn) {
      for (int s = thread; s < kSessions; s += kThreads) {
        const int target = (s + turn) % targets;
        try {
          const HttpResult r = Chat(*clients[target], ids[s], text_of(s, turn));
          if (r.status == 200 && r.Json().at("turn").to_number<int>() == turn + 1) {
            ids[s] = std::string(r.Json().at("session_id").as_string());
            continue;
          }
          std::lock_guard lock(failures_mutex);
          failures.push_back("session " + std::to_string(s) + " turn " + std::to_string(turn) +
                             " on target " + std::to_string(target) + ": " + r.Describe());
        } catch (const std::exception& e) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(e.what());
        }
        return;  // the session cannot go on
      }
    }
  });
  ASSERT_TRUE(failures.empty()) << failures.size() << " failed; first: " << failures.front()
                                << cluster.Describe();

  std::vector<std::unique_ptr<HttpClient>> readers;
  for (int t = 0; t < targets; ++t) readers.push_back(cluster.Connect(t));
  for (int s = 0; s < kSessions; ++s) {
    std::vector<std::string> expected;
    for (int turn = 0; turn < kTurns; ++turn) expected.push_back(text_of(s, turn));
    // In the database: each turn once, in the order it was sent.
    ASSERT_EQ(StoredMessages(cluster.database_url(), ids[s]), expected) << "session " << s;
    // Every instance (and nginx) reads the same history.
    json::value first;
    for (int t = 0; t < targets; ++t) {
      const HttpResult r = readers[t]->Get("/v1/sessions/" + ids[s]);
      ASSERT_EQ(r.status, 200) << r.Describe();
      const json::value turns = r.Json().at("turns");
      ASSERT_EQ(turns.as_array().size(), static_cast<size_t>(kTurns)) << r.Describe();
      for (int turn = 0; turn < kTurns; ++turn) {
        EXPECT_EQ(turns.at(turn).at("turn"), turn + 1);
        EXPECT_EQ(turns.at(turn).at("message").as_string(), expected[turn]);
      }
      if (t == 0) {
        first = turns;
      } else {
        EXPECT_EQ(turns, first) << "session " << s << " read on target " << t;
      }
    }
  }
}

TEST_F(ClusterTest, AKeysRateLimitIsOneLimitForTheWholeCluster) {
  // The other instances refuse the new key (401) until they have read it:
  // more of those than one address may make per minute while the test
  // waits for that must not lock its clients out.
  Cluster cluster({.instance_args = {"--set", "security.auth_failures_per_minute=100000"}});
  constexpr int kRate = 40;  // requests per second
  constexpr auto kWindow = std::chrono::seconds(4);
  const HttpResult created = cluster.Connect(0)->Post(
      "/v1/admin/keys",
      json::object{
          {"name", "limited"}, {"role", "client"}, {"rate_limit", kRate}, {"burst", kRate}},
      {{"Authorization", "Bearer " + cluster.AdminKey()}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const HttpHeaders bearer{
      {"Authorization", "Bearer " + std::string(created.Json().at("key").as_string())}};
  const json::object parse{{"text", "where is my order"}};

  for (int i = 0; i < cluster.size(); ++i) {
    const auto client = cluster.Connect(i);
    EXPECT_TRUE(WaitUntil([&] { return client->Post("/v1/parse", parse, bearer).status != 401; },
                          std::chrono::seconds(5)))
        << "instance " << i + 1 << " does not know the key";
  }

  // Empty the bucket first, so that the window counts the refill rate only.
  const auto drain = cluster.Connect(0);
  for (int i = 0; i < 10 * kRate; ++i) {
    if (drain->Post("/v1/parse", parse, bearer).status == 429) break;
  }

  // One client per instance, each as fast as it can: R per second in all
  // if the instances share the bucket, 3R if each had its own.
  std::vector<int> allowed(cluster.size(), 0);
  std::vector<int> other(cluster.size(), 0);
  const Clock::time_point end = Clock::now() + kWindow;
  OnThreads(cluster.size(), [&](int i) {
    const auto client = cluster.Connect(i);
    while (Clock::now() < end) {
      const int status = client->Post("/v1/parse", parse, bearer).status;
      if (status == 200) {
        ++allowed[i];
      } else if (status != 429) {
        ++other[i];
      }
    }
  });
  const int total = allowed[0] + allowed[1] + allowed[2];
  const double expected = kRate * std::chrono::duration<double>(kWindow).count();
  EXPECT_GE(total, 0.9 * expected) << allowed[0] << " + " << allowed[1] << " + " << allowed[2];
  EXPECT_LE(total, 1.1 * expected) << allowed[0] << " + " << allowed[1] << " + " << allowed[2];
  for (int i = 0; i < cluster.size(); ++i) {
    EXPECT_GT(allowed[i], 0) << "instance " << i + 1 << " admitted nothing";
    EXPECT_EQ(other[i], 0) << "instance " << i + 1 << " answered neither 200 nor 429";
  }
}

// One chat request a client made, as the client saw it.
struct Request {
  Clock::time_point start, end;
  std::string message;
  int status = 0;  // 0: no answer (a network error)
};

TEST_F(ClusterTest, AKilledInstanceFailsOnlyItsRequestsInFlightAndRejoins) {
  Cluster cluster;
  constexpr int kClients = 6;
  std::vector<std::string> sessions(kClients);
  {
    const auto client = cluster.Connect(cluster.size());
    for (std::string& session : sessions) {
      const HttpResult r = Chat(*client, "", "hello");
      ASSERT_EQ(r.status, 200) << r.Describe();
      session = std::string(r.Json().at("session_id").as_string());
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::vector<Request>> requests(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const auto client = cluster.Connect(cluster.size(), std::chrono::seconds(10));
      for (int i = 0; !stop.load(); ++i) {
        Request request{
            Clock::now(),
            {},
            "client " + std::to_string(c) + " turn " + std::to_string(i) + ": where is my order"};
        try {
          request.status = Chat(*client, sessions[c], request.message).status;
        } catch (const std::exception&) {
          request.status = 0;
        }
        request.end = Clock::now();
        requests[c].push_back(request);
        ++answered;
      }
    });
  }
  const auto wait_for_answers = [&](int n) {
    const int target = answered.load() + n;
    return WaitUntil([&] { return answered.load() >= target; }, std::chrono::seconds(30));
  };

  EXPECT_TRUE(wait_for_answers(60));
  const Clock::time_point kill_start = Clock::now();
  cluster.instance(1).Kill();  // SIGKILL, and reaped: its sockets are closed
  const Clock::time_point kill_end = Clock::now();
  EXPECT_TRUE(wait_for_answers(100));

  // Started again on its port: nginx tries it again after fail_timeout
  // (5 s) and it takes its share.
  const size_t logged = Lines(ReadFileIfExists(cluster.ApiLog(1))).size();
  cluster.Restart(1);
  const bool rejoined =
      WaitUntil([&] { return Lines(ReadFileIfExists(cluster.ApiLog(1))).size() > logged + 5; },
                std::chrono::seconds(20));
  stop = true;
  for (std::thread& client : clients) client.join();
  EXPECT_TRUE(rejoined) << "the restarted instance got no requests within 20 s\n"
                        << cluster.nginx().ErrorLog();

  int in_flight = 0;
  int failed = 0;
  for (int c = 0; c < kClients; ++c) {
    for (const Request& r : requests[c]) {
      const bool during_kill = r.start < kill_end && r.end > kill_start;
      in_flight += during_kill ? 1 : 0;
      if (r.status == 200) continue;
      ++failed;
      EXPECT_TRUE(during_kill) << "client " << c << ": '" << r.message << "' got " << r.status
                               << ", not in flight when the instance was killed";
      // nginx's answer for a turn cut off with its instance.
      EXPECT_TRUE(r.status == 503 || r.status == 0) << r.status;
    }
  }
  EXPECT_LE(failed, in_flight);

  // Every acknowledged turn is in the database, once, in the client's order
  // (a failed turn may be there too: it may have been committed).
  for (int c = 0; c < kClients; ++c) {
    const std::vector<std::string> stored = StoredMessages(cluster.database_url(), sessions[c]);
    auto next = stored.begin();
    for (const Request& r : requests[c]) {
      if (r.status != 200) continue;
      next = std::find(next, stored.end(), r.message);
      ASSERT_NE(next, stored.end()) << "client " << c << ": '" << r.message
                                    << "' was acknowledged but is not stored (in order)";
      EXPECT_EQ(std::count(stored.begin(), stored.end(), r.message), 1) << r.message;
    }
  }
}

// Redis stopped and started again while three clients send requests, to
// each instance directly and through nginx.
class ClusterRedisTest : public ClusterTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ClusterRedisTest, AnswersThroughARedisOutage) {
  const std::string policy = GetParam();
  // A limit high enough never to refuse: every request asks Redis.
  Cluster cluster({.redis_down_policy = policy,
                   .instance_args = {"--set", "security.rate_limit_anonymous=100000"}});
  const json::object parse{{"text", "where is my order"}};

  std::atomic<bool> stop{false};
  std::atomic<bool> redis_down{false};
  std::atomic<int> answered{0}, refused_while_down{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  const auto fail = [&](const std::string& what) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(what);
  };
  std::vector<std::thread> clients;
  for (int c = 0; c <= cluster.size(); ++c) {
    clients.emplace_back([&, c] {
      const auto client = cluster.Connect(c, std::chrono::seconds(5));
      while (!stop.load()) {
        const Clock::time_point start = Clock::now();
        try {
          const HttpResult r = client->Post("/v1/parse", parse);
          const auto took = Clock::now() - start;
          if (took > std::chrono::seconds(1)) fail("answered after more than 1 s");
          if (r.status == 503 && policy == "closed" &&
              r.Json().at("error").at("code") == "rate_limiter_unavailable" &&
              r.Header("retry-after") == "1") {
            if (redis_down.load()) ++refused_while_down;
          } else if (r.status != 200) {
            fail(r.Describe());
          }
        } catch (const std::exception& e) {
          fail(e.what());
        }
        ++answered;
      }
    });
  }
  const auto wait_for_answers = [&](int n) {
    const int target = answered.load() + n;
    return WaitUntil([&] { return answered.load() >= target; }, std::chrono::seconds(30));
  };

  EXPECT_TRUE(wait_for_answers(50));
  redis_down = true;
  cluster.redis().Stop();
  EXPECT_TRUE(wait_for_answers(200));
  redis_down = false;
  cluster.redis().Start();
  // Back on Redis by themselves: the buckets are Redis keys again.
  const bool back = WaitUntil(
      [&] {
        const std::string keys = cluster.redis().Command("DBSIZE");
        return keys.size() > 1 && keys != ":0";
      },
      std::chrono::seconds(10));
  EXPECT_TRUE(wait_for_answers(100));
  stop = true;
  for (std::thread& client : clients) client.join();

  EXPECT_TRUE(back) << "no instance went back to Redis";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << answered.load()
                                << " requests failed; first: " << failures.front();
  if (policy == "closed") {
    EXPECT_GT(refused_while_down.load(), 0) << "the closed policy admitted everything";
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, ClusterRedisTest, ::testing::Values("local", "closed"));

}  // namespace
}  // namespace chatbot::testing
