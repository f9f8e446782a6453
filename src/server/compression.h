// Response compression (docs/web.md): gzip through zlib's C API and brotli
// through libbrotlienc, chosen by the request's Accept-Encoding.
//
// Static files are compressed once, when they are loaded (static_files.h),
// at the strongest settings; JSON responses are compressed per request at a
// fast gzip level, and only from a size up (`[web] compress_min_bytes`):
// below about a kilobyte the saving is smaller than a TCP segment and the
// CPU time is wasted.
#ifndef CHATBOT_SERVER_COMPRESSION_H_
#define CHATBOT_SERVER_COMPRESSION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace chatbot::server {

enum class Encoding { kIdentity, kGzip, kBrotli };

// Which of the encodings the Accept-Encoding header admits: a coding
// listed (or "*") with a q-value above 0. Parsing is lenient: malformed
// entries are ignored.
struct AcceptedEncodings {
  bool gzip = false;
  bool brotli = false;
};
AcceptedEncodings ParseAcceptEncoding(std::string_view header);

// gzip (RFC 1952) of `data` at zlib `level` (1..9). Throws Error when zlib
// fails (it does not on valid input).
std::string GzipCompress(std::string_view data, int level);
// The inverse, for tests and tools; throws Error on a corrupt stream.
std::string GzipDecompress(std::string_view data);
// Brotli (RFC 7932) of `data` at `quality` (0..11); throws Error on failure.
std::string BrotliCompress(std::string_view data, int quality);

// Compresses response->body in place with gzip when the request accepts it,
// the body is at least `min_bytes` long and not already encoded, and the
// result is smaller; sets Content-Encoding and Vary. Returns whether it did.
bool CompressResponse(const HttpRequest& request, size_t min_bytes, HttpResponse* response);

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_COMPRESSION_H_
