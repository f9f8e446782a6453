// The service's configuration: embedded defaults, overridden in turn by the
// TOML file, by CHATBOT_<SECTION>_<KEY> environment variables and by
// command-line flags (`--set section.key=value` and dedicated flags such as
// `--models`). Every setting is declared once, in config.cc, with its type,
// default, allowed range and comment; unknown keys and bad values are refused
// at start with the file (and line), the key and the reason.
#ifndef CHATBOT_COMMON_CONFIG_H_
#define CHATBOT_COMMON_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chatbot {

// The typed, effective settings. Field names match the TOML keys.
struct Settings {
  struct Paths {
    std::string models = "model";                     // [paths] models
    std::vector<std::string> data = {"data/domain"};  // [paths] data (files or directories)
    std::string logs = "logs";                        // [paths] logs
    friend bool operator==(const Paths&, const Paths&) = default;
  } paths;

  struct Logging {
    std::string level = "info";    // trace|debug|info|warn|error|critical|off
    int64_t max_size_mb = 10;      // rotate a log file when it reaches this size (1..1024)
    int64_t max_files = 5;         // rotated files kept per log (1..100)
    std::string console = "auto";  // auto (when stderr is a terminal)|always|never
    std::string group;             // log files 0640 and owned by this group; empty: 0600
    friend bool operator==(const Logging&, const Logging&) = default;
  } logging;

  struct Bot {
    std::string name = "Ava";                                 // used in replies as {bot_name}
    std::string support_email = "support@northwind.example";  // {support_email}
    std::string support_phone = "+1 555 0100";                // {support_phone}
    std::string opening_hours = "Monday to Saturday, 9:00 to 18:00";  // {opening_hours}
    int64_t returns_days = 30;                                        // {returns_days}
    std::string notice;  // shown by the chat pages before the first message; "" = none
    friend bool operator==(const Bot&, const Bot&) = default;
  } bot;

  struct Nlu {
    bool strip_accents = false;      // remove accents after NFKC + case folding
    int64_t top_k = 5;               // entries in a prediction's ranking (1..50)
    int64_t max_text_length = 2000;  // longest accepted input, in bytes (1..1000000)
    // In-scope accuracy, in percentage points, that the out-of-scope
    // threshold may cost on held-out data (0..20).
    double oos_max_accuracy_loss = 1.0;
    // Which model answers: auto (ensemble when both models exist, else the
    // one that exists)|svm|bert|ensemble.
    std::string model = "auto";
    friend bool operator==(const Nlu&, const Nlu&) = default;
  } nlu;

  struct Server {
    std::string host = "0.0.0.0";
    int64_t port = 8080;      // 0 = any free port (tests)
    std::string unix_socket;  // also served on this Unix-domain socket; empty = none
    int64_t threads = 0;      // I/O threads; 0 = one per core
    int64_t max_connections = 10000;
    int64_t max_connections_per_address = 1000;  // from one client address; 0 = no limit
    int64_t max_body_bytes = 65536;              // larger bodies get 413
    int64_t max_header_bytes = 16384;
    int64_t read_timeout_ms = 10000;      // a request must arrive within this
    int64_t idle_timeout_ms = 60000;      // keep-alive connections idle longer are closed
    int64_t shutdown_timeout_ms = 10000;  // in-flight requests get this long on SIGTERM
    int64_t max_batch = 256;              // texts per /v1/parse/batch
    bool log_text = false;                // message text in logs/api.log
    int64_t worker_threads = 0;  // threads for searches, exports, review; 0 = half the cores
    int64_t worker_queue = 16;   // such requests waiting for a worker; more get 503
    friend bool operator==(const Server&, const Server&) = default;
  } server;

  struct Sessions {
    std::string path = "data/sessions/sessions.db";
    std::string synchronous = "normal";  // normal (safe against crashes)|full (also power loss)
    int64_t retention_days = 0;          // delete sessions idle longer; 0 = keep
    int64_t retention_interval_minutes = 60;  // how often `serve` applies retention_days
    bool vacuum_after_retention = true;       // give freed pages back to the file system
    int64_t search_max_chars = 256;           // longest q of a session search
    int64_t search_timeout_ms = 2000;         // a search running longer is stopped (503)
    friend bool operator==(const Sessions&, const Sessions&) = default;
  } sessions;

  // Where sessions and keys live (docs/configuration.md, "The PostgreSQL
  // backend"): SQLite files on this machine, or one PostgreSQL database that
  // several instances share.
  struct Store {
    std::string backend = "sqlite";              // sqlite|postgres
    std::string postgres_url;                    // libpq connection string
    std::string postgres_url_file;               // or a file holding it (a secret)
    int64_t postgres_pool_size = 8;              // connections per store and instance
    int64_t postgres_connect_timeout_ms = 2000;  // connecting, or waiting for a free one
    int64_t postgres_query_timeout_ms = 5000;    // each statement's answer (a stalled server)
    friend bool operator==(const Store&, const Store&) = default;
  } store;

  // How instances sharing a PostgreSQL store keep in step (docs/scaling.md):
  // heartbeats, the re-read behind the change notifications, stale instances.
  struct Cluster {
    std::string address;          // host:port others reach this instance at; empty: derived
    int64_t heartbeat_ms = 1000;  // an instance records itself this often
    int64_t stale_after_s = 10;   // silent this long: listed as gone
    int64_t resync_s = 5;         // keys, lockdown and model re-read this often (postgres)
    friend bool operator==(const Cluster&, const Cluster&) = default;
  } cluster;

  // Authentication, roles, rate limits, allowlists, lockdown (docs/security.md).
  struct Security {
    std::string database = "data/security/keys.db";          // API keys and lockdown (SQLite)
    std::string admin_key_file = "data/security/admin.key";  // first admin key, mode 0600
    std::string anonymous = "loopback";                      // off|loopback|on
    std::vector<std::string> allow;                // global allowlist (CIDR); empty: any address
    std::vector<std::string> trusted_proxies;      // CIDR; proxy_header trusted from these
    std::string proxy_header = "x-forwarded-for";  // x-forwarded-for|forwarded
    double expensive_request_cost = 10;  // tokens a search, export or review request takes
    double rate_limit_anonymous = 10;    // requests/s per address without a key; 0 = off
    double rate_limit_client = 50;       // requests/s per key, by role; 0 = no limit
    double rate_limit_operator = 200;
    double rate_limit_admin = 200;
    double rate_limit_per_address = 0;         // every request, per client address; 0 = off
    double burst_seconds = 2;                  // a bucket holds rate x this many requests
    std::string rate_limit_backend = "local";  // local|redis: where the buckets are kept
    std::string rate_limit_redis_url = "redis://127.0.0.1:6379/0";
    std::string rate_limit_redis_password_file;          // empty: the URL's password, if any
    int64_t rate_limit_redis_timeout_ms = 50;            // connect and command timeout
    std::string rate_limit_redis_down_policy = "local";  // local|closed: while Redis is down
    int64_t rate_limit_instances = 1;       // instances sharing the limits (local policy divides)
    int64_t auth_failures_per_minute = 10;  // failed authentications per address before 429
    int64_t refresh_ms = 100;               // how often changes by other processes are looked for
    int64_t usage_flush_s = 10;             // usage counters written to the database this often
    int64_t audit_interval_s = 60;          // refused requests are aggregated over this interval
    friend bool operator==(const Security&, const Security&) = default;
  } security;

  // HTTPS (docs/security.md): on when a certificate is given.
  struct Tls {
    std::string certificate;          // PEM certificate chain; empty: plain HTTP
    std::string private_key;          // PEM private key
    std::string min_version = "1.2";  // 1.2|1.3
    friend bool operator==(const Tls&, const Tls&) = default;
  } tls;

  struct Dialogue {
    double ambiguity_margin = 0.15;
    double min_clarify_confidence = 0.25;
    friend bool operator==(const Dialogue&, const Dialogue&) = default;
  } dialogue;

  struct Svm {
    double c = 1.0;              // LIBLINEAR cost (> 0)
    int64_t word_ngram_max = 2;  // word n-grams 1..N (1..3)
    int64_t char_ngram_min = 2;  // character n-grams inside word boundaries (1..8)
    int64_t char_ngram_max = 4;  // (char_ngram_min..8)
    int64_t min_df = 1;          // drop features seen in fewer documents (1..1000)
    bool sublinear_tf = true;    // 1 + log(tf) instead of tf
    double validation_fraction =
        0.15;                       // held out for calibration when no validation data (0.05..0.5)
    int64_t threshold_folds = 5;    // cross-validation of the threshold (2..20)
    int64_t seed = 42;              // for the held-out split
    int64_t threads = 0;            // training threads; 0 = one per core (0..256)
    std::string solver = "native";  // native|liblinear
    // Refit the final model on training + validation data (see svm_trainer.h).
    bool refit_with_validation = true;
    double epsilon = 0.1;  // solver stopping tolerance (> 0)
    friend bool operator==(const Svm&, const Svm&) = default;
  } svm;

  struct Bert {
    std::string size = "tiny";  // from-scratch architecture: tiny|mini|small
    std::string init;           // Hugging Face checkpoint to fine-tune; empty: from scratch
    int64_t vocab_size = 8000;  // WordPiece vocabulary built from scratch (1000..100000)
    int64_t max_length = 64;    // tokens per text, [CLS] and [SEP] included (8..512)
    int64_t epochs = 10;        // the learning rate decays to 0 over them
    int64_t batch_size = 32;
    double learning_rate = 1e-3;  // 1e-3 from scratch; 2e-5..5e-5 when fine-tuning
    double weight_decay = 0.01;
    double warmup_fraction = 0.06;
    double dropout = 0.1;
    double max_grad_norm = 1.0;
    int64_t patience = 5;  // epochs without a better validation accuracy before stopping
    int64_t seed = 42;
    int64_t threads = 0;             // training and inference threads; 0 = one per core
    std::string precision = "auto";  // inference GEMMs: auto|f32|bf16 (auto: bf16 where supported)
    int64_t max_batch = 32;          // serving: requests batched together
    int64_t max_wait_us = 500;       // serving: longest wait for a batch to fill
    int64_t cache_size = 10000;      // serving: predictions cached by normalised text; 0 = off
    friend bool operator==(const Bert&, const Bert&) = default;
  } bert;

  struct Ensemble {
    std::string mode = "weighted";  // weighted|cascade
    friend bool operator==(const Ensemble&, const Ensemble&) = default;
  } ensemble;

  struct Backup {
    std::string dir = "backups";  // where `chatbot backup` writes, one folder per backup
    int64_t keep = 0;             // newest backups kept by `backup`; 0 = all
    int64_t max_age_days = 0;     // older backups are removed by `backup`; 0 = never
    friend bool operator==(const Backup&, const Backup&) = default;
  } backup;

  // The model's accuracy in monitoring (docs/OPERATIONS.md).
  struct Monitoring {
    int64_t live_accuracy_days = 7;           // labels younger than this count (1..3650)
    int64_t live_accuracy_max_labels = 1000;  // the newest this many of them (1..1000000)
    double accuracy_alert_drop = 5.0;         // percentage points below held-out (0..100)
    int64_t accuracy_alert_min_samples = 50;  // labels needed before alerting (1..1000000)
    friend bool operator==(const Monitoring&, const Monitoring&) = default;
  } monitoring;

  // The web pages served by the service (docs/web.md).
  struct Web {
    bool enabled = true;                      // serve /, /admin, /widget.js and /static/
    std::string root = "web";                 // the assets; relative: working dir, else sources
    int64_t compress_min_bytes = 1024;        // gzip bodies at least this large (when accepted)
    std::string frame_ancestors = "'self'";   // CSP frame-ancestors of the pages
    std::vector<std::string> widget_origins;  // CORS for POST /v1/chat; "*": any origin
    friend bool operator==(const Web&, const Web&) = default;
  } web;

  friend bool operator==(const Settings&, const Settings&) = default;
};

// Where an effective value came from, for `chatbot config show`.
struct ValueOrigin {
  enum class Kind { kDefault, kFile, kEnvironment, kFlag } kind = Kind::kDefault;
  std::string detail;  // "config/chatbot.toml:12", "CHATBOT_SVM_C", "--set svm.c=2"
};

// An origin as people read it, in `config show` and in error messages:
// "default", "file config/chatbot.toml:12", "environment CHATBOT_SVM_C",
// "flag --set svm.c=2".
std::string DescribeOrigin(const ValueOrigin& origin);

class Configuration {
 public:
  struct Sources {
    // The TOML file. When unset: $CHATBOT_CONFIG, else config/chatbot.toml
    // if it exists in the working directory, else embedded defaults only.
    std::optional<std::filesystem::path> file;
    // "section.key=value" overrides from the command line, in order.
    std::vector<std::string> flags;
    // The process environment; only CHATBOT_* entries are read. When unset,
    // the real environment is used. Tests pass their own.
    std::optional<std::map<std::string, std::string>> environment;
  };

  // Throws ConfigError naming the file/variable/flag, the key and the reason.
  static Configuration Load(const Sources& sources);

  // Embedded defaults only.
  Configuration();

  const Settings& settings() const { return settings_; }
  // The file that was read, if any.
  const std::optional<std::filesystem::path>& file() const { return file_; }
  const ValueOrigin& OriginOf(const std::string& dotted_key) const;

  // Every setting as TOML with its origin, for `chatbot config show`.
  std::string Describe() const;

  // Every setting as "section.key", in the order of the definitions.
  static std::vector<std::string> Keys();

  // The documentation generated from the setting definitions, so that it
  // cannot drift from the code (unit tests compare it with the shipped files):
  // FileTemplate() is config/chatbot.toml, every setting at its default with
  // its meaning, allowed values and environment variable; ReferenceTable() is
  // the Markdown table of docs/configuration.md.
  static std::string FileTemplate();
  static std::string ReferenceTable();

 private:
  Settings settings_;
  std::optional<std::filesystem::path> file_;
  std::map<std::string, ValueOrigin> origins_;
};

}  // namespace chatbot

#endif  // CHATBOT_COMMON_CONFIG_H_
