#include "db/pg_pool.h"

#include <utility>

namespace chatbot::db {

PgLease::~PgLease() {
  if (connection_ != nullptr) pool_->Return(std::move(connection_));
}

PgPool::PgPool(PgOptions options)
    : options_(std::move(options)), server_(DescribeServer(options_.url)) {}

PgLease PgPool::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  std::unique_lock lock(mu_);
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      // The server may have closed it while it was idle (a restart).
      connection->Poll();
      if (!connection->broken()) return PgLease(this, std::move(connection));
      --open_;
    }
    if (open_ < options_.pool_size) break;
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      throw StoreUnavailable("PostgreSQL " + server_ + ": no connection free within " +
                             std::to_string(options_.connect_timeout_ms) + " ms (pool_size " +
                             std::to_string(options_.pool_size) + ")");
    }
  }
  ++open_;
  lock.unlock();
  try {
    return PgLease(this, std::make_unique<PgConnection>(options_.url, options_.connect_timeout_ms,
                                                        options_.query_timeout_ms, server_));
  } catch (...) {
    lock.lock();
    --open_;
    freed_.notify_one();
    throw;
  }
}

void PgPool::Return(std::unique_ptr<PgConnection> connection) {
  // A connection left inside a transaction (its rollback failed) or broken
  // is never lent again.
  const bool reusable = !connection->broken() && !connection->in_transaction();
  if (!reusable) connection.reset();
  std::lock_guard lock(mu_);
  if (reusable) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  freed_.notify_one();
}

PgTransaction::PgTransaction(PgConnection& connection, const std::string& mode)
    : connection_(connection) {
  connection_.Execute(mode.empty() ? "BEGIN" : "BEGIN " + mode, "begin transaction");
}

PgTransaction::~PgTransaction() {
  if (done_ || connection_.broken()) return;
  try {
    connection_.Execute("ROLLBACK", "rollback");
  } catch (const StoreError&) {
    // The pool drops a connection still inside a transaction.
  }
}

void PgTransaction::Commit() {
  connection_.Execute("COMMIT", "commit");
  done_ = true;
}

}  // namespace chatbot::db
