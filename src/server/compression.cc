#include "server/compression.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <cctype>

#include "common/error.h"
#include "common/strings.h"

namespace chatbot::server {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// "q=0", "q=0.0", "q=0.000" refuse a coding; anything else admits it.
bool QualityIsZero(std::string_view parameters) {
  while (!parameters.empty()) {
    const size_t semicolon = parameters.find(';');
    const std::string_view p = Trim(parameters.substr(0, semicolon));
    if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      const std::string_view value = p.substr(2);
      return !value.empty() && value.find_first_not_of("0.") == std::string_view::npos;
    }
    if (semicolon == std::string_view::npos) break;
    parameters.remove_prefix(semicolon + 1);
  }
  return false;
}

}  // namespace

AcceptedEncodings ParseAcceptEncoding(std::string_view header) {
  AcceptedEncodings accepted;
  bool gzip_said = false, brotli_said = false, star = false;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view entry = Trim(header.substr(0, comma));
    const size_t semicolon = entry.find(';');
    const std::string_view coding = Trim(entry.substr(0, semicolon));
    const bool zero =
        semicolon != std::string_view::npos && QualityIsZero(entry.substr(semicolon + 1));
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      gzip_said = true;
      accepted.gzip = !zero;
    } else if (EqualsIgnoreCase(coding, "br")) {
      brotli_said = true;
      accepted.brotli = !zero;
    } else if (coding == "*") {
      star = !zero;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (!gzip_said) accepted.gzip = star;
  if (!brotli_said) accepted.brotli = star;
  return accepted;
}

std::string GzipCompress(std::string_view data, int level) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("gzip: deflateInit2 failed at level " + std::to_string(level));
  }
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  const size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw Error("gzip: deflate failed (" + std::to_string(result) + ")");
  out.resize(written);
  return out;
}

std::string GzipDecompress(std::string_view data) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) throw Error("gzip: inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int result = Z_OK;
  while (result != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    result = inflate(&stream, Z_NO_FLUSH);
    if (result != Z_OK && result != Z_STREAM_END) {
      inflateEnd(&stream);
      throw Error("gzip: corrupt or truncated stream (" + std::to_string(result) + ")");
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (result == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      throw Error("gzip: truncated stream");
    }
  }
  inflateEnd(&stream);
  return out;
}

std::string BrotliCompress(std::string_view data, int quality) {
  size_t size = BrotliEncoderMaxCompressedSize(data.size());
  if (size == 0) size = data.size() + 1024;
  std::string out(size, '\0');
  if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, data.size(),
                             reinterpret_cast<const uint8_t*>(data.data()), &size,
                             reinterpret_cast<uint8_t*>(out.data()))) {
    throw Error("brotli: compression failed for " + std::to_string(data.size()) + " bytes");
  }
  out.resize(size);
  return out;
}

bool CompressResponse(const HttpRequest& request, size_t min_bytes, HttpResponse* response) {
  if (response->body.size() < min_bytes || response->body.empty()) return false;
  for (const auto& [name, value] : response->headers) {
    if (EqualsIgnoreCase(name, "content-encoding")) return false;
  }
  const std::string_view accept = request.Header("accept-encoding");
  if (accept.empty() || !ParseAcceptEncoding(accept).gzip) return false;
  // Level 1: JSON compresses about 5x even so, at a fraction of level 6's time.
  std::string compressed = GzipCompress(response->body, 1);
  if (compressed.size() >= response->body.size()) return false;
  response->body = std::move(compressed);
  response->headers.emplace_back("Content-Encoding", "gzip");
  response->headers.emplace_back("Vary", "Accept-Encoding");
  return true;
}

}  // namespace chatbot::server
