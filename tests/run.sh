#!/usr/bin/env bash
# Installs what is missing, checks the formatting of the C++ files (.ci/check-format) and
# the library's lock discipline (Clang's -Wthread-safety), builds goro and runs the whole
# test suite four ways:
#   build/debug   an optimised build with assertions: tests, samples, benchmark smoke runs
#                 (the library with full debug information, the rest with line tables)
#   (migrate)     the same, with every wake-up moving its goroutine to another worker
#   build/asan    AddressSanitizer + UndefinedBehaviorSanitizer (leaks included): the tests
#   build/tsan    ThreadSanitizer: the tests
# Extra arguments go to every `meson test` (e.g. `--suite chan`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --test

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

# Each job's wall time, printed as a table when the script ends (also when a job fails), so
# that a slow-down shows up in every run. The whole command must stay within 15 minutes
# on a fresh two-core machine.
declare -a JOB_NAMES=() JOB_SECS=()
job() {  # name, command...
  local name=$1 start=$SECONDS
  shift
  JOB_NAMES+=("$name")
  JOB_SECS+=("running")
  "$@"
  JOB_SECS[-1]=$((SECONDS - start))
}
report() {
  local status=$?
  echo
  echo "== wall time per job"
  printf '%-34s %8s\n' job seconds
  local i
  for i in "${!JOB_NAMES[@]}"; do
    printf '%-34s %8s\n' "${JOB_NAMES[$i]}" "${JOB_SECS[$i]/running/failed}"
  done
  printf '%-34s %8s\n' total "$SECONDS"
  exit "$status"
}
trap report EXIT

# The sanitizer builds are optimised at -O1 (what the sanitizers' own documentation advises)
# with assertions on, and carry line tables only (-g1: enough for the sanitizers' file:line
# stack traces). The builds are most of the 15-minute budget: full debug info doubled the
# ASan+UBSan build's compile time (runtime_test.cpp: 39 s with -g, 24 s with -g1), and -O1
# takes another 30% off (runtime_test.cpp 24.8 -> 17.4 s, model/random_test.cpp 44.8 ->
# 32.6 s under ASan+UBSan).
# They build the tests only: the samples and the benchmarks' smoke runs are covered by the
# normal build, and under ASan+UBSan they were a quarter of the build (158 s of compile).
SANITIZER_SETUP=(--buildtype=plain -Doptimization=1 -Ddebug=false -Dcpp_args=-g1
  -Dsamples=false -Dbench=false)

echo "== format (clang-format-16, .clang-format)"
job "format" bash .ci/check-format

# Clang's thread-safety analysis (runtime/include/goro/detail/thread_safety.hpp): compiles
# the library only, with -Wthread-safety -Werror, and runs nothing. -Wundef too: a file
# that tests GORO_TSAN or GORO_ASAN (sanitizers.hpp) without including their header fails.
thread_safety() {
  local dir=build/thread-safety
  [[ -f $dir/build.ninja ]] || CC=clang-16 CXX=clang++-16 meson setup "$dir" --buildtype=plain \
    -Dsamples=false -Dbench=false -Dcpp_args="-Wthread-safety -Wundef -Werror" >/dev/null
  ninja -C "$dir" -j"$jobs" libgoro.a
}
echo "== thread-safety analysis (clang-16)"
job "build: thread-safety" thread_safety

# The normal build's tests, samples and benchmarks carry line tables only (-g1), as the
# sanitizer builds do: full debug information was 30-40% of their compile time (fetcher.cpp
# 17.5 -> 10.9 s, patterns_test.cpp 17.9 -> 13.4 s). The library keeps -g (meson.build's
# goro_debug_args), which the gdb test reads.
echo "== normal build"
job "build: normal" build debug --buildtype=debugoptimized -Dcpp_args=-g1
job "test: normal" check debug

echo "== every wake-up migrates (GORO_DEBUG_MIGRATE=1)"
GORO_DEBUG_MIGRATE=1 job "test: migrate" check debug --suite model --suite exceptions \
  --suite runtime --suite chan --suite select --suite threads --suite time --suite patterns \
  --suite io --suite net

echo "== address + undefined-behaviour sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
job "build: asan+ubsan" build asan "${SANITIZER_SETUP[@]}" -Db_sanitize=address,undefined -Db_lundef=false
job "test: asan+ubsan" check asan

echo "== thread sanitizer"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
job "build: tsan" build tsan "${SANITIZER_SETUP[@]}" -Db_sanitize=thread -Db_lundef=false
job "test: tsan" check tsan
