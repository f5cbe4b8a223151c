#!/usr/bin/env bash
# Builds goro, Boost.Fiber and Go benchmarks (release) and prints one comparison table.
# Options and environment variables: python3 bench/run.py --help, and bench/README.md.
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
