// The SQLite helpers (db/sqlite_statement.h) under the names the session
// store's implementation uses.
#ifndef CHATBOT_STORE_SQLITE_STATEMENT_H_
#define CHATBOT_STORE_SQLITE_STATEMENT_H_

#include "db/sqlite_statement.h"

namespace chatbot::store::internal {

using db::Execute;
using db::ResetOnExit;
using db::Statement;
using db::ThrowSqliteError;

}  // namespace chatbot::store::internal

#endif  // CHATBOT_STORE_SQLITE_STATEMENT_H_
