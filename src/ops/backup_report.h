// Backups as `chatbot backup` prints them (docs/OPERATIONS.md): the backup
// written, one line per item of a manifest, the table and JSON lines of
// `backup list`, and the verdict of `backup verify`.
#ifndef CHATBOT_OPS_BACKUP_REPORT_H_
#define CHATBOT_OPS_BACKUP_REPORT_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ops/backup.h"

namespace chatbot::ops {

// One indented line per item of a backup manifest: role, source, size and
// what it holds (rows per table, the model's version), or "not present".
std::string ManifestItemsText(const boost::json::object& manifest);
// `backup list`: a header and a row per backup (UNREADABLE and why for a
// damaged one).
std::string BackupTable(const std::vector<BackupSummary>& backups);
// `backup list --json`: one object per backup.
boost::json::object BackupSummaryJson(const BackupSummary& backup);
// `backup`: the backup written with its items, then the old backups
// retention removed (`removed`), if any.
std::string BackupWrittenText(const BackupResult& result, const std::vector<std::string>& removed);
// `backup verify`: the backup in `dir` OK with its items, or DAMAGED with
// each problem.
std::string VerificationText(const std::filesystem::path& dir, const BackupVerification& v);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_BACKUP_REPORT_H_
