// The keys store the configuration asks for: SQLite at security.database
// (the default) or the PostgreSQL database of [store] (store.backend).
#ifndef CHATBOT_SECURITY_OPEN_KEY_STORE_H_
#define CHATBOT_SECURITY_OPEN_KEY_STORE_H_

#include <memory>

#include "common/config.h"
#include "security/key_store.h"

namespace chatbot::security {

// Throws StoreError naming the file or the server (StoreUnavailable when the
// server cannot be reached), ConfigError for an unusable [store] setting.
std::unique_ptr<KeyStore> OpenKeyStore(const Settings& settings);

}  // namespace chatbot::security

#endif  // CHATBOT_SECURITY_OPEN_KEY_STORE_H_
