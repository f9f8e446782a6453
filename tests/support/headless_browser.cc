#include "headless_browser.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace chatbot::testing {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace {

std::string Base64Decode(std::string_view in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = -8;
  for (char c : in) {
    const size_t index = kAlphabet.find(c);
    if (index == std::string::npos) continue;  // '=', whitespace
    value = (value << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// Moves `fd` to `target` in the child (dup2 of two pipes that may collide).
void MoveFd(int fd, int target) {
  if (fd != target) dup2(fd, target);
}

}  // namespace

std::optional<std::string> HeadlessBrowser::FindChromium() {
  if (const char* env = std::getenv("CHROMIUM"); env && *env && access(env, X_OK) == 0) return env;
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                           "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"}) {
    if (access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

HeadlessBrowser::HeadlessBrowser(const std::string& executable, const fs::path& profile_dir,
                                 int width, int height) {
  int commands[2], answers[2];
  if (pipe(commands) != 0 || pipe(answers) != 0) throw std::runtime_error("pipe failed");
  fs::create_directories(profile_dir);
  const std::vector<std::string> args = {
      executable,
      "--headless=new",
      "--remote-debugging-pipe",
      "--no-sandbox",  // tests run as root in containers
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-sync",
      "--mute-audio",
      "--hide-scrollbars",
      "--window-size=" + std::to_string(width) + "," + std::to_string(height),
      "--user-data-dir=" + profile_dir.string(),
      "about:blank"};
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Out of the way of 3 and 4 first, then into place.
    const int in = fcntl(commands[0], F_DUPFD, 10);
    const int out = fcntl(answers[1], F_DUPFD, 10);
    MoveFd(in, 3);
    MoveFd(out, 4);
    const int null = open("/dev/null", O_RDWR);
    const fs::path log = profile_dir / "chromium.log";
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 0);
    dup2(err >= 0 ? err : null, 1);
    dup2(err >= 0 ? err : null, 2);
    for (int fd = 5; fd < 1024; ++fd) close(fd);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(executable.c_str(), argv.data());
    _exit(127);
  }
  close(commands[0]);
  close(answers[1]);
  to_browser_ = commands[1];
  from_browser_ = answers[0];
  fcntl(to_browser_, F_SETFD, FD_CLOEXEC);
  fcntl(from_browser_, F_SETFD, FD_CLOEXEC);

  const json::value targets = Call("Target.getTargets", {}, /*on_page=*/false);
  std::string target_id;
  for (const json::value& t : targets.at("targetInfos").as_array()) {
    if (t.at("type").as_string() == "page") target_id = std::string(t.at("targetId").as_string());
  }
  if (target_id.empty()) {
    target_id = std::string(
        Call("Target.createTarget", {{"url", "about:blank"}}, false).at("targetId").as_string());
  }
  session_ =
      std::string(Call("Target.attachToTarget", {{"targetId", target_id}, {"flatten", true}}, false)
                      .at("sessionId")
                      .as_string());
  Call("Page.enable", {});
  Call("Runtime.enable", {});
  Call("Log.enable", {});
  SetViewport(width, height);
}

HeadlessBrowser::~HeadlessBrowser() {
  if (to_browser_ >= 0) {
    try {
      Call("Browser.close", {}, false);
    } catch (...) {
    }
    close(to_browser_);
  }
  if (from_browser_ >= 0) close(from_browser_);
  if (pid_ > 0) {
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string HeadlessBrowser::ReadMessage(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("chromium: no answer in time");
    pollfd p{from_browser_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = read(from_browser_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("chromium: the browser closed the pipe");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

json::value HeadlessBrowser::Call(const std::string& method, json::object params, bool on_page) {
  const int64_t id = next_id_++;
  json::object message{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (on_page) message["sessionId"] = session_;
  std::string text = json::serialize(message);
  text.push_back('\0');
  for (size_t written = 0; written < text.size();) {
    const ssize_t n = write(to_browser_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("chromium: cannot send " + method);
    written += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const json::value answer = json::parse(ReadMessage(deadline));
    const json::object& o = answer.as_object();
    const json::value* answer_id = o.if_contains("id");
    if (answer_id == nullptr) {  // an event
      const json::value* event = o.if_contains("method");
      const json::value* p = o.if_contains("params");
      if (event != nullptr && p != nullptr && p->is_object()) {
        if (*event == "Runtime.exceptionThrown") {
          errors_.push_back("exception: " + json::serialize(p->at("exceptionDetails")));
        } else if (*event == "Log.entryAdded") {
          const json::object& entry = p->at("entry").as_object();
          if (entry.at("level") == "error") {
            errors_.push_back(std::string(entry.at("source").as_string()) + ": " +
                              std::string(entry.at("text").as_string()));
          }
        }
      }
      continue;
    }
    if (answer_id->to_number<int64_t>() != id) continue;
    if (const json::value* error = o.if_contains("error")) {
      throw std::runtime_error("chromium: " + method + ": " + json::serialize(*error));
    }
    return o.contains("result") ? o.at("result") : json::value(json::object{});
  }
}

json::value HeadlessBrowser::Evaluate(const std::string& expression) {
  const json::value r = Call("Runtime.evaluate", {{"expression", expression},
                                                  {"awaitPromise", true},
                                                  {"returnByValue", true},
                                                  {"userGesture", true}});
  if (const json::value* exception = r.as_object().if_contains("exceptionDetails")) {
    throw std::runtime_error("page exception in `" + expression +
                             "`: " + json::serialize(*exception));
  }
  const json::object& result = r.at("result").as_object();
  return result.contains("value") ? result.at("value") : json::value(nullptr);
}

bool HeadlessBrowser::WaitFor(const std::string& expression, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      const json::value v = Evaluate("!!(" + expression + ")");
      if (v.is_bool() && v.as_bool()) return true;
    } catch (const std::runtime_error&) {
      // The page may be between documents.
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void HeadlessBrowser::Navigate(const std::string& url) {
  const json::value r = Call("Page.navigate", {{"url", url}});
  if (const json::value* error = r.as_object().if_contains("errorText")) {
    throw std::runtime_error("chromium: cannot load " + url + ": " + json::serialize(*error));
  }
  if (!WaitFor("document.readyState === 'complete' && location.href.startsWith(" +
               json::serialize(json::value(url.substr(0, url.find('?')))) + ")")) {
    throw std::runtime_error("chromium: " + url + " did not finish loading");
  }
}

void HeadlessBrowser::Reload() {
  Evaluate("window.__reloading = 1");
  Call("Page.reload", {});
  if (!WaitFor("!window.__reloading && document.readyState === 'complete'")) {
    throw std::runtime_error("chromium: the reload did not finish");
  }
}

void HeadlessBrowser::Screenshot(const fs::path& png) {
  const json::value r = Call("Page.captureScreenshot", {{"format", "png"}});
  const std::string bytes = Base64Decode(r.at("data").as_string());
  fs::create_directories(png.parent_path());
  std::ofstream(png, std::ios::binary) << bytes;
}

void HeadlessBrowser::SetViewport(int width, int height) {
  Call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", width < 600}});
}

}  // namespace chatbot::testing
