// NewSessionId (dialogue/chat_service.h): 32 hex digits that sort in the
// order the sessions were created (so that a new session's rows go to the
// end of the stores' indexes) and still differ by 80 random bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "dialogue/chat_service.h"

namespace chatbot::dialogue {
namespace {

TEST(SessionIdTest, ThirtyTwoHexDigitsBeginningWithTheCreationTime) {
  const int64_t before = NowMs();
  const std::string id = NewSessionId();
  const int64_t after = NowMs();
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << id;
  const int64_t stamped = std::stoll(id.substr(0, 12), nullptr, 16);
  EXPECT_GE(stamped, before);
  EXPECT_LE(stamped, after);
}

TEST(SessionIdTest, LaterIdsSortAfterEarlierOnesAndNoneRepeats) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 1000; ++j) ids.push_back(NewSessionId());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  // Ordered by their creation millisecond (within one, by chance).
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LE(ids[i - 1].substr(0, 12), ids[i].substr(0, 12)) << i;
  }
  EXPECT_LT(ids[999], ids[2000]);
  // The random part differs even within one millisecond.
  std::set<std::string> tails;
  for (const std::string& id : ids) tails.insert(id.substr(12));
  EXPECT_EQ(tails.size(), ids.size());
}

}  // namespace
}  // namespace chatbot::dialogue
