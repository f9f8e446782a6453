#include "common/config_schema.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace chatbot::config_schema {

std::string KnownSections() {
  return fmt::format("known sections: {}", fmt::join(Sections(), ", "));
}

// Binds a definition to the Settings field of the same name, which keeps the
// TOML keys and the field names identical.
// clang-format off
#define CHATBOT_SETTING(section_name, key_name) \
  .section = #section_name, .key = #key_name,   \
  .field = +[](Settings& s) -> auto& { return s.section_name.key_name; }
// clang-format on

// Adding a setting means adding its Settings field and one entry here.
const std::vector<SettingDefinition>& Definitions() {
  static const std::vector<SettingDefinition> definitions = {
      {CHATBOT_SETTING(paths, models),
       .comment = "Directory of the trained model: written by training, read by the service.",
       .non_empty = true},
      {CHATBOT_SETTING(paths, data),
       .comment = "Training data: files, or directories whose data files are all read.",
       .non_empty = true},
      {CHATBOT_SETTING(paths, logs),
       .comment = "Directory of app.log, training.log and api.log; created when missing.",
       .non_empty = true},

      {CHATBOT_SETTING(logging, level), .comment = "Least severe message that is logged.",
       .allowed = {"trace", "debug", "info", "warn", "error", "critical", "off"}},
      {CHATBOT_SETTING(logging, max_size_mb),
       .comment = "A log file is rotated when it reaches this size, in MiB.", .min = 1,
       .max = 1024},
      {CHATBOT_SETTING(logging, max_files),
       .comment = "Rotated files kept per log, besides the current one.", .min = 1, .max = 100},
      {CHATBOT_SETTING(logging, console),
       .comment = "Copy the app and training logs to stderr: auto does so when stderr\n"
                  "is a terminal. The api log never goes to the console.",
       .allowed = {"auto", "always", "never"}},
      {CHATBOT_SETTING(logging, group),
       .comment = "Group that may read the log files: they are created 0640 and owned by it,\n"
                  "their directory 0750. Empty: log files 0600, directory 0700 (readable by\n"
                  "the service's user only, whatever the umask)."},

      {CHATBOT_SETTING(bot, name), .comment = "The bot's name, used in replies as {bot_name}.",
       .non_empty = true},
      {CHATBOT_SETTING(bot, support_email),
       .comment = "Support e-mail address, used in replies as {support_email}.", .non_empty = true},
      {CHATBOT_SETTING(bot, support_phone),
       .comment = "Support telephone number, used in replies as {support_phone}.",
       .non_empty = true},
      {CHATBOT_SETTING(bot, opening_hours),
       .comment = "Opening hours, used in replies as {opening_hours}.", .non_empty = true},
      {CHATBOT_SETTING(bot, returns_days),
       .comment = "Days a customer has to return an item, used in replies as {returns_days}.",
       .min = 1, .max = 3650},
      {CHATBOT_SETTING(bot, notice),
       .comment = "A service notice the chat pages show before the first message\n"
                  "(GET /v1/bot), such as planned maintenance; empty: none."},

      {CHATBOT_SETTING(nlu, strip_accents),
       .comment = "Remove accents after NFKC normalisation and case folding."},
      {CHATBOT_SETTING(nlu, top_k), .comment = "Intents listed in a prediction's ranking.",
       .min = 1, .max = 50},
      {CHATBOT_SETTING(nlu, max_text_length), .comment = "Longest accepted input text, in bytes.",
       .min = 1, .max = 1000000},
      {CHATBOT_SETTING(nlu, model),
       .comment = "The model that answers: auto (the ensemble when the SVM and BERT or USE\n"
                  "exist, otherwise the one that does), svm, bert, use or ensemble.",
       .allowed = {"auto", "svm", "bert", "use", "ensemble"}},
      {CHATBOT_SETTING(nlu, oos_max_accuracy_loss),
       .comment = "Out-of-scope threshold: the highest confidence threshold whose in-scope\n"
                  "accuracy on unseen data (cross-validated on the training data) is, with\n"
                  "95 % confidence, at most this many percentage points below the accuracy\n"
                  "without a threshold. 0 disables the threshold.",
       .min = 0, .max = 20},

      {CHATBOT_SETTING(server, host), .comment = "Address the HTTP service listens on.",
       .non_empty = true},
      {CHATBOT_SETTING(server, port), .comment = "TCP port; 0 picks a free one (tests).", .min = 0,
       .max = 65535},
      {CHATBOT_SETTING(server, unix_socket),
       .comment = "A Unix-domain socket the service answers on besides the TCP port, for\n"
                  "a proxy on the same machine (cheaper per request than TCP); empty: none.\n"
                  "Its clients count as 127.0.0.1 (trusted_proxies, anonymous access). A\n"
                  "socket file left by a killed process is replaced."},
      {CHATBOT_SETTING(server, threads),
       .comment = "I/O threads; 0 means one per core the process may run on (its CPU\naffinity).",
       .min = 0, .max = 256},
      {CHATBOT_SETTING(server, max_connections),
       .comment = "Connections served at once; more are refused.", .min = 1, .max = 1000000},
      {CHATBOT_SETTING(server, max_connections_per_address),
       .comment = "Connections one client address may hold at once; more from it are\n"
                  "answered 429. Behind a proxy every connection comes from the proxy:\n"
                  "raise it above the proxy's connections, or 0 for no limit.",
       .min = 0, .max = 1000000},
      {CHATBOT_SETTING(server, max_body_bytes),
       .comment = "Largest request body; larger ones get 413.", .min = 1024, .max = 67108864},
      {CHATBOT_SETTING(server, max_header_bytes),
       .comment = "Largest request header block; larger ones get 431.", .min = 1024,
       .max = 1048576},
      {CHATBOT_SETTING(server, read_timeout_ms),
       .comment = "A started request must be read completely within this time.", .min = 100,
       .max = 3600000},
      {CHATBOT_SETTING(server, idle_timeout_ms),
       .comment = "Keep-alive connections idle for longer are closed.", .min = 100,
       .max = 86400000},
      {CHATBOT_SETTING(server, shutdown_timeout_ms),
       .comment = "On SIGTERM/SIGINT, in-flight requests get this long to finish.", .min = 0,
       .max = 600000},
      {CHATBOT_SETTING(server, max_batch), .comment = "Most texts in one /v1/parse/batch request.",
       .min = 1, .max = 100000},
      {CHATBOT_SETTING(server, log_text),
       .comment = "Write message texts into logs/api.log (off: only metadata)."},
      {CHATBOT_SETTING(server, worker_threads),
       .comment = "Threads that run the expensive requests (session searches, /v1/review),\n"
                  "so that they never hold an I/O thread; 0 means half the cores (at least 1).",
       .min = 0, .max = 256},
      {CHATBOT_SETTING(server, worker_queue),
       .comment = "Expensive requests that may wait for a worker; more are answered 503.", .min = 0,
       .max = 100000},

      {CHATBOT_SETTING(sessions, path), .comment = "SQLite database of sessions and turns.",
       .non_empty = true},
      {CHATBOT_SETTING(sessions, synchronous),
       .comment = "normal: a committed turn survives a crash of the process (WAL);\n"
                  "full: also a power loss, at the cost of an fsync per commit.",
       .allowed = {"normal", "full"}},
      {CHATBOT_SETTING(sessions, retention_days),
       .comment = "Sessions idle longer than this are deleted; 0 keeps them.", .min = 0,
       .max = 36500},
      {CHATBOT_SETTING(sessions, retention_interval_minutes),
       .comment = "How often the running service applies retention_days (also at start).", .min = 1,
       .max = 10080},
      {CHATBOT_SETTING(sessions, vacuum_after_retention),
       .comment = "After deleting sessions, give the freed space back to the file system\n"
                  "(incremental vacuum, in short steps, safe while serving)."},
      {CHATBOT_SETTING(sessions, search_max_chars),
       .comment = "Longest search text (q of GET /v1/sessions), in characters; longer is 400.",
       .min = 1, .max = 10000},
      {CHATBOT_SETTING(sessions, search_timeout_ms),
       .comment = "A session search that runs longer is stopped and answered 503.", .min = 10,
       .max = 600000},

      {CHATBOT_SETTING(store, backend),
       .comment = "Where sessions, turns, labels, API keys and the lockdown state live:\n"
                  "sqlite (the files sessions.path and security.database on this machine)\n"
                  "or postgres (one PostgreSQL database, shared by several instances).",
       .allowed = {"sqlite", "postgres"}},
      {CHATBOT_SETTING(store, postgres_url),
       .comment = "With backend = postgres: the libpq connection string\n"
                  "(\"host=db port=5432 dbname=chatbot user=chatbot\" or postgresql://...).\n"
                  "Keep the password out of this file: use postgres_url_file, the\n"
                  "environment variable, or libpq's PGPASSFILE."},
      {CHATBOT_SETTING(store, postgres_url_file),
       .comment = "A file holding the connection string (read at start, surrounding\n"
                  "blanks ignored); used when postgres_url is empty."},
      {CHATBOT_SETTING(store, postgres_pool_size),
       .comment = "Connections each store (sessions, keys) of an instance keeps open at most.",
       .min = 1, .max = 1000},
      {CHATBOT_SETTING(store, postgres_connect_timeout_ms),
       .comment = "Longest wait for a connection (opening one, or for a free one in the\n"
                  "pool); past it the request is answered 503 with Retry-After.",
       .min = 100, .max = 600000},
      {CHATBOT_SETTING(store, postgres_query_timeout_ms),
       .comment = "Longest wait for the answer to one statement; past it the connection is\n"
                  "dropped and the request answered 503 with Retry-After, so a stalled\n"
                  "server or network never holds a request. Keep it above\n"
                  "sessions.search_timeout_ms.",
       .min = 100, .max = 600000},

      {CHATBOT_SETTING(cluster, address),
       .comment = "The address (host:port) this instance is listed with in cluster status;\n"
                  "empty: server.host and the port listened on (this machine's name when\n"
                  "host is a wildcard address)."},
      {CHATBOT_SETTING(cluster, heartbeat_ms),
       .comment = "How often an instance records its heartbeat (address, model version).",
       .min = 100, .max = 60000},
      {CHATBOT_SETTING(cluster, stale_after_s),
       .comment = "An instance without a heartbeat for this long is listed as gone;\n"
                  "one silent for an hour is forgotten.",
       .min = 1, .max = 3600},
      {CHATBOT_SETTING(cluster, resync_s),
       .comment = "With store.backend = postgres: keys, lockdown and the serving model\n"
                  "version are re-read this often, in case a change notification was lost\n"
                  "(changes arrive at once by notification).",
       .min = 1, .max = 3600},

      {CHATBOT_SETTING(security, database),
       .comment = "SQLite database of the API keys (hashes only) and the lockdown state.",
       .non_empty = true},
      {CHATBOT_SETTING(security, admin_key_file),
       .comment = "Where serve writes the first admin key when the database has none\n"
                  "(readable only by the service's user).",
       .non_empty = true},
      {CHATBOT_SETTING(security, anonymous),
       .comment = "Requests without a key: off refuses them (401); loopback serves them\n"
                  "from this machine only, with the client role; on serves them from\n"
                  "anywhere, with the client role. Either way limited per address.",
       .allowed = {"off", "loopback", "on"}},
      {CHATBOT_SETTING(security, allow),
       .comment = "Global allowlist of client networks in CIDR form (IPv4 and IPv6);\n"
                  "empty allows every address."},
      {CHATBOT_SETTING(security, trusted_proxies),
       .comment = "Proxies (CIDR) whose proxy_header names the client; the header is\n"
                  "ignored from any other address."},
      {CHATBOT_SETTING(security, proxy_header),
       .comment = "The header the trusted proxies set to name the client: x-forwarded-for\n"
                  "(nginx's $proxy_add_x_forwarded_for) or forwarded (RFC 7239). The other\n"
                  "header is the client's own and ignored; see docs/security.md.",
       .allowed = {"x-forwarded-for", "forwarded"}},
      {CHATBOT_SETTING(security, expensive_request_cost),
       .comment = "Rate-limit tokens a session search (q, intent, since, until) or a\n"
                  "/v1/review request takes; other requests take 1.",
       .min = 1, .max = 1000},
      {CHATBOT_SETTING(security, rate_limit_anonymous),
       .comment = "Requests per second per client address without a key; 0 = no limit.", .min = 0,
       .max = 1000000},
      {CHATBOT_SETTING(security, rate_limit_client),
       .comment = "Requests per second per key of the client role (a key may override it);\n"
                  "0 = no limit.",
       .min = 0, .max = 1000000},
      {CHATBOT_SETTING(security, rate_limit_operator),
       .comment = "Requests per second per key of the operator role; 0 = no limit.", .min = 0,
       .max = 1000000},
      {CHATBOT_SETTING(security, rate_limit_admin),
       .comment = "Requests per second per key of the admin role; 0 = no limit.", .min = 0,
       .max = 1000000},
      {CHATBOT_SETTING(security, rate_limit_per_address),
       .comment = "Requests per second per client address, keys or not; 0 = no limit.", .min = 0,
       .max = 1000000},
      {CHATBOT_SETTING(security, burst_seconds),
       .comment = "A rate-limit bucket holds this many seconds' worth of requests (at least 1).",
       .min = 0, .min_exclusive = true, .max = 3600},
      {CHATBOT_SETTING(security, rate_limit_backend),
       .comment = "Where the rate-limit buckets are kept: local (in this process) or redis\n"
                  "(shared by every instance using the same Redis; docs/security.md).",
       .allowed = {"local", "redis"}},
      {CHATBOT_SETTING(security, rate_limit_redis_url),
       .comment = "Redis for rate_limit_backend = redis: redis://[:password@]host[:port][/db].\n"
                  "config show prints this value: keep a password in the password file.",
       .non_empty = true},
      {CHATBOT_SETTING(security, rate_limit_redis_password_file),
       .comment = "File holding the Redis password (one line); replaces the URL's password.\n"
                  "Empty: the URL's password, if any."},
      {CHATBOT_SETTING(security, rate_limit_redis_timeout_ms),
       .comment = "Connect and command timeout for Redis; a request never waits longer\n"
                  "for its rate-limit decision.",
       .min = 1, .max = 10000},
      {CHATBOT_SETTING(security, rate_limit_redis_down_policy),
       .comment = "While Redis cannot be reached: local limits each instance to the limit\n"
                  "divided by rate_limit_instances; closed answers 503 with Retry-After.",
       .allowed = {"local", "closed"}},
      {CHATBOT_SETTING(security, rate_limit_instances),
       .comment = "Instances sharing the Redis rate limits (the local policy's divisor).", .min = 1,
       .max = 10000},
      {CHATBOT_SETTING(security, auth_failures_per_minute),
       .comment = "Failed authentications one address may make per minute (also the burst);\n"
                  "beyond them its attempts get 429.",
       .min = 1, .max = 1000000},
      {CHATBOT_SETTING(security, refresh_ms),
       .comment = "How often serve looks for key and lockdown changes made by the command\n"
                  "line; the CLI waits this long before it reports a change in force.\n"
                  "With store.backend = postgres changes arrive by notification instead,\n"
                  "and cluster.resync_s is the poll.",
       .min = 10, .max = 60000},
      {CHATBOT_SETTING(security, usage_flush_s),
       .comment = "Key usage counters are written to the database this often.", .min = 1,
       .max = 3600},
      {CHATBOT_SETTING(security, audit_interval_s),
       .comment = "Refused requests are counted and written to the audit log once per\n"
                  "interval and address.",
       .min = 1, .max = 86400},

      {CHATBOT_SETTING(tls, certificate),
       .comment = "PEM certificate chain; when set, serve speaks HTTPS only (TLS 1.2+)\n"
                  "and SIGHUP reloads it."},
      {CHATBOT_SETTING(tls, private_key), .comment = "PEM private key of the certificate."},
      {CHATBOT_SETTING(tls, min_version), .comment = "Oldest TLS version accepted.",
       .allowed = {"1.2", "1.3"}},

      {CHATBOT_SETTING(dialogue, ambiguity_margin),
       .comment = "When the two best intents are closer than this in confidence, the bot\n"
                  "asks which one was meant. 0 never asks.",
       .min = 0, .max = 1},
      {CHATBOT_SETTING(dialogue, min_clarify_confidence),
       .comment = "A clarifying question needs at least this confidence in the best intent.",
       .min = 0, .max = 1},

      {CHATBOT_SETTING(svm, c),
       .comment = "SVM cost C: higher values fit the training data more closely.", .min = 0,
       .min_exclusive = true},
      {CHATBOT_SETTING(svm, word_ngram_max),
       .comment = "Word n-grams of 1 to this many words are features.", .min = 1, .max = 3},
      {CHATBOT_SETTING(svm, char_ngram_min),
       .comment = "Shortest character n-gram feature (taken inside word boundaries).", .min = 1,
       .max = 8},
      {CHATBOT_SETTING(svm, char_ngram_max), .comment = "Longest character n-gram feature.",
       .min = 1, .max = 8},
      {CHATBOT_SETTING(svm, min_df),
       .comment = "Features seen in fewer training documents than this are dropped.", .min = 1,
       .max = 1000},
      {CHATBOT_SETTING(svm, sublinear_tf),
       .comment = "Weight a term by 1 + log(tf) instead of its count tf."},
      {CHATBOT_SETTING(svm, validation_fraction),
       .comment = "Share of the training data held out to measure the model when no\n"
                  "validation data is given.",
       .min = 0.05, .max = 0.5},
      {CHATBOT_SETTING(svm, threshold_folds),
       .comment = "Folds of the cross-validation on the training data that chooses the\n"
                  "temperature and the out-of-scope threshold (the model is trained this\n"
                  "many extra times, on (k-1)/k of the data each).",
       .min = 2, .max = 20},
      {CHATBOT_SETTING(svm, seed), .comment = "Random seed of the held-out split."},
      {CHATBOT_SETTING(svm, threads), .comment = "Training threads; 0 means one per core.",
       .min = 0, .max = 256},
      {CHATBOT_SETTING(svm, solver),
       .comment = "native: deterministic dual coordinate descent (the algorithm of\n"
                  "LIBLINEAR's L2R_L2LOSS_SVC_DUAL), parallel over intents; liblinear:\n"
                  "LIBLINEAR itself (results vary slightly between runs when threaded).",
       .allowed = {"native", "liblinear"}},
      {
          CHATBOT_SETTING(svm, refit_with_validation),
          .comment = "After calibrating on separate validation data, refit the final model\n"
                     "on the training and validation data together (the recorded held-out\n"
                     "metrics stay those measured before the refit).",
      },
      {CHATBOT_SETTING(svm, epsilon), .comment = "Stopping tolerance of the SVM solver.", .min = 0,
       .min_exclusive = true, .max = 10},

      {CHATBOT_SETTING(bert, size),
       .comment = "Architecture of a BERT trained from scratch: tiny (2 layers, 128 wide),\n"
                  "mini (4 layers, 256) or small (4 layers, 512).",
       .allowed = {"tiny", "mini", "small"}},
      {CHATBOT_SETTING(bert, init),
       .comment = "A Hugging Face BERT checkpoint directory to fine-tune; empty trains\n"
                  "from scratch with a WordPiece vocabulary built from the training data."},
      {CHATBOT_SETTING(bert, vocab_size),
       .comment = "Size of the WordPiece vocabulary built when training from scratch.", .min = 1000,
       .max = 100000},
      {CHATBOT_SETTING(bert, max_length),
       .comment = "Tokens per text, [CLS] and [SEP] included; longer texts are truncated.",
       .min = 8, .max = 512},
      {CHATBOT_SETTING(bert, epochs),
       .comment = "Training epochs; the learning rate decays linearly to 0 over them\n"
                  "(early stopping may end sooner).",
       .min = 1, .max = 1000},
      {CHATBOT_SETTING(bert, batch_size), .comment = "Training examples per optimisation step.",
       .min = 1, .max = 4096},
      {CHATBOT_SETTING(bert, learning_rate),
       .comment = "Peak AdamW learning rate: about 1e-3 from scratch, 2e-5 to 5e-5 when\n"
                  "fine-tuning a pretrained checkpoint.",
       .min = 0, .min_exclusive = true, .max = 1},
      {CHATBOT_SETTING(bert, weight_decay), .comment = "AdamW decoupled weight decay.", .min = 0,
       .max = 1},
      {CHATBOT_SETTING(bert, warmup_fraction),
       .comment = "Share of the steps with a linearly rising learning rate.", .min = 0, .max = 1},
      {CHATBOT_SETTING(bert, dropout), .comment = "Dropout probability during training.", .min = 0,
       .max = 0.9},
      {CHATBOT_SETTING(bert, max_grad_norm),
       .comment = "Gradients are clipped to this global norm; 0 disables clipping.", .min = 0,
       .max = 1000},
      {CHATBOT_SETTING(bert, patience),
       .comment = "Training stops after this many epochs without a better validation accuracy.",
       .min = 1, .max = 1000},
      {CHATBOT_SETTING(bert, seed),
       .comment = "Random seed of initialisation, shuffling and dropout."},
      {CHATBOT_SETTING(bert, threads),
       .comment =
           "Threads for training BERT and for serving BERT or USE batches; 0 means one per core.",
       .min = 0, .max = 256},
      {CHATBOT_SETTING(bert, precision),
       .comment = "BERT's and USE's inference arithmetic: f32, or bf16 (about twice as fast on\n"
                  "CPUs with AVX512-BF16, with slightly different probabilities); auto is\n"
                  "bf16 where the CPU has it, f32 elsewhere.",
       .allowed = {"auto", "f32", "bf16"}},
      {CHATBOT_SETTING(bert, max_batch),
       .comment =
           "Serving: concurrent requests grouped into one encoder batch (BERT or USE), at most.",
       .min = 1, .max = 1024},
      {CHATBOT_SETTING(bert, max_wait_us),
       .comment = "Serving BERT: how long a request may wait for others to fill its batch.",
       .min = 0, .max = 1000000},
      {CHATBOT_SETTING(bert, cache_size),
       .comment = "Serving: predictions remembered by normalised text; 0 disables the cache.",
       .min = 0, .max = 10000000},

      {CHATBOT_SETTING(ensemble, mode),
       .comment = "weighted: every request is answered by both models, their calibrated\n"
                  "probabilities mixed with the weight chosen on validation data; cascade:\n"
                  "the SVM answers when it is confident, BERT is asked otherwise.",
       .allowed = {"weighted", "cascade"}},

      {CHATBOT_SETTING(backup, dir),
       .comment = "Folder of the backups made by `chatbot backup`, one per backup.\n"
                  "Put it on another disk than the data, and copy it off the machine.",
       .non_empty = true},
      {CHATBOT_SETTING(backup, keep),
       .comment = "`chatbot backup` keeps this many newest backups; 0 keeps all.", .min = 0,
       .max = 100000},
      {CHATBOT_SETTING(backup, max_age_days),
       .comment = "`chatbot backup` removes backups older than this (never the newest);\n"
                  "0 never.",
       .min = 0, .max = 36500},

      {CHATBOT_SETTING(monitoring, live_accuracy_days),
       .comment = "The live accuracy (/metrics chatbot_model_live_accuracy) counts the\n"
                  "turns labelled in the review queue within this many days...",
       .min = 1, .max = 3650},
      {CHATBOT_SETTING(monitoring, live_accuracy_max_labels),
       .comment = "...and of those, the newest this many.", .min = 1, .max = 1000000},
      {CHATBOT_SETTING(monitoring, accuracy_alert_drop),
       .comment = "The alert ChatbotModelAccuracyDropped fires when the live accuracy is\n"
                  "more than this many percentage points below the held-out accuracy.",
       .min = 0, .max = 100},
      {CHATBOT_SETTING(monitoring, accuracy_alert_min_samples),
       .comment = "...and only once the live accuracy counts at least this many labels.", .min = 1,
       .max = 1000000},

      {CHATBOT_SETTING(web, enabled),
       .comment = "Serve the chat page (/), the admin console (/admin), the widget\n"
                  "(/widget.js) and their assets (/static/) from the root folder."},
      {CHATBOT_SETTING(web, root),
       .comment = "Folder of the web assets. A relative path is looked up in the working\n"
                  "directory, then in the source tree the binary was built from.",
       .non_empty = true},
      {CHATBOT_SETTING(web, compress_min_bytes),
       .comment = "Static files and JSON responses at least this large are sent gzipped\n"
                  "to clients that accept it; 0 compresses every body.",
       .min = 0, .max = 1000000000},
      {CHATBOT_SETTING(web, frame_ancestors),
       .comment = "The Content-Security-Policy frame-ancestors of the pages: who may show\n"
                  "them in a frame ('none', 'self', or origins separated by spaces).",
       .non_empty = true},
      {CHATBOT_SETTING(web, widget_origins),
       .comment = "Origins of other sites whose pages may embed the widget (CORS for\n"
                  "POST /v1/chat), like \"https://shop.example\"; \"*\" allows any; empty: none."},
  };
  return definitions;
}

#undef CHATBOT_SETTING

std::string EnvironmentPrefix(std::string_view section) {
  std::string prefix = fmt::format("CHATBOT_{}_", section);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return prefix;
}

std::string SettingDefinition::EnvironmentVariable() const {
  std::string name = EnvironmentPrefix(section);
  std::transform(key.begin(), key.end(), std::back_inserter(name),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return name;
}

const SettingDefinition* FindDefinition(std::string_view section, std::string_view key) {
  for (const SettingDefinition& definition : Definitions()) {
    if (definition.section == section && definition.key == key) return &definition;
  }
  return nullptr;
}

const SettingDefinition* FindDefinition(std::string_view dotted_key) {
  const size_t dot = dotted_key.find('.');
  if (dot == std::string_view::npos) return nullptr;
  return FindDefinition(dotted_key.substr(0, dot), dotted_key.substr(dot + 1));
}

const std::vector<std::string_view>& Sections() {
  // Built once: every key of every file and variable is checked against it.
  static const std::vector<std::string_view> sections = [] {
    std::vector<std::string_view> found;
    for (const SettingDefinition& definition : Definitions()) {
      if (std::find(found.begin(), found.end(), definition.section) == found.end()) {
        found.push_back(definition.section);
      }
    }
    return found;
  }();
  return sections;
}

bool IsSection(std::string_view name) {
  const std::vector<std::string_view>& sections = Sections();
  return std::find(sections.begin(), sections.end(), name) != sections.end();
}

std::string UnknownSectionReason(std::string_view section) {
  return fmt::format("unknown section [{}] ({})", section, KnownSections());
}

// For a key the definitions lack: what was asked for and what exists.
std::string UnknownKeyReason(std::string_view section, std::string_view key) {
  if (!IsSection(section)) return UnknownSectionReason(section);
  std::vector<std::string_view> keys;
  for (const SettingDefinition& definition : Definitions()) {
    if (definition.section == section) keys.push_back(definition.key);
  }
  return fmt::format("unknown key '{}.{}' (known keys in [{}]: {})", section, key, section,
                     fmt::join(keys, ", "));
}

std::string UnknownKeyReason(std::string_view dotted_key) {
  const size_t dot = dotted_key.find('.');
  if (dot == std::string_view::npos) {
    return fmt::format("unknown key '{}': expected section.key ({})", dotted_key, KnownSections());
  }
  return UnknownKeyReason(dotted_key.substr(0, dot), dotted_key.substr(dot + 1));
}

std::string UnknownVariableReason(std::string_view variable) {
  for (std::string_view section : Sections()) {
    if (variable.starts_with(EnvironmentPrefix(section))) {
      std::vector<std::string> variables;
      for (const SettingDefinition& definition : Definitions()) {
        if (definition.section == section) variables.push_back(definition.EnvironmentVariable());
      }
      return fmt::format("unknown variable (known variables for [{}]: {})", section,
                         fmt::join(variables, ", "));
    }
  }
  return fmt::format("unknown variable (names are CHATBOT_<SECTION>_<KEY>; {})", KnownSections());
}

}  // namespace chatbot::config_schema
