#include "security/sqlite_key_store.h"

#include <cstring>
#include <sstream>

#include "common/error.h"
#include "db/sqlite_statement.h"

namespace chatbot::security {
namespace {

using db::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE keys(
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  previous_hash BLOB,
  previous_valid_until_ms INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  expires_at_ms INTEGER,
  rotated_at_ms INTEGER,
  revoked_at_ms INTEGER,
  revoked_by TEXT NOT NULL DEFAULT '',
  allow TEXT NOT NULL DEFAULT '',
  rate_limit REAL,
  burst REAL,
  last_used_at_ms INTEGER,
  last_used_address TEXT NOT NULL DEFAULT '',
  requests INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE lockdown(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  active INTEGER NOT NULL,
  since_ms INTEGER NOT NULL,
  by TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql";

constexpr const char* kColumns =
    "id, name, role, secret_hash, previous_hash, previous_valid_until_ms, created_at_ms, "
    "created_by, expires_at_ms, rotated_at_ms, revoked_at_ms, revoked_by, allow, rate_limit, "
    "burst, last_used_at_ms, last_used_address, requests, refused";

std::optional<KeyHash> ColumnHash(const Statement& s, int c) {
  const std::span<const uint8_t> blob = s.ColumnBlob(c);
  if (s.ColumnIsNull(c) || blob.size() != 32) return std::nullopt;
  KeyHash hash{};
  std::memcpy(hash.data(), blob.data(), hash.size());
  return hash;
}

void BindHash(Statement& s, int i, const std::optional<KeyHash>& hash) {
  hash ? s.BindBlob(i, *hash) : s.BindNull(i);
}

std::string JoinAllow(const std::vector<std::string>& allow) {
  std::string out;
  for (const std::string& entry : allow) {
    if (!out.empty()) out += ' ';
    out += entry;
  }
  return out;
}

std::vector<std::string> SplitAllow(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string entry; in >> entry;) out.push_back(entry);
  return out;
}

KeyRecord ReadRecord(const Statement& s, const std::string& path) {
  KeyRecord r;
  r.id = s.ColumnText(0);
  r.name = s.ColumnText(1);
  const std::string role = s.ColumnText(2);
  const std::optional<Role> parsed = ParseRole(role);
  if (!parsed) throw StoreError(path + ": key " + r.id + " has an unknown role '" + role + "'");
  r.role = *parsed;
  const std::optional<KeyHash> hash = ColumnHash(s, 3);
  if (!hash) throw StoreError(path + ": key " + r.id + " has no valid secret hash");
  r.secret_hash = *hash;
  r.previous_hash = ColumnHash(s, 4);
  r.previous_valid_until_ms = s.ColumnInt64(5);
  r.created_at_ms = s.ColumnInt64(6);
  r.created_by = s.ColumnText(7);
  if (!s.ColumnIsNull(8)) r.expires_at_ms = s.ColumnInt64(8);
  if (!s.ColumnIsNull(9)) r.rotated_at_ms = s.ColumnInt64(9);
  if (!s.ColumnIsNull(10)) r.revoked_at_ms = s.ColumnInt64(10);
  r.revoked_by = s.ColumnText(11);
  r.allow = SplitAllow(s.ColumnText(12));
  if (!s.ColumnIsNull(13)) r.rate_limit = s.ColumnDouble(13);
  if (!s.ColumnIsNull(14)) r.burst = s.ColumnDouble(14);
  if (!s.ColumnIsNull(15)) r.last_used_at_ms = s.ColumnInt64(15);
  r.last_used_address = s.ColumnText(16);
  r.requests = s.ColumnInt64(17);
  r.refused = s.ColumnInt64(18);
  return r;
}

}  // namespace

std::unique_ptr<KeyStore> KeyStore::Open(const std::filesystem::path& path) {
  return std::make_unique<SqliteKeyStore>(path);
}

SqliteKeyStore::SqliteKeyStore(const std::filesystem::path& path)
    : path_(path),
      path_string_(path_.string()),
      db_(db::OpenDatabase(path_, {
                                      .kind = "keys",
                                      .application_id = kApplicationId,
                                      .migrations = {{1, kSchema}},
                                      .synchronous = "FULL",
                                  })) {}

std::vector<KeyRecord> SqliteKeyStore::List() {
  std::lock_guard lock(mu_);
  const std::string sql =
      std::string("SELECT ") + kColumns + " FROM keys ORDER BY created_at_ms, id";
  Statement s(db_.get(), path_string_, "list keys", sql.c_str());
  std::vector<KeyRecord> keys;
  while (s.Step()) keys.push_back(ReadRecord(s, path_string_));
  return keys;
}

std::optional<KeyRecord> SqliteKeyStore::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  const std::string sql = std::string("SELECT ") + kColumns + " FROM keys WHERE id = ?1";
  Statement s(db_.get(), path_string_, "get key", sql.c_str());
  s.BindTextCopy(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadRecord(s, path_string_);
}

namespace {

constexpr const char* kInsertSql =
    "INSERT INTO keys(id, name, role, secret_hash, previous_hash, previous_valid_until_ms, "
    "created_at_ms, created_by, expires_at_ms, rotated_at_ms, revoked_at_ms, revoked_by, "
    "allow, rate_limit, burst) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15) ON CONFLICT(id) DO NOTHING";

// ?1 to ?15 in the order of kInsertSql.
void BindRecord(Statement& s, const KeyRecord& r) {
  s.BindTextCopy(1, r.id);
  s.BindTextCopy(2, r.name);
  s.BindTextCopy(3, RoleName(r.role));
  BindHash(s, 4, r.secret_hash);
  BindHash(s, 5, r.previous_hash);
  s.BindInt64(6, r.previous_valid_until_ms);
  s.BindInt64(7, r.created_at_ms);
  s.BindTextCopy(8, r.created_by);
  s.BindOptionalInt64(9, r.expires_at_ms);
  s.BindOptionalInt64(10, r.rotated_at_ms);
  s.BindOptionalInt64(11, r.revoked_at_ms);
  s.BindTextCopy(12, r.revoked_by);
  s.BindTextCopy(13, JoinAllow(r.allow));
  s.BindOptionalDouble(14, r.rate_limit);
  s.BindOptionalDouble(15, r.burst);
}

}  // namespace

bool SqliteKeyStore::Insert(const KeyRecord& r) {
  std::lock_guard lock(mu_);
  Statement s(db_.get(), path_string_, "create key", kInsertSql);
  BindRecord(s, r);
  s.Run();
  return sqlite3_changes(db_.get()) == 1;
}

int64_t SqliteKeyStore::InsertMany(const std::vector<KeyRecord>& records) {
  std::lock_guard lock(mu_);
  db::Transaction transaction(db_.get(), path_string_, "create keys");
  Statement s(db_.get(), path_string_, "create keys", kInsertSql);
  int64_t inserted = 0;
  for (const KeyRecord& r : records) {
    BindRecord(s, r);
    s.Run();
    inserted += sqlite3_changes(db_.get());
    s.Reset();
  }
  transaction.Commit();
  return inserted;
}

std::optional<KeyRecord> SqliteKeyStore::Modify(const std::string& id,
                                                const std::function<void(KeyRecord&)>& change) {
  std::lock_guard lock(mu_);
  const std::string& p = path_string_;
  db::Transaction transaction(db_.get(), p, "update key");
  std::optional<KeyRecord> record;
  {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM keys WHERE id = ?1";
    Statement s(db_.get(), p, "update key: read", sql.c_str());
    s.BindTextCopy(1, id);
    if (!s.Step()) return std::nullopt;
    record = ReadRecord(s, p);
  }
  change(*record);
  // The parameters of kInsertSql; the creation (?7, ?8) is never changed.
  Statement s(db_.get(), p, "update key",
              "UPDATE keys SET name = ?2, role = ?3, secret_hash = ?4, previous_hash = ?5, "
              "previous_valid_until_ms = ?6, expires_at_ms = ?9, rotated_at_ms = ?10, "
              "revoked_at_ms = ?11, revoked_by = ?12, allow = ?13, rate_limit = ?14, "
              "burst = ?15 WHERE id = ?1");
  record->id = id;
  BindRecord(s, *record);
  s.Run();
  transaction.Commit();
  return record;
}

void SqliteKeyStore::AddUsage(const std::vector<UsageDelta>& deltas) {
  if (deltas.empty()) return;
  std::lock_guard lock(mu_);
  const std::string& p = path_string_;
  db::Transaction transaction(db_.get(), p, "record key usage");
  Statement s(db_.get(), p, "record key usage",
              "UPDATE keys SET requests = requests + ?2, refused = refused + ?3, "
              "last_used_at_ms = CASE WHEN ?4 > COALESCE(last_used_at_ms, 0) THEN ?4 "
              "ELSE last_used_at_ms END, "
              "last_used_address = CASE WHEN ?4 > COALESCE(last_used_at_ms, 0) THEN ?5 "
              "ELSE last_used_address END WHERE id = ?1");
  for (const UsageDelta& d : deltas) {
    s.BindAll(d.id, d.requests, d.refused, d.last_used_at_ms, d.last_used_address);
    s.Run();
    s.Reset();
  }
  transaction.Commit();
}

LockdownState SqliteKeyStore::GetLockdown() {
  std::lock_guard lock(mu_);
  Statement s(db_.get(), path_string_, "read lockdown",
              "SELECT active, since_ms, by, reason FROM lockdown WHERE id = 1");
  LockdownState state;
  if (s.Step()) {
    state.on = s.ColumnInt64(0) != 0;
    state.since_ms = s.ColumnInt64(1);
    state.by = s.ColumnText(2);
    state.reason = s.ColumnText(3);
  }
  return state;
}

void SqliteKeyStore::SetLockdown(const LockdownState& state) {
  std::lock_guard lock(mu_);
  Statement s(db_.get(), path_string_, "set lockdown",
              "INSERT INTO lockdown(id, active, since_ms, by, reason) VALUES(1, ?1, ?2, ?3, ?4) "
              "ON CONFLICT(id) DO UPDATE SET active = ?1, since_ms = ?2, by = ?3, reason = ?4");
  s.BindInt64(1, state.on ? 1 : 0);
  s.BindInt64(2, state.since_ms);
  s.BindTextCopy(3, state.by);
  s.BindTextCopy(4, state.reason);
  s.Run();
}

int64_t SqliteKeyStore::DataVersion() {
  std::lock_guard lock(mu_);
  return db::QueryInt64(db_.get(), path_string_, "read data version", "PRAGMA data_version");
}

}  // namespace chatbot::security
