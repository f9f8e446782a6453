#!/usr/bin/env bash
# Operations benchmark (docs/OPERATIONS.md, "Performance"), on this machine:
#
#  1. a service holding SESSIONS sessions (default 100,000, two turns each)
#     answers /v1/chat with wrk (1 thread, 16 connections) for DURATION
#     seconds without a backup, then for DURATION seconds while `chatbot
#     backup` runs back to back, three times in turn (the machine's other
#     load varies): throughput without and during backups, backup time;
#  2. no turn lost: the turns in the database equal those filled plus the
#     chat requests answered 200, and the last backup verifies;
#  3. the service stopped, `chatbot restore --backup latest` (verify the
#     backup, swap the data in, verify-model) is timed;
#  4. /v1/parse with wrk, without and with a /metrics scrape every second
#     (twice each, alternating), and the /metrics render time
#     (bench/metrics_benchmark and as curl sees it).
#
#   bench/ops_benchmark.sh [SESSIONS] [DURATION_SECONDS]   (100000, 20)
# BUILD=build/ops-rel picks another release build (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
sessions="${1:-100000}"
duration="${2:-20}"
build="${BUILD:-build/release}"
binary="$(realpath "$build/apps/chatbot")"
filler="$(realpath "$build/bench/fill_sessions")"
[ -x "$binary" ] && [ -x "$filler" ] || { echo "build first: chatbot and fill_sessions in $build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh
command -v sqlite3 >/dev/null || { echo "sqlite3 missing: scripts/setup.sh installs it" >&2; exit 1; }
domain="$(realpath data/domain)"

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
chatbot() { "$binary" "$@" --set paths.data="$domain" --log-level warn; }
now() { date +%s.%N; }

chatbot train >/dev/null 2>train.err || { cat train.err >&2; exit 1; }
mkdir -p data/sessions
echo "filling $sessions sessions: $("$filler" data/sessions/sessions.db "$sessions" 2)"
db_bytes=$(stat -c %s data/sessions/sessions.db)

start_server() {
  "$binary" serve --set paths.data="$domain" --log-level warn --port 0 --set server.host=127.0.0.1 --set security.rate_limit_anonymous=0 \
    --set security.rate_limit_admin=0 >serve.out 2>serve.err &
  server_pid=$!
  port="$(wait_for_port serve.out serve.err)"
  url="http://127.0.0.1:$port"
  key="$(cat data/security/admin.key)"
  : >serve.out
}
metric() {  # the value of one sample of /metrics
  curl -s -H "Authorization: Bearer $key" "$url/metrics" | awk -v n="$1" '$1 == n {print $2}'
}

start_server
# shellcheck disable=SC2046
write_chat_lua chat.lua $(for s in $(seq 0 63); do printf 'bench%027d ' "$s"; done)
cat >parse.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local texts = {"where is my order", "book a flight", "can i pay with paypal", "hello there"}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, '{"text":"' .. texts[(i % #texts) + 1] .. '"}')
end
LUA

wrk_rps() {  # endpoint script seconds -> requests/s (non-2xx reported on stderr)
  wrk -t1 -c16 -d"$3s" -s "$2" "$url$1" >wrk.out
  awk '/Non-2xx/ {print "  non-2xx: " $0 > "/dev/stderr"} /Socket errors/ {print "  " $0 > "/dev/stderr"}' wrk.out
  awk '/Requests\/sec/ {print $2}' wrk.out
}

t0=$(now)
chatbot backup >backup.out 2>&1 || { cat backup.out >&2; exit 1; }
echo "idle:    $(sed -n 1p backup.out) (wall $(echo "$(now) - $t0" | bc) s)"
echo "== /v1/chat, $duration s each phase (wrk 1 thread, 16 connections)"
backups=0
backup_total=0
first_backup=""
plain_total=0
during_total=0
for round in 1 2 3; do
  plain=$(wrk_rps /v1/chat chat.lua "$duration")
  wrk_rps /v1/chat chat.lua "$duration" >during.rps &
  wrk_pid=$!
  sleep 1
  end=$(echo "$(now) + $duration - 2" | bc)
  while [ "$(echo "$(now) < $end" | bc)" = 1 ]; do
    t0=$(now)
    chatbot backup >backup.out 2>backup.err || { cat backup.out backup.err >&2; exit 1; }
    t=$(echo "$(now) - $t0" | bc)
    [ -n "$first_backup" ] || first_backup=$t
    backup_total=$(echo "$backup_total + $t" | bc)
    backups=$((backups + 1))
    chatbot backup prune --keep 1 >/dev/null
  done
  wait "$wrk_pid"
  during=$(cat during.rps)
  echo "round $round: $plain requests/s without a backup, $during during backups"
  plain_total=$(echo "$plain_total + $plain" | bc)
  during_total=$(echo "$during_total + $during" | bc)
done
echo "backups: $backups back to back, $(echo "scale=2; $backup_total / $backups" | bc) s each (first $first_backup s)"
echo "last:    $(sed -n 1p backup.out)"
awk -v p="$plain_total" -v d="$during_total" \
  'BEGIN {printf "cost:    %.1f %% (mean %.0f requests/s without, %.0f during backups)\n", 100 * (1 - d / p), p / 3, d / 3}'

answered=$(metric 'chatbot_http_requests_total{route="/v1/chat",status="200"}')
stop_server
turns=$(sqlite3 data/sessions/sessions.db 'SELECT count(*) FROM turns')
expected=$((sessions * 2 + ${answered%.*}))
echo "turns:   $turns in the database, $expected expected ($((sessions * 2)) filled + ${answered%.*} answered): $([ "$turns" = "$expected" ] && echo "none lost" || echo "MISMATCH")"
chatbot backup verify latest | head -1

echo "== restore of the last backup, then verify-model (service stopped)"
t0=$(now)
chatbot restore --backup latest >restore.out 2>&1 || { cat restore.out >&2; exit 1; }
echo "restore + verify: $(echo "$(now) - $t0" | bc) s ($(grep -c '^restored' restore.out) items; $(grep 'verify-model' restore.out))"
echo "database: $((db_bytes / 1048576)) MiB when filled, $(( $(stat -c %s data/sessions/sessions.db) / 1048576 )) MiB restored"

echo "== /v1/parse without and with a /metrics scrape every second, $duration s each"
start_server
scrape() { while true; do curl -s -o /dev/null -H "Authorization: Bearer $key" "$url/metrics"; sleep 1; done; }
for round in 1 2; do
  plain=$(wrk_rps /v1/parse parse.lua "$duration")
  scrape &
  scraper=$!
  scraped=$(wrk_rps /v1/parse parse.lua "$duration")
  kill "$scraper"; wait "$scraper" 2>/dev/null || true
  echo "round $round: $plain requests/s without, $scraped with scrapes"
done
for _ in $(seq 50); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $key" "$url/metrics"
done | sort -n | awk '{a[NR]=$1} END {printf "GET /metrics as curl sees it: median %.3f ms, p90 %.3f ms\n", a[int(NR/2)]*1000, a[int(NR*0.9)]*1000}'
curl -s -H "Authorization: Bearer $key" "$url/metrics" | wc -c | awk '{print "page: " $1 " bytes"}'
metrics_bench="$(dirname "$filler")/metrics_benchmark"
[ -x "$metrics_bench" ] && "$metrics_bench" --benchmark_filter='BM_Render|BM_ObserveRequest/threads:1|BM_ObservePrediction/threads:1' 2>/dev/null | grep -E '^BM_'
