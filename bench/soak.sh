#!/usr/bin/env bash
# A soak run: `chatbot serve` (the SVM of bench_lib.sh's train_svm, its own
# database and logs) under mixed traffic for DURATION seconds, measured in
# intervals of INTERVAL seconds. Each interval is one wrk run (1 thread, 16
# connections) cycling through /v1/parse, /v1/chat (a new session every
# 16th turn), GET /v1/sessions, GET /v1/admin/keys with the admin key, and
# two bad requests (malformed JSON: 400; an unknown path: 404). Prints one
# row per interval (requests/s, p99, RSS, answers by status) and at the end
# the RSS growth after the first interval (the warm-up) and the answers
# other than the intended 200, 400 and 404.
#
#   bench/soak.sh [DURATION_SECONDS [INTERVAL_SECONDS]]   (default 1800 60)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-1800}"
interval="${2:-60}"
binary="${BENCH_BINARY:-build/release/apps/chatbot}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh

start_work
train_svm "$work/model" "$work/logs"
"$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
  --set sessions.path="$work/sessions.db" --set paths.logs="$work/logs" \
  --set security.database="$work/keys.db" --set security.admin_key_file="$work/admin.key" \
  --set security.rate_limit_anonymous=0 --set security.rate_limit_admin=0 \
  --set security.rate_limit_per_address=0 \
  --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
port="$(wait_for_port "$work/serve.out" "$work/serve.err")"
url="http://127.0.0.1:$port"
admin_key="$(cat "$work/admin.key")"

cat >"$work/mixed.lua" <<'LUA'
local admin = "Bearer " .. os.getenv("SOAK_ADMIN_KEY")
local json = {["Content-Type"] = "application/json"}
local texts = {"where is my order", "i want to return my shoes", "hello there",
  "what are your opening hours", "can i pay with paypal", "thank you, bye"}
local i = 0
statuses = {}  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function request()
  i = i + 1
  local kind = i % 8
  local text = texts[(i % #texts) + 1]
  if kind <= 2 then
    return wrk.format("POST", "/v1/parse", json, '{"text":"' .. text .. '"}')
  elseif kind <= 4 then
    return wrk.format("POST", "/v1/chat", json, '{"message":"' .. text .. '"}')
  elseif kind == 5 then
    return wrk.format("GET", "/v1/sessions?limit=20")
  elseif kind == 6 then
    return wrk.format("GET", "/v1/admin/keys", {["Authorization"] = admin})
  elseif i % 16 == 7 then
    return wrk.format("POST", "/v1/parse", json, '{"text": ')
  else
    return wrk.format("GET", "/v1/no-such-thing")
  end
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do all[status] = (all[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(all) do table.insert(parts, status .. ":" .. n) end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
LUA

echo "soak: ${duration}s of mixed traffic (wrk 1 thread, 16 connections), rows every ${interval}s"
printf '| %6s | %10s | %8s | %8s | %s\n' "t (s)" requests/s p99 "RSS MiB" "answers by status"
echo "|--------|------------|----------|----------|------"
elapsed=0
first_rss=""
last_rss=""
unexpected=0
while [ "$elapsed" -lt "$duration" ]; do
  SOAK_ADMIN_KEY="$admin_key" wrk -t1 -c16 -d"${interval}s" --latency -s "$work/mixed.lua" \
    "$url" >"$work/wrk.out"
  elapsed=$((elapsed + interval))
  rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")"
  p99="$(awk '$1=="99%" {print $2}' "$work/wrk.out")"
  statuses="$(sed -n 's/^statuses //p' "$work/wrk.out")"
  rss_kb="$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")"
  [ -n "$first_rss" ] || first_rss="$rss_kb"
  last_rss="$rss_kb"
  for pair in $statuses; do
    case "${pair%%:*}" in 200 | 400 | 404) ;; *) unexpected=$((unexpected + ${pair##*:})) ;; esac
  done
  printf '| %6s | %10s | %8s | %8s | %s\n' "$elapsed" "$rps" "$p99" "$((rss_kb / 1024))" "$statuses"
done
echo
awk -v a="$first_rss" -v b="$last_rss" 'BEGIN {
  printf "RSS after the first interval %.1f MiB, at the end %.1f MiB: growth %.1f %%\n",
    a / 1024, b / 1024, (b - a) * 100 / a }'
echo "answers other than 200, 400 and 404: $unexpected"
