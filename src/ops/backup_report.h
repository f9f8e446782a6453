// Backups as `chatbot backup` prints them (docs/OPERATIONS.md): one line
// per item of a manifest, the table and JSON lines of
// `backup list`.
#ifndef CHATBOT_OPS_BACKUP_REPORT_H_
#define CHATBOT_OPS_BACKUP_REPORT_H_

#include <boost/json/object.hpp>
#include <cstdint>
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

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_BACKUP_REPORT_H_
