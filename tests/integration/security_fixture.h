// What the security integration tests share: a fixture that starts the real
// `chatbot serve` in a fresh directory, reads its first admin key, creates
// keys through the admin API, runs the `chatbot keys`/`lockdown` commands,
// and after every test checks that no key it saw reached any log; and the
// helpers to send a parse request and read an error's code.
#ifndef CHATBOT_TESTS_INTEGRATION_SECURITY_FIXTURE_H_
#define CHATBOT_TESTS_INTEGRATION_SECURITY_FIXTURE_H_

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SharedTrainedModel(); }

  void SetUp() override {
    const SharedModel& model = SharedTrainedModel();
    ASSERT_TRUE(model.ok) << "training the shared model failed:\n"
                          << model.training.out << "\n"
                          << model.training.err;
  }

  void TearDown() override {
    for (auto& server : servers_) {
      if (server->running()) server->Terminate();
    }
    ExpectNoSecretInLogs();
  }

  ServerProcess& StartServer(const std::vector<std::string>& extra_args = {}) {
    if (!std::filesystem::exists(work_.path() / "model" / "svm")) InstallSharedModel(work_.path());
    auto server = std::make_unique<ServerProcess>(ServerOptions{work_.path(), extra_args, {}});
    server->Start();
    servers_.push_back(std::move(server));
    return *servers_.back();
  }

  std::filesystem::path AdminKeyFile() const {
    return work_.path() / "data" / "security" / "admin.key";
  }

  // The first admin key, as serve wrote it.
  std::string AdminKey() {
    std::string key = ReadFileToString(AdminKeyFile());
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    Remember(key);
    return key;
  }

  static HttpHeaders Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  // Creates a key through the admin API; returns the whole key.
  std::string CreateKey(HttpClient& client, const std::string& admin, const std::string& name,
                        const std::string& role, boost::json::object extra = {}) {
    extra["name"] = name;
    extra["role"] = role;
    const HttpResult r = client.Post("/v1/admin/keys", extra, Bearer(admin));
    EXPECT_EQ(r.status, 201) << r.Describe();
    if (r.status != 201) return "";
    const std::string key(r.Json().at("key").as_string());
    Remember(key);
    return key;
  }

  // "cbk_<id>_<secret>" -> "<id>".
  static std::string IdOf(const std::string& key) {
    return key.size() > 20 ? key.substr(4, 16) : "";
  }

  // `chatbot ARGS...` in the server's directory with the server's logs.
  ProcessResult Cli(std::vector<std::string> args) {
    ProcessOptions options;
    options.program = CHATBOT_BINARY;
    args.insert(args.end(), {"--set", "paths.logs=" + (work_.path() / "logs").string()});
    options.args = std::move(args);
    options.working_directory = work_.path();
    options.timeout = std::chrono::seconds(60);
    ProcessResult result = RunProcess(options);
    // Whatever the command printed that looks like a key is a secret too.
    static const std::regex kKey("cbk_[0-9a-f]{16}_[0-9A-Za-z]{43}");
    for (const std::string* text : {&result.out, &result.err}) {
      for (std::sregex_iterator it(text->begin(), text->end(), kKey), end; it != end; ++it) {
        Remember(it->str());
      }
    }
    return result;
  }

  void Remember(const std::string& key) {
    if (!key.empty()) secrets_.push_back(key);
  }

  // No key seen during the test, nor anything shaped like one, is in a log
  // or in what the servers printed.
  void ExpectNoSecretInLogs() {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(work_.path() / "logs", error)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    for (const char* name : {"serve.stdout", "serve.stderr"}) {
      if (std::filesystem::exists(work_.path() / name)) files.push_back(work_.path() / name);
    }
    static const std::regex kKey("cbk_[0-9a-f]{16}_[0-9A-Za-z]{43}");
    for (const auto& file : files) {
      const std::string text = ReadFileToString(file);
      EXPECT_FALSE(std::regex_search(text, kKey)) << "a key in " << file;
      for (const std::string& key : secrets_) {
        // The secret part alone is the secret.
        const std::string secret = key.size() > 21 ? key.substr(21) : key;
        EXPECT_EQ(text.find(secret), std::string::npos) << "a secret in " << file;
      }
    }
  }

  TempDir work_{"chatbot-security"};
  std::vector<std::string> secrets_;
  // Declared after work_: the servers end before their directory goes.
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

// The error code of an error answer ("" for any other answer).
inline std::string Code(const HttpResult& r) {
  boost::system::error_code error;
  const boost::json::value v = boost::json::parse(r.body, error);
  if (error || !v.is_object() || !v.as_object().contains("error")) return "";
  return std::string(v.at("error").at("code").as_string());
}

// POST /v1/parse with a fixed text.
inline HttpResult Parse(HttpClient& client, const HttpHeaders& headers = {}) {
  return client.Post("/v1/parse", boost::json::object{{"text", "where is my order"}}, headers);
}

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_SECURITY_FIXTURE_H_
