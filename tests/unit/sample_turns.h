// Sample turns for the session store tests (the contract suite and the
// SQLite-only tests): every field set, numbered, with a dialogue state that
// names its turn, and a check that two turns agree field by field.
#ifndef CHATBOT_TESTS_UNIT_SAMPLE_TURNS_H_
#define CHATBOT_TESTS_UNIT_SAMPLE_TURNS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "store/session_store.h"

namespace chatbot::store {

inline Turn MakeTurn(int64_t number, const std::string& text = "where is my parcel") {
  Turn turn;
  turn.number = number;
  turn.user_text = text;
  turn.intent = number % 3 == 0 ? "out_of_scope" : "order_status";
  turn.confidence = 0.5 + 0.001 * static_cast<double>(number % 100);
  turn.out_of_scope = number % 3 == 0;
  turn.reply = "Reply " + std::to_string(number);
  turn.model = "svm";
  turn.model_version = "20240501-120000";
  turn.received_at_ms = 1'700'000'000'000 + number * 1000;
  turn.replied_at_ms = turn.received_at_ms + 7;
  return turn;
}

inline std::string State(int64_t number) {
  return R"({"turn":)" + std::to_string(number) + "}";
}

inline void ExpectSameTurn(const Turn& actual, const Turn& expected) {
  EXPECT_EQ(actual.number, expected.number);
  EXPECT_EQ(actual.user_text, expected.user_text);
  EXPECT_EQ(actual.intent, expected.intent);
  EXPECT_DOUBLE_EQ(actual.confidence, expected.confidence);
  EXPECT_EQ(actual.out_of_scope, expected.out_of_scope);
  EXPECT_EQ(actual.reply, expected.reply);
  EXPECT_EQ(actual.model, expected.model);
  EXPECT_EQ(actual.model_version, expected.model_version);
  EXPECT_EQ(actual.received_at_ms, expected.received_at_ms);
  EXPECT_EQ(actual.replied_at_ms, expected.replied_at_ms);
}

}  // namespace chatbot::store

#endif  // CHATBOT_TESTS_UNIT_SAMPLE_TURNS_H_
