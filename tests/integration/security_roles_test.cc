// Checks every cell of the role table in docs/security.md against the real
// server: for each endpoint and each caller (no key from this machine, a
// client, an operator and an admin key), the request is sent as the table's
// row says and the answer must match the cell:
//   yes  the role check lets it through: not 401, 403 or 503 (the endpoint
//        may still answer 400/404/422 for the minimal request sent);
//   no   403 "forbidden";
//   own  the caller's own session is served (200), another's is 404
//        "session_not_found", and a listing holds its own and no other;
//   all  another's session is served, and a listing holds it.
// {key} in a path is a fresh throwaway key made for the cell; {session} a
// session made for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kSecurityDoc = fs::path(CHATBOT_SOURCE_DIR) / "docs" / "security.md";
const std::vector<std::string> kColumns = {"anonymous", "client", "operator", "admin"};

struct Row {
  int line = 0;
  std::string method;
  std::string path;
  std::map<std::string, std::string> cells;  // column -> yes|no|own|all
};

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t`");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t`");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      cells.push_back(Trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// The table between <!-- role-table --> and <!-- /role-table -->.
std::vector<Row> ParseTable(const std::string& text) {
  std::vector<Row> rows;
  std::istringstream in(text);
  bool inside = false;
  std::vector<std::string> header;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find("<!-- role-table -->") != std::string::npos) {
      inside = true;
      continue;
    }
    if (line.find("<!-- /role-table -->") != std::string::npos) break;
    if (!inside || line.empty() || line[0] != '|') continue;
    const std::vector<std::string> cells = Cells(line);
    if (header.empty()) {
      header = cells;
      continue;
    }
    if (cells[0].starts_with("---")) continue;
    Row row;
    row.line = number;
    const size_t space = cells[0].find(' ');
    row.method = cells[0].substr(0, space);
    row.path = space == std::string::npos ? "" : cells[0].substr(space + 1);
    for (size_t i = 1; i < cells.size() && i < header.size(); ++i) row.cells[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

// A minimal well-formed body for the endpoints that take one.
std::string BodyFor(const Row& row) {
  static const std::map<std::string, std::string> kBodies = {
      {"POST /v1/parse", R"({"text": "where is my order"})"},
      {"POST /v1/parse/batch", R"({"texts": ["hello"]})"},
      {"POST /v1/chat", R"({"message": "hello"})"},
      {"POST /v1/admin/keys", R"({"name": "role table", "role": "client"})"},
      {"PATCH /v1/admin/keys/{key}", R"({"name": "renamed"})"},
      {"POST /v1/admin/keys/{key}/rotate", R"({"grace": "1h"})"},
      {"POST /v1/admin/lockdown", R"({"on": false})"},
  };
  const auto it = kBodies.find(row.method + " " + row.path);
  if (it != kBodies.end()) return it->second;
  return row.method == "POST" || row.method == "PATCH" ? "{}" : "";
}

class SecurityRolesTest : public SecurityTest {
 protected:
  std::string Code(const HttpResult& r) {
    boost::system::error_code error;
    const json::value v = json::parse(r.body, error);
    if (error || !v.is_object() || !v.as_object().contains("error")) return "";
    return std::string(v.at("error").at("code").as_string());
  }

  // A session created by the caller with these headers.
  std::string NewSession(HttpClient& client, const HttpHeaders& headers) {
    const HttpResult r = client.Post("/v1/chat", json::object{{"message", "hi"}}, headers);
    EXPECT_EQ(r.status, 200) << r.Describe();
    return r.status == 200 ? std::string(r.Json().at("session_id").as_string()) : "";
  }

  std::string ThrowawayKey(HttpClient& client, const std::string& admin) {
    return IdOf(CreateKey(client, admin, "throwaway", "client"));
  }
};

TEST_F(SecurityRolesTest, TheTableParses) {
  const std::vector<Row> rows = ParseTable(ReadFileToString(kSecurityDoc));
  ASSERT_GE(rows.size(), 15u) << "the role table in " << kSecurityDoc << " was not found";
  for (const Row& row : rows) {
    EXPECT_THAT(row.method, ::testing::AnyOf("GET", "POST", "PATCH", "DELETE"))
        << "docs/security.md:" << row.line;
    EXPECT_TRUE(row.path.starts_with("/")) << "docs/security.md:" << row.line;
    for (const std::string& column : kColumns) {
      ASSERT_TRUE(row.cells.count(column)) << "docs/security.md:" << row.line << ": no " << column;
      EXPECT_THAT(row.cells.at(column), ::testing::AnyOf("yes", "no", "own", "all"))
          << "docs/security.md:" << row.line << " " << column;
    }
  }
}

TEST_F(SecurityRolesTest, EveryCellMatchesTheServer) {
  const std::vector<Row> rows = ParseTable(ReadFileToString(kSecurityDoc));
  ASSERT_FALSE(rows.empty());
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const std::map<std::string, HttpHeaders> callers = {
      {"anonymous", {}},
      {"client", Bearer(CreateKey(client, admin, "table client", "client"))},
      {"operator", Bearer(CreateKey(client, admin, "table operator", "operator"))},
      {"admin", Bearer(admin)},
  };
  // Someone else, whose sessions the callers may or may not see.
  const HttpHeaders stranger = Bearer(CreateKey(client, admin, "stranger", "client"));

  for (const Row& row : rows) {
    for (const std::string& column : kColumns) {
      const std::string expected = row.cells.at(column);
      const HttpHeaders& headers = callers.at(column);
      SCOPED_TRACE("docs/security.md:" + std::to_string(row.line) + ": " + row.method + " " +
                   row.path + " as " + column + " -> " + expected);
      std::string path = row.path;
      if (const size_t at = path.find("{key}"); at != std::string::npos) {
        path.replace(at, 5, ThrowawayKey(client, admin));
      }
      const size_t session_at = path.find("{session}");
      const bool is_listing = row.method == "GET" && row.path == "/v1/sessions";
      if (expected == "own" || expected == "all") {
        ASSERT_TRUE(session_at != std::string::npos || is_listing)
            << "own/all only make sense for sessions";
        const std::string mine = NewSession(client, headers);
        const std::string theirs = NewSession(client, stranger);
        if (is_listing) {
          const HttpResult list = client.Get("/v1/sessions?limit=1000", headers);
          ASSERT_EQ(list.status, 200) << list.Describe();
          std::set<std::string> ids;
          const json::value listed = list.Json();
          for (const json::value& s : listed.at("sessions").as_array()) {
            ids.insert(std::string(s.at("session_id").as_string()));
          }
          EXPECT_TRUE(ids.count(mine)) << list.body;
          EXPECT_EQ(ids.count(theirs), expected == "all" ? 1u : 0u) << list.body;
          continue;
        }
        std::string other_path = path;
        other_path.replace(session_at, 9, theirs);
        const HttpResult other = client.Send(row.method, other_path, BodyFor(row), headers);
        if (expected == "own") {
          EXPECT_EQ(other.status, 404) << other.Describe();
          EXPECT_EQ(Code(other), "session_not_found");
          path.replace(session_at, 9, mine);
          const HttpResult own = client.Send(row.method, path, BodyFor(row), headers);
          EXPECT_EQ(own.status, 200) << own.Describe();
        } else {
          EXPECT_EQ(other.status, 200) << other.Describe();
        }
        continue;
      }
      if (session_at != std::string::npos) {
        path.replace(session_at, 9, NewSession(client, callers.at("admin")));
      }
      const HttpResult r = client.Send(row.method, path, BodyFor(row), headers);
      if (expected == "no") {
        EXPECT_EQ(r.status, 403) << r.Describe();
        EXPECT_EQ(Code(r), "forbidden") << r.Describe();
      } else {
        EXPECT_NE(r.status, 401) << r.Describe();
        EXPECT_NE(r.status, 403) << r.Describe();
        EXPECT_NE(r.status, 503) << r.Describe();
        EXPECT_NE(r.status, 429) << r.Describe();
      }
    }
  }
}

}  // namespace
}  // namespace chatbot::testing
