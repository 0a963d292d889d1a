#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc), in its own build directory. Debian's gRPC, protobuf and Abseil are
# not instrumented: errors inside them are not seen, calls into them work.
# BUILD_DIR may be overridden from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
# -O1, as ASan recommends: the suite at -O0 is much slower.
# gcc's null checks make `&global != nullptr` non-constant, which rejects
# valid constexpr tables of absl::string_view built from char arrays
# (org_config.cc); a null dereference still stops the test under ASan.
SANITIZE_FLAGS="-O1 -fsanitize=address,undefined -fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute"
SANITIZE_FLAGS+=" -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="$SANITIZE_FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
# Every finding fails its test; print_stacktrace makes UBSan say where.
# LeakSanitizer stays on (ASan's default): the suite has no leaks to hide.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 300
