#!/usr/bin/env bash
# One fuzz target as a CTest test: replays every input of its checked-in
# corpus, then fuzzes from it for SECONDS. New inputs go to a scratch folder
# (the checked-in corpus stays as it is); a crash is saved in the working
# directory (crash-<sha1>) and fails the test. The seed is fixed, so that a
# run repeats the mutations of every earlier run of the same corpus and
# source for as long as it lasts: CI's brief fuzzing passes or fails alike on
# every machine; bench/fuzz_all.sh explores with fresh seeds.
# Usage: run_fuzz_test.sh TARGET CORPUS SECONDS
set -euo pipefail
target="$1" corpus="$2" seconds="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 0 seconds: replay the corpus only (libFuzzer's -max_total_time=0 would
# mean no limit).
if [ "$seconds" = 0 ]; then limit=(-runs=0); else limit=(-max_total_time="$seconds"); fi
"$target" "${limit[@]}" -seed=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$PWD/$(basename "$target")-" "$work" "$corpus"
