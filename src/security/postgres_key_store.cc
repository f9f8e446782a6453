#include "security/postgres_key_store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>

#include "common/error.h"
#include "common/strings.h"
#include "db/pg_migrations.h"

namespace chatbot::security {
namespace {

using db::PgParams;
using db::PgResult;
using db::PgStatement;

const std::vector<db::PgMigration> kKeyMigrations = {{1, R"sql(
CREATE TABLE api_keys(
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  secret_hash BYTEA NOT NULL,
  previous_hash BYTEA,
  previous_valid_until_ms BIGINT NOT NULL DEFAULT 0,
  created_at_ms BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at_ms BIGINT,
  rotated_at_ms BIGINT,
  revoked_at_ms BIGINT,
  revoked_by TEXT NOT NULL DEFAULT '',
  allow TEXT NOT NULL DEFAULT '',
  rate_limit DOUBLE PRECISION,
  burst DOUBLE PRECISION,
  last_used_at_ms BIGINT,
  last_used_address TEXT NOT NULL DEFAULT '',
  requests BIGINT NOT NULL DEFAULT 0,
  refused BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE lockdown(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  active BOOLEAN NOT NULL,
  since_ms BIGINT NOT NULL,
  set_by TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE keys_version(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO keys_version(id, version) VALUES(1, 0);
)sql"}};

constexpr const char* kColumns =
    "id, name, role, secret_hash, previous_hash, previous_valid_until_ms, created_at_ms, "
    "created_by, expires_at_ms, rotated_at_ms, revoked_at_ms, revoked_by, allow, rate_limit, "
    "burst, last_used_at_ms, last_used_address, requests, refused";

const PgStatement kList{
    "list_keys", std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY created_at_ms, id"};
const PgStatement kGet{"get_key",
                       std::string("SELECT ") + kColumns + " FROM api_keys WHERE id = $1"};
const PgStatement kGetForUpdate{
    "get_key_for_update",
    std::string("SELECT ") + kColumns + " FROM api_keys WHERE id = $1 FOR UPDATE"};
const PgStatement kInsert{
    "insert_key",
    "INSERT INTO api_keys(id, name, role, secret_hash, previous_hash, previous_valid_until_ms, "
    "created_at_ms, created_by, expires_at_ms, rotated_at_ms, revoked_at_ms, revoked_by, allow, "
    "rate_limit, burst) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
    "ON CONFLICT(id) DO NOTHING"};
// Takes kInsert's parameters; the creation ($7, $8) is never changed, and
// is named only because a prepared statement must use every parameter.
const PgStatement kUpdate{
    "update_key",
    "UPDATE api_keys SET name = $2, role = $3, secret_hash = $4, previous_hash = $5, "
    "previous_valid_until_ms = $6, expires_at_ms = $9, rotated_at_ms = $10, revoked_at_ms = $11, "
    "revoked_by = $12, allow = $13, rate_limit = $14, burst = $15 "
    "WHERE id = $1 AND $7::bigint IS NOT NULL AND $8::text IS NOT NULL"};
const PgStatement kAddUsage{
    "add_usage",
    "UPDATE api_keys SET requests = requests + $2, refused = refused + $3, "
    "last_used_address = CASE WHEN $4 > COALESCE(last_used_at_ms, 0) THEN $5 "
    "ELSE last_used_address END, "
    "last_used_at_ms = CASE WHEN $4 > COALESCE(last_used_at_ms, 0) THEN $4 "
    "ELSE last_used_at_ms END WHERE id = $1"};
const PgStatement kGetLockdown{
    "get_lockdown", "SELECT active, since_ms, set_by, reason FROM lockdown WHERE id = 1"};
const PgStatement kSetLockdown{
    "set_lockdown",
    "INSERT INTO lockdown(id, active, since_ms, set_by, reason) VALUES(1, $1, $2, $3, $4) "
    "ON CONFLICT(id) DO UPDATE SET active = $1, since_ms = $2, set_by = $3, reason = $4"};
// The notification is delivered to every listener when the transaction
// commits, and never when it rolls back.
const PgStatement kBump{"bump_keys_version",
                        std::string("WITH bumped AS (UPDATE keys_version SET version = version + 1 "
                                    "WHERE id = 1 RETURNING version) SELECT pg_notify('") +
                            PostgresKeyStore::kChangesChannel + "', version::text) FROM bumped"};
const PgStatement kVersion{"keys_version", "SELECT version FROM keys_version WHERE id = 1"};

std::optional<KeyHash> ReadHash(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return std::nullopt;
  const std::vector<uint8_t> bytes = r.Bytes(row, column);
  if (bytes.size() != KeyHash().size()) return std::nullopt;
  KeyHash hash{};
  std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

KeyRecord ReadRecord(const PgResult& s, int row, const std::string& server) {
  KeyRecord r;
  r.id = s.Text(row, 0);
  r.name = s.Text(row, 1);
  const std::string role = s.Text(row, 2);
  const std::optional<Role> parsed = ParseRole(role);
  if (!parsed) {
    throw StoreError("PostgreSQL " + server + ": key " + r.id + " has an unknown role '" + role +
                     "'");
  }
  r.role = *parsed;
  const std::optional<KeyHash> hash = ReadHash(s, row, 3);
  if (!hash)
    throw StoreError("PostgreSQL " + server + ": key " + r.id + " has no valid secret hash");
  r.secret_hash = *hash;
  r.previous_hash = ReadHash(s, row, 4);
  r.previous_valid_until_ms = s.Int(row, 5);
  r.created_at_ms = s.Int(row, 6);
  r.created_by = s.Text(row, 7);
  r.expires_at_ms = s.OptionalInt(row, 8);
  r.rotated_at_ms = s.OptionalInt(row, 9);
  r.revoked_at_ms = s.OptionalInt(row, 10);
  r.revoked_by = s.Text(row, 11);
  const std::string allow = s.Text(row, 12);
  for (std::string_view entry : SplitTrimmed(allow, ' ')) {
    if (!entry.empty()) r.allow.emplace_back(entry);
  }
  r.rate_limit = s.OptionalDouble(row, 13);
  r.burst = s.OptionalDouble(row, 14);
  r.last_used_at_ms = s.OptionalInt(row, 15);
  r.last_used_address = s.Text(row, 16);
  r.requests = s.Int(row, 17);
  r.refused = s.Int(row, 18);
  return r;
}

PgParams RecordParams(const KeyRecord& r) {
  PgParams p;
  p.Text(r.id).Text(r.name).Text(RoleName(r.role));
  p.Bytes(r.secret_hash.data(), r.secret_hash.size());
  r.previous_hash ? p.Bytes(r.previous_hash->data(), r.previous_hash->size()) : p.Null();
  p.Int(r.previous_valid_until_ms).Int(r.created_at_ms).Text(r.created_by);
  p.OptionalInt(r.expires_at_ms).OptionalInt(r.rotated_at_ms).OptionalInt(r.revoked_at_ms);
  p.Text(r.revoked_by).Text(fmt::format("{}", fmt::join(r.allow, " ")));
  p.OptionalDouble(r.rate_limit).OptionalDouble(r.burst);
  return p;
}

}  // namespace

PostgresKeyStore::PostgresKeyStore(const db::PgOptions& options)
    : pool_(options, "keys", kKeyMigrations), path_("postgresql://" + pool_.server()) {}

void PostgresKeyStore::BumpVersion(db::PgConnection& connection) {
  connection.Run(kBump, PgParams(), "record a keys change");
}

std::vector<KeyRecord> PostgresKeyStore::List() {
  const PgResult rows = pool_.Run(kList, PgParams(), "list keys");
  std::vector<KeyRecord> keys;
  for (int i = 0; i < rows.rows(); ++i) keys.push_back(ReadRecord(rows, i, pool_.server()));
  return keys;
}

std::optional<KeyRecord> PostgresKeyStore::Get(const std::string& id) {
  const PgResult rows = pool_.Run(kGet, PgParams().Text(id), "get key");
  if (rows.rows() == 0) return std::nullopt;
  return ReadRecord(rows, 0, pool_.server());
}

bool PostgresKeyStore::Insert(const KeyRecord& record) {
  return InsertMany({record}) == 1;
}

int64_t PostgresKeyStore::InsertMany(const std::vector<KeyRecord>& records) {
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection);
  int64_t inserted = 0;
  for (const KeyRecord& r : records) {
    inserted += connection->Run(kInsert, RecordParams(r), "create key").affected();
  }
  if (inserted > 0) BumpVersion(*connection);
  transaction.Commit();
  if (inserted > 0) ++own_changes_;
  return inserted;
}

std::optional<KeyRecord> PostgresKeyStore::Modify(const std::string& id,
                                                  const std::function<void(KeyRecord&)>& change) {
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection);
  const PgResult rows = connection->Run(kGetForUpdate, PgParams().Text(id), "update key: read");
  if (rows.rows() == 0) return std::nullopt;
  KeyRecord record = ReadRecord(rows, 0, pool_.server());
  change(record);
  record.id = id;
  connection->Run(kUpdate, RecordParams(record), "update key");
  BumpVersion(*connection);
  transaction.Commit();
  ++own_changes_;
  return record;
}

void PostgresKeyStore::AddUsage(const std::vector<UsageDelta>& deltas) {
  if (deltas.empty()) return;
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection);
  for (const UsageDelta& d : deltas) {
    connection->Run(kAddUsage,
                    PgParams()
                        .Text(d.id)
                        .Int(d.requests)
                        .Int(d.refused)
                        .Int(d.last_used_at_ms)
                        .Text(d.last_used_address),
                    "record key usage");
  }
  transaction.Commit();
}

LockdownState PostgresKeyStore::GetLockdown() {
  const PgResult rows = pool_.Run(kGetLockdown, PgParams(), "read lockdown");
  LockdownState state;
  if (rows.rows() > 0) {
    state.on = rows.Bool(0, 0);
    state.since_ms = rows.Int(0, 1);
    state.by = rows.Text(0, 2);
    state.reason = rows.Text(0, 3);
  }
  return state;
}

void PostgresKeyStore::SetLockdown(const LockdownState& state) {
  auto connection = pool_.Acquire();
  db::PgTransaction transaction(*connection);
  connection->Run(kSetLockdown,
                  PgParams()
                      .Text(state.on ? "true" : "false")
                      .Int(state.since_ms)
                      .Text(state.by)
                      .Text(state.reason),
                  "set lockdown");
  BumpVersion(*connection);
  transaction.Commit();
  ++own_changes_;
}

int64_t PostgresKeyStore::DataVersion() {
  return pool_.Run(kVersion, PgParams(), "read data version").Int(0, 0) - own_changes_;
}

}  // namespace chatbot::security
