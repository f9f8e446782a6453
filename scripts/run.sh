#!/usr/bin/env bash
# Sets up, builds and runs the chatbot on its embedded defaults: trains the
# default model (data/domain) when model/svm is absent, then answers the
# messages typed on the console.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/apps/chatbot chat "$@"
