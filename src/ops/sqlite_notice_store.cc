#include "ops/sqlite_notice_store.h"

#include "db/sqlite_statement.h"

namespace chatbot::ops {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE notice(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  text TEXT NOT NULL,
  set_at_ms INTEGER NOT NULL,
  set_by TEXT NOT NULL,
  until_ms INTEGER
);
)sql";

}  // namespace

SqliteNoticeStore::SqliteNoticeStore(const std::filesystem::path& path)
    : where_(path.string()),
      db_(db::OpenDatabase(path, {
                                     .kind = "notice",
                                     .application_id = kApplicationId,
                                     .migrations = {{1, kSchema}},
                                     .synchronous = "FULL",
                                 })) {}

std::optional<ServiceNotice> SqliteNoticeStore::Get() {
  std::lock_guard lock(mu_);
  db::Statement s(db_.get(), where_, "read the notice",
                  "SELECT text, set_at_ms, set_by, until_ms FROM notice WHERE id = 1");
  if (!s.Step()) return std::nullopt;
  ServiceNotice notice;
  notice.text = s.ColumnText(0);
  notice.set_at_ms = s.ColumnInt64(1);
  notice.set_by = s.ColumnText(2);
  if (!s.ColumnIsNull(3)) notice.until_ms = s.ColumnInt64(3);
  return notice;
}

void SqliteNoticeStore::Set(const ServiceNotice& notice) {
  std::lock_guard lock(mu_);
  db::Statement s(db_.get(), where_, "set the notice",
                  "INSERT INTO notice(id, text, set_at_ms, set_by, until_ms) "
                  "VALUES(1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET text = ?1, "
                  "set_at_ms = ?2, set_by = ?3, until_ms = ?4");
  s.BindTextCopy(1, notice.text);
  s.BindInt64(2, notice.set_at_ms);
  s.BindTextCopy(3, notice.set_by);
  s.BindOptionalInt64(4, notice.until_ms);
  s.Run();
}

bool SqliteNoticeStore::Clear() {
  std::lock_guard lock(mu_);
  db::Statement s(db_.get(), where_, "clear the notice", "DELETE FROM notice WHERE id = 1");
  s.Run();
  return sqlite3_changes(db_.get()) > 0;
}

}  // namespace chatbot::ops
