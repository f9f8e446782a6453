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
#   bench/cluster_benchmark.sh [DURATION_SECONDS] [BINARY]   (defaults: 5, build/release/apps/chatbot)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
binary="${2:-build/release/apps/chatbot}"
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

# row LABEL WORKLOAD PORT PATH SCRIPT "INSTANCE PIDS" NGINX_PID DB_PID
row() {
  local out="$work/wrk.out" pid ticks_i ticks_n ticks_d
  local before_i before_n before_d
  before_i="$(cpu_ticks $6)"
  before_n="$([ -n "$7" ] && cpu_ticks "$7" || echo 0)"
  before_d="$([ -n "$8" ] && cpu_ticks "$8" || echo 0)"
  wrk -t1 -c16 -d"${duration}s" --latency -s "$work/$5" "http://127.0.0.1:$3$4" >"$out"
  ticks_i=$(($(cpu_ticks $6) - before_i))
  ticks_n=$(($([ -n "$7" ] && cpu_ticks "$7" || echo 0) - before_n))
  ticks_d=$(($([ -n "$8" ] && cpu_ticks "$8" || echo 0) - before_d))
  local rps p50 p99 requests errors
  rps="$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out")"
  p99="$(awk '$1=="99%" {print $2}' "$out")"
  requests="$(awk '/requests in/ {print $1}' "$out")"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ')"
  printf '| %-26s | %-22s | %8s | %8s | %8s | %6s | %6s | %6s | %s\n' "$1" "$2" "$rps" "$p50" \
    "$p99" "$(per_request "$ticks_i" "$requests")" \
    "$([ -n "$7" ] && per_request "$ticks_n" "$requests" || echo -)" \
    "$([ -n "$8" ] && per_request "$ticks_d" "$requests" || echo -)" "${errors:-none}"
}

echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per row; $(nproc) cores;" \
  "nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'), 1 worker; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU columns: µs of CPU per request (instances, nginx, PostgreSQL)"
echo
printf '| %-26s | %-22s | %8s | %8s | %8s | %6s | %6s | %6s | %s\n' setup workload req/s p50 p99 \
  inst nginx db "non-2xx / errors"
echo "|----------------------------|------------------------|----------|----------|----------|--------|--------|--------|------"
# Warm-up: the model, the allocator, nginx's connections.
for port in "$port_sqlite" "$port_pg" "$port_lb3"; do
  wrk -t1 -c16 -d1s -s "$work/parse.lua" "http://127.0.0.1:$port/v1/parse" >/dev/null
done
long_lua "$port_sqlite" long-sqlite.lua
row "sqlite, 1 instance" "chat, long convers." "$port_sqlite" /v1/chat long-sqlite.lua "$pid_sqlite" "" ""
row "sqlite, 1 instance" "chat, new session/turn" "$port_sqlite" /v1/chat new.lua "$pid_sqlite" "" ""
long_lua "$port_pg" long-pg.lua
row "postgres, 1 instance" "chat, long convers." "$port_pg" /v1/chat long-pg.lua "$pid_pg" "" "$pg_pid"
row "postgres, 1 instance" "chat, new session/turn" "$port_pg" /v1/chat new.lua "$pid_pg" "" "$pg_pid"
long_lua "$port_pgsync" long-pgsync.lua
row "postgres sync. commit" "chat, long convers." "$port_pgsync" /v1/chat long-pgsync.lua "$pid_pgsync" "" "$pg_pid"
long_lua "$port_lb3" long-lb.lua
row "nginx + 1 instance (pg)" "chat, long convers." "$port_lb1" /v1/chat long-lb.lua "$pid_b1" "$pid_lb1" "$pg_pid"
row "nginx + 2 instances (pg)" "chat, long convers." "$port_lb2" /v1/chat long-lb.lua "$pid_b1 $pid_b2" "$pid_lb2" "$pg_pid"
row "nginx + 3 instances (pg)" "chat, long convers." "$port_lb3" /v1/chat long-lb.lua "$pid_b1 $pid_b2 $pid_b3" "$pid_lb3" "$pg_pid"
row "1 instance, direct" "parse" "$port_pg" /v1/parse parse.lua "$pid_pg" "" ""
row "nginx + 1 instance" "parse" "$port_lb1" /v1/parse parse.lua "$pid_b1" "$pid_lb1" ""
long_lua "$port_sqlite" rate-sqlite.lua 1000
long_lua "$port_pg" rate-pg.lua 1000
row "sqlite, 1 instance" "chat at 1,000/s" "$port_sqlite" /v1/chat rate-sqlite.lua "$pid_sqlite" "" ""
row "postgres, 1 instance" "chat at 1,000/s" "$port_pg" /v1/chat rate-pg.lua "$pid_pg" "" "$pg_pid"
row "nginx + 3 instances (pg)" "chat at 1,000/s" "$port_lb3" /v1/chat rate-pg.lua "$pid_b1 $pid_b2 $pid_b3" "$pid_lb3" "$pg_pid"
