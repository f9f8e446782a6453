// The service notice in its own SQLite file, notice.db beside the keys
// database (security.database), so that `chatbot notice` and the service on
// one machine share it. One row; one connection behind a mutex.
#ifndef CHATBOT_OPS_SQLITE_NOTICE_STORE_H_
#define CHATBOT_OPS_SQLITE_NOTICE_STORE_H_

#include <filesystem>
#include <mutex>

#include "db/sqlite_database.h"
#include "ops/notice_store.h"

namespace chatbot::ops {

class SqliteNoticeStore final : public NoticeStore {
 public:
  // PRAGMA application_id ("CBNT"): another program's database is refused.
  static constexpr int64_t kApplicationId = 0x43424e54;

  // Opens or creates the database. Throws StoreError naming the file.
  explicit SqliteNoticeStore(const std::filesystem::path& path);

  std::optional<ServiceNotice> Get() override;
  void Set(const ServiceNotice& notice) override;
  bool Clear() override;
  const std::string& where() const override { return where_; }

 private:
  const std::string where_;
  std::mutex mu_;
  db::Connection db_;  // guarded by mu_
};

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_SQLITE_NOTICE_STORE_H_
