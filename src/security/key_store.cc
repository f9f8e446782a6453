#include "security/key_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>

#include "common/error.h"
#include "common/private_files.h"

namespace chatbot::security {
namespace {

constexpr int kBusyTimeoutMs = 5000;

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

[[noreturn]] void Fail(sqlite3* db, const std::string& path, std::string_view operation) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  throw StoreError(path + ": " + std::string(operation) + ": " + message);
}

// A prepared statement for one use (management operations are rare enough
// that preparing each time costs nothing that matters).
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path, std::string_view operation, const char* sql)
      : db_(db), path_(path), operation_(operation) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) Fail(db, path, operation);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void Text(int i, std::string_view v) {
    Check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void Int(int i, int64_t v) { Check(sqlite3_bind_int64(stmt_, i, v)); }
  void OptInt(int i, const std::optional<int64_t>& v) {
    Check(v ? sqlite3_bind_int64(stmt_, i, *v) : sqlite3_bind_null(stmt_, i));
  }
  void OptDouble(int i, const std::optional<double>& v) {
    Check(v ? sqlite3_bind_double(stmt_, i, *v) : sqlite3_bind_null(stmt_, i));
  }
  void Blob(int i, const std::optional<KeyHash>& v) {
    Check(v ? sqlite3_bind_blob(stmt_, i, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT)
            : sqlite3_bind_null(stmt_, i));
  }
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Fail(db_, path_, operation_);
  }
  void Run() {
    while (Step()) {
    }
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  bool IsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t ColInt(int c) const { return sqlite3_column_int64(stmt_, c); }
  double ColDouble(int c) const { return sqlite3_column_double(stmt_, c); }
  std::string ColText(int c) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return text == nullptr ? std::string()
                           : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, c)));
  }
  std::optional<KeyHash> ColHash(int c) const {
    if (IsNull(c) || sqlite3_column_bytes(stmt_, c) != 32) return std::nullopt;
    KeyHash hash{};
    std::memcpy(hash.data(), sqlite3_column_blob(stmt_, c), hash.size());
    return hash;
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK) Fail(db_, path_, operation_);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& path_;
  std::string operation_;
};

void Exec(sqlite3* db, const std::string& path, std::string_view operation, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return;
  const std::string text = message != nullptr ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  throw StoreError(path + ": " + std::string(operation) + ": " + text);
}

int64_t QueryInt(sqlite3* db, const std::string& path, std::string_view operation,
                 const char* sql) {
  Stmt s(db, path, operation, sql);
  if (!s.Step()) throw StoreError(path + ": " + std::string(operation) + ": no result");
  return s.ColInt(0);
}

// Rolls back unless committed.
class WriteTransaction {
 public:
  WriteTransaction(sqlite3* db, const std::string& path, std::string_view operation) : db_(db) {
    Exec(db, path, operation, "BEGIN IMMEDIATE");
  }
  ~WriteTransaction() {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Commit(const std::string& path, std::string_view operation) {
    Exec(db_, path, operation, "COMMIT");
  }

 private:
  sqlite3* db_;
};

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

KeyRecord ReadRecord(const Stmt& s, const std::string& path) {
  KeyRecord r;
  r.id = s.ColText(0);
  r.name = s.ColText(1);
  const std::string role = s.ColText(2);
  const std::optional<Role> parsed = ParseRole(role);
  if (!parsed) throw StoreError(path + ": key " + r.id + " has an unknown role '" + role + "'");
  r.role = *parsed;
  const std::optional<KeyHash> hash = s.ColHash(3);
  if (!hash) throw StoreError(path + ": key " + r.id + " has no valid secret hash");
  r.secret_hash = *hash;
  r.previous_hash = s.ColHash(4);
  r.previous_valid_until_ms = s.ColInt(5);
  r.created_at_ms = s.ColInt(6);
  r.created_by = s.ColText(7);
  if (!s.IsNull(8)) r.expires_at_ms = s.ColInt(8);
  if (!s.IsNull(9)) r.rotated_at_ms = s.ColInt(9);
  if (!s.IsNull(10)) r.revoked_at_ms = s.ColInt(10);
  r.revoked_by = s.ColText(11);
  r.allow = SplitAllow(s.ColText(12));
  if (!s.IsNull(13)) r.rate_limit = s.ColDouble(13);
  if (!s.IsNull(14)) r.burst = s.ColDouble(14);
  if (!s.IsNull(15)) r.last_used_at_ms = s.ColInt(15);
  r.last_used_address = s.ColText(16);
  r.requests = s.ColInt(17);
  r.refused = s.ColInt(18);
  return r;
}

}  // namespace

std::unique_ptr<KeyStore> KeyStore::Open(const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    const std::filesystem::path dir = path.parent_path();
    try {
      CreatePrivateDirectories(dir);
      CreatePrivateFile(path);
    } catch (const IoError& e) {
      throw StoreError(path.string() + ": " + e.what());
    }
  }
  std::unique_ptr<KeyStore> store(new KeyStore(path));
  store->Initialize();
  return store;
}

KeyStore::KeyStore(std::filesystem::path path)
    : path_(std::move(path)), path_string_(path_.string()) {}

KeyStore::~KeyStore() {
  sqlite3_close_v2(db_);
}

void KeyStore::Initialize() {
  const std::string& p = path_string_;
  const bool existed = std::filesystem::exists(path_);
  if (sqlite3_open_v2(p.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    Fail(db_, p, "open");
  }
  // Hashes only, but still nobody else's business.
  if (!existed) ::chmod(p.c_str(), 0600);
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  int64_t version = QueryInt(db_, p, "read schema version", "PRAGMA user_version");
  const int64_t application_id = QueryInt(db_, p, "read application id", "PRAGMA application_id");
  if (version == 0 && QueryInt(db_, p, "read schema", "SELECT count(*) FROM sqlite_schema") != 0 &&
      application_id != kApplicationId) {
    throw StoreError(p + ": not a chatbot keys database (it has tables but no schema version)");
  }
  if (application_id != 0 && application_id != kApplicationId) {
    throw StoreError(p + ": not a chatbot keys database (application_id " +
                     std::to_string(application_id) + ")");
  }
  if (version > kSchemaVersion) {
    throw StoreError(p + ": keys database schema version " + std::to_string(version) +
                     " is newer than this program's (" + std::to_string(kSchemaVersion) + ")");
  }
  // WAL; switching needs a lock SQLite does not wait for, so retry briefly
  // when another process opens the new database at the same moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    try {
      Stmt wal(db_, p, "set journal_mode", "PRAGMA journal_mode = WAL");
      if (wal.Step() && wal.ColText(0) == "wal") break;
      throw StoreError(p + ": set journal_mode: WAL not available");
    } catch (const StoreError&) {
      if ((sqlite3_extended_errcode(db_) & 0xff) != SQLITE_BUSY ||
          std::chrono::steady_clock::now() >= deadline) {
        throw;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // A revocation must survive a power loss: FULL syncs the WAL per commit
  // (commits are rare: management operations and a usage flush every few
  // seconds).
  Exec(db_, p, "set synchronous", "PRAGMA synchronous = FULL");
  if (version == 0) {
    WriteTransaction transaction(db_, p, "create schema");
    if (QueryInt(db_, p, "read schema version", "PRAGMA user_version") == 0) {
      Exec(db_, p, "create schema", kSchema);
      Exec(db_, p, "create schema",
           ("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
      Exec(db_, p, "create schema",
           ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    }
    transaction.Commit(p, "create schema");
  }
}

std::vector<KeyRecord> KeyStore::List() {
  std::lock_guard lock(mu_);
  const std::string sql =
      std::string("SELECT ") + kColumns + " FROM keys ORDER BY created_at_ms, id";
  Stmt s(db_, path_string_, "list keys", sql.c_str());
  std::vector<KeyRecord> keys;
  while (s.Step()) keys.push_back(ReadRecord(s, path_string_));
  return keys;
}

std::optional<KeyRecord> KeyStore::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  const std::string sql = std::string("SELECT ") + kColumns + " FROM keys WHERE id = ?1";
  Stmt s(db_, path_string_, "get key", sql.c_str());
  s.Text(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadRecord(s, path_string_);
}

namespace {

constexpr const char* kInsertSql =
    "INSERT INTO keys(id, name, role, secret_hash, previous_hash, previous_valid_until_ms, "
    "created_at_ms, created_by, expires_at_ms, rotated_at_ms, revoked_at_ms, revoked_by, "
    "allow, rate_limit, burst) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15) ON CONFLICT(id) DO NOTHING";

void BindInsert(Stmt& s, const KeyRecord& r) {
  s.Text(1, r.id);
  s.Text(2, r.name);
  s.Text(3, RoleName(r.role));
  s.Blob(4, r.secret_hash);
  s.Blob(5, r.previous_hash);
  s.Int(6, r.previous_valid_until_ms);
  s.Int(7, r.created_at_ms);
  s.Text(8, r.created_by);
  s.OptInt(9, r.expires_at_ms);
  s.OptInt(10, r.rotated_at_ms);
  s.OptInt(11, r.revoked_at_ms);
  s.Text(12, r.revoked_by);
  s.Text(13, JoinAllow(r.allow));
  s.OptDouble(14, r.rate_limit);
  s.OptDouble(15, r.burst);
}

}  // namespace

bool KeyStore::Insert(const KeyRecord& r) {
  std::lock_guard lock(mu_);
  Stmt s(db_, path_string_, "create key", kInsertSql);
  BindInsert(s, r);
  s.Run();
  return sqlite3_changes(db_) == 1;
}

int64_t KeyStore::InsertMany(const std::vector<KeyRecord>& records) {
  std::lock_guard lock(mu_);
  WriteTransaction transaction(db_, path_string_, "create keys");
  Stmt s(db_, path_string_, "create keys", kInsertSql);
  int64_t inserted = 0;
  for (const KeyRecord& r : records) {
    BindInsert(s, r);
    s.Run();
    inserted += sqlite3_changes(db_);
    s.Reset();
  }
  transaction.Commit(path_string_, "create keys");
  return inserted;
}

std::optional<KeyRecord> KeyStore::Modify(const std::string& id,
                                          const std::function<void(KeyRecord&)>& change) {
  std::lock_guard lock(mu_);
  const std::string& p = path_string_;
  WriteTransaction transaction(db_, p, "update key");
  std::optional<KeyRecord> record;
  {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM keys WHERE id = ?1";
    Stmt s(db_, p, "update key: read", sql.c_str());
    s.Text(1, id);
    if (!s.Step()) return std::nullopt;
    record = ReadRecord(s, p);
  }
  change(*record);
  Stmt s(db_, p, "update key",
         "UPDATE keys SET name = ?2, role = ?3, secret_hash = ?4, previous_hash = ?5, "
         "previous_valid_until_ms = ?6, expires_at_ms = ?7, rotated_at_ms = ?8, "
         "revoked_at_ms = ?9, revoked_by = ?10, allow = ?11, rate_limit = ?12, burst = ?13 "
         "WHERE id = ?1");
  const KeyRecord& r = *record;
  s.Text(1, id);
  s.Text(2, r.name);
  s.Text(3, RoleName(r.role));
  s.Blob(4, r.secret_hash);
  s.Blob(5, r.previous_hash);
  s.Int(6, r.previous_valid_until_ms);
  s.OptInt(7, r.expires_at_ms);
  s.OptInt(8, r.rotated_at_ms);
  s.OptInt(9, r.revoked_at_ms);
  s.Text(10, r.revoked_by);
  s.Text(11, JoinAllow(r.allow));
  s.OptDouble(12, r.rate_limit);
  s.OptDouble(13, r.burst);
  s.Run();
  transaction.Commit(p, "update key");
  return record;
}

void KeyStore::AddUsage(const std::vector<UsageDelta>& deltas) {
  if (deltas.empty()) return;
  std::lock_guard lock(mu_);
  const std::string& p = path_string_;
  WriteTransaction transaction(db_, p, "record key usage");
  Stmt s(db_, p, "record key usage",
         "UPDATE keys SET requests = requests + ?2, refused = refused + ?3, "
         "last_used_at_ms = CASE WHEN ?4 > COALESCE(last_used_at_ms, 0) THEN ?4 "
         "ELSE last_used_at_ms END, "
         "last_used_address = CASE WHEN ?4 > COALESCE(last_used_at_ms, 0) THEN ?5 "
         "ELSE last_used_address END WHERE id = ?1");
  for (const UsageDelta& d : deltas) {
    s.Text(1, d.id);
    s.Int(2, d.requests);
    s.Int(3, d.refused);
    s.Int(4, d.last_used_at_ms);
    s.Text(5, d.last_used_address);
    s.Run();
    s.Reset();
  }
  transaction.Commit(p, "record key usage");
}

LockdownState KeyStore::GetLockdown() {
  std::lock_guard lock(mu_);
  Stmt s(db_, path_string_, "read lockdown",
         "SELECT active, since_ms, by, reason FROM lockdown WHERE id = 1");
  LockdownState state;
  if (s.Step()) {
    state.on = s.ColInt(0) != 0;
    state.since_ms = s.ColInt(1);
    state.by = s.ColText(2);
    state.reason = s.ColText(3);
  }
  return state;
}

void KeyStore::SetLockdown(const LockdownState& state) {
  std::lock_guard lock(mu_);
  Stmt s(db_, path_string_, "set lockdown",
         "INSERT INTO lockdown(id, active, since_ms, by, reason) VALUES(1, ?1, ?2, ?3, ?4) "
         "ON CONFLICT(id) DO UPDATE SET active = ?1, since_ms = ?2, by = ?3, reason = ?4");
  s.Int(1, state.on ? 1 : 0);
  s.Int(2, state.since_ms);
  s.Text(3, state.by);
  s.Text(4, state.reason);
  s.Run();
}

int64_t KeyStore::DataVersion() {
  std::lock_guard lock(mu_);
  return QueryInt(db_, path_string_, "read data version", "PRAGMA data_version");
}

}  // namespace chatbot::security
