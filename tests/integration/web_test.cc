// The web pages over HTTP against the real `chatbot serve` (docs/web.md):
// routes, security headers, caching and conditional requests, compression
// of pages and JSON, public access (also during a lockdown), configurable
// frame-ancestors. The pages in a real browser: web_e2e_test.cc.
#include <gtest/gtest.h>

#include "security_fixture.h"
#include "server/compression.h"

namespace chatbot::testing {
namespace {

namespace json = boost::json;

class WebTest : public SecurityTest {};

TEST_F(WebTest, PagesAreServedWithSecurityHeaders) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  for (const char* path : {"/", "/admin", "/demo"}) {
    SCOPED_TRACE(path);
    const HttpResult page = client.Get(path);
    ASSERT_EQ(page.status, 200) << page.Describe();
    EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
    const std::string csp = page.Header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'self'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
    EXPECT_EQ(page.Header("referrer-policy"), "no-referrer");
    EXPECT_EQ(page.Header("cache-control"), "no-cache");
    // No inline script: every <script> names a same-origin file.
    EXPECT_EQ(page.body.find("<script>"), std::string::npos);
    EXPECT_EQ(page.body.find("http://"), page.body.find("http://localhost:8080/widget.js"));
  }
  const HttpResult widget = client.Get("/widget.js");
  EXPECT_EQ(widget.status, 200);
  EXPECT_EQ(widget.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(client.Get("/static/nothing.js").status, 404);
  EXPECT_EQ(client.Get("/static/../docs/api.md").status, 404);
  EXPECT_EQ(client.Send("POST", "/", "{}").status, 405);
}

TEST_F(WebTest, FingerprintedAssetsCacheAndRevalidate) {
  ServerProcess& server = StartServer();
  HttpClient client(server.port());
  const std::string page = client.Get("/").body;
  const size_t at = page.find("/static/chat.js?v=");
  ASSERT_NE(at, std::string::npos) << page;
  const std::string target = page.substr(at, page.find('"', at) - at);
  const HttpResult asset = client.Get(target);
  ASSERT_EQ(asset.status, 200) << asset.Describe();
  EXPECT_EQ(asset.Header("cache-control"), "public, max-age=31536000, immutable");
  const std::string etag = asset.Header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_FALSE(asset.Header("last-modified").empty());
  const HttpResult again = client.Get(target, {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304) << again.Describe();
  EXPECT_TRUE(again.body.empty());
}

TEST_F(WebTest, PagesAndLargeJsonAreCompressedWhenAccepted) {
  ServerProcess& server = StartServer();
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  const HttpResult plain = client.Get("/static/admin.js");
  const HttpResult gz = client.Get("/static/admin.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.Header("content-encoding"), "gzip") << gz.Describe();
  EXPECT_EQ(server::GzipDecompress(gz.body), plain.body);
  const HttpResult br = client.Get("/static/admin.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  EXPECT_EQ(br.Header("content-encoding"), "br");
  EXPECT_LT(br.body.size(), gz.body.size());

  HttpHeaders headers = Bearer(admin);
  const HttpResult model = client.Get("/v1/model", headers);
  ASSERT_EQ(model.status, 200);
  ASSERT_GT(model.body.size(), 1024u);
  EXPECT_TRUE(model.Header("content-encoding").empty());
  headers.emplace_back("Accept-Encoding", "gzip");
  const HttpResult compressed = client.Get("/v1/model", headers);
  ASSERT_EQ(compressed.Header("content-encoding"), "gzip") << compressed.Describe();
  EXPECT_EQ(compressed.Header("vary"), "Accept-Encoding");
  EXPECT_LT(compressed.body.size(), model.body.size() / 2);
  const json::value decoded = json::parse(server::GzipDecompress(compressed.body));
  EXPECT_TRUE(decoded.as_object().contains("models"));
  // Small bodies stay as they are.
  const HttpResult parse =
      client.Post("/v1/parse", json::object{{"text", "hi"}}, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(parse.status, 200);
  EXPECT_TRUE(parse.Header("content-encoding").empty());
}

TEST_F(WebTest, PagesArePublicAndLoadDuringALockdown) {
  ServerProcess& server = StartServer({"--set", "security.anonymous=off"});
  const std::string admin = AdminKey();
  HttpClient client(server.port());
  EXPECT_EQ(client.Get("/").status, 200);
  EXPECT_EQ(client.Post("/v1/chat", json::object{{"message", "hi"}}).status, 401);
  ASSERT_EQ(client.Post("/v1/admin/lockdown", json::object{{"on", true}}, Bearer(admin)).status,
            200);
  EXPECT_EQ(client.Get("/").status, 200);
  EXPECT_EQ(client.Get("/admin").status, 200);
  EXPECT_EQ(client.Get("/static/chat.css").status, 200);
  EXPECT_EQ(client.Post("/v1/admin/lockdown", json::object{{"on", false}}, Bearer(admin)).status,
            200);
}

TEST_F(WebTest, FrameAncestorsAndDisablingAreConfigurable) {
  ServerProcess& framed =
      StartServer({"--set", "web.frame_ancestors=https://shop.example https://www.shop.example"});
  HttpClient client(framed.port());
  EXPECT_NE(client.Get("/")
                .Header("content-security-policy")
                .find("frame-ancestors https://shop.example https://www.shop.example"),
            std::string::npos);
  framed.Terminate();
  ServerProcess& off = StartServer({"--set", "web.enabled=false"});
  HttpClient off_client(off.port());
  const HttpResult page = off_client.Get("/");
  EXPECT_EQ(page.status, 404) << page.Describe();
}

TEST_F(WebTest, WidgetOriginsGetCors) {
  ServerProcess& server = StartServer({"--set", "web.widget_origins=https://shop.example"});
  HttpClient client(server.port());
  const HttpResult preflight = client.Send("OPTIONS", "/v1/chat", "",
                                           {{"Origin", "https://shop.example"},
                                            {"Access-Control-Request-Method", "POST"},
                                            {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(preflight.status, 204) << preflight.Describe();
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "https://shop.example");
  // The widget's endpoints: GET /v1/bot (welcome, notice) and POST /v1/chat.
  EXPECT_EQ(preflight.Header("access-control-allow-methods"), "GET, POST");
  const HttpResult chat = client.Post("/v1/chat", json::object{{"message", "hi there"}},
                                      {{"Origin", "https://shop.example"}});
  EXPECT_EQ(chat.status, 200) << chat.Describe();
  EXPECT_EQ(chat.Header("access-control-allow-origin"), "https://shop.example");
  // Another origin gets nothing that would let its page read the answer.
  const HttpResult other = client.Post("/v1/chat", json::object{{"message", "hi there"}},
                                       {{"Origin", "https://evil.example"}});
  EXPECT_TRUE(other.Header("access-control-allow-origin").empty()) << other.Describe();
  EXPECT_NE(client.Send("OPTIONS", "/v1/chat", "", {{"Origin", "https://evil.example"}}).status,
            204);
}

}  // namespace
}  // namespace chatbot::testing
