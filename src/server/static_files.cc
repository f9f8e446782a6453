#include "server/static_files.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/sha256.h"
#include "common/time.h"
#include "server/compression.h"

namespace chatbot::server {
namespace fs = std::filesystem;
namespace {

constexpr uintmax_t kMaxFileBytes = 4u << 20;
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

std::string ContentType(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".txt" || ext == ".md") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool Compressible(const std::string& content_type) {
  return content_type.starts_with("text/") || content_type.starts_with("image/svg") ||
         content_type.starts_with("application/json") ||
         content_type.starts_with("application/manifest");
}

std::string HttpDateOf(fs::file_time_type time) {
  const auto system = std::chrono::file_clock::to_sys(time);
  return HttpDate(std::chrono::system_clock::to_time_t(system));
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("web: cannot read " + path.string());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("web: error reading " + path.string());
  return content;
}

// Whether the If-None-Match header lists `etag` (or is "*").
bool MatchesEtag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view entry = header.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.starts_with("W/")) entry.remove_prefix(2);
    if (entry == etag || entry == "*") return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

// The file a route names, relative to the root; "" when none.
std::string RouteFile(std::string_view path) {
  if (path == "/" || path == "/index.html") return "index.html";
  if (path == "/admin" || path == "/admin/") return "admin.html";
  if (path == "/demo" || path == "/demo/") return "demo.html";
  if (path == "/widget.js") return "widget.js";
  if (path.starts_with("/static/") && path.size() > 8) {
    const std::string_view rest = path.substr(8);
    // No way out of the folder, and nothing hidden.
    if (rest.find("..") != std::string_view::npos || rest.find("/.") != std::string_view::npos ||
        rest.front() == '.' || rest.find('\\') != std::string_view::npos ||
        rest.find('\0') != std::string_view::npos) {
      return "";
    }
    return "static/" + std::string(rest);
  }
  return "";
}

void SetPlain(HttpResponse* response, int status, std::string_view text) {
  response->status = status;
  response->content_type = "text/plain; charset=utf-8";
  response->body = text;
}

}  // namespace

StaticFiles::StaticFiles(StaticFilesOptions options)
    : options_(std::move(options)), csp_(ContentSecurityPolicy(options_.frame_ancestors)) {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) {
    throw IoError("web: [web] root " + options_.root.string() + " is not a folder");
  }
  std::vector<std::pair<std::string, fs::path>> html;
  for (auto it = fs::recursive_directory_iterator(options_.root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->file_size() > kMaxFileBytes) continue;
    const std::string relative = path.lexically_relative(options_.root).generic_string();
    if (path.extension() == ".html") {
      html.emplace_back(relative, path);  // after the assets, whose versions they name
      continue;
    }
    File file;
    file.content_type = ContentType(path);
    file.body = ReadAll(path);
    file.last_modified = HttpDateOf(it->last_write_time());
    Finish(relative, std::move(file));
  }
  if (ec) throw IoError("web: cannot list " + options_.root.string() + ": " + ec.message());
  for (const auto& [relative, path] : html) {
    File file;
    file.content_type = ContentType(path);
    file.body = ReadAll(path);
    file.last_modified = HttpDateOf(fs::last_write_time(path));
    // Fingerprint the asset references: "/static/x.js" -> "/static/x.js?v=<version>".
    for (const auto& [asset, info] : files_) {
      if (!asset.starts_with("static/")) continue;
      const std::string from = "\"/" + asset + "\"";
      const std::string to = "\"/" + asset + "?v=" + info.version + "\"";
      for (size_t at = file.body.find(from); at != std::string::npos;
           at = file.body.find(from, at + to.size())) {
        file.body.replace(at, from.size(), to);
      }
    }
    Finish(relative, std::move(file));
  }
}

void StaticFiles::Finish(const std::string& relative, File file) {
  file.version = Sha256Hex(file.body).substr(0, 16);
  file.etag = "\"" + file.version + "\"";
  if (Compressible(file.content_type) && file.body.size() >= options_.compress_min_bytes) {
    file.gzip = GzipCompress(file.body, 9);
    if (file.gzip.size() >= file.body.size()) file.gzip.clear();
    file.brotli = BrotliCompress(file.body, 11);
    if (file.brotli.size() >= file.body.size()) file.brotli.clear();
  }
  files_[relative] = std::move(file);
}

fs::path StaticFiles::ResolveRoot(const std::string& setting, const fs::path& source_dir) {
  const fs::path root(setting);
  if (root.is_absolute()) return root;
  std::error_code ec;
  if (fs::is_directory(root, ec)) return root;
  if (!source_dir.empty() && fs::is_directory(source_dir / root, ec)) return source_dir / root;
  return root;
}

bool StaticFiles::IsWebPath(std::string_view path) {
  return path == "/" || path == "/index.html" || path == "/admin" || path == "/admin/" ||
         path == "/demo" || path == "/demo/" || path == "/widget.js" ||
         path.starts_with("/static/");
}

std::string StaticFiles::ContentSecurityPolicy(std::string_view frame_ancestors) {
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
         "form-action 'self'; frame-ancestors " +
         std::string(frame_ancestors);
}

void StaticFiles::AddSecurityHeaders(HttpResponse* response) const {
  response->headers.emplace_back("Content-Security-Policy", csp_);
  response->headers.emplace_back("X-Content-Type-Options", "nosniff");
  response->headers.emplace_back("Referrer-Policy", "no-referrer");
  response->headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

void StaticFiles::Serve(const HttpRequest& request, HttpResponse* response) const {
  AddSecurityHeaders(response);
  if (request.method != "GET" && request.method != "HEAD") {
    SetPlain(response, 405, "use GET or HEAD for this resource\n");
    response->headers.emplace_back("Allow", "GET, HEAD");
    return;
  }
  const std::string relative = RouteFile(request.path);
  const auto it = relative.empty() ? files_.end() : files_.find(relative);
  if (it == files_.end()) return SetPlain(response, 404, "no page at " + request.path + "\n");
  const File& file = it->second;
  response->headers.emplace_back("ETag", file.etag);
  response->headers.emplace_back("Last-Modified", file.last_modified);
  // A request naming the current version may keep the answer for a year.
  const bool fingerprinted = relative.starts_with("static/") && !request.query.empty() &&
                             request.query == "v=" + file.version;
  response->headers.emplace_back("Cache-Control",
                                 std::string(fingerprinted ? kImmutable : kRevalidate));
  if (!file.gzip.empty() || !file.brotli.empty()) {
    response->headers.emplace_back("Vary", "Accept-Encoding");
  }
  response->content_type = file.content_type;
  const std::string_view if_none_match = request.Header("if-none-match");
  if ((!if_none_match.empty() && MatchesEtag(if_none_match, file.etag)) ||
      (if_none_match.empty() && request.Header("if-modified-since") == file.last_modified)) {
    response->status = 304;
    response->body.clear();
    return;
  }
  response->status = 200;
  const AcceptedEncodings accepted = ParseAcceptEncoding(request.Header("accept-encoding"));
  if (accepted.brotli && !file.brotli.empty()) {
    response->headers.emplace_back("Content-Encoding", "br");
    response->body = file.brotli;
  } else if (accepted.gzip && !file.gzip.empty()) {
    response->headers.emplace_back("Content-Encoding", "gzip");
    response->body = file.gzip;
  } else {
    response->body = file.body;
  }
}

size_t StaticFiles::total_bytes() const {
  size_t total = 0;
  for (const auto& [name, file] : files_) total += file.body.size();
  return total;
}

size_t StaticFiles::total_gzip_bytes() const {
  size_t total = 0;
  for (const auto& [name, file] : files_) {
    total += file.gzip.empty() ? file.body.size() : file.gzip.size();
  }
  return total;
}

}  // namespace chatbot::server
