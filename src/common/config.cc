#include "common/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/error.h"

namespace chatbot {
namespace {

// Reaches one field of Settings. One accessor both reads and writes, so a
// setting is bound to its field in exactly one place.
template <typename T>
using FieldAccessor = T& (*)(Settings&);

using Field = std::variant<FieldAccessor<std::string>, FieldAccessor<bool>, FieldAccessor<int64_t>,
                           FieldAccessor<double>, FieldAccessor<std::vector<std::string>>>;

// One setting: where it lives, what it means and which values it accepts.
// The default is the Settings field's initialiser, so it is written once.
struct SettingDefinition {
  std::string_view section;
  std::string_view key;
  Field field;
  std::string_view comment;  // one sentence per line
  std::optional<double> min = std::nullopt;
  bool min_exclusive = false;  // "> min" rather than ">= min"
  std::optional<double> max = std::nullopt;
  std::vector<std::string_view> allowed = {};  // the only accepted strings, if any
  bool non_empty = false;                      // strings, and lists and their entries

  std::string DottedKey() const { return fmt::format("{}.{}", section, key); }
  std::string EnvironmentVariable() const;
};

// Binds a definition to the Settings field of the same name, which keeps the
// TOML keys and the field names identical.
// clang-format off
#define CHATBOT_SETTING(section_name, key_name) \
  .section = #section_name, .key = #key_name,   \
  .field = +[](Settings& s) -> auto& { return s.section_name.key_name; }
// clang-format on

// Every setting, in the order of `config show` and the documentation. Adding
// a setting means adding its Settings field and one entry here.
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
       .comment = "The model that answers: auto (the ensemble when both models exist,\n"
                  "otherwise the one that does), svm, bert or ensemble.",
       .allowed = {"auto", "svm", "bert", "ensemble"}},
      {CHATBOT_SETTING(nlu, oos_max_accuracy_loss),
       .comment = "Out-of-scope threshold: the highest confidence threshold whose in-scope\n"
                  "accuracy on held-out data is at most this many percentage points below\n"
                  "the accuracy without a threshold. 0 disables the threshold.",
       .min = 0, .max = 20},

      {CHATBOT_SETTING(server, host), .comment = "Address the HTTP service listens on.",
       .non_empty = true},
      {CHATBOT_SETTING(server, port), .comment = "TCP port; 0 picks a free one (tests).", .min = 0,
       .max = 65535},
      {CHATBOT_SETTING(server, threads), .comment = "I/O threads; 0 means one per core.", .min = 0,
       .max = 256},
      {CHATBOT_SETTING(server, max_connections),
       .comment = "Connections served at once; more are refused.", .min = 1, .max = 1000000},
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
       .comment = "Proxies (CIDR) whose X-Forwarded-For or Forwarded header names the\n"
                  "client; the header is ignored from any other address."},
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
      {CHATBOT_SETTING(security, auth_failures_per_minute),
       .comment = "Failed authentications one address may make per minute (also the burst);\n"
                  "beyond them its attempts get 429.",
       .min = 1, .max = 1000000},
      {CHATBOT_SETTING(security, refresh_ms),
       .comment = "How often serve looks for key and lockdown changes made by the command\n"
                  "line; the CLI waits this long before it reports a change in force.",
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
       .comment = "Share of the training data held out for calibration when no\n"
                  "validation data is given.",
       .min = 0.05, .max = 0.5},
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
       .comment = "Threads for training and for serving BERT batches; 0 means one per core.",
       .min = 0, .max = 256},
      {CHATBOT_SETTING(bert, precision),
       .comment = "Inference arithmetic: f32, or bf16 (about twice as fast on CPUs with\n"
                  "AVX512-BF16, with slightly different probabilities).",
       .allowed = {"f32", "bf16"}},
      {CHATBOT_SETTING(bert, max_batch),
       .comment = "Serving: concurrent requests grouped into one encoder batch, at most.", .min = 1,
       .max = 1024},
      {CHATBOT_SETTING(bert, max_wait_us),
       .comment = "Serving: how long a request may wait for others to fill its batch.", .min = 0,
       .max = 1000000},
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

// Integer settings whose values must be ordered: lower <= upper.
struct OrderedPair {
  std::string_view lower;
  std::string_view upper;
};
constexpr OrderedPair kOrderedPairs[] = {{"svm.char_ngram_min", "svm.char_ngram_max"}};

constexpr std::string_view kConfigVariable = "CHATBOT_CONFIG";
constexpr std::string_view kDefaultFile = "config/chatbot.toml";

// "CHATBOT_SVM_" for section "svm": every variable of the section starts so.
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

using Origins = std::map<std::string, ValueOrigin>;

// The type a field accessor reaches.
template <typename Accessor>
using FieldType = std::remove_reference_t<std::invoke_result_t<Accessor, Settings&>>;

[[noreturn]] void Fail(const std::string& place, const std::string& reason) {
  throw ConfigError(place + ": " + reason);
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

std::vector<std::string_view> Sections() {
  std::vector<std::string_view> sections;
  for (const SettingDefinition& definition : Definitions()) {
    if (std::find(sections.begin(), sections.end(), definition.section) == sections.end()) {
      sections.push_back(definition.section);
    }
  }
  return sections;
}

bool IsSection(std::string_view name) {
  const std::vector<std::string_view> sections = Sections();
  return std::find(sections.begin(), sections.end(), name) != sections.end();
}

std::string KnownSections() {
  return fmt::format("known sections: {}", fmt::join(Sections(), ", "));
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

// ---------------------------------------------------------------------------
// Values: reading them from TOML or from text, checking and formatting them.

// Text of a number in messages and documentation: 1, 0.05, 1000000.
std::string FormatNumber(double value) {
  return fmt::format("{}", value);
}

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The shortest text that reads back as the same double, always with a
// fraction or exponent so that TOML sees a float: 1.0, 0.15, 1e-07.
std::string TomlDouble(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string ToToml(const std::string& value) {
  return TomlString(value);
}
std::string ToToml(bool value) {
  return value ? "true" : "false";
}
std::string ToToml(int64_t value) {
  return fmt::format("{}", value);
}
std::string ToToml(double value) {
  return TomlDouble(value);
}
std::string ToToml(const std::vector<std::string>& value) {
  std::vector<std::string> items;
  for (const std::string& item : value) items.push_back(TomlString(item));
  return fmt::format("[{}]", fmt::join(items, ", "));
}

// The accessors take a mutable Settings; callers that only read pass a copy.
std::string FormatValue(const SettingDefinition& definition, Settings& settings) {
  return std::visit([&](auto field) { return ToToml(field(settings)); }, definition.field);
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

template <typename T>
T FromToml(const toml::node& node, const std::string& place) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (const auto* value = node.as_string()) return value->get();
    Fail(place, "expected a string, got " + TypeName(node));
  } else if constexpr (std::is_same_v<T, bool>) {
    if (const auto* value = node.as_boolean()) return value->get();
    Fail(place, "expected a boolean (true or false), got " + TypeName(node));
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (const auto* value = node.as_integer()) return value->get();
    Fail(place, "expected an integer, got " + TypeName(node));
  } else if constexpr (std::is_same_v<T, double>) {
    if (const auto* value = node.as_integer()) return static_cast<double>(value->get());
    if (const auto* value = node.as_floating_point()) {
      if (!std::isfinite(value->get())) Fail(place, "must be a finite number");
      return value->get();
    }
    Fail(place, "expected a number, got " + TypeName(node));
  } else {
    const auto* array = node.as_array();
    if (array == nullptr) Fail(place, "expected an array of strings, got " + TypeName(node));
    std::vector<std::string> items;
    for (size_t i = 0; i < array->size(); ++i) {
      const auto* item = (*array)[i].as_string();
      if (item == nullptr) {
        Fail(place, fmt::format("entry {} is {}, expected a string", i + 1, TypeName((*array)[i])));
      }
      items.push_back(item->get());
    }
    return items;
  }
}

std::string_view Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// Environment variables and flags are text; lists are comma-separated.
template <typename T>
T FromText(std::string_view text, const std::string& place) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(text);
  } else if constexpr (std::is_same_v<T, bool>) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
    if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
    Fail(place, fmt::format("'{}' is not a boolean (use true/false, 1/0, yes/no or on/off)", text));
  } else if constexpr (std::is_same_v<T, int64_t>) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) {
      Fail(place, fmt::format("'{}' is out of the integer range", text));
    }
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
      Fail(place, fmt::format("'{}' is not an integer", text));
    }
    return value;
  } else if constexpr (std::is_same_v<T, double>) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
      Fail(place, fmt::format("'{}' is not a number", text));
    }
    if (!std::isfinite(value)) Fail(place, "must be a finite number");
    return value;
  } else {
    std::vector<std::string> items;
    if (Trim(text).empty()) return items;
    size_t begin = 0;
    while (true) {
      const size_t comma = text.find(',', begin);
      items.emplace_back(Trim(text.substr(begin, comma - begin)));
      if (comma == std::string_view::npos) break;
      begin = comma + 1;
    }
    return items;
  }
}

std::string RangeText(const SettingDefinition& definition) {
  const std::optional<double>& min = definition.min;
  const std::optional<double>& max = definition.max;
  if (min && max) return fmt::format("between {} and {}", FormatNumber(*min), FormatNumber(*max));
  if (min) {
    return fmt::format("{} {}", definition.min_exclusive ? "greater than" : "at least",
                       FormatNumber(*min));
  }
  if (max) return fmt::format("at most {}", FormatNumber(*max));
  return {};
}

template <typename T>
void Validate(const SettingDefinition& definition, const T& value, const std::string& place) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (definition.non_empty && value.empty()) Fail(place, "must not be empty");
    if (!definition.allowed.empty() &&
        std::find(definition.allowed.begin(), definition.allowed.end(), value) ==
            definition.allowed.end()) {
      Fail(place, fmt::format("'{}' is not one of {}", value, fmt::join(definition.allowed, ", ")));
    }
  } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
    const double number = static_cast<double>(value);
    const bool below = definition.min && (definition.min_exclusive ? number <= *definition.min
                                                                   : number < *definition.min);
    const bool above = definition.max && number > *definition.max;
    if (below || above) Fail(place, "must be " + RangeText(definition));
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (definition.non_empty) {
      if (value.empty()) Fail(place, "must not be empty");
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i].empty()) Fail(place, fmt::format("entry {} must not be empty", i + 1));
      }
    }
  }
}

// A value as given: a node of the TOML file, or the text of a variable or flag.
using RawValue = std::variant<const toml::node*, std::string_view>;

// Converts, checks and stores one value. `place` starts every error message.
void Assign(const SettingDefinition& definition, const RawValue& raw, const std::string& place,
            ValueOrigin origin, Settings& settings, Origins& origins) {
  std::visit(
      [&](auto field) {
        using T = FieldType<decltype(field)>;
        T value = std::holds_alternative<const toml::node*>(raw)
                      ? FromToml<T>(*std::get<const toml::node*>(raw), place)
                      : FromText<T>(std::get<std::string_view>(raw), place);
        Validate(definition, value, place);
        field(settings) = std::move(value);
      },
      definition.field);
  origins[definition.DottedKey()] = std::move(origin);
}

// ---------------------------------------------------------------------------
// Sources.

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    variables.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return variables;
}

// Checks that a named configuration file can be read; `who` names who asked.
void RequireFile(const std::filesystem::path& path, const std::string& who) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    throw ConfigError(fmt::format("{}config file '{}' does not exist", who, path.string()));
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw ConfigError(fmt::format("{}config file '{}' is not a regular file", who, path.string()));
  }
}

std::optional<std::filesystem::path> ChooseFile(
    const Configuration::Sources& sources, const std::map<std::string, std::string>& environment) {
  if (sources.file) {
    RequireFile(*sources.file, "");
    return sources.file;
  }
  if (const auto it = environment.find(std::string(kConfigVariable)); it != environment.end()) {
    const std::string who = fmt::format("environment {}: ", kConfigVariable);
    if (it->second.empty()) throw ConfigError(who + "must not be empty");
    RequireFile(it->second, who);
    return std::filesystem::path(it->second);
  }
  std::error_code error;
  if (std::filesystem::exists(kDefaultFile, error)) {
    RequireFile(kDefaultFile, "");
    return std::filesystem::path(kDefaultFile);
  }
  return std::nullopt;
}

void ApplyFile(const std::filesystem::path& path, Settings& settings, Origins& origins) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  if (in) contents << in.rdbuf();
  if (!in || in.bad()) throw ConfigError(fmt::format("cannot read config file '{}'", name));

  toml::table root;
  try {
    root = toml::parse(contents.str(), std::string_view(name));
  } catch (const toml::parse_error& error) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", name, error.source().begin.line,
                                  error.source().begin.column, error.description()));
  }

  const auto where = [&](const toml::key& key) {
    return fmt::format("{}:{}", name, key.source().begin.line);
  };
  for (const auto& [section, section_node] : root) {
    if (!IsSection(section.str())) {
      Fail(where(section), section_node.is_table()
                               ? UnknownSectionReason(section.str())
                               : fmt::format("unknown key '{}': settings belong in a section ({})",
                                             section.str(), KnownSections()));
    }
    const toml::table* table = section_node.as_table();
    if (table == nullptr) {
      Fail(where(section),
           fmt::format("'{}' must be a table ([{}])", section.str(), section.str()));
    }
    for (const auto& [key, node] : *table) {
      const SettingDefinition* definition = FindDefinition(section.str(), key.str());
      if (definition == nullptr) Fail(where(key), UnknownKeyReason(section.str(), key.str()));
      Assign(*definition, &node, where(key) + ": " + definition->DottedKey(),
             {ValueOrigin::Kind::kFile, where(key)}, settings, origins);
    }
  }
}

void ApplyEnvironment(const std::map<std::string, std::string>& environment, Settings& settings,
                      Origins& origins) {
  for (const auto& [variable, value] : environment) {
    if (!variable.starts_with("CHATBOT_") || variable == kConfigVariable) continue;
    const std::string place = "environment " + variable;
    const SettingDefinition* found = nullptr;
    for (const SettingDefinition& definition : Definitions()) {
      if (definition.EnvironmentVariable() == variable) found = &definition;
    }
    if (found == nullptr) Fail(place, UnknownVariableReason(variable));
    Assign(*found, std::string_view(value), place, {ValueOrigin::Kind::kEnvironment, variable},
           settings, origins);
  }
}

void ApplyFlag(const std::string& flag, Settings& settings, Origins& origins) {
  const std::string detail = "--set " + flag;
  const std::string place = "flag " + detail;
  const size_t equals = flag.find('=');
  if (equals == std::string::npos) Fail(place, "expected section.key=value");
  const std::string_view dotted_key = std::string_view(flag).substr(0, equals);
  const SettingDefinition* definition = FindDefinition(dotted_key);
  if (definition == nullptr) Fail(place, UnknownKeyReason(dotted_key));
  Assign(*definition, std::string_view(flag).substr(equals + 1), place,
         {ValueOrigin::Kind::kFlag, detail}, settings, origins);
}

int64_t IntegerSetting(std::string_view dotted_key, Settings& settings) {
  return std::get<FieldAccessor<int64_t>>(FindDefinition(dotted_key)->field)(settings);
}

// Rules between settings, checked once every source is applied.
void CheckOrderedPairs(Settings& settings, const Origins& origins) {
  for (const OrderedPair& pair : kOrderedPairs) {
    const int64_t lower = IntegerSetting(pair.lower, settings);
    const int64_t upper = IntegerSetting(pair.upper, settings);
    if (lower > upper) {
      throw ConfigError(fmt::format("{} = {} ({}) must not exceed {} = {} ({})", pair.lower, lower,
                                    DescribeOrigin(origins.at(std::string(pair.lower))), pair.upper,
                                    upper, DescribeOrigin(origins.at(std::string(pair.upper)))));
    }
  }
}

// ---------------------------------------------------------------------------
// Documentation.

std::string TypeText(const SettingDefinition& definition) {
  return std::visit(
      [](auto field) -> std::string {
        using T = FieldType<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "string";
        } else if constexpr (std::is_same_v<T, bool>) {
          return "boolean";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return "integer";
        } else if constexpr (std::is_same_v<T, double>) {
          return "float";
        } else {
          return "list of strings";
        }
      },
      definition.field);
}

// What the documentation says a setting accepts, e.g. "between 1 and 50".
std::string AllowedText(const SettingDefinition& definition) {
  std::string text;
  if (!definition.allowed.empty()) {
    text = fmt::format("{}", fmt::join(definition.allowed, ", "));
  } else if (definition.min || definition.max) {
    text = RangeText(definition);
  } else if (std::holds_alternative<FieldAccessor<bool>>(definition.field)) {
    text = "true or false (variables and flags also take 1/0, yes/no, on/off)";
  } else if (std::holds_alternative<FieldAccessor<std::vector<std::string>>>(definition.field)) {
    text = definition.non_empty ? "one or more non-empty strings" : "any strings";
    text += " (comma-separated in variables and flags)";
  } else if (std::holds_alternative<FieldAccessor<std::string>>(definition.field)) {
    text = definition.non_empty ? "a non-empty string" : "any string";
  } else {
    text = "any " + TypeText(definition);
  }
  const std::string key = definition.DottedKey();
  for (const OrderedPair& pair : kOrderedPairs) {
    if (pair.lower == key) text += fmt::format(", at most {}", pair.upper);
    if (pair.upper == key) text += fmt::format(", at least {}", pair.lower);
  }
  return text;
}

}  // namespace

std::string DescribeOrigin(const ValueOrigin& origin) {
  switch (origin.kind) {
    case ValueOrigin::Kind::kDefault:
      return "default";
    case ValueOrigin::Kind::kFile:
      return "file " + origin.detail;
    case ValueOrigin::Kind::kEnvironment:
      return "environment " + origin.detail;
    case ValueOrigin::Kind::kFlag:
      return "flag " + origin.detail;
  }
  return origin.detail;
}

Configuration::Configuration() {
  for (const SettingDefinition& definition : Definitions()) {
    origins_[definition.DottedKey()] = ValueOrigin{};
  }
}

Configuration Configuration::Load(const Sources& sources) {
  std::map<std::string, std::string> environment =
      sources.environment ? *sources.environment : ProcessEnvironment();
  Configuration config;
  config.file_ = ChooseFile(sources, environment);
  if (config.file_) ApplyFile(*config.file_, config.settings_, config.origins_);
  ApplyEnvironment(environment, config.settings_, config.origins_);
  for (const std::string& flag : sources.flags) ApplyFlag(flag, config.settings_, config.origins_);
  CheckOrderedPairs(config.settings_, config.origins_);
  return config;
}

const ValueOrigin& Configuration::OriginOf(const std::string& dotted_key) const {
  const auto it = origins_.find(dotted_key);
  if (it == origins_.end()) throw ConfigError(UnknownKeyReason(dotted_key));
  return it->second;
}

std::string Configuration::Describe() const {
  Settings settings = settings_;
  std::string out = "# Effective settings, each followed by where its value came from.\n";
  out += file_ ? fmt::format("# Config file: {}\n", file_->string())
               : "# Config file: none (embedded defaults)\n";
  std::string_view section;
  for (const SettingDefinition& definition : Definitions()) {
    if (definition.section != section) {
      section = definition.section;
      out += fmt::format("\n[{}]\n", section);
    }
    out += fmt::format("{} = {}  # {}\n", definition.key, FormatValue(definition, settings),
                       DescribeOrigin(origins_.at(definition.DottedKey())));
  }
  return out;
}

std::vector<std::string> Configuration::Keys() {
  std::vector<std::string> keys;
  for (const SettingDefinition& definition : Definitions()) keys.push_back(definition.DottedKey());
  return keys;
}

std::string Configuration::FileTemplate() {
  Settings defaults;
  std::string out =
      "# Configuration of the chatbot service.\n"
      "#\n"
      "# Every setting is listed at its built-in default. Values are taken, from\n"
      "# lowest to highest precedence, from: the built-in defaults, this file,\n"
      "# environment variables CHATBOT_<SECTION>_<KEY>, and command-line flags\n"
      "# --set section.key=value. `chatbot config show` prints the effective values\n"
      "# and where each came from. Reference: docs/configuration.md.\n"
      "#\n"
      "# Generated from the setting definitions in src/common/config.cc\n"
      "# (Configuration::FileTemplate); a unit test keeps the two identical.\n";
  std::string_view section;
  for (const SettingDefinition& definition : Definitions()) {
    if (definition.section != section) {
      section = definition.section;
      out += fmt::format("\n[{}]\n", section);
    } else {
      out += "\n";
    }
    std::string_view comment = definition.comment;
    while (!comment.empty()) {
      const size_t newline = comment.find('\n');
      out += fmt::format("# {}\n", comment.substr(0, newline));
      comment = newline == std::string_view::npos ? "" : comment.substr(newline + 1);
    }
    out += fmt::format("# Allowed: {}.\n# Environment: {}\n", AllowedText(definition),
                       definition.EnvironmentVariable());
    out += fmt::format("{} = {}\n", definition.key, FormatValue(definition, defaults));
  }
  return out;
}

std::string Configuration::ReferenceTable() {
  Settings defaults;
  std::string out =
      "| Setting | Type | Default | Allowed | Environment variable | Meaning |\n"
      "|---|---|---|---|---|---|\n";
  for (const SettingDefinition& definition : Definitions()) {
    std::string meaning(definition.comment);
    std::replace(meaning.begin(), meaning.end(), '\n', ' ');
    out += fmt::format("| `{}` | {} | `{}` | {} | `{}` | {} |\n", definition.DottedKey(),
                       TypeText(definition), FormatValue(definition, defaults),
                       AllowedText(definition), definition.EnvironmentVariable(), meaning);
  }
  return out;
}

}  // namespace chatbot
