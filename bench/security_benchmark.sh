#!/usr/bin/env bash
# What authentication, roles and rate limiting cost on /v1/parse
# (docs/security.md, "Cost"): wrk as in bench/http_benchmark.sh (1 thread,
# 16 connections, the CLINC150 SVM model, the default domain when ../shared
# is absent), RUNS rounds of three runs each:
#
#   anonymous   server A, no key (anonymous loopback access, no per-address
#               limit): the pipeline runs but has no key to look up or
#               bucket to take
#   key         server A, "Authorization: Bearer <client key>": lookup,
#               SHA-256, constant-time compare, role check, token bucket (the
#               key's limit raised to 1,000,000/s so it never refuses)
#   key+100k    server B, the same key among 100,000 more in its database
#   key+redis   server C, the same key with its bucket in Redis
#               (security.rate_limit_backend = redis): one round trip to a
#               redis-server on this machine per request; left out when
#               redis-server is not installed
#
#   bench/security_benchmark.sh [DURATION_SECONDS] [RUNS] [BINARY]
#   (defaults: 10, 3, build/release/apps/chatbot)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
runs="${2:-3}"
binary="${3:-build/release/apps/chatbot}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release ($binary)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (apt-get install sqlite3)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  for pid in $server_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

train_svm "$work/model" "$work/logs"

# Server A: one key in its database. Server B: the same key and 100,000
# more (inserted with sqlite3 before it starts). All run throughout; the
# runs alternate A without a key, A with the key, B with the key (C with it), so that
# the machine's noise spreads over all of them alike.
key=""
start_server() {  # name [serve options] -> sets port_<name>; the key database is $work/<name>/keys.db
  local name="$1" dir="$work/$1"
  shift
  mkdir -p "$dir"
  local common=(--set paths.logs="$dir/logs" --set security.database="$dir/keys.db"
                --set security.admin_key_file="$dir/admin.key")
  if [ -z "$key" ]; then
    key="$("$binary" keys create --name bench --role client --rate-limit 1000000 \
            --burst 1000000000 "${common[@]}" 2>/dev/null)"
  else
    # The same key in B's database: copy A's.
    cp "$work/a/keys.db" "$dir/keys.db"
  fi
  if [ "$name" = b ]; then
    sqlite3 "$dir/keys.db" >/dev/null <<'SQL'
PRAGMA busy_timeout = 5000;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO keys(id, name, role, secret_hash, created_at_ms, created_by)
SELECT printf('%016x', 1000000000 + i), 'load ' || i, 'client', randomblob(32), 0, 'bench' FROM n;
SQL
  fi
  "$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
    --set sessions.path="$dir/sessions.db" --set security.rate_limit_anonymous=0 \
    "${common[@]}" "$@" --log-level warn >"$dir/serve.out" 2>"$dir/serve.err" &
  echo $! >"$dir/pid"
  local port
  port="$(wait_for_port "$dir/serve.out" "$dir/serve.err")"
  eval "port_$name=$port"
}
start_server a
start_server b
pids="$(cat "$work/a/pid") $(cat "$work/b/pid")"
server_pid="$pids"

# Server C: A's key, its bucket in a throwaway redis-server (loopback, no
# persistence) on a free port.
redis_bin="$(command -v redis-server || true)"
[ -z "$redis_bin" ] && [ -x /usr/bin/redis-server ] && redis_bin=/usr/bin/redis-server
servers="a b"
if [ -n "$redis_bin" ]; then
  mkdir -p "$work/redis"
  for _ in $(seq 20); do
    redis_port=$((20000 + RANDOM % 30000))
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsave ""\nappendonly no\nlogfile %s\n' \
      "$redis_port" "$work/redis" "$work/redis/redis.log" >"$work/redis/redis.conf"
    "$redis_bin" "$work/redis/redis.conf" &
    redis_pid=$!
    server_pid="$server_pid $redis_pid"
    for _ in $(seq 100); do
      [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break 2
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
  done
  start_server c --set security.rate_limit_backend=redis \
    --set security.rate_limit_redis_url="redis://127.0.0.1:$redis_port/0"
  server_pid="$server_pid $(cat "$work/c/pid")"
  servers="a b c"
fi

write_parse_script "$work/parse.lua"

cpu_ticks() {  # pid -> user + system clock ticks used so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# label server [wrk options] -> one row; appends requests/s to $work/<label>
# and the server's CPU time per request (µs) to $work/<label>.cpu. CPU time
# per request hardly depends on what else the machine is doing, requests/s
# does: on a shared machine the first is the figure to compare.
measure() {
  local label="$1" server="$2"; shift 2
  local port pid out="$work/wrk.out"
  port="$(eval echo "\$port_$server")"
  pid="$(cat "$work/$server/pid")"
  local before after
  before="$(cpu_ticks "$pid")"
  wrk -t1 -c16 -d"${duration}s" --latency -s "$work/parse.lua" "$@" \
    "http://127.0.0.1:$port/v1/parse" >"$out"
  after="$(cpu_ticks "$pid")"
  local rps p50 p99 errors requests cpu
  rps="$(awk '/Requests\/sec/ {print $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out")"
  p99="$(awk '$1=="99%" {print $2}' "$out")"
  requests="$(awk '/requests in/ {print $1}' "$out")"
  cpu="$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" \
         'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ')"
  printf '| %-10s | %12s | %10s | %8s | %8s | %s\n' "$label" "$rps" "$cpu" "$p50" "$p99" \
    "${errors:-none}"
  echo "$rps" >>"$work/$label"
  echo "$cpu" >>"$work/$label.cpu"
}

summary() {  # label -> "median (min..max)"
  sort -n "$work/$1" | awk '{v[NR]=$1} END {printf "%.0f (%.0f..%.0f)", v[int((NR+1)/2)], v[1], v[NR]}'
}

echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per run, $runs runs each"
echo "keys in the databases: A $(sqlite3 "$work/a/keys.db" 'SELECT count(*) FROM keys'), \
B $(sqlite3 "$work/b/keys.db" 'SELECT count(*) FROM keys')"
if [ -n "$redis_bin" ]; then
  echo "C: A's key, rate_limit_backend = redis ($("$redis_bin" --version | cut -d' ' -f3))"
fi
echo
printf '| %-10s | %12s | %10s | %8s | %8s | %s\n' run requests/s "server µs" p50 p99 \
  "non-2xx / errors"
echo "|------------|--------------|------------|----------|----------|------"
# Warm-up (first touch of the model, the allocator).
for server in $servers; do
  port="$(eval echo "\$port_$server")"
  wrk -t1 -c16 -d2s -s "$work/parse.lua" -H "Authorization: Bearer $key" \
    "http://127.0.0.1:$port/v1/parse" >/dev/null
done
for _ in $(seq "$runs"); do
  measure anonymous a
  measure key a -H "Authorization: Bearer $key"
  measure key+100k b -H "Authorization: Bearer $key"
  if [ -n "$redis_bin" ]; then measure key+redis c -H "Authorization: Bearer $key"; fi
done
median() { sort -n "$work/$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo
echo "median requests/s: anonymous $(summary anonymous), key $(summary key), key+100k $(summary key+100k)"
echo "median server CPU per request (µs): anonymous $(median anonymous.cpu), key $(median key.cpu), \
key+100k $(median key+100k.cpu)"
awk -v a="$(median anonymous)" -v k="$(median key)" -v m="$(median key+100k)" \
    -v ac="$(median anonymous.cpu)" -v kc="$(median key.cpu)" -v mc="$(median key+100k.cpu)" 'BEGIN {
  printf "key vs anonymous: requests/s %+.1f %%, CPU per request %+.1f %%\n", (k - a) / a * 100, (kc - ac) / ac * 100
  printf "key+100k vs key: requests/s %+.1f %%, CPU per request %+.1f %%\n", (m - k) / k * 100, (mc - kc) / kc * 100 }'
rss() { echo $(($(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/$1/pid")/status") / 1024)); }
echo "resident memory: A (1 key) $(rss a) MiB, B (100,001 keys) $(rss b) MiB"
if [ -n "$redis_bin" ]; then
  echo "median requests/s: key+redis $(summary key+redis); CPU per request (µs): $(median key+redis.cpu)"
  awk -v k="$(median key)" -v r="$(median key+redis)" -v kc="$(median key.cpu)" \
      -v rc="$(median key+redis.cpu)" 'BEGIN {
    printf "key+redis vs key: requests/s %+.1f %%, CPU per request %+.1f %%\n", (r - k) / k * 100, (rc - kc) / kc * 100 }'
fi
