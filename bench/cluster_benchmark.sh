#!/usr/bin/env bash
# Issue 16's benchmarks in one table (docs/scaling.md, "Capacity"): chat
# turns on one instance on SQLite and on PostgreSQL, with long
# conversations (16 sessions, every turn continues one) and with a new
# session per turn; chat through nginx in front of one, two and three
# instances on PostgreSQL; /v1/parse direct and through nginx; chat at a
# fixed 1,000 turns/s for its latency. wrk: 1 thread, 16 connections.
# Each row gives the CPU time per request of the instances, of nginx (its
# workers) and of PostgreSQL (its backends), read from /proc: on a shared
# 2-core machine requests/s moves with the neighbours' load, CPU time per
# request hardly.
#
# The fixed-rate rows pace request starts in wrk's Lua (LuaJIT's FFI
# clock): each request leaving takes the next slot of a 1 ms schedule, so
# the requests start at 1,000/s as long as one of the 16 connections is
# free; a request whose slot has passed starts at once, so a stall shows in
# the latencies of the requests it holds up only (wrk measures from the
# send, not from the slot).
#
# PostgreSQL runs with synchronous_commit=off (what SQLite's
# synchronous=normal gives: a commit survives the service's crash, not the
# machine's), and one row with its default, on (each commit flushed).
#
# ROUNDS=N (default 1) runs the whole list N times, one row after the
# other, and prints each row's median over the rounds (requests/s with its
# range): on a shared machine a neighbour's burst then moves one round of a
# row, not the table.
#
#   bench/cluster_benchmark.sh [DURATION_SECONDS] [BINARY]   (defaults: 5, build/release/apps/chatbot)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
binary="${2:-build/release/apps/chatbot}"
rounds="${ROUNDS:-1}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release ($binary)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || { echo "nginx missing: scripts/setup.sh installs it" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL 15 missing: scripts/setup.sh" >&2; exit 1; }
. bench/bench_lib.sh

work="$(mktemp -d)"
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

train_svm "$work/model" "$work/logs"
start_postgres
pg_fast="$pg_url options='-c synchronous_commit=off'"
on_pg=(--set store.backend=postgres --set store.postgres_url="$pg_fast")
behind=(--set security.trusted_proxies=127.0.0.1/32)
start_instance sqlite
start_instance pg "${on_pg[@]}"
start_instance pgsync --set store.backend=postgres --set store.postgres_url="$pg_url"
for i in 1 2 3; do start_instance "b$i" "${on_pg[@]}" "${behind[@]}"; done
start_nginx lb1 b1
start_nginx lb2 b1 b2
start_nginx lb3 b1 b2 b3
pg_pid="$(head -1 "$work/pg/postmaster.pid")"

write_parse_script "$work/parse.lua"
write_chat_lua "$work/new.lua"
# long_lua PORT FILE [RATE]: 16 sessions opened on PORT, a script continuing
# them; with RATE, paced at RATE requests/s.
long_lua() {
  local sessions=()
  for _ in $(seq 16); do
    sessions+=("$(curl -s -X POST -H 'Content-Type: application/json' -d '{"message":"hello"}' \
      "http://127.0.0.1:$1/v1/chat" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')")
  done
  write_chat_lua "$work/$2" "${sessions[@]}"
  [ -z "${3:-}" ] && return
  cat >>"$work/$2" <<LUA
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec* t);
]]
local now = ffi.new("bench_timespec")
local period, next_slot = 1000 / $3, nil
delay = function()
  ffi.C.clock_gettime(1, now)
  local t = tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  next_slot = math.max(next_slot or t, t - 16 * period) + period
  return math.max(0, math.floor(next_slot - t))
end
LUA
}

# row LABEL WORKLOAD PORT PATH SCRIPT "INSTANCE PIDS" NGINX_PID DB_PID: one
# round of a row; its figures are appended to $work/rows/<n> (rows numbered
# in the order they run), one line per round.
row_number=0
row() {
  local out="$work/wrk.out" ticks_i ticks_n ticks_d
  local before_i before_n before_d
  row_number=$((row_number + 1))
  before_i="$(cpu_ticks $6)"
  before_n="$([ -n "$7" ] && cpu_ticks "$7" || echo 0)"
  before_d="$([ -n "$8" ] && cpu_ticks "$8" || echo 0)"
  wrk -t1 -c16 -d"${duration}s" --latency -s "$work/$5" "http://127.0.0.1:$3$4" >"$out"
  ticks_i=$(($(cpu_ticks $6) - before_i))
  ticks_n=$(($([ -n "$7" ] && cpu_ticks "$7" || echo 0) - before_n))
  ticks_d=$(($([ -n "$8" ] && cpu_ticks "$8" || echo 0) - before_d))
  local rps p50 p99 requests errors
  rps="$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out" | to_ms)"
  p99="$(awk '$1=="99%" {print $2}' "$out" | to_ms)"
  requests="$(awk '/requests in/ {print $1}' "$out")"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ' | tr -s ' ' '_')"
  echo "$1|$2|$rps|$p50|$p99|$(per_request "$ticks_i" "$requests")|$([ -n "$7" ] &&
    per_request "$ticks_n" "$requests" || echo -)|$([ -n "$8" ] &&
    per_request "$ticks_d" "$requests" || echo -)|${errors:-none}" >>"$work/rows/$row_number"
}

# wrk's latencies (850.00us, 1.25ms, 2.01s) in milliseconds.
to_ms() {
  awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; printf "%.2f", v}'
}

# The table: per row, the median of each column over the rounds (the
# requests/s range besides when there were several), errors of any round.
print_table() {
  printf '| %-26s | %-22s | %19s | %8s | %8s | %6s | %6s | %6s | %s\n' setup workload \
    req/s "p50 ms" "p99 ms" inst nginx db "non-2xx / errors"
  echo "|----------------------------|------------------------|---------------------|----------|----------|--------|--------|--------|------"
  local n
  for n in $(seq "$row_number"); do
    awk -F'|' '
      function median(col,   i, j, t, v, k) {
        k = 0
        for (i = 1; i <= NR; ++i) v[++k] = val[i, col]
        for (i = 2; i <= k; ++i) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; --j) {
          t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
        return v[int((k + 1) / 2)]
      }
      { for (c = 1; c <= NF; ++c) val[NR, c] = $c
        if ($9 != "none") errs = errs " " $9
        if (NR == 1 || $3 + 0 < lo) lo = $3 + 0
        if (NR == 1 || $3 + 0 > hi) hi = $3 + 0 }
      END {
        rps = median(3)
        if (NR > 1) rps = rps " (" lo "-" hi ")"
        printf "| %-26s | %-22s | %19s | %8s | %8s | %6s | %6s | %6s | %s\n", val[1, 1], val[1, 2],
          rps, median(4), median(5), median(6), (val[1, 7] == "-" ? "-" : median(7)),
          (val[1, 8] == "-" ? "-" : median(8)), (errs == "" ? "none" : errs)
      }' "$work/rows/$n"
  done
}

mkdir -p "$work/rows"
echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per row, $rounds round(s); $(nproc) cores;" \
  "nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'), 1 worker; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU columns: µs of CPU per request (instances, nginx, PostgreSQL)"
echo
# Warm-up: the model, the allocator, nginx's connections.
for port in "$port_sqlite" "$port_pg" "$port_lb3"; do
  wrk -t1 -c16 -d1s -s "$work/parse.lua" "http://127.0.0.1:$port/v1/parse" >/dev/null
done
long_lua "$port_sqlite" long-sqlite.lua
long_lua "$port_pg" long-pg.lua
long_lua "$port_pgsync" long-pgsync.lua
long_lua "$port_lb3" long-lb.lua
long_lua "$port_sqlite" rate-sqlite.lua 1000
long_lua "$port_pg" rate-pg.lua 1000
for round in $(seq "$rounds"); do
  row_number=0
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds" >&2
  row "sqlite, 1 instance" "chat, long convers." "$port_sqlite" /v1/chat long-sqlite.lua "$pid_sqlite" "" ""
  row "sqlite, 1 instance" "chat, new session/turn" "$port_sqlite" /v1/chat new.lua "$pid_sqlite" "" ""
  row "postgres, 1 instance" "chat, long convers." "$port_pg" /v1/chat long-pg.lua "$pid_pg" "" "$pg_pid"
  row "postgres, 1 instance" "chat, new session/turn" "$port_pg" /v1/chat new.lua "$pid_pg" "" "$pg_pid"
  row "postgres sync. commit" "chat, long convers." "$port_pgsync" /v1/chat long-pgsync.lua "$pid_pgsync" "" "$pg_pid"
  row "nginx + 1 instance (pg)" "chat, long convers." "$port_lb1" /v1/chat long-lb.lua "$pid_b1" "$pid_lb1" "$pg_pid"
  row "nginx + 2 instances (pg)" "chat, long convers." "$port_lb2" /v1/chat long-lb.lua "$pid_b1 $pid_b2" "$pid_lb2" "$pg_pid"
  row "nginx + 3 instances (pg)" "chat, long convers." "$port_lb3" /v1/chat long-lb.lua "$pid_b1 $pid_b2 $pid_b3" "$pid_lb3" "$pg_pid"
  row "1 instance, direct" "parse" "$port_pg" /v1/parse parse.lua "$pid_pg" "" ""
  row "nginx + 1 instance" "parse" "$port_lb1" /v1/parse parse.lua "$pid_b1" "$pid_lb1" ""
  row "sqlite, 1 instance" "chat at 1,000/s" "$port_sqlite" /v1/chat rate-sqlite.lua "$pid_sqlite" "" ""
  row "postgres, 1 instance" "chat at 1,000/s" "$port_pg" /v1/chat rate-pg.lua "$pid_pg" "" "$pg_pid"
  row "nginx + 3 instances (pg)" "chat at 1,000/s" "$port_lb3" /v1/chat rate-pg.lua "$pid_b1 $pid_b2 $pid_b3" "$pid_lb3" "$pg_pid"
done
print_table
# The goals' ratios, from the medians (rows 1-4, 9-10 above).
median_rps() { cut -d'|' -f3 "$work/rows/$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
awk -v sl="$(median_rps 1)" -v sn="$(median_rps 2)" -v pl="$(median_rps 3)" -v pn="$(median_rps 4)" \
  -v d="$(median_rps 9)" -v n="$(median_rps 10)" 'BEGIN {
    printf "\nPostgreSQL / SQLite turns/s: long conversations %.0f %%, a new session per turn %.0f %%\n",
      100 * pl / sl, 100 * pn / sn
    printf "nginx hop on /v1/parse: %.0f %% of direct (%.0f %% less)\n", 100 * n / d, 100 - 100 * n / d }'
