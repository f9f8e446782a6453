#!/usr/bin/env bash
# What the nginx hop costs on /v1/parse (docs/scaling.md, "Capacity"): wrk
# as in bench/http_benchmark.sh (1 thread, 16 connections, the CLINC150 SVM
# model, the default domain when ../shared is absent), RUNS rounds of three
# runs each:
#
#   direct      wrk -> one instance
#   nginx-1     wrk -> nginx -> one instance
#   nginx-3     wrk -> nginx -> three instances
#   nginx-1u    wrk -> nginx -> one instance through its Unix-domain socket
#               (server.unix_socket), as the shipped single-machine
#               upstreams file has it; the others reach instances by TCP
#
# nginx runs the shipped deploy/nginx/chatbot.conf (only its listen and
# access_log lines replaced, as tests/support/nginx_server.cc does) with
# NGINX_WORKERS worker processes (default 1); NGINX_SITE=FILE benchmarks
# another site file instead (tuning experiments). The instances behind nginx
# trust it (trusted_proxies = 127.0.0.1/32); the direct one trusts nobody,
# so both serve anonymous loopback clients. Besides requests/s and latency,
# each row gives the CPU time per request of the instances and of nginx
# (from /proc, all their threads and workers): on a shared 2-core machine
# requests/s moves with the neighbours' load, CPU time per request hardly.
#
# PIN=1 gives nginx a core of its own, as where it runs on cores or a
# machine of its own: the instances and wrk run on CPU 0 (taskset), direct
# runs included (each instance then runs one I/O thread, for the one CPU it
# may use), and nginx on CPU 1. The hop's cost is then what it adds to
# a request's path (latency, the instance reading the proxy's headers), not
# the CPU it takes from the instances on a shared core.
#
#   bench/load_balancer_benchmark.sh [DURATION_SECONDS] [RUNS] [BINARY]
#   (defaults: 10, 3, build/release/apps/chatbot)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
runs="${2:-3}"
binary="${3:-build/release/apps/chatbot}"
workers="${NGINX_WORKERS:-1}"
site="${NGINX_SITE:-deploy/nginx/chatbot.conf}"
pin="${PIN:-}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release ($binary)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
nginx=/usr/sbin/nginx
[ -x "$nginx" ] || { echo "nginx missing: scripts/setup.sh installs it (nginx-light)" >&2; exit 1; }
. bench/bench_lib.sh

work="$(mktemp -d)"
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

train_svm "$work/model" "$work/logs"
client=()
if [ -n "$pin" ]; then
  [ "$(nproc)" -ge 2 ] || { echo "PIN needs 2 cores" >&2; exit 1; }
  printf '#!/bin/sh\nexec taskset -c 0 "%s" "$@"\n' "$(realpath "$binary")" >"$work/pinned"
  chmod +x "$work/pinned"
  binary="$work/pinned"
  client=(taskset -c 0)
fi

start_instance direct
start_instance b1 --set security.trusted_proxies=127.0.0.1/32
start_instance b2 --set security.trusted_proxies=127.0.0.1/32
start_instance b3 --set security.trusted_proxies=127.0.0.1/32
sock_u1="$work/u1.sock"
start_instance u1 --set security.trusted_proxies=127.0.0.1/32 --set server.unix_socket="$sock_u1"
start_nginx lb1 b1
start_nginx lb3 b1 b2 b3
start_nginx lbu u1
if [ -n "$pin" ]; then
  for pid in "$pid_lb1" "$pid_lb3" "$pid_lbu" $(pgrep -P "$pid_lb1") $(pgrep -P "$pid_lb3") \
    $(pgrep -P "$pid_lbu"); do
    taskset -pc 1 "$pid" >/dev/null
  done
fi

mkdir -p "$work/results"
write_parse_script "$work/parse.lua"

# label port "instance pids" "nginx pid" -> one row; appends requests/s and
# the CPU times per request to $work/results/<label>{,.cpu,.nginx}.
measure() {
  local label="$1" port="$2" instances="$3" proxy="$4" out="$work/wrk.out"
  local before_i before_n after_i after_n
  before_i="$(cpu_ticks $instances)"
  before_n="$([ -n "$proxy" ] && cpu_ticks "$proxy" || echo 0)"
  "${client[@]}" wrk -t1 -c16 -d"${duration}s" --latency -s "$work/parse.lua" \
    "http://127.0.0.1:$port/v1/parse" >"$out"
  after_i="$(cpu_ticks $instances)"
  after_n="$([ -n "$proxy" ] && cpu_ticks "$proxy" || echo 0)"
  local rps p50 p99 errors requests cpu_i cpu_n
  rps="$(awk '/Requests\/sec/ {print $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out")"
  p99="$(awk '$1=="99%" {print $2}' "$out")"
  requests="$(awk '/requests in/ {print $1}' "$out")"
  cpu_i="$(per_request $((after_i - before_i)) "$requests")"
  cpu_n="$(per_request $((after_n - before_n)) "$requests")"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ')"
  printf '| %-8s | %12s | %8s | %8s | %13s | %9s | %s\n' "$label" "$rps" "$p50" "$p99" \
    "$cpu_i" "$cpu_n" "${errors:-none}"
  echo "$rps" >>"$work/results/$label"
  echo "$cpu_i" >>"$work/results/$label.cpu"
  echo "$cpu_n" >>"$work/results/$label.nginx"
}

median() {  # file -> the median of its numbers
  sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per run, $runs runs each;"
echo "nginx $("$nginx" -v 2>&1 | sed 's|.*/||') on $site, $workers worker(s); $(nproc) cores;" \
  "${pin:+instances and wrk on CPU 0, nginx on CPU 1; }load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-8s | %12s | %8s | %8s | %13s | %9s | %s\n' run requests/s p50 p99 \
  "instances µs" "nginx µs" "non-2xx / errors"
echo "|----------|--------------|----------|----------|---------------|-----------|------"
# Warm-up (first touch of the model, the allocator, nginx's connections).
for port in "$port_direct" "$port_lb1" "$port_lb3" "$port_lbu"; do
  "${client[@]}" wrk -t1 -c16 -d2s -s "$work/parse.lua" "http://127.0.0.1:$port/v1/parse" >/dev/null
done
for _ in $(seq "$runs"); do
  measure direct "$port_direct" "$pid_direct" ""
  measure nginx-1 "$port_lb1" "$pid_b1" "$pid_lb1"
  measure nginx-3 "$port_lb3" "$pid_b1 $pid_b2 $pid_b3" "$pid_lb3"
  measure nginx-1u "$port_lbu" "$pid_u1" "$pid_lbu"
done
echo
echo "medians: requests/s, CPU µs per request (instances + nginx)"
for label in direct nginx-1 nginx-3 nginx-1u; do
  printf '  %-8s %10s  %6s + %s\n' "$label" "$(median "$work/results/$label")" \
    "$(median "$work/results/$label.cpu")" "$(median "$work/results/$label.nginx")"
done
awk -v d="$(median "$work/results/direct")" -v one="$(median "$work/results/nginx-1")" \
  -v three="$(median "$work/results/nginx-3")" -v unix="$(median "$work/results/nginx-1u")" 'BEGIN {
    printf "nginx hop: nginx-1 serves %.0f %% of direct (%.0f %% less); nginx-3 %.0f %%;",
      100 * one / d, 100 - 100 * one / d, 100 * three / d
    printf " nginx-1u (Unix socket) %.0f %% (%.0f %% less)\n", 100 * unix / d, 100 - 100 * unix / d }'
