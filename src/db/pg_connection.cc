#include "db/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace chatbot::db {
namespace {

// SQLSTATE classes and codes that mean the server is not there for us: a
// connection exception (08), an administrator's shutdown or a server
// starting or stopping (57P01..57P03), or a server that is read-only now
// (after a failover the old primary may come back as a standby).
bool MeansUnavailable(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == kReadOnlyTransaction;
}

std::string TrimmedMessage(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown error" : text;
}

}  // namespace

std::string DescribeServer(const std::string& url) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(url.c_str(), &error), &PQconninfoFree);
  if (!options) {
    const std::string why = TrimmedMessage(error);
    PQfreemem(error);
    throw ConfigError("store.postgres_url: not a libpq connection string: " + why);
  }
  std::string host, port, dbname;
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    const std::string_view key = o->keyword;
    const std::string value = o->val != nullptr ? o->val : "";
    if (key == "host" && !value.empty()) host = value;
    if (key == "hostaddr" && host.empty()) host = value;
    if (key == "port") port = value;
    if (key == "dbname") dbname = value;
  }
  if (host.empty()) host = "localhost";
  if (port.empty()) port = "5432";
  return host + ":" + port + "/" + (dbname.empty() ? "(default database)" : dbname);
}

PgParams& PgParams::Text(std::string_view value) {
  values_.emplace_back(std::string(value));
  return *this;
}

PgParams& PgParams::Int(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

PgParams& PgParams::Double(double value) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  values_.emplace_back(std::string(buffer, end));
  return *this;
}

PgParams& PgParams::Bytes(const uint8_t* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = "\\x";
  for (size_t i = 0; i < size; ++i) {
    text += kHex[data[i] >> 4];
    text += kHex[data[i] & 15];
  }
  values_.emplace_back(std::move(text));
  return *this;
}

PgParams& PgParams::Null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

PgParams& PgParams::OptionalInt(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Null();
}

PgParams& PgParams::OptionalDouble(const std::optional<double>& value) {
  return value ? Double(*value) : Null();
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> pointers;
  pointers.reserve(values_.size());
  for (const auto& value : values_) pointers.push_back(value ? value->c_str() : nullptr);
  return pointers;
}

PgResult::~PgResult() {
  PQclear(result_);
}

int PgResult::rows() const {
  return PQntuples(result_);
}

int64_t PgResult::affected() const {
  const char* text = PQcmdTuples(result_);
  return text != nullptr && *text != '\0' ? std::strtoll(text, nullptr, 10) : 0;
}

bool PgResult::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t PgResult::Int(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

double PgResult::Double(int row, int column) const {
  return std::strtod(PQgetvalue(result_, row, column), nullptr);
}

bool PgResult::Bool(int row, int column) const {
  return PQgetvalue(result_, row, column)[0] == 't';
}

std::vector<uint8_t> PgResult::Bytes(int row, int column) const {
  size_t size = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &size);
  if (bytes == nullptr) return {};
  std::vector<uint8_t> out(bytes, bytes + size);
  PQfreemem(bytes);
  return out;
}

std::optional<int64_t> PgResult::OptionalInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Int(row, column);
}

std::optional<double> PgResult::OptionalDouble(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Double(row, column);
}

PgConnection::PgConnection(const std::string& url, int connect_timeout_ms, int query_timeout_ms,
                           std::string server)
    : server_(std::move(server)), query_timeout_ms_(query_timeout_ms) {
  // libpq counts whole seconds per host tried and takes 1 as 2; the URL may
  // set its own.
  const std::string timeout = std::to_string(std::max(2, (connect_timeout_ms + 999) / 1000));
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "chatbot", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr)
    throw StoreUnavailable("PostgreSQL " + server_ + ": connect: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = TrimmedMessage(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreUnavailable("PostgreSQL " + server_ + ": cannot connect: " + why);
  }
  PQsetClientEncoding(conn_, "UTF8");
  // The server's notices ("relation already exists, skipping") are not
  // for the people running the service; errors come back as results. One
  // kind matters: the FATAL a server sends before it ends an idle
  // connection arrives as a notice, and makes the connection broken.
  PQsetNoticeReceiver(
      conn_,
      [](void* self, const pg_result* notice) {
        const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
        const std::string_view level = severity != nullptr ? severity : "";
        if (level == "FATAL" || level == "PANIC") static_cast<PgConnection*>(self)->failed_ = true;
      },
      this);
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::broken() const {
  return failed_ || conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
}

void PgConnection::Poll() {
  if (conn_ == nullptr || failed_) return;
  // A server that ends an idle connection sends its reason (libpq takes it
  // as a notice) and then closes: read while there is something to read,
  // so that the close is seen too, not only the message before it.
  for (int reads = 0; reads < 8; ++reads) {
    pollfd socket{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
    if (::poll(&socket, 1, 0) <= 0) return;
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
      failed_ = true;
      return;
    }
  }
}

int PgConnection::socket() const {
  return conn_ != nullptr ? PQsocket(conn_) : -1;
}

std::optional<PgNotification> PgConnection::NextNotification() {
  if (conn_ == nullptr) return std::nullopt;
  PGnotify* notify = PQnotifies(conn_);
  if (notify == nullptr) return std::nullopt;
  PgNotification out{notify->relname != nullptr ? notify->relname : "",
                     notify->extra != nullptr ? notify->extra : ""};
  PQfreemem(notify);
  return out;
}

bool PgConnection::in_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

PgResult PgConnection::Check(pg_result* raw, std::string_view operation) {
  PgResult result(raw);
  const ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  const std::string why = TrimmedMessage(raw != nullptr && PQresultErrorMessage(raw)[0] != '\0'
                                             ? PQresultErrorMessage(raw)
                                             : PQerrorMessage(conn_));
  const std::string message = "PostgreSQL " + server_ + ": " + std::string(operation) + ": " + why;
  if (failed_ || PQstatus(conn_) != CONNECTION_OK || MeansUnavailable(sqlstate)) {
    failed_ = true;
    throw StoreUnavailable(message);
  }
  throw PgError(message, sqlstate);
}

PgResult PgConnection::Await(bool sent, std::string_view operation) {
  if (!sent) return Check(nullptr, operation);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(query_timeout_ms_);
  // Like PQexec: the first error, else the last result.
  pg_result* kept = nullptr;
  while (true) {
    while (PQisBusy(conn_) != 0 && PQstatus(conn_) == CONNECTION_OK) {
      int wait_ms = -1;
      if (query_timeout_ms_ > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
          // A stalled server or network: this connection's state is unknown
          // (the statement may still finish there), so it is never reused.
          PQclear(kept);
          failed_ = true;
          throw StoreUnavailable("PostgreSQL " + server_ + ": " + std::string(operation) +
                                 ": no answer within " + std::to_string(query_timeout_ms_) +
                                 " ms (store.postgres_query_timeout_ms)");
        }
        wait_ms = static_cast<int>(left);
      }
      pollfd socket{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
      if (::poll(&socket, 1, wait_ms) < 0 && errno != EINTR) failed_ = true;
      if (failed_ || PQconsumeInput(conn_) == 0) {
        failed_ = true;
        break;
      }
    }
    pg_result* next = PQgetResult(conn_);
    if (next == nullptr) break;
    const bool kept_error = kept != nullptr && PQresultStatus(kept) != PGRES_COMMAND_OK &&
                            PQresultStatus(kept) != PGRES_TUPLES_OK;
    if (kept_error) {
      PQclear(next);
    } else {
      PQclear(kept);
      kept = next;
    }
  }
  return Check(kept, operation);
}

PgResult PgConnection::Run(const PgStatement& statement, const PgParams& params,
                           std::string_view operation) {
  if (!prepared_.contains(statement.name)) {
    Await(PQsendPrepare(conn_, statement.name, statement.sql.c_str(), 0, nullptr) != 0, operation);
    prepared_.insert(statement.name);
  }
  const std::vector<const char*> values = params.Pointers();
  return Await(PQsendQueryPrepared(conn_, statement.name, params.size(), values.data(), nullptr,
                                   nullptr, 0) != 0,
               operation);
}

PgResult PgConnection::Execute(const std::string& sql, std::string_view operation) {
  return Await(PQsendQuery(conn_, sql.c_str()) != 0, operation);
}

PgResult PgConnection::Execute(const std::string& sql, const PgParams& params,
                               std::string_view operation) {
  const std::vector<const char*> values = params.Pointers();
  return Await(PQsendQueryParams(conn_, sql.c_str(), params.size(), nullptr, values.data(), nullptr,
                                 nullptr, 0) != 0,
               operation);
}

}  // namespace chatbot::db
