#!/usr/bin/env bash
# Installs, from Debian 12 packages, everything that building, testing,
# benchmarking and running the service need, on a minimal Debian 12 system
# (nothing but what apt-get brings). Idempotent: does nothing when every
# package is already installed. Needs root (or sudo) only when one is missing.
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
  # PostgreSQL 15 server: the store tests and bench/store_backend_benchmark.sh
  # start a throwaway cluster of their own (initdb, pg_ctl); the service
  # itself needs only libpq.
  postgresql
  # The desktop client's screenshot test: a virtual X server (xvfb-run needs
  # xauth) and fonts, so that the pictures have text.
  xvfb xauth fonts-dejavu-core
  # Benchmarks: Google Benchmark, and wrk, curl and sqlite3 in bench/*.sh.
  libbenchmark-dev wrk curl sqlite3
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
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
echo "setup: done"
