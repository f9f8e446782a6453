#!/usr/bin/env bash
# Fuzzes every target of the fuzz preset (fuzz/) for SECONDS each, from its
# checked-in seed corpus, and prints a table: target, executions, executions
# per second, coverage (libFuzzer's cov: edges and ft: features at the end)
# and crashes. Builds the preset first. New inputs go to a scratch corpus per
# target; crashing inputs to build/fuzz/findings/<target>/ (the lines of
# libFuzzer's output are in build/fuzz/findings/<target>.log).
# Usage: bench/fuzz_all.sh [SECONDS] [TARGET_REGEX]   (default 60, all)
# JOBS=N runs N targets at once (default 1). RUNS=N stops each target after N
# executions (its corpus replay included) or SECONDS, whichever comes first;
# SECONDS 0 is no time limit. NICE=N runs the fuzzers at that niceness, so a
# long campaign leaves the machine to other work. CAMPAIGN=DIR makes runs
# add up: each target's new inputs are kept in DIR/<target>/ (the next run
# starts from them as well as the seeds), each run appends a line "date
# commit executions" to DIR/<target>.runs, and the table adds the total of
# those runs. The executions of a run end with the run, so a long goal (ten
# million) can be reached over several.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
only="${2:-.}"
jobs="${JOBS:-1}"
runs="${RUNS:--1}"
niceness="${NICE:-0}"
campaign="${CAMPAIGN:-}"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)  # what the targets are built from
[ -n "$campaign" ] && mkdir -p "$campaign" && campaign=$(cd "$campaign" && pwd)
# An input that runs 10 s is a hang; at a niceness, a fuzzer may wait that
# long for the CPU while other work runs, so it is given 120 s.
timeout=10
[ "$niceness" -gt 0 ] && timeout=120
# Where the kernel groups processes by session (autogroup, on by default),
# a niceness orders processes only within their session: fuzzers started
# from one terminal would still take half the machine from a build in
# another. The session's group gets the niceness too, for this run.
if [ "$niceness" -gt 0 ] && [ -w /proc/self/autogroup ]; then
  group_nice=$(sed -n 's/.* nice //p' /proc/self/autogroup)
  if echo "$niceness" >/proc/self/autogroup 2>/dev/null; then
    trap 'echo "${group_nice:-0}" >/proc/self/autogroup 2>/dev/null || true' EXIT
  fi
fi
# The build runs in that group too.
scripts/build.sh fuzz >/dev/null
# Targets that read files write them to a scratch folder under $TMPDIR; in
# memory they run about twice as fast.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
findings=build/fuzz/findings
mkdir -p "$findings"

fuzz_one() {
  local target="$1" name
  name=$(basename "$target" _fuzz)
  local work
  if [ -n "$campaign" ]; then work="$campaign/$name"; mkdir -p "$work"; else work=$(mktemp -d); fi
  mkdir -p "$findings/$name"
  nice -n "$niceness" "$target" -max_total_time="$seconds" -runs="$runs" -timeout="$timeout" -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$findings/$name/" "$work" "fuzz/corpus/$name" \
    >"$findings/$name.log" 2>&1 || true
  if [ -n "$campaign" ]; then
    local executed
    executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$findings/$name.log" | awk '{print $2}')
    echo "$(date -u +%FT%TZ) $commit ${executed:-0}" >>"$campaign/$name.runs"
  else
    rm -rf "$work"
  fi
}
export -f fuzz_one
export seconds runs niceness timeout findings campaign commit

targets=$(ls build/fuzz/fuzz/*_fuzz | grep -E "$only")
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}'

printf '%-20s %14s %9s %7s %8s %8s' target executions exec/s cov ft crashes
[ -n "$campaign" ] && printf ' %14s' 'campaign total'
printf '\n'
for target in $targets; do
  name=$(basename "$target" _fuzz)
  log="$findings/$name.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  # slow-unit-* files are inputs that took over 10 s of wall time: a niced
  # fuzzer waiting for the CPU writes them too; they are kept, not counted.
  crashes=$(find "$findings/$name" -type f ! -name 'slow-unit-*' | wc -l)
  printf '%-20s %14s %9s %7s %8s %8s' "$name" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$crashes"
  [ -n "$campaign" ] && printf ' %14s' "$(awk '{total += $3} END {print total + 0}' "$campaign/$name.runs")"
  printf '\n'
done
