#!/usr/bin/env bash
# The desktop client's start, as a person sees it: the time from the
# process's start to the main window's first paint, and its resident memory
# then, over N runs (default 10) under a virtual X server, with an empty
# settings file (no server needed: the window appears before any answer).
# A second row does the same in local mode (--local) on the default domain's
# SVM model, trained once into a temporary directory, and adds when the model
# answers and the memory then.
#
#   bench/desktop_startup.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
runs="${2:-10}"
program="$build/apps/chatbot-desktop"
chatbot="$build/apps/chatbot"
[ -x "$program" ] || { echo "no $program: build it first (scripts/build.sh release)" >&2; exit 1; }
[ -x "$chatbot" ] || { echo "no $chatbot: build it first (scripts/build.sh release)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "xvfb-run is not installed (scripts/setup.sh)" >&2; exit 1; }
chatbot="$(realpath "$chatbot")"
settings="$(mktemp --suffix=.conf)"
results="$(mktemp)"
work="$(mktemp -d)"
trap 'rm -rf "$settings" "$results" "$work"' EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# "median X (min Y, max Z)" of column $1 of the results.
spread() {
  local column="$1"
  echo "median $(cut -d' ' -f"$column" "$results" | median)" \
    "(min $(cut -d' ' -f"$column" "$results" | sort -n | head -1)," \
    "max $(cut -d' ' -f"$column" "$results" | sort -n | tail -1))"
}
# Runs the client $runs times with "$@"; every printed figure becomes a column.
measure() {
  for _ in $(seq "$runs"); do
    rm -f "$settings"
    # "window shown after N ms; resident memory M MiB" and, in local mode,
    # "local model V ready after N ms; resident memory M MiB"
    CHATBOT_DESKTOP_SETTINGS="$settings" XDG_DATA_HOME="$work/xdg" \
      xvfb-run -a -s "-screen 0 1920x1200x24" \
      "$program" "$@" --startup-report --quit-after-report 2>/dev/null |
      awk '/^window shown/ { paint = $4; rss = $8 }
           /^local model .* ready/ { ready = $6; ready_rss = $10 }
           END { print paint, rss, ready, ready_rss }'
  done >"$results"
}

measure
echo "chatbot-desktop, $runs runs under Xvfb:" \
  "first paint $(spread 1) ms;" \
  "resident memory median $(cut -d' ' -f2 "$results" | median) MiB"

# Local mode: model/ beside data/domain/, as in a checkout or an installation.
mkdir -p "$work/data"
cp -r data/domain "$work/data/domain"
(cd "$work" && env -u CHATBOT_CONFIG "$chatbot" train --models "$work/model" \
  --set "paths.logs=$work/logs" >/dev/null 2>&1) || { echo "training the local model failed" >&2; exit 1; }
measure --local "$work/model"
echo "chatbot-desktop --local, $runs runs under Xvfb:" \
  "first paint $(spread 1) ms, resident memory median $(cut -d' ' -f2 "$results" | median) MiB;" \
  "model answering $(spread 3) ms, resident memory median $(cut -d' ' -f4 "$results" | median) MiB"
