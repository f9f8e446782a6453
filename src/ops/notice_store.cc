#include "ops/notice_store.h"

#include <filesystem>

#include "common/time.h"
#include "db/pg_settings.h"
#include "ops/postgres_notice_store.h"
#include "ops/sqlite_notice_store.h"

namespace chatbot::ops {

std::unique_ptr<NoticeStore> OpenNoticeStore(const Settings& settings) {
  if (settings.store.backend == "postgres") {
    return std::make_unique<PostgresNoticeStore>(db::PgOptionsFromSettings(settings));
  }
  return std::make_unique<SqliteNoticeStore>(
      std::filesystem::path(settings.security.database).parent_path() / "notice.db");
}

std::string NoticeTextProblem(const std::string& text) {
  if (text.find_first_not_of(" \t") == std::string::npos) return "the notice text is empty";
  if (text.size() > kMaxNoticeBytes) {
    return "the notice text has " + std::to_string(text.size()) + " bytes; the limit is " +
           std::to_string(kMaxNoticeBytes);
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return "the notice text has a control character (a line break?): it is one paragraph";
    }
  }
  return "";
}

boost::json::value NoticeToJson(const std::optional<ServiceNotice>& notice) {
  if (!notice) return nullptr;
  boost::json::object out{{"text", notice->text},
                          {"set_at", FormatTimestamp(notice->set_at_ms)},
                          {"set_by", notice->set_by}};
  if (notice->until_ms) {
    out["until"] = FormatTimestamp(*notice->until_ms);
  } else {
    out["until"] = nullptr;
  }
  return out;
}

std::string NoticeDescription(const std::optional<ServiceNotice>& notice, int64_t now_ms) {
  if (!notice) return "No service notice is set.";
  std::string out = "Service notice: " + notice->text + "\nSet " +
                    FormatTimestamp(notice->set_at_ms) + " by " + notice->set_by;
  if (!notice->until_ms) return out + "; shown until cleared.";
  return out + (notice->active(now_ms) ? "; shown until " : "; expired at ") +
         FormatTimestamp(*notice->until_ms) + ".";
}

}  // namespace chatbot::ops
