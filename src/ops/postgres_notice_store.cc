#include "ops/postgres_notice_store.h"

#include "db/pg_migrations.h"

namespace chatbot::ops {
namespace {

using db::PgParams;
using db::PgStatement;

const std::vector<db::PgMigration> kNoticeMigrations = {{1, R"sql(
CREATE TABLE service_notice(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  text TEXT NOT NULL,
  set_at_ms BIGINT NOT NULL,
  set_by TEXT NOT NULL,
  until_ms BIGINT
);
)sql"}};

const PgStatement kGet{"get_notice",
                       "SELECT text, set_at_ms, set_by, until_ms FROM service_notice WHERE id = 1"};
const PgStatement kSet{
    "set_notice",
    "INSERT INTO service_notice(id, text, set_at_ms, set_by, until_ms) VALUES(1, $1, $2, $3, $4) "
    "ON CONFLICT(id) DO UPDATE SET text = $1, set_at_ms = $2, set_by = $3, until_ms = $4"};
const PgStatement kClear{"clear_notice", "DELETE FROM service_notice WHERE id = 1"};

db::PgOptions Small(db::PgOptions options) {
  options.pool_size = 2;
  return options;
}

}  // namespace

PostgresNoticeStore::PostgresNoticeStore(db::PgOptions options)
    : pool_(Small(std::move(options)), "notice", kNoticeMigrations),
      where_("postgresql://" + pool_.server()) {}

std::optional<ServiceNotice> PostgresNoticeStore::Get() {
  const db::PgResult rows = pool_.Run(kGet, PgParams(), "read the notice");
  if (rows.rows() == 0) return std::nullopt;
  return ServiceNotice{.text = rows.Text(0, 0),
                       .set_at_ms = rows.Int(0, 1),
                       .set_by = rows.Text(0, 2),
                       .until_ms = rows.OptionalInt(0, 3)};
}

void PostgresNoticeStore::Set(const ServiceNotice& notice) {
  pool_.Run(kSet,
            PgParams()
                .Text(notice.text)
                .Int(notice.set_at_ms)
                .Text(notice.set_by)
                .OptionalInt(notice.until_ms),
            "set the notice");
}

bool PostgresNoticeStore::Clear() {
  return pool_.Run(kClear, PgParams(), "clear the notice").affected() > 0;
}

}  // namespace chatbot::ops
