// One concept at about 600 lines: the loader of training data. Every format
// (YAML, Rasa YAML, JSON Lines, CSV) feeds the same Loader, which applies one
// set of rules (names, empty texts, duplicates, conflicts) and one way of
// naming the file and line of a problem; split by format, those rules would
// be written once per file.
#include "nlu/training_data.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/strings.h"
#include "nlu/csv_records.h"
#include "nlu/intent_name.h"
#include "nlu/text_normalizer.h"
#include "nlu/yaml_documents.h"

namespace chatbot::nlu {
namespace {

namespace fs = std::filesystem;

enum class FileFormat { kYaml, kJsonLines, kCsv };

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr const char* kDataFileTypes = ".yml, .yaml, .jsonl, .json or .csv";

// Every top-level key, and every key of an intent entry, that the YAML
// format knows; anything else is rejected so that a typo ("exmaples") is an
// error rather than an intent silently without examples.
constexpr std::string_view kTopLevelKeys[] = {"version", "intents"};
constexpr std::string_view kIntentKeys[] = {"intent", "description", "examples", "responses"};

std::optional<FileFormat> FormatOf(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".yml" || extension == ".yaml") return FileFormat::kYaml;
  if (extension == ".jsonl" || extension == ".json") return FileFormat::kJsonLines;
  if (extension == ".csv") return FileFormat::kCsv;
  return std::nullopt;
}

std::string Location(const fs::path& file, int line) {
  return file.string() + ":" + std::to_string(line);
}

// yaml-cpp counts lines from 0, and a node without a position has line -1.
std::string Location(const fs::path& file, const YAML::Mark& mark) {
  return Location(file, std::max(mark.line, 0) + 1);
}

[[noreturn]] void Fail(const std::string& where, const std::string& reason) {
  throw DataError(where + ": " + reason);
}

std::string Quote(std::string_view text) {
  return EscapeForDisplay(text);
}

constexpr const char* kIntentNameRule =
    " (an intent name must not be empty, contain control characters, or begin or end with white "
    "space)";

constexpr std::string_view kRasaIntentKeys[] = {"intent", "examples", "metadata"};

// Rasa marks entities inside examples as [text](entity) or [text]{"entity":
// ...}; the classifier learns from the text alone.
std::string WithoutEntityMarkup(std::string_view example) {
  std::string out;
  size_t i = 0;
  while (i < example.size()) {
    if (example[i] == '[') {
      const size_t close = example.find(']', i + 1);
      if (close != std::string_view::npos && close + 1 < example.size() &&
          (example[close + 1] == '(' || example[close + 1] == '{')) {
        const char end_char = example[close + 1] == '(' ? ')' : '}';
        const size_t end = example.find(end_char, close + 2);
        if (end != std::string_view::npos) {
          out.append(example.substr(i + 1, close - i - 1));
          i = end + 1;
          continue;
        }
      }
    }
    out += example[i++];
  }
  return out;
}

template <size_t N>
std::string JoinKeys(const std::string_view (&keys)[N]) {
  std::string joined;
  for (std::string_view key : keys) {
    if (!joined.empty()) joined += ", ";
    joined += key;
  }
  return joined;
}

// Returns the files `path` stands for: itself, or the data files of a
// directory tree in sorted order.
std::vector<fs::path> ExpandPath(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    throw IoError("cannot access " + path.string() + ": " + error.message());
  }
  if (!fs::exists(status)) Fail(path.string(), "no such file or directory");
  if (!fs::is_directory(status)) {
    if (!FormatOf(path)) {
      Fail(path.string(), "unknown file type " + Quote(path.extension().string()) + " (expected " +
                              kDataFileTypes + ")");
    }
    return {path};
  }
  std::vector<fs::path> files;
  try {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && FormatOf(entry.path())) files.push_back(entry.path());
    }
  } catch (const fs::filesystem_error& e) {
    throw IoError(std::string("cannot list ") + path.string() + ": " + e.what());
  }
  if (files.empty()) {
    Fail(path.string(), std::string("no data files (") + kDataFileTypes + ") here");
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Accumulates the files of one LoadTrainingData call. Intents are merged by
// name across files; duplicate texts are detected as examples arrive.
class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  void LoadFile(const fs::path& path);
  TrainingData Finish();

 private:
  // Where a normalised text was first seen under one intent. The uses of one
  // text form a chain (nearly always of length 1), which spares a container
  // per distinct text.
  struct FirstUse {
    size_t intent;   // index into data_.intents
    size_t example;  // index into data_.examples
    size_t next;     // index into uses_ of the text's next use, or kEndOfChain
  };
  static constexpr size_t kEndOfChain = SIZE_MAX;

  void LoadYaml(const fs::path& path, const std::string& contents);
  void LoadIntentEntry(const fs::path& path, const YAML::Node& entry);
  void LoadRasa(const fs::path& path, const YAML::Node& root);
  void LoadRasaIntent(const fs::path& path, const YAML::Node& entry);
  void LoadJsonLines(const fs::path& path, std::string_view contents);
  void LoadCsv(const fs::path& path, std::string_view contents);
  // One labelled example of a flat format (JSON Lines, CSV).
  void AddLabelledExample(std::string text, const std::string& intent, const std::string& where);

  // Returns the index of intent `name`, defining it (at `where`) if new.
  size_t DefineIntent(const std::string& name, const std::string& where);
  void AddExample(std::string text, size_t intent, std::string source);

  const LoadOptions options_;
  const TextNormalizer normalizer_;
  TrainingData data_;
  std::set<fs::path> loaded_files_;  // canonical paths
  std::unordered_map<std::string, size_t> intent_index_;
  std::vector<std::string> intent_sources_;  // "FILE:LINE" of each intent's first definition
  std::vector<size_t> example_counts_;       // per intent
  // Normalised text -> the first of its uses, one per intent it appears under.
  std::unordered_map<std::string, size_t> first_use_;
  std::vector<FirstUse> uses_;
  std::string key_;  // reused buffer for normalised texts
};

void Loader::LoadFile(const fs::path& path) {
  if (!loaded_files_.insert(fs::weakly_canonical(path)).second) return;
  data_.files.push_back(path);

  std::string contents = ReadFile(path);
  if (std::string_view(contents).starts_with(kUtf8Bom)) contents.erase(0, kUtf8Bom.size());
  // Checked on the raw bytes, for the whole file: parsers differ in what
  // they let through, and a file that is not UTF-8 is broken anyway.
  size_t offset = 0;
  if (!IsValidUtf8(contents, &offset)) {
    const auto line = 1 + std::count(contents.begin(), contents.begin() + offset, '\n');
    Fail(Location(path, static_cast<int>(line)),
         "invalid UTF-8 (at byte offset " + std::to_string(offset) + " of the file)");
  }
  switch (*FormatOf(path)) {
    case FileFormat::kYaml:
      LoadYaml(path, contents);
      break;
    case FileFormat::kJsonLines:
      LoadJsonLines(path, contents);
      break;
    case FileFormat::kCsv:
      LoadCsv(path, contents);
      break;
  }
}

void Loader::LoadYaml(const fs::path& path, const std::string& contents) {
  YamlDocuments documents;
  try {
    documents = ReadYamlDocuments(contents);
  } catch (const YAML::Exception& e) {
    Fail(Location(path, e.mark), "malformed YAML: " + e.msg);
  }
  if (documents.count == 0) Fail(Location(path, 1), "missing 'intents' (the file is empty)");
  if (documents.count > 1) {
    Fail(Location(path, documents.second), "more than one YAML document in one file");
  }
  const YAML::Node& root = documents.first;
  if (!root.IsMap()) {
    Fail(Location(path, root.Mark()), "expected a mapping with 'version' and 'intents'");
  }
  if (root["nlu"] && !root["intents"]) return LoadRasa(path, root);

  // yaml-cpp nodes cannot say "absent" (a default node is a defined null),
  // hence std::optional for keys that may be missing.
  std::optional<YAML::Node> intents;
  std::vector<std::string> seen_keys;
  for (const auto& item : root) {
    const std::string key = item.first.Scalar();
    const std::string where = Location(path, item.first.Mark());
    if (std::find(std::begin(kTopLevelKeys), std::end(kTopLevelKeys), key) ==
        std::end(kTopLevelKeys)) {
      Fail(where, "unknown key " + Quote(key) + " (allowed: " + JoinKeys(kTopLevelKeys) + ")");
    }
    if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end()) {
      Fail(where, "duplicate key " + Quote(key));
    }
    seen_keys.push_back(key);
    if (key == "version") {
      if (!item.second.IsScalar() || item.second.Scalar() != "1") {
        Fail(Location(path, item.second.Mark()),
             "unsupported version " + Quote(item.second.Scalar()) + " (expected 1)");
      }
    } else {
      intents.emplace(item.second);
    }
  }
  if (!intents) Fail(Location(path, root.Mark()), "missing 'intents'");
  if (!intents->IsSequence()) {
    Fail(Location(path, intents->Mark()), "'intents' must be a list of intent entries");
  }
  for (const YAML::Node& entry : *intents) LoadIntentEntry(path, entry);
}

void Loader::LoadIntentEntry(const fs::path& path, const YAML::Node& entry) {
  const std::string entry_where = Location(path, entry.Mark());
  if (!entry.IsMap()) {
    Fail(entry_where, "an entry of 'intents' must be a mapping with 'intent' and 'examples'");
  }
  std::optional<YAML::Node> name_node, description_node, examples_node, responses_node;
  std::vector<std::string> seen_keys;
  for (const auto& item : entry) {
    const std::string key = item.first.Scalar();
    const std::string where = Location(path, item.first.Mark());
    if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end()) {
      Fail(where, "duplicate key " + Quote(key));
    }
    seen_keys.push_back(key);
    if (key == "intent") {
      name_node.emplace(item.second);
    } else if (key == "description") {
      description_node.emplace(item.second);
    } else if (key == "examples") {
      examples_node.emplace(item.second);
    } else if (key == "responses") {
      responses_node.emplace(item.second);
    } else {
      Fail(where, "unknown key " + Quote(key) + " (allowed: " + JoinKeys(kIntentKeys) + ")");
    }
  }

  if (!name_node) Fail(entry_where, "intent entry without 'intent'");
  if (!name_node->IsScalar() || !IsValidIntentName(name_node->Scalar())) {
    Fail(Location(path, name_node->Mark()),
         "invalid intent name " + Quote(name_node->Scalar()) + kIntentNameRule);
  }
  const std::string& name = name_node->Scalar();
  if (!examples_node) Fail(entry_where, "intent " + Quote(name) + " has no 'examples'");
  if (!examples_node->IsSequence()) {
    Fail(Location(path, examples_node->Mark()), "'examples' must be a list of strings");
  }
  if (responses_node && !responses_node->IsSequence()) {
    Fail(Location(path, responses_node->Mark()), "'responses' must be a list of strings");
  }
  if (description_node && !description_node->IsScalar()) {
    Fail(Location(path, description_node->Mark()), "'description' must be a string");
  }

  const size_t intent = DefineIntent(name, entry_where);
  IntentDefinition& definition = data_.intents[intent];
  if (description_node && !description_node->Scalar().empty()) {
    if (definition.description.empty()) {
      definition.description = description_node->Scalar();
    } else if (definition.description != description_node->Scalar()) {
      data_.warnings.push_back(Location(path, description_node->Mark()) + ": intent " +
                               Quote(name) + " already has a description (from " +
                               intent_sources_[intent] + "); this one is ignored");
    }
  }
  if (responses_node) {
    std::vector<std::string>& responses = definition.responses;
    for (const YAML::Node& response : *responses_node) {
      const std::string where = Location(path, response.Mark());
      if (!response.IsScalar()) Fail(where, "a response must be a string");
      if (normalizer_.Normalize(response.Scalar()).empty()) Fail(where, "empty response");
      if (std::find(responses.begin(), responses.end(), response.Scalar()) == responses.end()) {
        responses.push_back(response.Scalar());
      }
    }
  }
  for (const YAML::Node& example : *examples_node) {
    const std::string where = Location(path, example.Mark());
    if (!example.IsScalar()) Fail(where, "an example must be a string");
    AddExample(example.Scalar(), intent, where);
  }
}

void Loader::LoadJsonLines(const fs::path& path, std::string_view contents) {
  int line_number = 0;
  size_t position = 0;
  while (position < contents.size()) {
    size_t end = contents.find('\n', position);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(position, end - position);
    position = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank

    const std::string where = Location(path, line_number);
    boost::json::error_code error;
    const boost::json::value value = boost::json::parse(line, error);
    if (error) Fail(where, "malformed JSON: " + error.message());
    const boost::json::object* object = value.if_object();
    if (object == nullptr) Fail(where, R"(expected an object {"text": ..., "intent": ...})");

    auto string_field = [&](const char* field) -> std::string_view {
      const boost::json::value* field_value = object->if_contains(field);
      if (field_value == nullptr) Fail(where, std::string("missing \"") + field + "\"");
      const boost::json::string* string = field_value->if_string();
      if (string == nullptr) Fail(where, std::string("\"") + field + "\" must be a string");
      return std::string_view(string->data(), string->size());
    };
    const std::string_view text = string_field("text");
    AddLabelledExample(std::string(text), std::string(string_field("intent")), where);
  }
}

void Loader::AddLabelledExample(std::string text, const std::string& intent,
                                const std::string& where) {
  if (!IsValidIntentName(intent))
    Fail(where, "invalid intent name " + Quote(intent) + kIntentNameRule);
  AddExample(std::move(text), DefineIntent(intent, where), where);
}

void Loader::LoadCsv(const fs::path& path, std::string_view contents) {
  const std::vector<CsvRecord> records = ParseCsv(contents, path.string());
  if (records.empty()) Fail(Location(path, 1), "no header (expected the columns text and intent)");
  const CsvRecord& header = records.front();
  size_t text_column = SIZE_MAX, intent_column = SIZE_MAX;
  for (size_t c = 0; c < header.fields.size(); ++c) {
    std::string name(Trim(header.fields[c], " \t"));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    size_t* column = name == "text" ? &text_column : name == "intent" ? &intent_column : nullptr;
    if (column == nullptr) continue;
    if (*column != SIZE_MAX) Fail(Location(path, header.line), "column " + Quote(name) + " twice");
    *column = c;
  }
  if (text_column == SIZE_MAX || intent_column == SIZE_MAX) {
    Fail(Location(path, header.line),
         "the header must name the columns text and intent (it names " +
             std::to_string(header.fields.size()) + " column(s))");
  }
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = Location(path, record.line);
    if (record.fields.size() != header.fields.size()) {
      Fail(where, std::to_string(record.fields.size()) + " field(s), the header has " +
                      std::to_string(header.fields.size()));
    }
    AddLabelledExample(record.fields[text_column], record.fields[intent_column], where);
  }
}

void Loader::LoadRasa(const fs::path& path, const YAML::Node& root) {
  std::optional<YAML::Node> nlu;
  for (const auto& item : root) {
    const std::string key = item.first.Scalar();
    if (key == "nlu") {
      nlu.emplace(item.second);
    } else if (key != "version") {
      data_.warnings.push_back(Location(path, item.first.Mark()) + ": key " + Quote(key) +
                               " holds no training examples; skipped");
    }
  }
  if (!nlu->IsSequence()) {
    Fail(Location(path, nlu->Mark()), "'nlu' must be a list of entries with 'intent'");
  }
  for (const YAML::Node& entry : *nlu) {
    if (entry.IsMap() && !entry["intent"]) {
      // synonym, regex and lookup entries: no intent to learn.
      data_.warnings.push_back(Location(path, entry.Mark()) +
                               ": an 'nlu' entry without 'intent' is skipped");
      continue;
    }
    LoadRasaIntent(path, entry);
  }
}

void Loader::LoadRasaIntent(const fs::path& path, const YAML::Node& entry) {
  const std::string entry_where = Location(path, entry.Mark());
  if (!entry.IsMap()) Fail(entry_where, "an entry of 'nlu' must be a mapping with 'intent'");
  std::optional<YAML::Node> name_node, examples_node;
  for (const auto& item : entry) {
    const std::string key = item.first.Scalar();
    if (key == "intent") {
      name_node.emplace(item.second);
    } else if (key == "examples") {
      examples_node.emplace(item.second);
    } else if (std::find(std::begin(kRasaIntentKeys), std::end(kRasaIntentKeys), key) ==
               std::end(kRasaIntentKeys)) {
      Fail(Location(path, item.first.Mark()),
           "unknown key " + Quote(key) + " (allowed: " + JoinKeys(kRasaIntentKeys) + ")");
    }
  }
  if (!name_node->IsScalar() || !IsValidIntentName(name_node->Scalar())) {
    Fail(Location(path, name_node->Mark()),
         "invalid intent name " + Quote(name_node->Scalar()) + kIntentNameRule);
  }
  const std::string& name = name_node->Scalar();
  if (!examples_node) Fail(entry_where, "intent " + Quote(name) + " has no 'examples'");
  if (!examples_node->IsScalar()) {
    Fail(Location(path, examples_node->Mark()),
         "'examples' must be a block of \"- text\" lines (examples: |)");
  }
  const size_t intent = DefineIntent(name, entry_where);
  // The block's lines follow the line of `examples: |`.
  const int first_line = std::max(examples_node->Mark().line, 0) + 2;
  const std::string& block = examples_node->Scalar();
  int offset = 0;
  for (std::string_view rest = block; !rest.empty(); ++offset) {
    const size_t end = rest.find('\n');
    const std::string_view line = Trim(rest.substr(0, end), " \t\r");
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty()) continue;
    const std::string where = Location(path, first_line + offset);
    if (!line.starts_with("-")) Fail(where, "an example line must start with \"- \"");
    AddExample(WithoutEntityMarkup(Trim(line.substr(1), " \t")), intent, where);
  }
}

size_t Loader::DefineIntent(const std::string& name, const std::string& where) {
  const auto [it, inserted] = intent_index_.try_emplace(name, data_.intents.size());
  if (inserted) {
    data_.intents.push_back(IntentDefinition{name, "", {}});
    intent_sources_.push_back(where);
    example_counts_.push_back(0);
  }
  return it->second;
}

void Loader::AddExample(std::string text, size_t intent, std::string source) {
  normalizer_.Normalize(text, &key_);
  if (key_.empty()) {
    data_.warnings.push_back(source + ": empty example text; skipped");
    data_.issues.empty_texts.push_back(source);
    return;
  }

  const size_t index = data_.examples.size();
  const std::string& name = data_.intents[intent].name;
  const auto [head, inserted] = first_use_.try_emplace(key_, uses_.size());
  if (inserted) {
    uses_.push_back(FirstUse{intent, index, kEndOfChain});
  } else {
    size_t last = head->second;
    while (uses_[last].intent != intent && uses_[last].next != kEndOfChain) last = uses_[last].next;
    if (uses_[last].intent == intent) {
      data_.warnings.push_back(source + ": duplicate example " + Quote(text) + " in intent " +
                               Quote(name) + " (also at " +
                               data_.examples[uses_[last].example].source + ")" +
                               (options_.training ? "; dropped" : ""));
      data_.issues.duplicates.push_back(source);
      if (options_.training) {
        ++data_.issues.duplicates_dropped;
        return;
      }
    } else {
      const FirstUse& first = uses_[head->second];
      data_.warnings.push_back(source + ": example " + Quote(text) + " is under intent " +
                               Quote(name) + " here and under intent " +
                               Quote(data_.intents[first.intent].name) + " at " +
                               data_.examples[first.example].source);
      data_.issues.conflicts.push_back(source);
      uses_[last].next = uses_.size();
      uses_.push_back(FirstUse{intent, index, kEndOfChain});
    }
  }
  ++example_counts_[intent];
  data_.examples.push_back(TrainingExample{std::move(text), name, std::move(source)});
}

TrainingData Loader::Finish() {
  if (data_.examples.empty()) {
    // Named, so that an empty or wrongly chosen file is found at once.
    std::string named;
    const size_t shown = std::min<size_t>(data_.files.size(), 5);
    for (size_t i = 0; i < shown; ++i) named += (i > 0 ? ", " : "") + data_.files[i].string();
    if (data_.files.size() > shown) {
      named += " and " + std::to_string(data_.files.size() - shown) + " more";
    }
    throw DataError(named.empty() ? "no training examples were loaded: no training data file found"
                                  : "no training examples were loaded from " + named);
  }
  if (options_.training) {
    for (size_t i = 0; i < data_.intents.size(); ++i) {
      const std::string& name = data_.intents[i].name;
      if (example_counts_[i] == 1) {
        data_.warnings.push_back(intent_sources_[i] + ": intent " + Quote(name) +
                                 " has a single example: it is learned, but no held-out data "
                                 "can test it");
        data_.issues.single_example.push_back(Quote(name) + " (" + intent_sources_[i] + ")");
      } else if (example_counts_[i] == 0) {
        data_.warnings.push_back(intent_sources_[i] + ": intent " + Quote(name) +
                                 " has no examples: it cannot be predicted");
        data_.issues.without_examples.push_back(Quote(name) + " (" + intent_sources_[i] + ")");
      }
    }
  }
  return std::move(data_);
}

}  // namespace

std::vector<std::string> DataIssues::Summary() const {
  constexpr size_t kPlacesShown = 5;
  std::vector<std::string> lines;
  auto add = [&](const std::vector<std::string>& places, const std::string& what) {
    if (places.empty()) return;
    std::string line = std::to_string(places.size()) + " " + what + ": ";
    for (size_t i = 0; i < places.size() && i < kPlacesShown; ++i) {
      line += (i ? ", " : "") + places[i];
    }
    if (places.size() > kPlacesShown) {
      line += " and " + std::to_string(places.size() - kPlacesShown) + " more";
    }
    lines.push_back(std::move(line));
  };
  add(empty_texts, "empty example text(s) skipped");
  add(duplicates,
      duplicates_dropped > 0 ? "duplicate example(s) dropped" : "duplicate example(s) (kept)");
  add(conflicts,
      "conflicting example(s), the same text under another intent (kept; one is probably "
      "mislabelled)");
  add(single_example,
      "intent(s) with a single example (learned, but left out of the held-out data)");
  add(without_examples, "intent(s) without examples (never predicted)");
  return lines;
}

std::vector<std::string> TrainingData::Labels() const {
  std::vector<std::string_view> all;
  all.reserve(examples.size());
  for (const TrainingExample& example : examples) all.push_back(example.intent);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return std::vector<std::string>(all.begin(), all.end());
}

TrainingData LoadTrainingData(const std::vector<fs::path>& paths, const LoadOptions& options) {
  Loader loader(options);
  for (const fs::path& path : paths) {
    for (const fs::path& file : ExpandPath(path)) loader.LoadFile(file);
  }
  return loader.Finish();
}

std::string ExamplesToJsonLines(const std::vector<TrainingExample>& examples) {
  std::string out;
  for (const TrainingExample& e : examples) {
    out += boost::json::serialize(boost::json::object{{"text", e.text}, {"intent", e.intent}});
    out += '\n';
  }
  return out;
}

}  // namespace chatbot::nlu
