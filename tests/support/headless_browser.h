// Headless Chromium for the end-to-end tests of the web pages, driven over
// the DevTools protocol on a pipe (--remote-debugging-pipe: the browser
// reads commands on its fd 3 and writes answers on fd 4, each a JSON text
// ended by a NUL byte), so no port, no WebSocket and no npm package are
// needed. One page (tab); JavaScript is run in it with Evaluate(), and a
// test waits for a condition with WaitFor().
#ifndef CHATBOT_TESTS_INTEGRATION_HEADLESS_BROWSER_H_
#define CHATBOT_TESTS_INTEGRATION_HEADLESS_BROWSER_H_

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace chatbot::testing {

class HeadlessBrowser {
 public:
  // $CHROMIUM, else /usr/bin/chromium, else chromium-browser / google-chrome
  // on PATH; nullopt when none is installed.
  static std::optional<std::string> FindChromium();

  // Starts the browser with a fresh profile in `profile_dir`, at width x
  // height. Throws std::runtime_error when it does not start or answer.
  HeadlessBrowser(const std::string& executable, const std::filesystem::path& profile_dir,
                  int width = 1280, int height = 900);
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Loads `url` and waits until the document is complete.
  void Navigate(const std::string& url);
  // Reloads the page and waits until the document is complete.
  void Reload();
  // Runs `expression` in the page (promises are awaited) and returns its
  // value as JSON. Throws std::runtime_error with the page's exception.
  boost::json::value Evaluate(const std::string& expression);
  // Polls `expression` until it is truthy; false after `timeout`.
  bool WaitFor(const std::string& expression,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A PNG of the viewport.
  void Screenshot(const std::filesystem::path& png);
  // Changes the viewport (phone width and so on).
  void SetViewport(int width, int height);
  // What the page reported so far: uncaught exceptions, and console or
  // browser log errors (Content-Security-Policy violations among them), as
  // "source: text" lines.
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  boost::json::value Call(const std::string& method, boost::json::object params,
                          bool on_page = true);
  std::string ReadMessage(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  int64_t next_id_ = 1;
  std::string session_;
  std::string buffer_;
  std::vector<std::string> errors_;
};

}  // namespace chatbot::testing

#endif  // CHATBOT_TESTS_INTEGRATION_HEADLESS_BROWSER_H_
