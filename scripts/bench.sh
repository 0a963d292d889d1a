#!/usr/bin/env bash
# The benchmark command (issue 6): builds Release binaries with the
# benchmarks into build-bench/, runs halopsa-bench (halopsa-sim and
# halopsa-server on loopback, then creates, notes, links and searches again
# with the shared state in a real redis-server beside in process; about 5
# minutes on 2 cores), then the micro-benchmarks, and leaves everything in
# build-bench/bench-report.md.
# Arguments go to halopsa-bench, e.g. ./scripts/bench.sh --quick for a smoke
# run; BUILD_DIR overrides the build directory.
# Then the storm benchmark (issue 12, halopsa-storm-bench: three LimaCharlie
# orgs in one tenant's budget, about 4 minutes; with --quick time-compressed
# tenfold) appends its section. `./scripts/bench.sh --storm [flags]` runs
# only the storm benchmark, its flags going to halopsa-storm-bench, and
# writes build-bench/storm-report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build-bench}
REPORT="$BUILD_DIR/bench-report.md"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHALOPSA_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target halopsa-bench halopsa-micro-bench halopsa-storm-bench

if [ "${1:-}" = "--storm" ]; then
  shift
  exec "$BUILD_DIR/bin/halopsa-storm-bench" --report="$BUILD_DIR/storm-report.md" "$@"
fi

"$BUILD_DIR/bin/halopsa-bench" --report="$REPORT" "$@"

MIN_TIME=0.3
for arg in "$@"; do [ "$arg" = "--quick" ] && MIN_TIME=0.05; done
MICRO=$("$BUILD_DIR/bin/halopsa-micro-bench" --benchmark_min_time="$MIN_TIME" 2>/dev/null)
echo
echo "$MICRO"
printf '\n### Micro-benchmarks (hot paths, CPU time per operation)\n\n```text\n%s\n```\n' "$MICRO" >>"$REPORT"

STORM_ARGS=()
for arg in "$@"; do [ "$arg" = "--quick" ] && STORM_ARGS=(--time_scale=0.1 --no_dedupe_time_scale=0.1); done
echo
"$BUILD_DIR/bin/halopsa-storm-bench" --report="$BUILD_DIR/storm-report.md" "${STORM_ARGS[@]}" ||
  echo "halopsa-storm-bench: a run could not be made (see above)"
cat "$BUILD_DIR/storm-report.md" >>"$REPORT"
echo
echo "report: $REPORT"
