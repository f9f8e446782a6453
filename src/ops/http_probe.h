// A small blocking HTTP/1.1 client for `chatbot check-model --url`: asks a
// running service for its health and models and times a few predictions.
// Plain HTTP to host:port (a TLS front end such as nginx is probed through
// its plain upstream, or with curl). One persistent connection, every
// operation bounded by the timeout.
#ifndef CHATBOT_OPS_HTTP_PROBE_H_
#define CHATBOT_OPS_HTTP_PROBE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatbot::ops {

struct ProbeResponse {
  int status = 0;
  std::string body;
  double seconds = 0;  // request written to response read
};

class HttpProbe {
 public:
  // `url`: "http://host[:port][/prefix]" (the port defaults to 80). Throws
  // ConfigError for anything else.
  explicit HttpProbe(const std::string& url,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpProbe();
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  // Headers sent with every request (an API key, say).
  void AddHeader(std::string name, std::string value);

  // Throws IoError naming the URL when the service cannot be reached or
  // does not answer in time.
  ProbeResponse Get(std::string_view path);
  ProbeResponse PostJson(std::string_view path, std::string_view body);

  const std::string& url() const { return url_; }

 private:
  struct Impl;
  ProbeResponse Send(std::string_view method, std::string_view path, std::string_view body);

  std::string url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_HTTP_PROBE_H_
