#!/usr/bin/env bash
# The web pages' cost (docs/web.md), with wrk on this machine:
#  - /v1/parse requests/s with [web] enabled and disabled (alternating runs,
#    the median of each): serving pages and compressing JSON must not lower
#    it by more than 5 %;
#  - GET / and a fingerprinted asset, gzip accepted: requests/s;
#  - the chat page with its assets, compressed: bytes.
#
#   bench/web_benchmark.sh [DURATION_SECONDS] [ROUNDS]      (default 5, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
rounds="${2:-3}"
binary="${BENCH_BINARY:-build/release/apps/chatbot}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release (or BENCH_BINARY=...)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh

work="$(mktemp -d)"
server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
trap 'stop; rm -rf "$work"' EXIT

"$binary" train --models "$work/model" --set paths.logs="$work/logs" --log-level warn \
  >/dev/null 2>"$work/train.err" || { cat "$work/train.err" >&2; exit 1; }

start() {  # web.enabled value -> sets $url
  "$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
    --set sessions.path="$work/sessions.db" --set paths.logs="$work/logs" \
    --set security.database="$work/keys.db" --set security.admin_key_file="$work/admin.key" \
    --set security.rate_limit_anonymous=0 --set web.enabled="$1" \
    --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  local port
  port="$(wait_for_port "$work/serve.out" "$work/serve.err")"
  url="http://127.0.0.1:$port"
  sleep 0.3
}

cat >"$work/parse.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Encoding"] = "gzip, br"
wrk.body = '{"text":"where is my order"}'
LUA
cat >"$work/gzip.lua" <<'LUA'
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
LUA

rps() { wrk -t1 -c16 -d"${duration}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

on=(); off=()
for _ in $(seq "$rounds"); do
  start false; off+=("$(rps -s "$work/parse.lua" "$url/v1/parse")"); stop
  start true; on+=("$(rps -s "$work/parse.lua" "$url/v1/parse")"); stop
done
on_median="$(printf '%s\n' "${on[@]}" | median)"
off_median="$(printf '%s\n' "${off[@]}" | median)"

start true
page="$(curl -s "$url/")"
bytes="$(curl -s -H 'Accept-Encoding: gzip' "$url/" | wc -c)"
assets=()
for asset in $(printf '%s' "$page" | grep -o '"/static/[^"]*"' | tr -d '"'); do
  assets+=("$asset")
  bytes=$((bytes + $(curl -s -H 'Accept-Encoding: gzip' "$url$asset" | wc -c)))
done
page_rps="$(rps -s "$work/gzip.lua" "$url/")"
asset_rps="$(rps -s "$work/gzip.lua" "$url${assets[0]}")"
stop

printf '%-46s %s\n' "/v1/parse req/s, [web] disabled (median)" "$off_median  (${off[*]})"
printf '%-46s %s\n' "/v1/parse req/s, [web] enabled (median)" "$on_median  (${on[*]})"
awk -v a="$on_median" -v b="$off_median" 'BEGIN {printf "%-46s %+.1f %%\n", "change with [web] enabled", 100 * (a - b) / b}'
printf '%-46s %s\n' "GET / (gzip) req/s" "$page_rps"
printf '%-46s %s\n' "GET ${assets[0]%%\?*} (gzip) req/s" "$asset_rps"
printf '%-46s %s bytes\n' "chat page + assets, gzip" "$bytes"
