#include "store/search_connections.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>

#include "db/sqlite_statement.h"
#include "store/session_store.h"

namespace chatbot::store::internal {
namespace {

using db::Execute;
using db::ThrowSqliteError;

// Idle connections kept for reuse; more searches at once open more, which
// are closed afterwards.
constexpr size_t kMaxIdle = 4;
// How long a read waits for another process's lock (a checkpoint).
constexpr int kBusyTimeoutMs = 5000;
// The budget is checked every this many virtual machine instructions.
constexpr int kProgressInstructions = 1000;

void LowerAscii(const unsigned char* text, size_t size, std::string* out) {
  out->resize(size);
  for (size_t i = 0; i < size; ++i) {
    const unsigned char c = text[i];
    (*out)[i] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
}

// chatbot_contains(text, needle): 1 when `needle` occurs in `text`, ignoring
// the case of ASCII letters. glibc's memmem is the two-way algorithm: linear
// time whatever the input, so no text can make a search quadratic.
void Contains(sqlite3_context* context, int, sqlite3_value** args) {
  const auto* text = sqlite3_value_text(args[0]);
  const auto* needle = sqlite3_value_text(args[1]);
  if (text == nullptr || needle == nullptr) return sqlite3_result_int(context, 0);
  const size_t text_size = static_cast<size_t>(sqlite3_value_bytes(args[0]));
  const size_t needle_size = static_cast<size_t>(sqlite3_value_bytes(args[1]));
  thread_local std::string lower_text;
  thread_local std::string lower_needle;
  LowerAscii(text, text_size, &lower_text);
  LowerAscii(needle, needle_size, &lower_needle);
  const bool found = ::memmem(lower_text.data(), lower_text.size(), lower_needle.data(),
                              lower_needle.size()) != nullptr;
  sqlite3_result_int(context, found ? 1 : 0);
}

struct Budget {
  std::chrono::steady_clock::time_point deadline;
  bool expired = false;
};

int CheckBudget(void* data) {
  auto* budget = static_cast<Budget*>(data);
  if (std::chrono::steady_clock::now() < budget->deadline) return 0;
  budget->expired = true;
  return 1;  // interrupts the statement
}

}  // namespace

SearchConnections::SearchConnections(std::string db_path) : path_(std::move(db_path)) {}

SearchConnections::~SearchConnections() {
  for (sqlite3* db : idle_) sqlite3_close_v2(db);
}

sqlite3* SearchConnections::Open() {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  try {
    if (rc != SQLITE_OK) ThrowSqliteError(db, rc, path_, "open for searching");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // Reads only: a bug cannot write through it.
    Execute(db, path_, "open for searching", "PRAGMA query_only = ON");
    const int created = sqlite3_create_function_v2(
        db, "chatbot_contains", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
        Contains, nullptr, nullptr, nullptr);
    if (created != SQLITE_OK) ThrowSqliteError(db, created, path_, "open for searching");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

void SearchConnections::Run(int64_t budget_ms, const std::function<void(sqlite3*)>& read) {
  sqlite3* db = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      db = idle_.back();
      idle_.pop_back();
    }
  }
  if (db == nullptr) db = Open();
  Budget budget{std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms)};
  if (budget_ms > 0) sqlite3_progress_handler(db, kProgressInstructions, CheckBudget, &budget);
  const auto give_back = [&] {
    sqlite3_progress_handler(db, 0, nullptr, nullptr);
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) {
      idle_.push_back(db);
    } else {
      sqlite3_close_v2(db);
    }
  };
  try {
    read(db);
  } catch (const StoreError&) {
    give_back();
    if (budget.expired) {
      throw SearchTimeout("the search took longer than its budget of " + std::to_string(budget_ms) +
                          " ms");
    }
    throw;
  } catch (...) {
    give_back();
    throw;
  }
  give_back();
}

}  // namespace chatbot::store::internal
