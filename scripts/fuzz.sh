#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in
# build-fuzz, then runs each for FUZZ_SECONDS (default 20) on a copy of its
# committed corpus (fuzz/corpus/<target>/, never grown here). Any crash,
# sanitizer report, timeout or out-of-memory fails the script; the input is
# left in build-fuzz/fuzz-run/<target>/ and its log printed.
# BUILD_DIR and FUZZ_SECONDS may be overridden from the environment;
# FUZZ_RUNS=N instead runs N inputs per target from a fixed seed, so a CI run
# is repeatable (the same binary explores the same inputs every time).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh clang libclang-rt-14-dev
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ -n "${FUZZ_RUNS:-}" ]; then
  BUDGET=(-runs="$FUZZ_RUNS" -seed=1)
  BUDGET_TEXT="$FUZZ_RUNS runs (seed 1)"
else
  BUDGET=(-max_total_time="$FUZZ_SECONDS")
  BUDGET_TEXT="${FUZZ_SECONDS}s"
fi
TARGETS=(envelope translation halo_json)

# pointer-overflow stays recoverable only so that fuzz/ubsan.supp can silence
# RapidJSON's; halt_on_error below still stops at every other report.
# -Wno-ambiguous-reversed-operator: RapidJSON 1.1's iterators under C++20.
FUZZ_FLAGS="-O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
FUZZ_FLAGS+=" -fsanitize-recover=pointer-overflow -fno-omit-frame-pointer -Wno-ambiguous-reversed-operator"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DHALOPSA_BUILD_TESTS=OFF -DHALOPSA_BUILD_FUZZ=ON -DCMAKE_CXX_FLAGS="$FUZZ_FLAGS" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${TARGETS[@]/#/fuzz_}"

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan.supp"
failed=0
for target in "${TARGETS[@]}"; do
  run_dir="$BUILD_DIR/fuzz-run/$target"
  rm -rf "$run_dir"
  mkdir -p "$run_dir/corpus"
  cp fuzz/corpus/"$target"/* "$run_dir/corpus/"
  # -timeout: one input taking longer is a hang; -rss_limit_mb: a bound the
  # code under test must keep.
  if "$BUILD_DIR/bin/fuzz_$target" "$run_dir/corpus" "${BUDGET[@]}" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$run_dir/" >"$run_dir/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run_dir/log")
    cov=$(grep -o 'cov: [0-9]*' "$run_dir/log" | tail -n 1)
    echo "fuzz_$target: OK, ${runs:-?} inputs in ${BUDGET_TEXT}, ${cov:-cov: ?}, corpus $(ls "$run_dir/corpus" | wc -l) files"
  else
    failed=1
    echo "fuzz_$target: FAILED; reproducer(s): $(ls "$run_dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|$run_dir/|" | tr '\n' ' ')"
    tail -n 60 "$run_dir/log"
  fi
done
exit "$failed"
