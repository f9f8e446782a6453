#include "ops/notice_admin.h"

#include <filesystem>
#include <stdexcept>

#include "ops/notice_board.h"
#include "security/audit_log.h"

namespace chatbot::ops {
namespace {

void Audit(const Settings& settings, std::string_view event, const boost::json::object& fields,
           int64_t now_ms) {
  security::AuditLog(std::filesystem::path(settings.paths.logs) / "audit.log")
      .Write(event, security::Actor::CommandLine(), fields, now_ms);
}

}  // namespace

ServiceNotice MakeNotice(const std::string& text, const std::string& until, std::string set_by,
                         int64_t now_ms) {
  if (const std::string problem = NoticeTextProblem(text); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
  ServiceNotice notice{
      .text = text, .set_at_ms = now_ms, .set_by = std::move(set_by), .until_ms = std::nullopt};
  if (!until.empty()) {
    notice.until_ms = ParseNoticeUntil(until, now_ms);
    if (!notice.until_ms) {
      throw std::invalid_argument("until '" + until +
                                  "' is not a future UTC time such as 2026-12-04T20:00:00Z "
                                  "or a duration such as 30m or 2h");
    }
  }
  return notice;
}

ServiceNotice SetNoticeFromCommandLine(const Settings& settings, const std::string& text,
                                       const std::string& until, int64_t now_ms) {
  const ServiceNotice notice =
      MakeNotice(text, until, security::Actor::CommandLine().Describe(), now_ms);
  OpenNoticeStore(settings)->Set(notice);
  Audit(settings, "notice.set", NoticeToJson(notice).as_object(), now_ms);
  return notice;
}

bool ClearNoticeFromCommandLine(const Settings& settings, int64_t now_ms) {
  const bool had = OpenNoticeStore(settings)->Clear();
  if (had) Audit(settings, "notice.clear", {}, now_ms);
  return had;
}

}  // namespace chatbot::ops
