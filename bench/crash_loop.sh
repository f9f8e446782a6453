#!/usr/bin/env bash
# Longer crash loops than CI's (tests/integration/crash_loop_test.cc):
# `chatbot serve` on SQLite under chat load, killed with SIGKILL at random
# moments CYCLES times and restarted, checking PRAGMA integrity_check and
# every acknowledged turn after each kill; then a backup and a training run
# killed half way. Prints cycles, turns acknowledged and lost, start-up
# times.
#
#   bench/crash_loop.sh [CYCLES]      (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-500}"
test_binary="${BENCH_TEST_BINARY:-build/release/tests/integration/crash_loop_test}"
[ -x "$test_binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
CHATBOT_CRASH_CYCLES="$cycles" "$test_binary" --gtest_brief=1
