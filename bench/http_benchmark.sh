#!/usr/bin/env bash
# Load test of the HTTP service with wrk on this machine (1 thread, 16
# connections, as the issue's targets are stated): starts `chatbot serve`
# with the CLINC150 SVM model (the default domain when ../shared is absent)
# on a free port with its own database and logs, drives /v1/parse and
# /v1/chat, and prints one table: requests/s and latency percentiles, idle
# resident memory and start-to-ready time.
#
#   bench/http_benchmark.sh [DURATION_SECONDS]      (default 10)
#
# MODEL=bert or MODEL=ensemble serves BERT (alone, or with the SVM) instead:
# the BERT model is copied from BERT_MODEL_DIR (a model/bert directory, e.g.
# one saved by bench/bert_clinc150_benchmark --save DIR) or, without it,
# trained here (tiny, CLINC150, about a minute). With USE_MODEL_DIR (a
# model/use directory, self-contained) the partner is the USE model instead
# and MODEL=use serves it alone. ENSEMBLE_MODE=cascade serves the cascade.
# CACHE_SIZE=0 turns the prediction cache in front of BERT and USE off.
# PARSE_DATA=FILE.jsonl sends the texts of that file to /v1/parse instead of
# eight fixed ones (a cascade's speed depends on how many the SVM is unsure
# of).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
binary="${BENCH_BINARY:-build/release/apps/chatbot}"
[ -x "$binary" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it" >&2; exit 1; }
. bench/bench_lib.sh

start_work

clinc=../shared/datasets/clinc150
train_svm "$work/model" "$work/logs"

model_kind="${MODEL:-svm}"
if [ "$model_kind" != svm ]; then
  if [ -n "${USE_MODEL_DIR:-}" ]; then
    cp -r "$USE_MODEL_DIR" "$work/model/use"
  elif [ -n "${BERT_MODEL_DIR:-}" ]; then
    cp -r "$BERT_MODEL_DIR" "$work/model/bert"
  else
    "$binary" train --model bert --models "$work/model" --data "$clinc/train.jsonl" \
      --validation "$clinc/val.jsonl" --set paths.logs="$work/logs" --log-level warn \
      >/dev/null 2>"$work/train.err" || { cat "$work/train.err" >&2; exit 1; }
  fi
  model_name="CLINC150 $model_kind (${ENSEMBLE_MODE:-weighted})"
fi

# Requests without a key from this machine (anonymous loopback access), with
# the per-address limit for them off: one wrk client is one address.
# bench/security_benchmark.sh measures what keys and their limits cost.
"$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
  --set sessions.path="$work/sessions.db" --set paths.logs="$work/logs" \
  --set security.database="$work/keys.db" --set security.admin_key_file="$work/admin.key" \
  --set security.rate_limit_anonymous=0 --set nlu.model="$model_kind" \
  --set ensemble.mode="${ENSEMBLE_MODE:-weighted}" ${CACHE_SIZE:+--set bert.cache_size="$CACHE_SIZE"} \
  --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
port="$(wait_for_port "$work/serve.out" "$work/serve.err")"
ready_ms="$(sed -n 's/.*ready in \([0-9]*\) ms.*/\1/p' "$work/serve.out")"
url="http://127.0.0.1:$port"
sleep 0.5
rss_idle_kb="$(awk '/VmRSS/ {print $2}' /proc/$server_pid/status)"

# Sixteen sessions, one per connection on average, each chat request names one.
sessions=()
for _ in $(seq 16); do
  sessions+=("$(curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"message":"hello"}' "$url/v1/chat" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')")
done
write_parse_script "$work/parse.lua"
write_chat_lua "$work/chat.lua" "${sessions[@]}"

run() {  # endpoint script -> "requests/s p50 p90 p99 errors"
  wrk -t1 -c16 -d"${duration}s" --latency -s "$work/$2" "$url$1" >"$work/$2.out"
  local out="$work/$2.out"
  local rps p50 p90 p99 errors
  rps="$(awk '/Requests\/sec/ {print $2}' "$out")"
  p50="$(awk '$1=="50%" {print $2}' "$out")"
  p90="$(awk '$1=="90%" {print $2}' "$out")"
  p99="$(awk '$1=="99%" {print $2}' "$out")"
  errors="$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$out" | tr '\n' ' ')"
  printf '| %-14s | %12s | %8s | %8s | %8s | %s\n' "$1" "$rps" "$p50" "$p90" "$p99" "${errors:-none}"
}

echo "model: $model_name; wrk 1 thread, 16 connections, ${duration}s per endpoint"
echo
printf '| %-14s | %12s | %8s | %8s | %8s | %s\n' endpoint requests/s p50 p90 p99 "non-2xx / errors"
echo "|----------------|--------------|----------|----------|----------|------"
run /v1/parse parse.lua
run /v1/chat chat.lua
echo
echo "resident memory, model loaded and idle: $((rss_idle_kb / 1024)) MiB ($rss_idle_kb kB)"
echo "start to ready: ${ready_ms} ms"
echo "turns stored: $(curl -s "$url/v1/sessions?limit=16" | grep -o '"turns":[0-9]*' | awk -F: '{s+=$2} END {print s}') in 16 sessions"
