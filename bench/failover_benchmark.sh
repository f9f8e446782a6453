#!/usr/bin/env bash
# PostgreSQL failover and the price of synchronous replication
# (docs/scaling.md, "Standby and failover"). Everything runs on this machine:
# throwaway PostgreSQL 15 servers on free loopback ports (initdb, pg_ctl and
# pg_basebackup from the Debian packages, durable defaults) and one
# `chatbot serve` whose connection string lists the primary and the standby
# with target_session_attrs=read-write.
#
# 1. Failover, RUNS times, each on a fresh primary with a synchronous
#    standby: a client sends chat turns of one session back to back (python3,
#    one keep-alive connection, each request's send and answer times);
#    the primary is killed with SIGKILL and the standby promoted at once
#    (pg_ctl promote -w). Measured: primary loss to the first turn answered
#    200, and the return of pg_ctl promote to that turn (pg_ctl polls every
#    100 ms or so: the server may take writes before it returns, which
#    makes this negative); the answers in the gap are counted by
#    status. Medians (and the range) over the runs.
# 2. Write throughput: wrk (1 thread, 16 connections, long conversations)
#    on /v1/chat for DURATION seconds with the standby synchronous
#    (synchronous_standby_names = 'standby'), asynchronous (empty), and
#    stopped (no replication at all); three rounds of the three, interleaved
#    so that the machine's load drifts over all alike, and the median of each.
#
#   bench/failover_benchmark.sh [RUNS] [DURATION_SECONDS]   (default 5, 10)
#
# As root, PostgreSQL runs as the system user chatbot-test (created when
# missing), as the tests' servers do. Prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
duration="${2:-10}"
binary="${BENCH_BINARY:-build/release/apps/chatbot}"
pg_bin=/usr/lib/postgresql/15/bin
[ -x "$binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
[ -x "$pg_bin/pg_basebackup" ] || { echo "PostgreSQL 15 missing: scripts/setup.sh installs it" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 1; }
. bench/bench_lib.sh

start_work
pg_dirs=()
probe_pid=""
stop_all() {
  # A step that fails (a probe already gone) must not end the cleanup
  # before the servers are stopped.
  set +e
  [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=""
  for d in "${pg_dirs[@]}"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" stop -m immediate -D "$d" >/dev/null 2>&1
  done
  cleanup_work
  return 0  # the script's status is the benchmark's, not the cleanup's
}
trap stop_all EXIT

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u chatbot-test -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then
  id chatbot-test >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin chatbot-test
  chown chatbot-test: "$work"
  chmod 0755 "$work"
fi

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  echo "$port"
}
now() { date +%s.%N; }

# pg_start DIR PORT [extra -c options]: starts the cluster in DIR.
pg_start() {
  local dir="$1" port="$2"
  shift 2
  as_pg "$pg_bin/pg_ctl" start -w -D "$dir" -l "$dir.log" -o "-p $port \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work $*" >/dev/null ||
    { tail -5 "$dir.log" >&2; exit 1; }
}
psql_at() {  # PORT SQL
  as_pg /usr/lib/postgresql/15/bin/psql -X -q -At -h 127.0.0.1 -p "$1" -U postgres \
    -d postgres -c "$2"
}

# make_pair NAME: a primary and its synchronous standby; sets primary_dir,
# primary_port, standby_dir, standby_port.
make_pair() {
  primary_dir="$work/$1-primary" standby_dir="$work/$1-standby"
  primary_port="$(free_port)"
  as_pg "$pg_bin/initdb" -D "$primary_dir" -U postgres -A trust -E UTF8 --locale=C \
    >"$work/initdb.log"
  pg_dirs+=("$primary_dir" "$standby_dir")
  pg_start "$primary_dir" "$primary_port" -c wal_level=replica -c max_wal_senders=8 \
    -c max_replication_slots=8
  as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$standby_dir" \
    -R -X stream -C -S standby --checkpoint=fast
  standby_port="$(free_port)"
  pg_start "$standby_dir" "$standby_port" -c cluster_name=standby
  psql_at "$primary_port" "ALTER SYSTEM SET synchronous_standby_names = 'standby'"
  psql_at "$primary_port" "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 500); do
    [ "$(psql_at "$primary_port" "SELECT sync_state FROM pg_stat_replication")" = sync ] && return
    sleep 0.02
  done
  echo "the standby did not become synchronous" >&2
  exit 1
}

# serve LABEL: one instance on the current pair; sets url.
serve() {
  "$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
    --set paths.logs="$work/logs" --set security.admin_key_file="$work/admin-$1.key" \
    --set security.rate_limit_anonymous=0 --set store.backend=postgres \
    --set store.postgres_url="host=127.0.0.1,127.0.0.1 port=$primary_port,$standby_port user=postgres dbname=postgres target_session_attrs=read-write" \
    --set store.postgres_connect_timeout_ms=1000 --set store.postgres_query_timeout_ms=2000 \
    --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  url="http://127.0.0.1:$(wait_for_port "$work/serve.out" "$work/serve.err")"
}
stop_serve() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# probe PORT SESSION OUT: chat turns back to back on one keep-alive
# connection; one line per request: "sent answered status" (status 0: no
# HTTP answer within 15 s).
probe() {
  exec python3 - "$@" <<'PY'
import http.client, json, sys, time
port, session, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def connect():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=15)
conn = connect()
with open(out, "w", buffering=1) as f:
    i = 0
    while True:
        i += 1
        body = json.dumps({"session_id": session, "message": f"where is my order {i}"})
        sent = time.time()
        try:
            conn.request("POST", "/v1/chat", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = r.status
        except Exception:
            status = 0
            conn.close()
            conn = connect()
        f.write(f"{sent:.6f} {time.time():.6f} {status}\n")
PY
}

median() {  # [DIGITS]
  sort -g | awk -v d="${1:-2}" '{a[NR]=$1} END {
    printf "%." d "f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
range() {  # [DIGITS]
  sort -g | awk -v d="${1:-2}" 'NR == 1 {lo=$1} {hi=$1} END {printf "%." d "f–%." d "f", lo, hi}'
}

train_svm "$work/model" "$work/logs"

# 1. Failover.
: >"$work/loss" && : >"$work/promotion" && : >"$work/gap"
for run in $(seq "$runs"); do
  make_pair "run$run"
  serve "run$run"
  session="$(curl -s -X POST -H 'Content-Type: application/json' -d '{"message":"hello"}' \
    "$url/v1/chat" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')"
  probe "${url##*:}" "$session" "$work/probe-$run" &
  probe_pid=$!
  # Turns stored on the primary first (python3 may take a while to start).
  for _ in $(seq 3000); do
    [ "$(awk '$3 == 200' "$work/probe-$run" 2>/dev/null | wc -l)" -ge 20 ] && break
    sleep 0.01
  done
  kill -9 "$(head -1 "$primary_dir/postmaster.pid")"
  lost="$(now)"
  as_pg "$pg_bin/pg_ctl" promote -w -D "$standby_dir" >/dev/null
  promoted="$(now)"
  for _ in $(seq 1000); do
    awk -v p="$promoted" '$1 >= p && $3 == 200 {f=1} END {exit !f}' "$work/probe-$run" && break
    sleep 0.01
  done
  kill "$probe_pid" && wait "$probe_pid" 2>/dev/null || true
  probe_pid=""
  # When the first turn sent after the loss was answered 200.
  first="$(awk -v l="$lost" '$1 >= l && $3 == 200 {print $2; exit}' "$work/probe-$run")"
  [ -n "$first" ] || { echo "run $run: no turn after the failover" >&2; exit 1; }
  awk -v a="$first" -v b="$lost" 'BEGIN {print a - b}' >>"$work/loss"
  awk -v a="$first" -v b="$promoted" 'BEGIN {print a - b}' >>"$work/promotion"
  # Every other answer after the loss: its status and how long it took.
  awk -v l="$lost" -v f="$first" '$2 >= l && $2 < f {print $3, $2 - $1}' "$work/probe-$run" \
    >>"$work/gap"
  stop_serve
  as_pg "$pg_bin/pg_ctl" stop -m fast -D "$standby_dir" >/dev/null
done
gap="$(awk '{print $1}' "$work/gap" | sort | uniq -c | awk '{printf "%s%s × %s", (NR>1?", ":""), $1, $2}')"
slowest="$(awk 'BEGIN {m=0} $2 > m {m=$2} END {printf "%.3f", m}' "$work/gap")"

# 2. Throughput with the standby synchronous, asynchronous, stopped.
make_pair throughput
serve throughput
sessions=()
for _ in $(seq 16); do
  sessions+=("$(curl -s -X POST -H 'Content-Type: application/json' -d '{"message":"hello"}' \
    "$url/v1/chat" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')")
done
write_chat_lua "$work/long.lua" "${sessions[@]}"
turns() {  # -> turns/s
  wrk -t1 -c16 -d"${duration}s" -s "$work/long.lua" "$url/v1/chat" >"$work/wrk.out"
  if grep -q Non-2xx "$work/wrk.out"; then
    echo "non-2xx answers under load:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {printf "%.0f\n", $2}' "$work/wrk.out"
}
synchronous() {  # 'standby' or ''
  psql_at "$primary_port" "ALTER SYSTEM SET synchronous_standby_names = '$1'"
  psql_at "$primary_port" "SELECT pg_reload_conf()" >/dev/null
}
: >"$work/sync" && : >"$work/async" && : >"$work/none"
for round in 1 2 3; do
  synchronous standby
  for _ in $(seq 500); do
    [ "$(psql_at "$primary_port" "SELECT sync_state FROM pg_stat_replication")" = sync ] && break
    sleep 0.02
  done
  turns >>"$work/sync"
  synchronous ''
  turns >>"$work/async"
  as_pg "$pg_bin/pg_ctl" stop -m fast -D "$standby_dir" >/dev/null
  turns >>"$work/none"
  pg_start "$standby_dir" "$standby_port" -c cluster_name=standby
done

echo "model: $model_name; $(nproc) cores; PostgreSQL 15, durable defaults (fsync on)"
echo
echo "| what | figure |"
echo "|---|---|"
echo "| primary lost (SIGKILL) → first turn answered 200, median of $runs (range) | $(median <"$work/loss") s ($(range <"$work/loss") s) |"
echo "| pg_ctl promote returned → first turn answered 200, median of $runs (range) | $(median <"$work/promotion") s ($(range <"$work/promotion") s) |"
echo "| answers in the gaps before that turn, by status | ${gap:-none} |"
echo "| slowest of those answers | $slowest s |"
echo "| /v1/chat, standby synchronous (synchronous_commit = on), median of 3 (range) | $(median 0 <"$work/sync") turns/s ($(range 0 <"$work/sync")) |"
echo "| /v1/chat, standby asynchronous (synchronous_standby_names = ''), median of 3 (range) | $(median 0 <"$work/async") turns/s ($(range 0 <"$work/async")) |"
echo "| /v1/chat, no standby, median of 3 (range) | $(median 0 <"$work/none") turns/s ($(range 0 <"$work/none")) |"
echo
echo "wrk 1 thread, 16 connections, ${duration} s, 16 long conversations"
