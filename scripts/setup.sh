#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages.
# Idempotent: does nothing when all packages are already installed.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config git clang-format
  libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libutf8proc-dev libyaml-cpp-dev liblinear-dev libssl-dev libsqlite3-dev
  libdnnl-dev
  libgtest-dev libgmock-dev libbenchmark-dev wrk curl
  prometheus systemd sqlite3
  zlib1g-dev libbrotli-dev chromium
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
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
