#!/usr/bin/env bash
# Installs the build into a temporary directory (meson install --destdir) and builds the
# README's first program with CMake against it: find_package(goro) and goro::goro must
# give it the headers, the library and its dependencies. Runs it and checks its output.
# Usage: install_cmake.sh <build dir> <source dir> <prefix>
set -euo pipefail
build=$1 src=$2 prefix=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/stage" >/dev/null

# The first ```cpp block after the heading "A first program".
mkdir "$tmp/app"
awk '/^## A first program/ {f = 1} f && /^```cpp/ {p = 1; next} p && /^```/ {exit} p' \
  "$src/README.md" >"$tmp/app/first.cpp"
grep -q 'goro::run' "$tmp/app/first.cpp" || { echo "no first program in README.md" >&2; exit 1; }
cat >"$tmp/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(first CXX)
find_package(goro 0.1 REQUIRED)
add_executable(first first.cpp)
target_link_libraries(first PRIVATE goro::goro)
CMAKE

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$tmp/app" -B "$tmp/app/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/stage$prefix" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log" >&2; exit 1; }
cmake --build "$tmp/app/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }

# Three goroutines send 1, 4 and 9 in any order.
out=$("$tmp/app/build/first" | sort -n | tr '\n' ' ')
if [[ $out != "1 4 9 " ]]; then
  echo "first printed '$out', expected 1 4 9 in any order" >&2
  exit 1
fi
echo "ok: find_package(goro) and goro::goro built and ran the README's first program"
