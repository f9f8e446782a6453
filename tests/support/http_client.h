// A small blocking HTTP/1.1 client for the integration tests, over
// Boost.Beast: one persistent connection (opened on the first request,
// reopened after the server closed it), every operation bounded by a
// timeout. Raw mode sends arbitrary bytes on a fresh connection and returns
// whatever comes back until the server closes it or the timeout passes, for
// malformed, pipelined and slow requests.
#ifndef CHATBOT_TESTS_INTEGRATION_HTTP_CLIENT_H_
#define CHATBOT_TESTS_INTEGRATION_HTTP_CLIENT_H_

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatbot::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent (`name` in lower case).
  std::string Header(const std::string& name) const;
  bool HasHeader(const std::string& name) const { return headers.count(name) != 0; }
  // The body parsed as JSON; throws std::runtime_error (with the body) when
  // it is not.
  boost::json::value Json() const;
  // For assertion messages: status, headers and body.
  std::string Describe() const;
};

struct RawResult {
  std::string data;     // every byte received
  bool closed = false;  // the server closed (or reset) the connection
  bool timed_out = false;
  std::chrono::milliseconds elapsed{0};  // from the last byte written to the end
};

// One raw TCP connection: write any bytes, read whatever comes back.
class RawConnection {
 public:
  // Connects; throws std::runtime_error when it cannot.
  explicit RawConnection(uint16_t port, std::string host = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes every byte; false when the connection is closed or reset.
  bool Write(std::string_view bytes);
  // Reads until the server closes the connection or `timeout` passes;
  // `elapsed` counts from the call.
  RawResult Read(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1",
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on the persistent connection and reads the response.
  // A non-empty body without a Content-Type header in `headers` is sent as
  // application/json. Throws std::runtime_error on a network error or a
  // timeout (the connection is closed then; the next request reopens it).
  HttpResult Send(std::string_view method, std::string_view target, std::string_view body = "",
                  const HttpHeaders& headers = {});
  HttpResult Get(std::string_view target, const HttpHeaders& headers = {}) {
    return Send("GET", target, "", headers);
  }
  HttpResult Post(std::string_view target, const boost::json::value& body,
                  const HttpHeaders& headers = {}) {
    return Send("POST", target, boost::json::serialize(body), headers);
  }

  // Closes the persistent connection.
  void Close();
  // Connects from this local address from now on (e.g. 127.0.0.2, to be a
  // client other than 127.0.0.1 on loopback); closes the connection.
  void SetSourceAddress(std::string address);
  bool connected() const;
  // How many connections Send has opened so far.
  int connections_opened() const { return connections_opened_; }

  // Raw mode, on a fresh connection of its own: writes `bytes`, then reads
  // until the server closes the connection or `timeout` passes.
  RawResult SendRaw(std::string_view bytes, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int connections_opened_ = 0;
};

// Splits raw bytes from the server into the complete HTTP responses they
// hold, in order (responses to HEAD requests cannot be parsed this way).
// Bytes after the last complete response go to `rest` when given.
std::vector<HttpResult> ParseResponses(std::string_view raw, std::string* rest = nullptr);

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_HTTP_CLIENT_H_
