// The review loop and session search against the real `chatbot serve`
// (docs/api.md, "Review" and "Sessions"): unsure turns listed for an
// operator, labelled, filtered by label, exported as JSON Lines that
// `chatbot evaluate` accepts as labelled data (and by `chatbot sessions
// labels`), unlabelled again; session
// search by text, intent and time, limited to a client's own sessions.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "security_fixture.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;

class ReviewApiTest : public SecurityTest {
 protected:
  // Sends `message` in a new session; returns the session id.
  std::string Chat(HttpClient& client, const HttpHeaders& headers, const std::string& message) {
    const HttpResult r = client.Post("/v1/chat", json::object{{"message", message}}, headers);
    EXPECT_EQ(r.status, 200) << r.Describe();
    return r.status == 200 ? std::string(r.Json().at("session_id").as_string()) : "";
  }

  static std::string Code(const HttpResult& r) {
    boost::system::error_code error;
    const json::value v = json::parse(r.body, error);
    if (error || !v.is_object() || !v.as_object().contains("error")) return "";
    return std::string(v.at("error").at("code").as_string());
  }

  static std::set<std::string> SessionIds(const HttpResult& r) {
    std::set<std::string> ids;
    const json::value body = r.Json();  // outlives the loop (a temporary would not)
    for (const json::value& s : body.at("sessions").as_array()) {
      ids.insert(std::string(s.at("session_id").as_string()));
    }
    return ids;
  }
};

TEST_F(ReviewApiTest, UnsureTurnsAreLabelledAndExportedAsTrainingData) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const HttpHeaders ops = Bearer(CreateKey(client, admin, "reviewer", "operator"));
  const HttpHeaders customer = Bearer(CreateKey(client, admin, "shop", "client"));

  const std::string gibberish = "zxqv blorft wibble quarnstep";
  const std::string unsure_session = Chat(client, customer, gibberish);
  Chat(client, customer, "where is my order");

  // Clients may not read the review: it holds every user's messages.
  EXPECT_EQ(client.Get("/v1/review", customer).status, 403);

  HttpResult list = client.Get("/v1/review?days=1&below=0.5", ops);
  ASSERT_EQ(list.status, 200) << list.Describe();
  const json::object listed = list.Json().as_object();
  const json::array& items = listed.at("items").as_array();
  ASSERT_FALSE(items.empty()) << list.body;
  const json::object& item = items[0].as_object();
  EXPECT_EQ(item.at("message").as_string(), gibberish);
  EXPECT_EQ(item.at("session_id").as_string(), unsure_session);
  EXPECT_EQ(item.at("turn").as_int64(), 1);
  EXPECT_TRUE(item.at("label").is_null());
  EXPECT_TRUE(item.at("out_of_scope").as_bool() || item.at("confidence").as_double() < 0.5);
  std::set<std::string> intents;
  for (const json::value& i : listed.at("intents").as_array()) {
    intents.insert(std::string(i.as_string()));
  }
  EXPECT_TRUE(intents.count("oos"));
  EXPECT_TRUE(intents.count("order_status"));
  for (const json::value& i : items) {  // the confident order question is not listed
    EXPECT_NE(i.at("message").as_string(), "where is my order");
  }

  // Labels: validated, stored, filtered.
  HttpResult r = client.Post(
      "/v1/review/labels",
      json::object{{"session_id", unsure_session}, {"turn", 1}, {"intent", "no_such_intent"}}, ops);
  EXPECT_EQ(r.status, 422) << r.Describe();
  EXPECT_EQ(Code(r), "unknown_intent");
  r = client.Post("/v1/review/labels",
                  json::object{{"session_id", unsure_session}, {"turn", 9}, {"intent", "oos"}},
                  ops);
  EXPECT_EQ(r.status, 404) << r.Describe();
  EXPECT_EQ(Code(r), "turn_not_found");
  r = client.Post("/v1/review/labels", json::object{{"session_id", unsure_session}}, ops);
  EXPECT_EQ(r.status, 400) << r.Describe();
  r = client.Post("/v1/review/labels",
                  json::object{{"session_id", unsure_session}, {"turn", 1}, {"intent", "oos"}},
                  customer);
  EXPECT_EQ(r.status, 403) << r.Describe();
  r = client.Post(
      "/v1/review/labels",
      json::object{{"session_id", unsure_session}, {"turn", 1}, {"intent", "order_status"}}, ops);
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Json().at("intent").as_string(), "order_status");
  EXPECT_EQ(r.Json().at("text").as_string(), gibberish);
  EXPECT_EQ(r.Json().at("labelled_by").as_string(), "key:" + IdOf(ops[0].second.substr(7)));

  list = client.Get("/v1/review?days=1&status=labelled", ops);
  ASSERT_EQ(list.status, 200) << list.Describe();
  ASSERT_EQ(list.Json().at("items").as_array().size(), 1u) << list.body;
  EXPECT_EQ(list.Json().at("items").at(0).at("label").at("intent").as_string(), "order_status");
  list = client.Get("/v1/review?days=1&status=unlabelled", ops);
  const json::value unlabelled = list.Json();
  for (const json::value& i : unlabelled.at("items").as_array()) {
    EXPECT_NE(i.at("session_id").as_string(), unsure_session);
  }

  // The export is JSON Lines that `chatbot evaluate` reads as labelled data.
  r = client.Get("/v1/review/export", ops);
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Header("content-type"), "application/x-ndjson");
  EXPECT_NE(r.Header("content-disposition").find("attachment; filename=\"reviewed-"),
            std::string::npos);
  EXPECT_EQ(r.body,
            json::serialize(json::object{{"text", gibberish}, {"intent", "order_status"}}) + "\n");
  const auto exported = work_.path() / "reviewed.jsonl";
  std::ofstream(exported) << r.body;
  const ProcessResult evaluated = Cli({"evaluate", "--data", exported.string()});
  EXPECT_EQ(evaluated.exit_code, 0) << evaluated.out << evaluated.err;
  // The same from the command line, on the database (no server needed).
  const std::string db = "sessions.path=" + (work_.path() / "sessions.db").string();
  ProcessResult cli = Cli({"sessions", "labels", "--set", db});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, r.body);
  cli = Cli({"sessions", "labels", "--set", db, "--since", "1h", "--output",
             (work_.path() / "cli.jsonl").string()});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(ReadFileToString(work_.path() / "cli.jsonl"), r.body) << cli.err;
  cli = Cli({"sessions", "labels", "--since", "soon"});
  EXPECT_EQ(cli.exit_code, 2) << cli.out;
  EXPECT_NE(cli.err.find("--since"), std::string::npos) << cli.err;

  // Unlabelled again: gone from the export.
  r = client.Send("DELETE", "/v1/review/labels/" + unsure_session + "/1", "", ops);
  EXPECT_EQ(r.status, 200) << r.Describe();
  r = client.Send("DELETE", "/v1/review/labels/" + unsure_session + "/1", "", ops);
  EXPECT_EQ(r.status, 404) << r.Describe();
  EXPECT_EQ(Code(r), "label_not_found");
  EXPECT_EQ(client.Get("/v1/review/export", ops).body, "");
}

TEST_F(ReviewApiTest, BadReviewParametersAreNamed) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpHeaders ops = Bearer(CreateKey(client, AdminKey(), "reviewer", "operator"));
  for (const char* target :
       {"/v1/review?below=2", "/v1/review?days=0", "/v1/review?status=maybe",
        "/v1/review?limit=5000", "/v1/review?before=garbage", "/v1/review?since=1&days=2"}) {
    const HttpResult r = client.Get(target, ops);
    EXPECT_EQ(r.status, 400) << target << ": " << r.Describe();
    EXPECT_EQ(Code(r), "bad_parameter") << target;
  }
  EXPECT_EQ(client.Send("PUT", "/v1/review", "", ops).status, 405);
}

TEST_F(ReviewApiTest, ReviewPagesThroughEveryUnsureTurn) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const HttpHeaders ops = Bearer(CreateKey(client, AdminKey(), "reviewer", "operator"));
  std::set<std::string> sent;
  for (int i = 0; i < 7; ++i) sent.insert(Chat(client, ops, "qqq zzz vvv " + std::to_string(i)));
  std::set<std::string> seen;
  std::string target = "/v1/review?days=1&limit=3";
  for (int page = 0; page < 10; ++page) {
    const HttpResult r = client.Get(target, ops);
    ASSERT_EQ(r.status, 200) << r.Describe();
    const json::value body = r.Json();
    for (const json::value& i : body.at("items").as_array()) {
      EXPECT_TRUE(seen.insert(std::string(i.at("session_id").as_string())).second) << "twice";
    }
    const json::value& next = body.at("next_before");
    if (next.is_null()) break;
    target = "/v1/review?days=1&limit=3&before=" + std::string(next.as_string());
  }
  EXPECT_EQ(seen, sent);
}

TEST_F(ReviewApiTest, SessionSearchByTextIntentAndTimeWithinWhatACallerMaySee) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string admin = AdminKey();
  const HttpHeaders ops = Bearer(CreateKey(client, admin, "ops", "operator"));
  const HttpHeaders alice = Bearer(CreateKey(client, admin, "alice", "client"));
  const HttpHeaders bob = Bearer(CreateKey(client, admin, "bob", "client"));
  const std::string refund = Chat(client, alice, "I want my Refund for order 77");
  const std::string order = Chat(client, bob, "where is my order");

  HttpResult r = client.Get("/v1/sessions?q=refund", ops);
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(SessionIds(r), std::set<std::string>{refund});
  r = client.Get("/v1/sessions?q=MY%20ORDER", ops);  // decoded, case ignored
  EXPECT_EQ(SessionIds(r), std::set<std::string>{order});
  r = client.Get("/v1/sessions?q=my+order", ops);
  EXPECT_EQ(SessionIds(r), std::set<std::string>{order});
  r = client.Get("/v1/sessions?intent=order_status", ops);
  EXPECT_EQ(SessionIds(r), std::set<std::string>{order});
  r = client.Get("/v1/sessions?since=4102444800000", ops);  // the year 2100
  EXPECT_TRUE(SessionIds(r).empty()) << r.body;
  r = client.Get("/v1/sessions?since=0&until=4102444800000", ops);
  EXPECT_EQ(SessionIds(r), (std::set<std::string>{refund, order}));
  // A client searches only its own sessions.
  EXPECT_TRUE(SessionIds(client.Get("/v1/sessions?q=refund", bob)).empty());
  EXPECT_EQ(SessionIds(client.Get("/v1/sessions?q=refund", alice)), std::set<std::string>{refund});
  r = client.Get("/v1/sessions?since=yesterday", ops);
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(Code(r), "bad_parameter");
}

}  // namespace
}  // namespace chatbot::testing
