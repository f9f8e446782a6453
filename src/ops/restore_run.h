// `chatbot restore`'s whole run (docs/OPERATIONS.md): finds the backup,
// takes the data away from a running service as asked, puts the backup's
// sessions, keys, models and configuration back where the current
// configuration says, all or nothing (backup.h, backup_plan.h), then
// verifies the restored models as `verify-model` does.
//
// It will not pull the data from under a running service: the service
// holds a shared lock on serve.lock beside the sessions database
// (data_lock.h) and restore needs it exclusively. `stop_server` sends the
// service SIGTERM and waits for it to finish its requests and exit; `force`
// restores anyway (the service then keeps writing to the files it had open,
// which are no longer the restored ones: restart it at once).
//
// A backup of store.backend = postgres holds the database (role
// "database"): it is restored with pg_restore into the database the current
// configuration names, which must be empty unless `replace_database`
// (postgres_dump.h); stop every instance first (the lock above covers only
// a service on this machine). Restoring it with store.backend = sqlite is
// refused.
#ifndef CHATBOT_OPS_RESTORE_RUN_H_
#define CHATBOT_OPS_RESTORE_RUN_H_

#include <functional>
#include <string>
#include <vector>

#include "common/config.h"

namespace chatbot::ops {

struct RestoreRunOptions {
  std::string backup;             // latest, NAME or a path
  std::string dest;               // the backups folder NAME is looked up in; empty: backup.dir
  bool stop_server = false;       // stop a running service (SIGTERM) first
  bool force = false;             // restore even while a service uses the data
  bool no_config = false;         // leave the configuration file as it is
  bool replace_database = false;  // PostgreSQL: restore into a database that holds tables
  std::vector<std::string> only;  // restore only these roles ("sessions", "model/svm", ...)
  // Each line of the report, as it happens.
  std::function<void(const std::string& line)> say;
};

// True when the backup was restored and every restored model verified;
// false when the restore was refused (a service holds the data, a damaged
// backup) or a model failed verification, said through `say`. Throws
// ConfigError for an `only` role the backup does not hold.
bool RunRestore(const Configuration& config, const RestoreRunOptions& options);

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_RESTORE_RUN_H_
