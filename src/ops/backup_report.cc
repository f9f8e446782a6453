#include "ops/backup_report.h"

#include <fmt/core.h>

#include <boost/json.hpp>

#include "common/strings.h"

namespace chatbot::ops {
namespace {

namespace json = boost::json;

std::string Text(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

uint64_t Unsigned(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

}  // namespace

std::string ManifestItemsText(const json::object& manifest) {
  std::string out;
  const json::value* items = manifest.if_contains("items");
  if (items == nullptr || !items->is_array()) return out;
  for (const json::value& v : items->as_array()) {
    if (!v.is_object()) continue;
    const json::object& item = v.as_object();
    const std::string role = Text(item, "role");
    const json::value* present = item.if_contains("present");
    if (present && present->is_bool() && !present->as_bool()) {
      AppendPrintf(&out, "  %-12s not present\n", role.c_str());
      continue;
    }
    std::string detail;
    if (const json::value* tables = item.if_contains("tables"); tables && tables->is_object()) {
      std::vector<std::string> counts;
      for (const auto& [table, rows] : tables->as_object()) {
        counts.push_back(fmt::format("{} {}", json::serialize(rows), std::string(table)));
      }
      detail = JoinNames(counts);
    }
    if (const json::value* version = item.if_contains("version");
        version && version->is_string() && !version->as_string().empty()) {
      detail = "version " + std::string(version->as_string());
    }
    AppendPrintf(&out, "  %-12s %s, %s%s%s\n", role.c_str(), Text(item, "source").c_str(),
                 HumanBytes(Unsigned(item.if_contains("bytes"))).c_str(),
                 detail.empty() ? "" : ": ", detail.c_str());
  }
  return out;
}

std::string BackupTable(const std::vector<BackupSummary>& backups) {
  std::string out;
  AppendPrintf(&out, "%-18s  %-20s  %10s  %9s  %s\n", "NAME", "CREATED", "SIZE", "SESSIONS",
               "CONTENTS");
  for (const BackupSummary& b : backups) {
    if (!b.problem.empty()) {
      AppendPrintf(&out, "%-18s  %s\n", b.name.c_str(), ("UNREADABLE: " + b.problem).c_str());
      continue;
    }
    AppendPrintf(&out, "%-18s  %-20s  %10s  %9s  %s\n", b.name.c_str(), b.created_at.c_str(),
                 HumanBytes(b.bytes).c_str(),
                 b.sessions >= 0 ? std::to_string(b.sessions).c_str() : "-",
                 JoinNames(b.roles).c_str());
  }
  return out;
}

json::object BackupSummaryJson(const BackupSummary& b) {
  json::object line{{"name", b.name},
                    {"path", b.dir.string()},
                    {"created_at", b.created_at},
                    {"host", b.host},
                    {"bytes", b.bytes},
                    {"sessions", b.sessions},
                    {"contents", json::array(b.roles.begin(), b.roles.end())}};
  if (!b.problem.empty()) line["problem"] = b.problem;
  return line;
}

std::string BackupWrittenText(const BackupResult& result, const std::vector<std::string>& removed) {
  std::string out =
      fmt::format("Backup {} written to {} in {:.2f} s: {} files, {}\n", result.name,
                  result.dir.string(), result.seconds, result.files, HumanBytes(result.bytes));
  out += ManifestItemsText(result.manifest);
  if (!removed.empty()) {
    out += fmt::format("Removed {} old backup{}: {}\n", removed.size(),
                       removed.size() == 1 ? "" : "s", JoinNames(removed));
  }
  return out;
}

std::string VerificationText(const std::filesystem::path& dir, const BackupVerification& v) {
  if (v.ok()) {
    return fmt::format("Backup {}: OK ({} files, {}, checksums as in the manifest)\n", dir.string(),
                       v.files, HumanBytes(v.bytes)) +
           ManifestItemsText(v.manifest);
  }
  std::string out = fmt::format("Backup {}: DAMAGED ({} problem{})\n", dir.string(),
                                v.problems.size(), v.problems.size() == 1 ? "" : "s");
  for (const std::string& p : v.problems) out += "  - " + p + "\n";
  return out;
}

}  // namespace chatbot::ops
