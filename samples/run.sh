#!/usr/bin/env bash
# Quick start: installs what is missing, builds goro and runs one sample (default: the
# pipelines sample; pass another name from samples/, e.g. `bash samples/run.sh tee`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
name=${1:-pipelines}
[[ -f build/debug/build.ninja ]] || meson setup build/debug --buildtype=debugoptimized >/dev/null
ninja -C build/debug "samples/$name" >/dev/null
exec "build/debug/samples/$name"
