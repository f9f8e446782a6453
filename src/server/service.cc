#include "server/service.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/cpu_count.h"
#include "common/error.h"
#include "common/logging.h"
#include "common/time.h"
#include "nlu/settings_options.h"
#include "ops/data_lock.h"
#include "ops/gpu_monitor.h"
#include "ops/notice_board.h"
#include "ops/process_stats.h"
#include "security/access_control.h"
#include "security/admin_key_file.h"
#include "security/open_key_store.h"
#include "security/rate_limiter_factory.h"
#include "server/access_log.h"
#include "server/api_handler.h"
#include "server/cluster_sync.h"
#include "server/expensive_requests.h"
#include "server/http_server.h"
#include "server/model_registry.h"
#include "store/open_session_store.h"

namespace chatbot::server {
namespace {

using Clock = std::chrono::steady_clock;

HttpServerOptions ServerOptions(const Settings& settings) {
  const Settings::Server& s = settings.server;
  HttpServerOptions options;
  options.host = s.host;
  options.port = static_cast<uint16_t>(s.port);
  options.unix_socket = s.unix_socket;
  options.threads = static_cast<int>(s.threads);
  options.max_connections = static_cast<int>(s.max_connections);
  options.max_connections_per_address = static_cast<int>(s.max_connections_per_address);
  options.max_body_bytes = static_cast<size_t>(s.max_body_bytes);
  options.max_header_bytes = static_cast<size_t>(s.max_header_bytes);
  options.read_timeout = std::chrono::milliseconds(s.read_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
  options.shutdown_timeout = std::chrono::milliseconds(s.shutdown_timeout_ms);
  // Searches and the review read many rows: on the worker pool, they
  // cannot hold up the I/O threads that the cheap requests need.
  options.offload = IsExpensiveRequest;
  options.offload_threads =
      s.worker_threads > 0 ? static_cast<int>(s.worker_threads) : std::max(1, UsableCores() / 2);
  options.offload_queue = static_cast<int>(s.worker_queue);
  options.tls.certificate = settings.tls.certificate;
  options.tls.private_key = settings.tls.private_key;
  options.tls.min_version = settings.tls.min_version;
  const bool log_text = s.log_text;
  options.on_response = [log_text](const HttpRequest& request, const HttpResponse& response,
                                   int64_t latency_us) {
    WriteAccessLogLine(request, response, latency_us, log_text);
  };
  return options;
}

// Deletes sessions idle longer than [sessions] retention_days, then gives
// the space back (incremental vacuum, in short steps) when asked to.
void ApplyRetention(const Settings& settings, store::SessionStore* sessions,
                    ServiceMetrics* metrics) {
  if (settings.sessions.retention_days <= 0) return;
  try {
    const int64_t cutoff = NowMs() - settings.sessions.retention_days * 86'400'000LL;
    const int64_t removed = sessions->DeleteSessionsUpdatedBefore(cutoff);
    if (metrics != nullptr) metrics->SessionsDeleted("retention", removed);
    if (removed > 0) {
      AppLog()->info("retention: deleted {} session(s) idle for more than {} days", removed,
                     settings.sessions.retention_days);
      if (settings.sessions.vacuum_after_retention) sessions->Vacuum();
    }
  } catch (const StoreError& e) {
    // The service keeps serving; the next run tries again.
    AppLog()->error("retention: {}", e.what());
  }
}

// The figures /metrics shows that the server's own counters do not hold.
void AddServiceCollectors(const Settings& settings, ServiceMetrics* metrics,
                          const ModelRegistry* models, const HttpServer* http) {
  ops::AddProcessCollector(&metrics->registry(),
                           {std::filesystem::path(settings.sessions.path).parent_path(),
                            settings.paths.models, settings.paths.logs, settings.backup.dir});
  metrics->registry().AddCollector([models, http](metrics::MetricWriter& w) {
    w.Gauge("chatbot_http_open_connections", "Client connections open now.",
            static_cast<double>(http->open_connections()));
    const auto snapshot = models->Current();
    w.Gauge("chatbot_model_loaded", "Whether a model is loaded and answering (1) or not (0).",
            snapshot ? 1 : 0);
    if (!snapshot) return;
    const std::string version = snapshot->classifier().version();
    w.Gauge("chatbot_model_info", "The model answering, by kind and version (always 1).", 1,
            {{"model", snapshot->models.kind}, {"version", version}});
    if (const auto& batching = snapshot->models.batching) {
      const nlu::BatchingStats stats = batching->Stats();
      w.Counter("chatbot_bert_batches_total", "Encoder batches BERT ran for requests.",
                static_cast<double>(stats.batches));
      w.Counter("chatbot_bert_batched_texts_total", "Texts those batches held.",
                static_cast<double>(stats.requests));
      w.Gauge("chatbot_bert_mean_batch_size", "Mean texts per BERT batch since the model loaded.",
              stats.mean_batch_size);
      w.Gauge("chatbot_bert_queue_length", "Requests waiting for a BERT batch now.",
              static_cast<double>(batching->queue_length()));
    }
    if (const auto& cache = snapshot->models.cache) {
      const nlu::PredictionCacheStats stats = cache->Stats();
      w.Counter("chatbot_prediction_cache_hits_total", "Predictions answered from the cache.",
                static_cast<double>(stats.hits));
      w.Counter("chatbot_prediction_cache_misses_total", "Predictions the cache did not hold.",
                static_cast<double>(stats.misses));
      w.Gauge("chatbot_prediction_cache_hit_ratio", "Share of cache lookups that hit.",
              stats.hit_rate());
    }
    if (const auto& ensemble = snapshot->models.ensemble) {
      const nlu::EnsembleStats stats = ensemble->Stats();
      w.Counter("chatbot_ensemble_predictions_total", "Texts the ensemble classified.",
                static_cast<double>(stats.predictions));
      w.Counter("chatbot_ensemble_svm_answers_total",
                "Texts the SVM answered alone (cascade mode).",
                static_cast<double>(stats.svm_answers));
      w.Counter("chatbot_ensemble_bert_calls_total", "Texts BERT was asked about.",
                static_cast<double>(stats.bert_calls));
    }
  });
}

}  // namespace

// Declared in the order of opening, so that they close in reverse: the
// access control outlives the requests that use it, the data lock
// everything that writes the data.
struct Service::Parts {
  Parts(const Settings& settings, const security::SecurityOptions& security_options)
      : data_lock(ops::DataLock::AcquireShared(ops::DataLock::PathFor(settings.sessions.path))),
        sessions(store::OpenSessionStore(settings)),
        models(settings, nlu::LoadOptionsFromSettings(settings, /*serving=*/true)),
        handler(std::make_shared<ApiHandler>(settings, &models, sessions.get())),
        keys(security::OpenKeyStore(settings)),
        audit(std::filesystem::path(settings.paths.logs) / "audit.log"),
        access(security_options, keys.get(), &audit, security::SystemClock::Instance(),
               security::MakeRateLimiter(settings, &handler->metrics().registry())),
        notices(ops::OpenNoticeStore(settings), settings.bot.notice, NowMs) {}

  // Held while serving: a restore refuses to replace the data meanwhile.
  std::unique_ptr<ops::DataLock> data_lock;
  std::unique_ptr<store::SessionStore> sessions;
  ModelRegistry models;
  std::shared_ptr<ApiHandler> handler;
  // Keys, roles, limits, lockdown (docs/security.md).
  std::unique_ptr<security::KeyStore> keys;
  security::AuditLog audit;
  security::AccessControl access;
  // The service notice users see (docs/OPERATIONS.md, "Telling users").
  ops::NoticeBoard notices;
  std::unique_ptr<HttpServer> http;
  // Heartbeats, and with PostgreSQL the changes of the other instances.
  std::unique_ptr<ClusterSync> cluster;
  std::unique_ptr<ops::GpuMonitor> gpus;
};

Service::Service(const Configuration& config, Say say)
    : config_(config), say_(std::move(say)), start_(Clock::now()) {
  const Settings& settings = config.settings();
  // Malformed allowlist or proxy entries stop the start here, named.
  security::SecurityOptions::FromConfiguration(config);
  // So does an unusable certificate (HttpServer::Start loads it again).
  if (!settings.tls.certificate.empty()) {
    LoadTlsContext({settings.tls.certificate, settings.tls.private_key, settings.tls.min_version});
  }
  // Signals are taken by one thread with sigwait; block them everywhere
  // before any other thread starts.
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  run_thread_ = pthread_self();
}

Service::~Service() = default;

void Service::Run() {
  Open();
  ServeUntilStopped();
  Close();
}

void Service::Stop() {
  stop_ = true;
  pthread_kill(run_thread_, SIGTERM);
}

void Service::Open() {
  const Settings& settings = config_.settings();
  security::SecurityOptions security_options =
      security::SecurityOptions::FromConfiguration(config_);
  if (settings.store.backend == "postgres") {
    // Changes arrive by notification (cluster_sync.h): the poll only covers
    // a lost one.
    security_options.refresh_interval = std::chrono::seconds(settings.cluster.resync_s);
  }
  parts_ = std::make_unique<Parts>(settings, std::move(security_options));
  Parts& p = *parts_;
  try {
    p.models.Reload();
  } catch (const Error& e) {
    // Serve anyway: /health says why (503) and a reload can fix it.
    std::fprintf(stderr, "chatbot: no model loaded: %s\n", e.what());
  }
  ServiceMetrics* metrics = &p.handler->metrics();
  ApplyRetention(settings, p.sessions.get(), metrics);
  metrics->SetSessionsStored(p.sessions->CountSessions());
  if (const auto first =
          security::EnsureAdminKey(&p.access.manager(), settings.security.admin_key_file)) {
    // Said once, here: the key itself is only in the file.
    say_("Created the first admin API key (id " + first->id + ") in " + first->file.string() +
         ", readable only by this user; it is not shown anywhere else.");
    AppLog()->warn("created the first admin API key (id {}) in {}", first->id,
                   first->file.string());
  }
  p.access.Start();
  p.notices.Start(std::chrono::seconds(1));
  p.handler->EnableSecurity(&p.access, config_.Describe(), &p.notices);
  HttpServerOptions http_options = ServerOptions(settings);
  if (const auto snapshot = p.models.Current();
      snapshot && snapshot->models.batching && settings.server.threads == 0) {
    // A request that BERT answers waits, on its I/O thread, for its batch to
    // be run; batches can only fill when that many requests are in flight at
    // once, so serving BERT takes max_batch I/O threads beyond the cores.
    http_options.threads = UsableCores() + static_cast<int>(settings.bert.max_batch);
  }
  http_options.on_response = [metrics, log = std::move(http_options.on_response)](
                                 const HttpRequest& request, const HttpResponse& response,
                                 int64_t latency_us) {
    metrics->ObserveRequest(request.path, response.status, latency_us);
    metrics->ObserveTraffic(request.path, request.received_bytes, response.sent_bytes);
    log(request, response, latency_us);
  };
  p.http = std::make_unique<HttpServer>(std::move(http_options), p.handler);
  AddServiceCollectors(settings, metrics, &p.models, p.http.get());
  p.gpus = ops::GpuMonitor::Start({});
  if (p.gpus) {
    p.gpus->AddCollector(&metrics->registry());
    AppLog()->info("GPU metrics from {}", p.gpus->source());
  }
  p.http->Start();
  const int64_t started_at_ms =
      NowMs() -
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
  p.cluster = std::make_unique<ClusterSync>(settings, InstanceAddress(settings, p.http->port()),
                                            started_at_ms, &p.models, &p.access);
  p.cluster->Start();
  p.handler->EnableCluster(p.cluster.get());
  p.handler->set_ready(true);
  const double ready_ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  AppLog()->info("listening on {}:{} (ready in {:.0f} ms)", settings.server.host, p.http->port(),
                 ready_ms);
  char line[512];
  std::snprintf(
      line, sizeof line, "chatbot %s listening on %s://%s:%u (ready in %.0f ms)",
      p.models.Current() ? p.models.Current()->classifier().version().c_str() : "(no model)",
      settings.tls.certificate.empty() ? "http" : "https", settings.server.host.c_str(),
      p.http->port(), ready_ms);
  say_(line);
}

void Service::ServeUntilStopped() {
  const Settings& settings = config_.settings();
  Parts& p = *parts_;
  ServiceMetrics* metrics = &p.handler->metrics();
  Clock::time_point last_retention = Clock::now();
  while (!stop_) {
    timespec wait{60, 0};
    const int signal = sigtimedwait(&signals_, nullptr, &wait);
    if (signal == SIGHUP) {
      AppLog()->info("SIGHUP: reloading the model");
      try {
        p.models.Reload();
      } catch (const Error&) {
        // Logged by the registry; the old model keeps serving.
      }
      if (!settings.tls.certificate.empty()) {
        try {
          p.http->ReloadTls();
          AppLog()->info("SIGHUP: TLS certificate {} reloaded", settings.tls.certificate);
        } catch (const Error& e) {
          AppLog()->error("SIGHUP: TLS certificate not reloaded (the old one stays): {}", e.what());
        }
      }
    } else if (signal == SIGTERM || signal == SIGINT) {
      AppLog()->info("signal {}: shutting down", signal);
      break;
    }
    if (Clock::now() - last_retention >
        std::chrono::minutes(settings.sessions.retention_interval_minutes)) {
      ApplyRetention(settings, p.sessions.get(), metrics);
      last_retention = Clock::now();
    }
    // The gauge follows the API's creations and deletions; a count corrects
    // it for those of other processes (`chatbot sessions clean`).
    try {
      metrics->SetSessionsStored(p.sessions->CountSessions());
    } catch (const StoreError& e) {
      AppLog()->warn("counting sessions: {}", e.what());
    }
  }
}

void Service::Close() {
  Parts& p = *parts_;
  p.handler->set_ready(false);
  p.http->Stop();
  if (p.cluster) p.cluster->Stop();  // deletes its row: it is no longer listed
  p.access.Stop();                   // writes the usage and refusals counted since the last flush
  p.notices.Stop();
  p.sessions.reset();  // closes the database (checkpoints the WAL)
  AppLog()->info("stopped");
  FlushLogs();
}

}  // namespace chatbot::server
