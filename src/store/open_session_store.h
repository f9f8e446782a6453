// The session store the configuration asks for: SQLite at sessions.path
// (the default) or the PostgreSQL database of [store] (store.backend).
#ifndef CHATBOT_STORE_OPEN_SESSION_STORE_H_
#define CHATBOT_STORE_OPEN_SESSION_STORE_H_

#include <memory>

#include "common/config.h"
#include "store/session_store.h"

namespace chatbot::store {

// Throws StoreError naming the file or the server (StoreUnavailable when the
// server cannot be reached), ConfigError for an unusable [store] setting.
std::unique_ptr<SessionStore> OpenSessionStore(const Settings& settings);

}  // namespace chatbot::store

#endif  // CHATBOT_STORE_OPEN_SESSION_STORE_H_
