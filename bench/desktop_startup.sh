#!/usr/bin/env bash
# The desktop client's start, as a person sees it: the time from the
# process's start to the main window's first paint, and its resident memory
# then, over N runs (default 10) under a virtual X server, with an empty
# settings file (no server needed: the window appears before any answer).
#
#   bench/desktop_startup.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
runs="${2:-10}"
program="$build/apps/chatbot-desktop"
[ -x "$program" ] || { echo "no $program: build it first (scripts/build.sh release)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "xvfb-run is not installed (scripts/setup.sh)" >&2; exit 1; }
settings="$(mktemp --suffix=.conf)"
results="$(mktemp)"
trap 'rm -f "$settings" "$results"' EXIT
for _ in $(seq "$runs"); do
  rm -f "$settings"
  # "window shown after N ms; resident memory M MiB"
  CHATBOT_DESKTOP_SETTINGS="$settings" xvfb-run -a -s "-screen 0 1920x1200x24" \
    "$program" --startup-report --quit-after-report 2>/dev/null | awk '{ print $4, $8 }'
done >"$results"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "chatbot-desktop, $runs runs under Xvfb:" \
  "first paint median $(cut -d' ' -f1 "$results" | median) ms" \
  "(min $(cut -d' ' -f1 "$results" | sort -n | head -1), max $(cut -d' ' -f1 "$results" | sort -n | tail -1));" \
  "resident memory median $(cut -d' ' -f2 "$results" | median) MiB"
