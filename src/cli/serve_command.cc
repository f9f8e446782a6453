// `chatbot serve`: the HTTP service. Trains the default model first when
// there is none, opens the session store, listens, and handles SIGHUP
// (reload the model), SIGTERM and SIGINT (graceful shutdown).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/error.h"
#include "common/logging.h"
#include "nlu/model_manifest.h"
#include "server/access_log.h"
#include "server/api_handler.h"
#include "server/http_server.h"
#include "server/model_registry.h"
#include "store/sqlite_session_store.h"

namespace chatbot::cli {
namespace {

using Clock = std::chrono::steady_clock;

server::HttpServerOptions ServerOptions(const Settings& settings) {
  const Settings::Server& s = settings.server;
  server::HttpServerOptions options;
  options.host = s.host;
  options.port = static_cast<uint16_t>(s.port);
  options.threads = static_cast<int>(s.threads);
  options.max_connections = static_cast<int>(s.max_connections);
  options.max_body_bytes = static_cast<size_t>(s.max_body_bytes);
  options.max_header_bytes = static_cast<size_t>(s.max_header_bytes);
  options.read_timeout = std::chrono::milliseconds(s.read_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
  options.shutdown_timeout = std::chrono::milliseconds(s.shutdown_timeout_ms);
  const bool log_text = s.log_text;
  options.on_response = [log_text](const server::HttpRequest& request,
                                   const server::HttpResponse& response, int64_t latency_us) {
    server::WriteAccessLogLine(request, response, latency_us, log_text);
  };
  return options;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Deletes sessions idle longer than [sessions] retention_days.
void ApplyRetention(const Settings& settings, store::SessionStore* sessions) {
  if (settings.sessions.retention_days <= 0) return;
  const int64_t cutoff = NowMs() - settings.sessions.retention_days * 86'400'000LL;
  const int64_t removed = sessions->DeleteSessionsUpdatedBefore(cutoff);
  if (removed > 0) {
    AppLog()->info("retention: deleted {} session(s) idle for more than {} days", removed,
                   settings.sessions.retention_days);
  }
}

}  // namespace

int RunServe(const GlobalOptions& global, const ServeArgs& args) {
  const Clock::time_point start = Clock::now();
  GlobalOptions options = global;
  if (!args.host.empty()) options.sets.push_back("server.host=" + args.host);
  if (args.port >= 0) options.sets.push_back("server.port=" + std::to_string(args.port));
  const Configuration config = LoadConfiguration(options);
  StartLogging(config);
  const Settings& settings = config.settings();

  // Signals are taken by one thread with sigwait; block them everywhere
  // before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (!std::filesystem::exists(SvmModelDir(settings) / nlu::kManifestFile)) {
    std::fprintf(stderr, "No model in %s: training one on %s first.\n",
                 SvmModelDir(settings).c_str(), settings.paths.data.front().c_str());
    TrainSvm(config, TrainArgs{});
  }

  auto sessions = store::SqliteSessionStore::Open(settings.sessions.path,
                                                  settings.sessions.synchronous == "full");
  ApplyRetention(settings, sessions.get());
  server::ModelRegistry models(settings);
  try {
    models.Reload();
  } catch (const Error& e) {
    // Serve anyway: /health says why (503) and a reload can fix it.
    std::fprintf(stderr, "chatbot: no model loaded: %s\n", e.what());
  }
  auto handler = std::make_shared<server::ApiHandler>(settings, &models, sessions.get());
  server::HttpServer http(ServerOptions(settings), handler);
  http.Start();
  handler->set_ready(true);
  const double ready_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  AppLog()->info("listening on {}:{} (ready in {:.0f} ms)", settings.server.host, http.port(),
                 ready_ms);
  std::printf("chatbot %s listening on http://%s:%u (ready in %.0f ms)\n",
              models.Current() ? models.Current()->svm->version().c_str() : "(no model)",
              settings.server.host.c_str(), http.port(), ready_ms);
  std::fflush(stdout);

  Clock::time_point last_retention = Clock::now();
  while (true) {
    timespec wait{60, 0};
    const int signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal == SIGHUP) {
      AppLog()->info("SIGHUP: reloading the model");
      try {
        models.Reload();
      } catch (const Error&) {
        // Logged by the registry; the old model keeps serving.
      }
    } else if (signal == SIGTERM || signal == SIGINT) {
      AppLog()->info("signal {}: shutting down", signal);
      break;
    }
    if (Clock::now() - last_retention > std::chrono::hours(1)) {
      ApplyRetention(settings, sessions.get());
      last_retention = Clock::now();
    }
  }
  handler->set_ready(false);
  http.Stop();
  sessions.reset();  // closes the database (checkpoints the WAL)
  AppLog()->info("stopped");
  FlushLogs();
  return kExitOk;
}

}  // namespace chatbot::cli
