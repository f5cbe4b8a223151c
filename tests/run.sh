#!/usr/bin/env bash
# Installs what is missing, builds goro and runs the whole test suite four ways:
#   build/debug   an optimised build with assertions
#   (migrate)     the same, with every wake-up moving its goroutine to another worker
#   build/asan    AddressSanitizer + UndefinedBehaviorSanitizer (leaks included)
#   build/tsan    ThreadSanitizer
# Extra arguments go to every `meson test` (e.g. `--suite chan`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps

jobs=$(nproc)
build() {  # dir, meson setup options...
  local dir=build/$1
  shift
  [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir" -j"$jobs"
}
check() {  # dir, meson test options...
  local dir=build/$1
  shift
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$jobs" "$@" "${EXTRA[@]}"
}
EXTRA=("$@")

echo "== normal build"
build debug --buildtype=debugoptimized
check debug

echo "== every wake-up migrates (GORO_DEBUG_MIGRATE=1)"
GORO_DEBUG_MIGRATE=1 check debug --suite model --suite exceptions --suite runtime --suite chan \
  --suite select --suite threads --suite time --suite patterns

echo "== address + undefined-behaviour sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
check asan

echo "== thread sanitizer"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
build tsan --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false
check tsan --no-suite bench
