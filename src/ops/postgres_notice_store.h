// The service notice in the PostgreSQL database of [store], shared by every
// instance (component "notice" of db/pg_migrations.h), on a pool of two
// connections: it is read once a second per instance and written rarely.
#ifndef CHATBOT_OPS_POSTGRES_NOTICE_STORE_H_
#define CHATBOT_OPS_POSTGRES_NOTICE_STORE_H_

#include "db/pg_migrations.h"
#include "ops/notice_store.h"

namespace chatbot::ops {

class PostgresNoticeStore final : public NoticeStore {
 public:
  // Connects and migrates. Throws StoreUnavailable naming the server when it
  // cannot be reached.
  explicit PostgresNoticeStore(db::PgOptions options);

  std::optional<ServiceNotice> Get() override;
  void Set(const ServiceNotice& notice) override;
  bool Clear() override;
  const std::string& where() const override { return where_; }

 private:
  db::PgComponentPool pool_;
  const std::string where_;
};

}  // namespace chatbot::ops

#endif  // CHATBOT_OPS_POSTGRES_NOTICE_STORE_H_
