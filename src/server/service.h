// The whole HTTP service assembled from the settings, as `chatbot serve`
// runs it: the session store, the model registry, the API handler, the keys
// database with its access control (making the first admin key when there is
// none), the metrics collectors and the HTTP server (HTTPS when [tls] has a
// certificate). Each resource has one owner, this class, and is released in
// the reverse order of its opening.
//
// Run() serves until SIGTERM or SIGINT (or Stop()), reloading the model and
// the certificate on SIGHUP and applying [sessions] retention_days on its
// interval; the signals are taken by that thread with sigtimedwait, so the
// constructor blocks them before any other thread starts.
#ifndef CHATBOT_SERVER_SERVICE_H_
#define CHATBOT_SERVER_SERVICE_H_

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/config.h"

namespace chatbot::server {

class Service {
 public:
  // Lines for the person who started the service (the first admin key, the
  // address listened on); the rest goes to the app log.
  using Say = std::function<void(const std::string& line)>;

  // Checks what would stop the start (malformed allowlist or proxy entries,
  // an unusable certificate) and blocks SIGTERM, SIGINT and SIGHUP in the
  // calling thread; opens nothing yet. Throws ConfigError.
  Service(const Configuration& config, Say say);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Opens the stores, loads the model (serving without one, /health then
  // says why), listens and serves until a stop signal or Stop(), then shuts
  // down gracefully. Call from the thread that constructed the service.
  void Run();
  // Ends Run() from another thread.
  void Stop();

 private:
  struct Parts;
  void Open();
  void ServeUntilStopped();
  void Close();

  const Configuration& config_;
  Say say_;
  std::chrono::steady_clock::time_point start_;
  sigset_t signals_;
  pthread_t run_thread_{};
  std::atomic<bool> stop_{false};
  std::unique_ptr<Parts> parts_;
};

}  // namespace chatbot::server

#endif  // CHATBOT_SERVER_SERVICE_H_
