#!/usr/bin/env bash
# Builds the libFuzzer target tests/model/fuzz_chan.cpp with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer) against goro's runtime sources, then fuzzes for N seconds.
#
#   tests/model/fuzz.sh [SECONDS] [libFuzzer options...]     # SECONDS defaults to 60
#
# Environment:
#   FUZZ_DIR   where the objects, the binary, corpus/ and crash artifacts go (/tmp/goro-fuzz)
#   CXX        the compiler (default: the newest clang++ >= 15 found); it needs clang's
#              fuzzer runtime (Debian 12: apt-get install clang-16 libclang-rt-16-dev)
#   FUZZ_JOBS  libFuzzer -fork=N workers (default: none, one process)
#
# A finding is saved as $FUZZ_DIR/artifacts/crash-*; replay or minimise it with
#   $FUZZ_DIR/fuzz_chan $FUZZ_DIR/artifacts/crash-XXXX
#   $FUZZ_DIR/fuzz_chan -minimize_crash=1 -runs=2000 $FUZZ_DIR/artifacts/crash-XXXX
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
secs=${1:-60}
shift || true
dir=${FUZZ_DIR:-/tmp/goro-fuzz}
mkdir -p "$dir/obj" "$dir/corpus" "$dir/artifacts"

# goro uses std::source_location, which libstdc++ provides to clang only from clang 15 on
# (__builtin_source_location): clang 14, Debian 12's default, cannot compile it. Take the
# first clang that can, with its fuzzer runtime.
if [[ -z ${CXX:-} ]]; then
  for c in clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++; do
    command -v "$c" > /dev/null || continue
    if printf '#include <source_location>\nint main() { return std::source_location::current().line() == 0; }\n' |
      "$c" -std=c++20 -fsanitize=fuzzer-no-link -x c++ - -o /dev/null 2> /dev/null; then
      CXX=$c
      break
    fi
  done
fi
cxx=${CXX:-}
if [[ -z $cxx ]] || ! command -v "$cxx" > /dev/null; then
  echo "fuzz.sh: no clang++ that compiles std::source_location (clang >= 15) found;" \
    "install one with its fuzzer runtime, e.g. apt-get install clang-16 libclang-rt-16-dev" >&2
  exit 1
fi
echo "fuzz.sh: using $cxx"

# -D__SANITIZE_ADDRESS__: the runtime tells AddressSanitizer about its fiber switches only
# when that macro is defined, and only GCC defines it (clang has __has_feature); without the
# annotations ASan does not know which stack a goroutine runs on ("ASan is ignoring
# requested __asan_handle_no_return") and may report false positives or miss bugs.
# shellcheck disable=SC2054  # the commas are inside -fsanitize=, not between elements
common=(-std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra
  -fsanitize=address,undefined -fno-sanitize-recover=undefined -D__SANITIZE_ADDRESS__=1
  -I"$root/runtime/include" -I"$root/net/include" -I"$root/patterns/include")

# The runtime gets coverage instrumentation too (fuzzer-no-link), so that libFuzzer is
# guided by the runtime's branches, not only the target's. An object is rebuilt when its
# source or any header is newer.
newest_header=$(find "$root/runtime/include" "$root/runtime/src" "$root/net/include" \
  "$root/patterns/include" -name '*.hpp' -printf '%T@\n' | sort -n | tail -1)
# Different compiler or flags: rebuild everything.
stamp="$cxx ${common[*]}"
if [[ ! -f $dir/obj/flags || $(cat "$dir/obj/flags") != "$stamp" ]]; then
  rm -f "$dir"/obj/*.o
  printf '%s' "$stamp" > "$dir/obj/flags"
fi
objs=()
for src in "$root"/runtime/src/*.cpp; do
  obj="$dir/obj/$(basename "${src%.cpp}").o"
  objs+=("$obj")
  if [[ ! -f $obj || $src -nt $obj ]] ||
    awk -v h="$newest_header" -v o="$(stat -c %Y "$obj")" 'BEGIN { exit !(h > o) }'; then
    echo "fuzz.sh: compiling $(basename "$src")"
    "$cxx" "${common[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
done
echo "fuzz.sh: linking $dir/fuzz_chan"
"$cxx" "${common[@]}" -fsanitize=fuzzer "$root/tests/model/fuzz_chan.cpp" "${objs[@]}" \
  -lboost_context -pthread -o "$dir/fuzz_chan"

fork=()
if [[ -n ${FUZZ_JOBS:-} ]]; then fork=(-fork="$FUZZ_JOBS" -ignore_crashes=0); fi
echo "fuzz.sh: fuzzing for ${secs}s (corpus $dir/corpus)"
exec "$dir/fuzz_chan" -max_total_time="$secs" -max_len=1024 -timeout=60 -rss_limit_mb=4096 \
  -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${fork[@]}" "$@" "$dir/corpus"
