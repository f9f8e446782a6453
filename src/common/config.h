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
    friend bool operator==(const Logging&, const Logging&) = default;
  } logging;

  struct Bot {
    std::string name = "Ava";                                 // used in replies as {bot_name}
    std::string support_email = "support@northwind.example";  // {support_email}
    std::string support_phone = "+1 555 0100";                // {support_phone}
    std::string opening_hours = "Monday to Saturday, 9:00 to 18:00";  // {opening_hours}
    int64_t returns_days = 30;                                        // {returns_days}
    friend bool operator==(const Bot&, const Bot&) = default;
  } bot;

  struct Nlu {
    bool strip_accents = false;      // remove accents after NFKC + case folding
    int64_t top_k = 5;               // entries in a prediction's ranking (1..50)
    int64_t max_text_length = 2000;  // longest accepted input, in bytes (1..1000000)
    // In-scope accuracy, in percentage points, that the out-of-scope
    // threshold may cost on held-out data (0..20).
    double oos_max_accuracy_loss = 1.0;
    friend bool operator==(const Nlu&, const Nlu&) = default;
  } nlu;

  struct Server {
    std::string host = "0.0.0.0";
    int64_t port = 8080;  // 0 = any free port (tests)
    int64_t threads = 0;  // I/O threads; 0 = one per core
    int64_t max_connections = 10000;
    int64_t max_body_bytes = 65536;  // larger bodies get 413
    int64_t max_header_bytes = 16384;
    int64_t read_timeout_ms = 10000;      // a request must arrive within this
    int64_t idle_timeout_ms = 60000;      // keep-alive connections idle longer are closed
    int64_t shutdown_timeout_ms = 10000;  // in-flight requests get this long on SIGTERM
    int64_t max_batch = 256;              // texts per /v1/parse/batch
    bool log_text = false;                // message text in logs/api.log
    friend bool operator==(const Server&, const Server&) = default;
  } server;

  struct Sessions {
    std::string path = "data/sessions/sessions.db";
    std::string synchronous = "normal";  // normal (safe against crashes)|full (also power loss)
    int64_t retention_days = 0;          // delete sessions idle longer; 0 = keep
    friend bool operator==(const Sessions&, const Sessions&) = default;
  } sessions;

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
    int64_t seed = 42;              // for the held-out split
    int64_t threads = 0;            // training threads; 0 = one per core (0..256)
    std::string solver = "native";  // native|liblinear
    // Refit the final model on training + validation data (see svm_trainer.h).
    bool refit_with_validation = true;
    double epsilon = 0.1;  // solver stopping tolerance (> 0)
    friend bool operator==(const Svm&, const Svm&) = default;
  } svm;

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
