// What the HTTP API integration tests share (api_test.cc,
// api_durability_test.cc): JSON helpers that fail the test rather than
// throw, the checks every response and every error must pass, and a
// fixture that starts the real `chatbot serve` (server_process.h) in a
// fresh temporary directory with a copy of the model trained once per test
// binary.
#ifndef CHATBOT_TESTS_INTEGRATION_API_FIXTURE_H_
#define CHATBOT_TESTS_INTEGRATION_API_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// JSON helpers that fail the test (rather than throw) on a missing key or a
// wrong type, so that one bad response does not hide the other checks.

inline const json::value& At(const json::value& v, std::string_view key) {
  static const json::value kNull;
  const json::object* object = v.if_object();
  if (object == nullptr) {
    ADD_FAILURE() << "not a JSON object (looking for '" << key << "'): " << json::serialize(v);
    return kNull;
  }
  const json::value* member = object->if_contains(key);
  if (member == nullptr) {
    ADD_FAILURE() << "no key '" << key << "' in " << json::serialize(v);
    return kNull;
  }
  return *member;
}

inline const json::value& At(const json::value& v, size_t index) {
  static const json::value kNull;
  const json::array* array = v.if_array();
  if (array == nullptr || index >= array->size()) {
    ADD_FAILURE() << "no element " << index << " in " << json::serialize(v);
    return kNull;
  }
  return (*array)[index];
}

inline std::string Str(const json::value& v) {
  if (const json::string* s = v.if_string()) return std::string(*s);
  return "<not a string: " + json::serialize(v) + ">";
}

inline double Num(const json::value& v) {
  if (!v.is_number()) {
    ADD_FAILURE() << "not a number: " << json::serialize(v);
    return std::nan("");
  }
  return v.to_number<double>();
}

inline int64_t Int(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.as_uint64());
  ADD_FAILURE() << "not an integer: " << json::serialize(v);
  return -1;
}

inline bool Bool(const json::value& v) {
  if (!v.is_bool()) ADD_FAILURE() << "not a boolean: " << json::serialize(v);
  return v.is_bool() && v.as_bool();
}

inline size_t Size(const json::value& v) {
  if (!v.is_array()) {
    ADD_FAILURE() << "not an array: " << json::serialize(v);
    return 0;
  }
  return v.as_array().size();
}

// The response body as JSON, or null (with a test failure) when it is not.
inline json::value Body(const HttpResult& r) {
  boost::system::error_code error;
  json::value v = json::parse(r.body, error);
  if (error) {
    ADD_FAILURE() << "the body is not JSON: " << r.Describe();
    return nullptr;
  }
  return v;
}

// What every response must have: a JSON content type (but for HEAD) and an
// X-Request-ID.
inline void ExpectCommonHeaders(const HttpResult& r) {
  EXPECT_FALSE(r.Header("x-request-id").empty()) << "no X-Request-ID: " << r.Describe();
  if (!r.body.empty()) {
    EXPECT_THAT(r.Header("content-type"), HasSubstr("application/json")) << r.Describe();
  }
}

// An error response: the status, {"error": {"code", "message"}} and the
// common headers.
inline void ExpectError(const HttpResult& r, int status, const std::string& code,
                        const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.status, status) << r.Describe();
  ExpectCommonHeaders(r);
  const json::value body = Body(r);
  EXPECT_EQ(Str(At(At(body, "error"), "code")), code) << r.Describe();
  EXPECT_FALSE(Str(At(At(body, "error"), "message")).empty()) << r.Describe();
}

// Flips every bit of the byte at `offset` of `path`.
inline void FlipByte(const fs::path& path, size_t offset) {
  std::string contents = ReadFileToString(path);
  ASSERT_LT(offset, contents.size());
  contents[offset] = static_cast<char>(~static_cast<unsigned char>(contents[offset]));
  WriteStringToFile(path, contents);
}

inline std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

inline json::value ParseFile(const fs::path& path) {
  return json::parse(ReadFileToString(path));
}

// ---------------------------------------------------------------------------

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SharedTrainedModel(); }

  void SetUp() override {
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << "training the shared model failed: exit code "
                          << model.training.exit_code << "\n"
                          << model.training.out << "\n"
                          << model.training.err;
  }

  // Starts a server in `dir` (default: work_), installing the shared model
  // first unless the directory has one. Throws (failing the test with the
  // server's output) when it does not start.
  ServerProcess& StartServer(const std::vector<std::string>& extra_args = {},
                             const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    if (!fs::exists(where / "model" / "svm")) InstallSharedModel(where);
    auto server = std::make_unique<ServerProcess>(ServerOptions{where, extra_args, {}});
    server->Start();
    servers_.push_back(std::move(server));
    return *servers_.back();
  }

  // The model endpoints need an operator (docs/security.md): the admin key
  // the server in `dir` (default: work_) made at its first start.
  HttpHeaders AdminHeaders(const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    std::string key = ReadFileToString(where / "data" / "security" / "admin.key");
    while (!key.empty() && key.back() == '\n') key.pop_back();
    return {{"Authorization", "Bearer " + key}};
  }

  std::string ManifestVersion(const fs::path& dir = {}) {
    const fs::path where = dir.empty() ? work_.path() : dir;
    return Str(At(ParseFile(where / "model" / "svm" / "manifest.json"), "version"));
  }

  // POST /v1/chat; an empty session id starts a new session.
  static HttpResult Chat(HttpClient& client, const std::string& session_id,
                         const std::string& message, const HttpHeaders& headers = {}) {
    json::object body{{"message", message}};
    if (!session_id.empty()) body["session_id"] = session_id;
    return client.Post("/v1/chat", body, headers);
  }

  TempDir work_{"chatbot-api"};
  // Declared after work_: the servers end before their directories go.
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_API_FIXTURE_H_
