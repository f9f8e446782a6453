#include "server/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "server/compression.h"

namespace chatbot::server {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("static_files_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "static");
    Write("index.html",
          "<!doctype html><script type=\"module\" src=\"/static/app.js\"></script>"
          "<link rel=\"stylesheet\" href=\"/static/app.css\">");
    Write("admin.html", "<!doctype html><p>console</p>");
    Write("widget.js", "console.log('widget');");
    std::string js;
    for (int i = 0; i < 200; ++i) js += "console.log('line " + std::to_string(i) + "');\n";
    Write("static/app.js", js);
    Write("static/app.css", "body { color: red; }");
    Write("static/.secret", "hidden");
    Write("secret.txt", "outside static");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(root_ / name, std::ios::binary) << content;
  }

  StaticFiles Load() {
    StaticFilesOptions options;
    options.root = root_;
    options.frame_ancestors = "'none'";
    options.compress_min_bytes = 512;
    return StaticFiles(options);
  }

  static HttpResponse Get(const StaticFiles& files, const std::string& path,
                          const std::string& query = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest request;
    request.method = "GET";
    request.path = path;
    request.query = query;
    request.target = query.empty() ? path : path + "?" + query;
    request.headers = std::move(headers);
    HttpResponse response;
    files.Serve(request, &response);
    return response;
  }

  static std::string Header(const HttpResponse& response, const std::string& name) {
    for (const auto& [n, v] : response.headers) {
      if (n == name) return v;
    }
    return "";
  }

  fs::path root_;
};

TEST_F(StaticFilesTest, ServesRoutesWithTypesAndSecurityHeaders) {
  const StaticFiles files = Load();
  const HttpResponse page = Get(files, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(Header(page, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(Header(page, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(Header(page, "Content-Security-Policy").find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(Header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(page, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(page, "Cache-Control"), "no-cache");
  EXPECT_EQ(Get(files, "/admin").body, "<!doctype html><p>console</p>");
  EXPECT_EQ(Get(files, "/widget.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get(files, "/static/app.css").content_type, "text/css; charset=utf-8");
}

TEST_F(StaticFilesTest, NothingOutsideTheRoutesOrHidden) {
  const StaticFiles files = Load();
  EXPECT_EQ(Get(files, "/static/.secret").status, 404);
  EXPECT_EQ(Get(files, "/static/../secret.txt").status, 404);
  EXPECT_EQ(Get(files, "/static/%2e%2e/secret.txt").status, 404);
  EXPECT_EQ(Get(files, "/static/missing.js").status, 404);
  EXPECT_EQ(Get(files, "/secret.txt").status, 404);
  HttpRequest post;
  post.method = "POST";
  post.path = "/";
  HttpResponse response;
  files.Serve(post, &response);
  EXPECT_EQ(response.status, 405);
}

TEST_F(StaticFilesTest, PagesNameFingerprintedAssetsThatCacheForAYear) {
  const StaticFiles files = Load();
  const std::string page = Get(files, "/").body;
  const size_t at = page.find("/static/app.js?v=");
  ASSERT_NE(at, std::string::npos) << page;
  const std::string version = page.substr(at + 17, 16);
  const HttpResponse asset = Get(files, "/static/app.js", "v=" + version);
  EXPECT_EQ(asset.status, 200);
  EXPECT_EQ(Header(asset, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(asset, "ETag"), "\"" + version + "\"");
  // An old version (or none) is revalidated.
  EXPECT_EQ(Header(Get(files, "/static/app.js", "v=0000000000000000"), "Cache-Control"),
            "no-cache");
  EXPECT_EQ(Header(Get(files, "/static/app.js"), "Cache-Control"), "no-cache");
}

TEST_F(StaticFilesTest, ConditionalRequestsGet304) {
  const StaticFiles files = Load();
  const HttpResponse first = Get(files, "/static/app.css");
  const std::string etag = Header(first, "ETag");
  ASSERT_FALSE(etag.empty());
  ASSERT_FALSE(Header(first, "Last-Modified").empty());
  const HttpResponse again = Get(files, "/static/app.css", "", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Get(files, "/static/app.css", "", {{"if-none-match", "W/" + etag + ", \"x\""}}).status,
            304);
  EXPECT_EQ(Get(files, "/static/app.css", "", {{"if-none-match", "\"other\""}}).status, 200);
  EXPECT_EQ(
      Get(files, "/static/app.css", "", {{"if-modified-since", Header(first, "Last-Modified")}})
          .status,
      304);
}

TEST_F(StaticFilesTest, CompressedWhenAcceptedAndLargeEnough) {
  const StaticFiles files = Load();
  const std::string plain = Get(files, "/static/app.js").body;
  const HttpResponse gz = Get(files, "/static/app.js", "", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(Header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(Header(gz, "Vary"), "Accept-Encoding");
  EXPECT_EQ(GzipDecompress(gz.body), plain);
  const HttpResponse br = Get(files, "/static/app.js", "", {{"accept-encoding", "gzip, br"}});
  EXPECT_EQ(Header(br, "Content-Encoding"), "br");
  EXPECT_LT(br.body.size(), plain.size());
  // Below compress_min_bytes: as is.
  const HttpResponse small = Get(files, "/static/app.css", "", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(Header(small, "Content-Encoding"), "");
  EXPECT_EQ(small.body, "body { color: red; }");
  EXPECT_GT(files.total_bytes(), files.total_gzip_bytes());
}

TEST_F(StaticFilesTest, RootResolution) {
  EXPECT_EQ(StaticFiles::ResolveRoot(root_.string(), "/nowhere"), root_);
  EXPECT_EQ(StaticFiles::ResolveRoot("static", root_), root_ / "static");
  EXPECT_EQ(StaticFiles::ResolveRoot("no-such-folder-xyz", root_), fs::path("no-such-folder-xyz"));
  StaticFilesOptions options;
  options.root = root_ / "missing";
  EXPECT_THROW(StaticFiles{options}, IoError);
}

TEST(StaticFilesPathsTest, WebPaths) {
  EXPECT_TRUE(StaticFiles::IsWebPath("/"));
  EXPECT_TRUE(StaticFiles::IsWebPath("/admin"));
  EXPECT_TRUE(StaticFiles::IsWebPath("/widget.js"));
  EXPECT_TRUE(StaticFiles::IsWebPath("/static/chat.js"));
  EXPECT_FALSE(StaticFiles::IsWebPath("/v1/parse"));
  EXPECT_FALSE(StaticFiles::IsWebPath("/metrics"));
}

// The shipped pages: every asset they name exists, and the chat page with
// its assets stays within the 100 KB (compressed) budget.
TEST(ShippedWebTest, ChatPageWithinBudget) {
  StaticFilesOptions options;
  options.root = fs::path(CHATBOT_SOURCE_DIR) / "web";
  const StaticFiles files(options);
  HttpRequest request;
  request.method = "GET";
  request.path = "/";
  request.headers.emplace_back("accept-encoding", "gzip");
  HttpResponse page;
  files.Serve(request, &page);
  ASSERT_EQ(page.status, 200);
  const std::string html = GzipDecompress(page.body);
  size_t total = page.body.size();
  for (size_t at = html.find("\"/static/"); at != std::string::npos;
       at = html.find("\"/static/", at + 1)) {
    const size_t end = html.find('"', at + 1);
    const std::string target = html.substr(at + 1, end - at - 1);
    const size_t q = target.find('?');
    HttpRequest asset = request;
    asset.path = target.substr(0, q);
    asset.query = q == std::string::npos ? "" : target.substr(q + 1);
    HttpResponse response;
    files.Serve(asset, &response);
    EXPECT_EQ(response.status, 200) << target;
    total += response.body.size();
  }
  std::printf("chat page with assets: %zu bytes gzipped\n", total);
  EXPECT_LE(total, 100u * 1024u);
}

}  // namespace
}  // namespace chatbot::server
