// Checks the examples of docs/api.md against the real server: every ```http
// block (a "METHOD TARGET" line, optional header lines, a blank line and a
// body) followed by a "Response NNN:" line and a ```json block is sent, in
// the order of the document, to one fresh `chatbot serve` with the default
// domain's model. The response must have the documented status, every
// documented key (recursively; for arrays, the first element's keys in the
// actual first element) with a value of the same JSON kind, no key that no
// example of the same endpoint (method and path) documents (recursively, in
// every array element), and the same
// values for "intent", "out_of_scope", "code" and "status" at the top level,
// inside "error" and inside each element of "results".
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "http_client.h"
#include "process_runner.h"
#include "server_process.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kApiDoc = fs::path(CHATBOT_SOURCE_DIR) / "docs" / "api.md";

struct Example {
  int line = 0;  // of the ```http fence, 1-based
  std::string method;
  std::string target;
  HttpHeaders headers;
  std::string body;
  int status = 0;
  int json_line = 0;
  json::value response;
};

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string Where(int line) {
  return "docs/api.md:" + std::to_string(line);
}

// Parses the examples; a malformed one is a test failure naming its line.
std::vector<Example> ParseExamples(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  static const std::regex kRequestLine(R"(([A-Z]+) (\S+)( HTTP/1\.1)?)");
  static const std::regex kHeaderLine(R"(([A-Za-z0-9-]+):\s*(.*))");
  static const std::regex kResponseLine(R"(Response (\d{3}):)");

  std::vector<Example> examples;
  size_t i = 0;
  // The index of the next non-blank line from `from`.
  const auto next_non_blank = [&](size_t from) {
    while (from < lines.size() && Trim(lines[from]).empty()) ++from;
    return from;
  };
  while (i < lines.size()) {
    if (Trim(lines[i]) != "```http") {
      ++i;
      continue;
    }
    Example example;
    example.line = static_cast<int>(i + 1);
    size_t end = i + 1;
    while (end < lines.size() && Trim(lines[end]) != "```") ++end;
    if (end == lines.size()) {
      ADD_FAILURE() << Where(example.line) << ": unterminated ```http block";
      break;
    }
    std::vector<std::string> block(lines.begin() + static_cast<long>(i) + 1,
                                   lines.begin() + static_cast<long>(end));
    i = end + 1;
    std::smatch match;
    if (block.empty() || !std::regex_match(block[0], match, kRequestLine)) {
      ADD_FAILURE() << Where(example.line) << ": the first line is not 'METHOD TARGET'";
      continue;
    }
    example.method = match[1];
    example.target = match[2];
    size_t k = 1;
    for (; k < block.size() && !Trim(block[k]).empty(); ++k) {
      if (!std::regex_match(block[k], match, kHeaderLine)) {
        ADD_FAILURE() << Where(example.line + static_cast<int>(k) + 1)
                      << ": not a header line: " << block[k];
        continue;
      }
      example.headers.emplace_back(match[1], Trim(match[2]));
    }
    std::string body;
    for (++k; k < block.size(); ++k) body += block[k] + "\n";
    example.body = Trim(body);

    const size_t response = next_non_blank(i);
    const std::string response_line = response < lines.size() ? Trim(lines[response]) : "";
    if (!std::regex_match(response_line, match, kResponseLine)) {
      ADD_FAILURE() << Where(example.line) << ": no 'Response NNN:' line after the request";
      continue;
    }
    example.status = std::stoi(match[1]);
    const size_t fence = next_non_blank(response + 1);
    if (fence == lines.size() || Trim(lines[fence]) != "```json") {
      ADD_FAILURE() << Where(static_cast<int>(response + 1))
                    << ": no ```json block after the Response line";
      continue;
    }
    size_t json_end = fence + 1;
    std::string json_text;
    while (json_end < lines.size() && Trim(lines[json_end]) != "```") {
      json_text += lines[json_end] + "\n";
      ++json_end;
    }
    example.json_line = static_cast<int>(fence + 1);
    i = json_end + 1;
    boost::system::error_code error;
    example.response = json::parse(json_text, error);
    if (error) {
      ADD_FAILURE() << Where(example.json_line) << ": the documented response is not JSON ("
                    << error.message() << ")";
      continue;
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "?";
}

// Documented keys missing from `actual`, or of another kind; documented null
// stands for any value.
void CompareShape(const json::value& documented, const json::value& actual, const std::string& path,
                  std::vector<std::string>* problems) {
  if (documented.is_null()) return;
  if (std::string(KindName(documented)) != KindName(actual)) {
    problems->push_back(path + ": documented as " + KindName(documented) + ", got " +
                        KindName(actual) + " " + json::serialize(actual));
    return;
  }
  if (documented.is_object()) {
    for (const auto& [key, value] : documented.as_object()) {
      const std::string child = path + "." + std::string(key);
      const json::value* member = actual.as_object().if_contains(key);
      if (member == nullptr) {
        problems->push_back(child + ": missing");
        continue;
      }
      CompareShape(value, *member, child, problems);
    }
  } else if (documented.is_array() && !documented.as_array().empty()) {
    if (actual.as_array().empty()) {
      problems->push_back(path + ": documented with elements, got an empty array");
      return;
    }
    CompareShape(documented.as_array()[0], actual.as_array()[0], path + "[0]", problems);
  }
}

// The documented values of "intent", "out_of_scope", "code" and "status" in
// `documented` (an object) must be the actual ones.
void CompareValues(const json::value& documented, const json::value& actual,
                   const std::string& path, std::vector<std::string>* problems) {
  if (!documented.is_object() || !actual.is_object()) return;
  for (const char* key : {"intent", "out_of_scope", "code", "status"}) {
    const json::value* want = documented.as_object().if_contains(key);
    const json::value* got = actual.as_object().if_contains(key);
    if (want == nullptr || got == nullptr) continue;  // a missing key is reported already
    if (*want != *got) {
      problems->push_back(path + "." + key + ": documented " + json::serialize(*want) + ", got " +
                          json::serialize(*got));
    }
  }
}

// Adds the keys documented in `more` to `shape` (objects merged key by key,
// array elements merged into one); null, documented anywhere, stands for any
// value.
void MergeShape(json::value* shape, const json::value& more) {
  if (shape->is_null()) return;
  if (more.is_null()) {
    *shape = nullptr;
  } else if (shape->is_object() && more.is_object()) {
    for (const auto& [key, value] : more.as_object()) {
      json::object& object = shape->as_object();
      if (json::value* existing = object.if_contains(key)) {
        MergeShape(existing, value);
      } else {
        object[key] = value;
      }
    }
  } else if (shape->is_array() && more.is_array()) {
    for (const json::value& element : more.as_array()) {
      json::array& array = shape->as_array();
      if (array.empty()) {
        array.push_back(element);
      } else {
        MergeShape(&array[0], element);
      }
    }
    json::array& array = shape->as_array();
    if (array.size() > 1) array.resize(1);
  }
}

// Keys of `actual` (recursively, in every array element) that `shape` does
// not document.
void CheckDocumented(const json::value& shape, const json::value& actual, const std::string& path,
                     std::vector<std::string>* problems) {
  if (shape.is_object() && actual.is_object()) {
    for (const auto& [key, value] : actual.as_object()) {
      const std::string child = path + "." + std::string(key);
      const json::value* documented = shape.as_object().if_contains(key);
      if (documented == nullptr) {
        problems->push_back(child + ": sent but not documented (" + json::serialize(value) + ")");
      } else {
        CheckDocumented(*documented, value, child, problems);
      }
    }
  } else if (shape.is_array() && actual.is_array() && !shape.as_array().empty()) {
    const json::array& elements = actual.as_array();
    for (size_t i = 0; i < elements.size(); ++i) {
      CheckDocumented(shape.as_array()[0], elements[i], path + "[" + std::to_string(i) + "]",
                      problems);
    }
  }
}

// The endpoint of an example: method and path, without the query.
std::string Endpoint(const Example& example) {
  return example.method + " " + example.target.substr(0, example.target.find('?'));
}

void CompareExample(const json::value& documented, const json::value& actual,
                    std::vector<std::string>* problems) {
  CompareShape(documented, actual, "$", problems);
  CompareValues(documented, actual, "$", problems);
  if (!documented.is_object() || !actual.is_object()) return;
  const json::object& want = documented.as_object();
  const json::object& got = actual.as_object();
  if (want.contains("error") && got.contains("error")) {
    CompareValues(want.at("error"), got.at("error"), "$.error", problems);
  }
  if (want.contains("results") && got.contains("results") && want.at("results").is_array() &&
      got.at("results").is_array()) {
    const json::array& want_results = want.at("results").as_array();
    const json::array& got_results = got.at("results").as_array();
    if (want_results.size() != got_results.size()) {
      problems->push_back("$.results: documented " + std::to_string(want_results.size()) +
                          " results, got " + std::to_string(got_results.size()));
    }
    for (size_t i = 0; i < want_results.size() && i < got_results.size(); ++i) {
      const std::string path = "$.results[" + std::to_string(i) + "]";
      CompareShape(want_results[i], got_results[i], path, problems);
      CompareValues(want_results[i], got_results[i], path, problems);
    }
  }
}

TEST(ApiDocsTest, ParserFindsRequestsResponsesAndBodies) {
  const std::vector<Example> examples = ParseExamples(
      "text\n```http\nPOST /v1/x\nContent-Type: application/json\n\n{\"a\": 1}\n```\n"
      "Response 201:\n```json\n{\"b\": [1]}\n```\n\n```http\nGET /y\n```\n\nResponse 404:\n\n"
      "```json\n{}\n```\n```json\n{\"ignored\": true}\n```\n");
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].line, 2);
  EXPECT_EQ(examples[0].method, "POST");
  EXPECT_EQ(examples[0].target, "/v1/x");
  ASSERT_EQ(examples[0].headers.size(), 1u);
  EXPECT_EQ(examples[0].headers[0].second, "application/json");
  EXPECT_EQ(examples[0].body, "{\"a\": 1}");
  EXPECT_EQ(examples[0].status, 201);
  EXPECT_EQ(examples[1].method, "GET");
  EXPECT_EQ(examples[1].body, "");
  EXPECT_EQ(examples[1].status, 404);

  std::vector<std::string> problems;
  CompareExample(json::parse(R"({"a": {"b": 1, "c": [{"d": "x"}]}, "status": "ok"})"),
                 json::parse(R"({"a": {"b": 2, "c": [{"e": 1}]}, "status": "down"})"), &problems);
  EXPECT_EQ(problems.size(), 2u);  // $.a.c[0].d missing; $.status differs

  // Keys sent must be documented by some example of the endpoint.
  json::value shape = json::parse(R"({"a": {"b": 1}, "c": [{"d": 1}]})");
  MergeShape(&shape, json::parse(R"({"a": {"x": 1}, "c": [{"e": 1}], "n": null})"));
  problems.clear();
  CheckDocumented(shape, json::parse(R"({"a": {"b": 1, "x": 2, "y": 3}, "c": [{"d": 1}, {"f": 1}],
                                         "n": {"anything": 1}, "z": 0})"),
                  "$", &problems);
  EXPECT_EQ(problems.size(), 3u);  // $.a.y, $.c[1].f, $.z
}

TEST(ApiDocsTest, EveryExampleMatchesTheServer) {
  const SharedModel& model = SharedTrainedModel();
  ASSERT_TRUE(model.ok) << "training the shared model failed:\n"
                        << model.training.out << "\n"
                        << model.training.err;
  const std::vector<Example> examples = ParseExamples(ReadFileToString(kApiDoc));
  ASSERT_GE(examples.size(), 10u) << "too few examples found in " << kApiDoc;

  // What each endpoint documents, over all its examples.
  std::map<std::string, json::value> shapes;
  for (const Example& example : examples) {
    auto [it, added] = shapes.try_emplace(Endpoint(example), example.response);
    if (!added) MergeShape(&it->second, example.response);
  }

  TempDir work("chatbot-api-docs");
  InstallSharedModel(work.path());
  ServerProcess server(ServerOptions{work.path(), {}, {}});
  server.Start();
  HttpClient client(server.port());
  // ${ADMIN_KEY} in an example is the admin key the server made at its
  // first start (docs/security.md).
  std::string admin_key = ReadFileToString(work.path() / "data" / "security" / "admin.key");
  while (!admin_key.empty() && admin_key.back() == '\n') admin_key.pop_back();
  const auto substitute = [&](std::string text) {
    for (size_t at; (at = text.find("${ADMIN_KEY}")) != std::string::npos;) {
      text.replace(at, 12, admin_key);
    }
    return text;
  };
  for (const Example& example : examples) {
    SCOPED_TRACE(Where(example.line) + ": " + example.method + " " + example.target);
    HttpHeaders headers = example.headers;
    for (auto& header : headers) header.second = substitute(header.second);
    HttpResult result;
    try {
      result = client.Send(example.method, example.target, example.body, headers);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    EXPECT_EQ(result.status, example.status) << result.Describe();
    EXPECT_FALSE(result.Header("x-request-id").empty()) << result.Describe();
    boost::system::error_code error;
    const json::value actual = json::parse(result.body, error);
    if (error) {
      ADD_FAILURE() << "the response is not JSON: " << result.Describe();
      continue;
    }
    std::vector<std::string> problems;
    CompareExample(example.response, actual, &problems);
    CheckDocumented(shapes.at(Endpoint(example)), actual, "$", &problems);
    for (const std::string& problem : problems) {
      ADD_FAILURE() << problem << "\n(documented at " << Where(example.json_line)
                    << ")\nactual: " << result.body;
    }
  }
  EXPECT_EQ(server.Terminate(), 0) << server.Describe();
}

}  // namespace
}  // namespace chatbot::testing
