// The schema of the configuration, private to common/config.cc: one
// definition per setting (section, key, the Settings field it binds, its
// comment and accepted values) and the lookups that parsing, `config show`
// and the reference documentation share. The parsing of files, variables
// and flags is in config.cc.
#ifndef CHATBOT_COMMON_CONFIG_SCHEMA_H_
#define CHATBOT_COMMON_CONFIG_SCHEMA_H_

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/config.h"

namespace chatbot::config_schema {

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

// Every setting, in the order of `config show` and the documentation.
const std::vector<SettingDefinition>& Definitions();

// Integer settings whose values must be ordered: lower <= upper.
struct OrderedPair {
  std::string_view lower;
  std::string_view upper;
};
constexpr OrderedPair kOrderedPairs[] = {{"svm.char_ngram_min", "svm.char_ngram_max"}};

// "CHATBOT_SVM_" for section "svm": every variable of the section starts so.
std::string EnvironmentPrefix(std::string_view section);

// nullptr when there is no such setting.
const SettingDefinition* FindDefinition(std::string_view section, std::string_view key);
const SettingDefinition* FindDefinition(std::string_view dotted_key);

// The sections, in the order of the definitions.
const std::vector<std::string_view>& Sections();
bool IsSection(std::string_view name);
// "known sections: paths, logging, ...".
std::string KnownSections();

// Why a name is not a setting, naming those that exist.
std::string UnknownSectionReason(std::string_view section);
std::string UnknownKeyReason(std::string_view section, std::string_view key);
std::string UnknownKeyReason(std::string_view dotted_key);
std::string UnknownVariableReason(std::string_view variable);

}  // namespace chatbot::config_schema

#endif  // CHATBOT_COMMON_CONFIG_SCHEMA_H_
