// The read connections session searches run on.
//
// A search reads many turns; on the store's own connection it would hold the
// mutex every chat write needs for as long as it runs. SQLite's WAL mode lets
// readers on other connections run alongside the writer, so searches get
// connections of their own (a few, reused; opened on first use) and never
// touch that mutex. On these connections:
//   - chatbot_contains(text, needle) matches a substring ignoring the case
//     of ASCII letters (the semantics of LIKE '%needle%'), in time linear
//     in the lengths of both (LIKE's matcher is quadratic on long texts
//     that almost match);
//   - a search that runs past its time budget is interrupted and reported
//     as SearchTimeout.
#ifndef CHATBOT_STORE_SEARCH_CONNECTIONS_H_
#define CHATBOT_STORE_SEARCH_CONNECTIONS_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;

namespace chatbot::store::internal {

class SearchConnections {
 public:
  explicit SearchConnections(std::string db_path);
  ~SearchConnections();
  SearchConnections(const SearchConnections&) = delete;
  SearchConnections& operator=(const SearchConnections&) = delete;

  // Runs `read(db)` on an idle connection. With budget_ms > 0, SQLite stops
  // the statement once that many milliseconds have passed, and the
  // StoreError it causes becomes SearchTimeout. Throws StoreError naming the
  // file when no connection can be opened.
  void Run(int64_t budget_ms, const std::function<void(sqlite3*)>& read);

 private:
  sqlite3* Open();

  const std::string path_;
  std::mutex mu_;
  std::vector<sqlite3*> idle_;  // guarded by mu_
};

}  // namespace chatbot::store::internal

#endif  // CHATBOT_STORE_SEARCH_CONNECTIONS_H_
