#!/usr/bin/env bash
# Sets up, builds and runs the chatbot service on its embedded defaults:
# trains the default model (data/domain) when model/svm is absent, then
# serves the HTTP API on 0.0.0.0:8080 (see docs/api.md) until SIGTERM/Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/apps/chatbot serve "$@"
