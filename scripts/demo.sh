#!/usr/bin/env bash
# demo.sh: installs what is missing, builds Release, runs `mimecodec demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake --preset release -DMC_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release
exec build/release/mimecodec demo "$@"
