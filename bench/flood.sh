#!/usr/bin/env bash
# The flood test (tests/integration/flood_test.cc) run longer and with more
# idle connections than CI's: idle connections, slowloris clients, a
# connection flood from one address and oversized headers and bodies, all
# at once, while another client's /v1/parse latency and the server's RSS are
# measured. Prints p50/p99/max of that client and RSS before and at most.
#
#   bench/flood.sh [SECONDS [IDLE_CONNECTIONS]]      (default 60, 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
idle="${2:-5000}"
test_binary="${BENCH_TEST_BINARY:-build/release/tests/integration/flood_test}"
[ -x "$test_binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
CHATBOT_FLOOD_SECONDS="$seconds" CHATBOT_FLOOD_IDLE="$idle" "$test_binary" --gtest_brief=1
