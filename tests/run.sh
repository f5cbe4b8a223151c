#!/usr/bin/env bash
# Installs what is missing, builds goro and runs the whole test suite three ways:
#   build/debug  a normal optimised build with assertions
#   build/asan   AddressSanitizer + UndefinedBehaviorSanitizer
# Extra arguments go to `meson test` (e.g. a suite name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps

jobs=$(nproc)
run_suite() {  # name, meson setup options...
  local dir=build/$1
  shift
  [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir" -j"$jobs"
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "${TEST_ARGS[@]}"
}
TEST_ARGS=("$@")

echo "== normal build"
run_suite debug --buildtype=debugoptimized
echo "== address + undefined sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
