// The web pages and their assets (docs/web.md), served from `[web] root`.
//
// Every file under the root is read once, at start, with its ETag (a
// SHA-256 prefix of the content), its Last-Modified time and its gzip and
// brotli encodings made at the strongest settings: serving one is then a
// lookup and a copy, with no disk access and no compression per request.
// The set is small (tens of kilobytes); a change needs a restart (or a
// reload of the service), as for the binary itself.
//
// Routes: "/" is index.html (the chat page), "/admin" admin.html (the
// console), "/demo" demo.html (the widget on a page), "/widget.js" the
// embeddable widget, "/static/<file>" the assets. HTML pages name their
// assets as "/static/<file>"; when loaded, each such reference gets
// "?v=<etag>" appended, and a request carrying the current version is
// answered with a year-long immutable cache lifetime: the pages themselves
// are revalidated on every use (no-cache + ETag), so a new release is picked
// up at once while the assets are never fetched twice.
#ifndef CHATBOT_SERVER_STATIC_FILES_H_
#define CHATBOT_SERVER_STATIC_FILES_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace chatbot::server {

struct StaticFilesOptions {
  std::filesystem::path root;
  // Content-Security-Policy frame-ancestors of the pages ("'self'", "'none'",
  // or origins).
  std::string frame_ancestors = "'self'";
  // Files smaller than this are not stored compressed.
  size_t compress_min_bytes = 1024;
};

class StaticFiles {
 public:
  // Reads every regular file under options.root (hidden files and files
  // over 4 MiB skipped). Throws IoError naming the folder when it is not
  // one, or a file that cannot be read.
  explicit StaticFiles(StaticFilesOptions options);

  // `[web] root` as a folder: an absolute path as is; a relative one in the
  // working directory when it exists there, else under `source_dir` (the
  // source tree the binary was built from) when it exists there, else as
  // given (and loading then fails naming it).
  static std::filesystem::path ResolveRoot(const std::string& setting,
                                           const std::filesystem::path& source_dir);

  // Whether `path` is one of the routes above (whether or not a file is
  // there); the access policy makes them public.
  static bool IsWebPath(std::string_view path);

  // Answers GET or HEAD of a web path: 200 with the file (compressed when
  // accepted), 304 when If-None-Match matches, 404 when there is no such
  // file, 405 for another method. Adds the security headers to every answer.
  void Serve(const HttpRequest& request, HttpResponse* response) const;

  size_t file_count() const { return files_.size(); }
  // The sum of the files' sizes, raw and as gzip (for the size budget).
  size_t total_bytes() const;
  size_t total_gzip_bytes() const;

  // The headers every page gets: Content-Security-Policy (no inline
  // scripts or styles, nothing from other origins), X-Content-Type-Options,
  // Referrer-Policy, Cross-Origin-Opener-Policy.
  static std::string ContentSecurityPolicy(std::string_view frame_ancestors);

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string gzip;           // empty: not worth it
    std::string brotli;         // empty: not worth it
    std::string etag;           // "\"<16 hex>\""
    std::string version;        // the etag's hex, for "?v="
    std::string last_modified;  // RFC 9110 date
  };

  void AddSecurityHeaders(HttpResponse* response) const;
  void Finish(const std::string& relative, File file);

  StaticFilesOptions options_;
  std::string csp_;
  std::map<std::string, File, std::less<>> files_;  // by path relative to root
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_STATIC_FILES_H_
