#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release). Where ccache is
# installed (a developer's machine, the CI host), compiles go through it, so
# a rebuild after a small change recompiles only what changed; a fresh
# machine without it builds the same way, from scratch. CCACHE_BASEDIR set
# to the checkout lets two clones of the same sources share the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset "$preset" "${launcher[@]}" >/dev/null
cmake --build --preset "$preset"
