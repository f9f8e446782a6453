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

#include "common/config_schema.h"
#include "common/error.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace chatbot {
namespace {

using namespace config_schema;  // NOLINT: the schema is this file's vocabulary

constexpr std::string_view kConfigVariable = "CHATBOT_CONFIG";
constexpr std::string_view kDefaultFile = "config/chatbot.toml";

using Origins = std::map<std::string, ValueOrigin>;

// The type a field accessor reaches.
template <typename Accessor>
using FieldType = std::remove_reference_t<std::invoke_result_t<Accessor, Settings&>>;

[[noreturn]] void Fail(const std::string& place, const std::string& reason) {
  throw ConfigError(place + ": " + reason);
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

// Environment variables and flags are text; lists are comma-separated.
template <typename T>
T FromText(std::string_view text, const std::string& place) {
  // The TOML parser refuses ill-formed UTF-8 in the file; a variable or flag
  // holding it would be stored, then printed by `config show` as TOML that
  // does not load.
  if (size_t bad_byte = 0; !IsValidUtf8(text, &bad_byte)) {
    Fail(place, fmt::format("invalid UTF-8 at byte {}", bad_byte));
  }
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
    for (std::string_view item : SplitTrimmed(text, ',')) items.emplace_back(item);
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
  // Every setting starts at its default; the map is built once and copied,
  // since each load (and each fuzz input) makes a Configuration.
  static const std::map<std::string, ValueOrigin> defaults = [] {
    std::map<std::string, ValueOrigin> origins;
    for (const SettingDefinition& definition : Definitions()) {
      origins[definition.DottedKey()] = ValueOrigin{};
    }
    return origins;
  }();
  origins_ = defaults;
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

namespace {

// Text for a comment of `config show`: one line of well-formed UTF-8,
// whatever a flag's value or a file's path holds, since a TOML comment ends
// at a newline and refuses other control characters and ill-formed UTF-8.
std::string CommentText(std::string_view text) {
  std::string repaired;
  RepairUtf8(text, &repaired);
  std::string out;
  for (const char c : repaired) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      out += fmt::format("\\x{:02X}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string Configuration::Describe() const {
  Settings settings = settings_;
  std::string out = "# Effective settings, each followed by where its value came from.\n";
  out += file_ ? fmt::format("# Config file: {}\n", CommentText(file_->string()))
               : "# Config file: none (embedded defaults)\n";
  std::string_view section;
  for (const SettingDefinition& definition : Definitions()) {
    if (definition.section != section) {
      section = definition.section;
      out += fmt::format("\n[{}]\n", section);
    }
    out += fmt::format("{} = {}  # {}\n", definition.key, FormatValue(definition, settings),
                       CommentText(DescribeOrigin(origins_.at(definition.DottedKey()))));
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
