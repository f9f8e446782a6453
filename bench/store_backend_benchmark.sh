#!/usr/bin/env bash
# Chat turns on the two store backends (docs/benchmarks.md, "Store
# backends"): one `chatbot serve` on SQLite, then one on a throwaway
# PostgreSQL 15 server started here (initdb/pg_ctl from the Debian
# packages, 127.0.0.1 on a free port, durable defaults), each driven by wrk
# (1 thread, 16 connections) with long conversations (16 sessions, every
# request continues one) and with a new session per turn. PostgreSQL runs
# twice: synchronous_commit=on (every commit flushed to disk, survives a
# power loss) and off (like SQLite's synchronous=normal: survives a crash of
# the service, not of the machine). Prints one table.
#
#   bench/store_backend_benchmark.sh [DURATION_SECONDS]   (default 10)
#
# As root, PostgreSQL runs as the system user chatbot-test (created when
# missing), as the tests' server does.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
binary="${BENCH_BINARY:-build/release/apps/chatbot}"
pg_bin=/usr/lib/postgresql/15/bin
[ -x "$binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh

start_work
pg_started=""
stop_all() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=""
  stop_postgres
  cleanup_work
}
trap stop_all EXIT

train_svm "$work/model" "$work/logs"

start_postgres

write_chat_lua "$work/new.lua"

run() {  # label workload script -> one table row
  wrk -t1 -c16 -d"${duration}s" --latency -s "$work/$3" "$url/v1/chat" >"$work/$3.out"
  local out="$work/$3.out" rps p50 p99 errors
  rps="$(awk '/Requests\/sec/ {print $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out")"
  p99="$(awk '$1=="99%" {print $2}' "$out")"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ')"
  printf '| %-33s | %-18s | %8s | %8s | %8s | %s\n' "$1" "$2" "$rps" "$p50" "$p99" "${errors:-none}"
}

bench_backend() {  # label serve-args...
  local label="$1"
  shift
  local n="$((${n:-0} + 1))"
  "$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
    --set sessions.path="$work/sessions-$n.db" --set paths.logs="$work/logs" \
    --set security.database="$work/keys-$n.db" --set security.admin_key_file="$work/admin-$n.key" \
    --set security.rate_limit_anonymous=0 "$@" \
    --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  port="$(wait_for_port "$work/serve.out" "$work/serve.err")"
  url="http://127.0.0.1:$port"
  local sessions=()
  for _ in $(seq 16); do
    sessions+=("$(curl -s -X POST -H 'Content-Type: application/json' \
      -d '{"message":"hello"}' "$url/v1/chat" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')")
  done
  write_chat_lua "$work/long.lua" "${sessions[@]}"
  run "$label" "long conversations" long.lua
  run "$label" "new session/turn" new.lua
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per row; $(nproc) cores"
echo
printf '| %-33s | %-18s | %8s | %8s | %8s | %s\n' backend workload turns/s p50 p99 "non-2xx / errors"
echo "|-----------------------------------|--------------------|----------|----------|----------|------"
n=0 bench_backend "sqlite (synchronous=normal)"
n=1 bench_backend "postgres (synchronous_commit=on)" --set store.backend=postgres \
  --set store.postgres_url="$pg_url"
n=2 bench_backend "postgres (synchronous_commit=off)" --set store.backend=postgres \
  --set store.postgres_url="$pg_url options='-c synchronous_commit=off'"
