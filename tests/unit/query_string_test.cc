// Query strings: percent-decoding, '+' as space, absent and empty values,
// and the number parsers the API's parameters go through; which requests
// they make expensive (server/expensive_requests.h).
#include "server/query_string.h"

#include <gtest/gtest.h>

#include "server/expensive_requests.h"

namespace chatbot::server {
namespace {

TEST(QueryStringTest, FindsDecodedValues) {
  const std::string query = "limit=10&q=refund%20policy&intent=order_status&x=a+b%2Bc";
  EXPECT_EQ(QueryParameter(query, "limit"), "10");
  EXPECT_EQ(QueryParameter(query, "q"), "refund policy");
  EXPECT_EQ(QueryParameter(query, "intent"), "order_status");
  EXPECT_EQ(QueryParameter(query, "x"), "a b+c");
  EXPECT_EQ(QueryParameter(query, "missing"), std::nullopt);
  EXPECT_EQ(QueryParameter("", "q"), std::nullopt);
}

TEST(QueryStringTest, EmptyAndBareNamesAndFirstWins) {
  EXPECT_EQ(QueryParameter("q=&z", "q"), "");
  EXPECT_EQ(QueryParameter("q=&z", "z"), "");
  EXPECT_EQ(QueryParameter("q=1&q=2", "q"), "1");
  EXPECT_EQ(QueryParameter("%71=encoded-name", "q"), "encoded-name");
}

TEST(QueryStringTest, DecodesUtf8AndKeepsMalformedEscapes) {
  EXPECT_EQ(QueryParameter("q=caf%C3%A9", "q"), "caf\xC3\xA9");
  EXPECT_EQ(QueryParameter("q=100%", "q"), "100%");
  EXPECT_EQ(QueryParameter("q=%zz%4", "q"), "%zz%4");
}

TEST(QueryStringTest, ParsesWholeIntegersAndFiniteNumbers) {
  int64_t i = 0;
  EXPECT_TRUE(ParseInteger("-42", &i));
  EXPECT_EQ(i, -42);
  EXPECT_FALSE(ParseInteger("", &i));
  EXPECT_FALSE(ParseInteger("12abc", &i));
  EXPECT_FALSE(ParseInteger("99999999999999999999", &i));
  double d = 0;
  EXPECT_TRUE(ParseNumber("0.25", &d));
  EXPECT_DOUBLE_EQ(d, 0.25);
  EXPECT_TRUE(ParseNumber("1e-3", &d));
  EXPECT_FALSE(ParseNumber("nan", &d));
  EXPECT_FALSE(ParseNumber("inf", &d));
  EXPECT_FALSE(ParseNumber("0.5x", &d));
  EXPECT_FALSE(ParseNumber("", &d));
}

bool Expensive(const std::string& method, const std::string& path, const std::string& query) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.query = query;
  return IsExpensiveRequest(request);
}

TEST(ExpensiveRequestsTest, SearchesAndTheReviewAsTheApiReadsThem) {
  EXPECT_TRUE(Expensive("GET", "/v1/sessions", "q=a"));
  EXPECT_TRUE(Expensive("GET", "/v1/sessions", "%71=boots"));  // escaped names count
  EXPECT_TRUE(Expensive("GET", "/v1/sessions", "limit=5&since=1"));
  EXPECT_TRUE(Expensive("GET", "/v1/sessions", "until=x"));
  EXPECT_TRUE(Expensive("GET", "/v1/sessions", "intent=greeting"));
  EXPECT_TRUE(Expensive("GET", "/v1/review", ""));
  EXPECT_TRUE(Expensive("POST", "/v1/review/labels", ""));
  EXPECT_TRUE(Expensive("GET", "/v1/review/export", "since=0"));
  EXPECT_FALSE(Expensive("GET", "/v1/sessions", "limit=5&before=7"));
  EXPECT_FALSE(Expensive("GET", "/v1/sessions", "q=&intent="));
  EXPECT_FALSE(Expensive("GET", "/v1/sessions/abc", "q=a"));
  EXPECT_FALSE(Expensive("POST", "/v1/chat", "q=a"));
  EXPECT_FALSE(Expensive("GET", "/v1/reviewer", ""));
}

}  // namespace
}  // namespace chatbot::server
