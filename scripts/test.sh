#!/usr/bin/env bash
# Sets up, builds and runs every test of one preset (default: release;
# "asan" runs them under AddressSanitizer + UndefinedBehaviorSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
scripts/build.sh "$preset"
ctest --preset "$preset"
