#!/usr/bin/env bash
# The README's first command: install missing dependencies, configure and build ./build (release),
# then run the quickstart demo in ./sochdb-demo. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release
fi
meson compile -C build
build/examples/quickstart
