#include "server/model_accuracy_metrics.h"

#include <gtest/gtest.h>

namespace chatbot::server {
namespace {

store::TurnLabel Label(const std::string& intent, const std::string& predicted, int64_t at) {
  store::TurnLabel label;
  label.intent = intent;
  label.predicted_intent = predicted;
  label.labelled_at_ms = at;
  return label;
}

TEST(LiveAccuracyTest, CountsTheNewestLabelsOnly) {
  const std::vector<store::TurnLabel> labels = {
      Label("refund", "refund", 1), Label("oos", "refund", 2), Label("refund", "refund", 5),
      Label("greet", "greet", 4), Label("bye", "greet", 3)};
  const LiveAccuracy all = ComputeLiveAccuracy(labels, 100);
  EXPECT_EQ(all.samples, 5u);
  EXPECT_DOUBLE_EQ(all.accuracy, 3.0 / 5);
  // The newest three: at 5 (right), 4 (right), 3 (wrong).
  const LiveAccuracy newest = ComputeLiveAccuracy(labels, 3);
  EXPECT_EQ(newest.samples, 3u);
  EXPECT_DOUBLE_EQ(newest.accuracy, 2.0 / 3);
  const LiveAccuracy none = ComputeLiveAccuracy({}, 3);
  EXPECT_EQ(none.samples, 0u);
  EXPECT_EQ(none.accuracy, 0);
}

}  // namespace
}  // namespace chatbot::server
