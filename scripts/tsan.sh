#!/usr/bin/env bash
# The concurrency tests that can run under ThreadSanitizer, in their own
# build directory: net_tests (Beast HTTP client transport and its connection
# pool, the HTTP server, the TimerThread scheduler). Tests linking gRPC or
# protobuf are not run: Debian builds them, and their libabsl*.so, without
# TSan, whose reports there are false races.
#
# Abseil 20220623.1 (Debian 12's version, upstream tarball from Debian's
# pool, SHA-256 pinned, plus the upstream TSan annotation fix in
# tests/tsan/abseil-mutex-tsan.patch) is built static with -fsanitize=thread
# into $BUILD_DIR/abseil/install once and reused while the tarball, patch,
# compiler and flags stay the same; tests/tsan/CMakeLists.txt then builds the
# net libraries and their tests against it and nothing else, and this script
# checks that no Debian Abseil header or library got in. Any TSan report
# fails the test it happens in. BUILD_DIR may be overridden from the
# environment.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh curl patch
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build-tsan}
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
JOBS=$(nproc)

ABSL_VERSION=20220623.1
ABSL_TARBALL=abseil_${ABSL_VERSION}.orig.tar.gz
ABSL_URL=http://deb.debian.org/debian/pool/main/a/abseil/$ABSL_TARBALL
# From Debian's abseil_20220623.1-1+deb12u2.dsc (Checksums-Sha256).
ABSL_SHA256=abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe

# -O1 and frame pointers for usable stacks at a bearable speed.
# -Wno-tsan: gcc warns that TSan does not model std::atomic_thread_fence
# (used by Asio and Abseil next to locks it does model).
TSAN_FLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan"
LAUNCHER=()
if command -v ccache >/dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# As in the main build: cache hits across clones (Abseil's sources unpack
# under each clone's build directory).
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1

ABSL_DIR=$BUILD_DIR/abseil
ABSL_PREFIX=$ABSL_DIR/install
# One upstream TSan-annotation fix is applied (see the patch's header).
ABSL_PATCH=$ROOT/tests/tsan/abseil-mutex-tsan.patch
ABSL_STAMP="$ABSL_SHA256 $(sha256sum <"$ABSL_PATCH" | cut -c1-16) $(c++ --version | head -n 1) $TSAN_FLAGS"
if [ "$(cat "$ABSL_PREFIX/.stamp" 2>/dev/null)" != "$ABSL_STAMP" ]; then
  echo "Building Abseil $ABSL_VERSION with ThreadSanitizer in $ABSL_DIR"
  mkdir -p "$ABSL_DIR"
  if ! echo "$ABSL_SHA256  $ABSL_DIR/$ABSL_TARBALL" | sha256sum -c --status 2>/dev/null; then
    curl -fsSL --retry 3 -o "$ABSL_DIR/$ABSL_TARBALL.part" "$ABSL_URL"
    echo "$ABSL_SHA256  $ABSL_DIR/$ABSL_TARBALL.part" | sha256sum -c --quiet
    mv "$ABSL_DIR/$ABSL_TARBALL.part" "$ABSL_DIR/$ABSL_TARBALL"
  fi
  rm -rf "$ABSL_DIR/src" "$ABSL_DIR/build" "$ABSL_PREFIX"
  mkdir -p "$ABSL_DIR/src"
  tar -xzf "$ABSL_DIR/$ABSL_TARBALL" -C "$ABSL_DIR/src" --strip-components=1
  patch -s -p1 -d "$ABSL_DIR/src" <"$ABSL_PATCH"
  # C++20 as the project: Abseil's ABI (std:: or absl:: optional, any, ...)
  # follows the standard it is built with.
  # -w: Abseil's own warnings under gcc 12 are not this project's to read.
  cmake -S "$ABSL_DIR/src" -B "$ABSL_DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="$TSAN_FLAGS -w" -DCMAKE_CXX_STANDARD=20 -DABSL_PROPAGATE_CXX_STD=ON \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF -DABSL_BUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="$ABSL_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib "${LAUNCHER[@]}" >/dev/null
  cmake --build "$ABSL_DIR/build" -j"$JOBS"
  cmake --install "$ABSL_DIR/build" >/dev/null
  echo "$ABSL_STAMP" >"$ABSL_PREFIX/.stamp"
fi

# tests/tsan/CMakeLists.txt uses ccache itself, as the main build does.
cmake -S tests/tsan -B "$BUILD_DIR/net" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="$TSAN_FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DHALOPSA_ABSL_PREFIX="$ABSL_PREFIX" >/dev/null
# TSAN_OPTIONS for the test discovery run at build time too.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$ROOT/tests/tsan/tsan.supp"
cmake --build "$BUILD_DIR/net" -j"$JOBS" --target net_tests

# Two Abseils in one process would break the one-definition rule: every
# absl header and symbol must come from the private instrumented one.
NET_TESTS=$BUILD_DIR/net/bin/net_tests
if ldd "$NET_TESTS" | grep -E 'libabsl|libgrpc|libprotobuf'; then
  echo "tsan.sh: $NET_TESTS links a Debian Abseil, gRPC or protobuf (above)" >&2
  exit 1
fi
if [ "$(ninja -C "$BUILD_DIR/net" -t deps | grep -c '^ */usr/include/absl/')" -ne 0 ]; then
  echo "tsan.sh: the TSan build included Debian's Abseil headers (/usr/include/absl)" >&2
  exit 1
fi
if [ "$(nm -u "$ABSL_PREFIX/lib/libabsl_synchronization.a" | grep -c __tsan_func_entry)" -eq 0 ]; then
  echo "tsan.sh: $ABSL_PREFIX holds an Abseil without ThreadSanitizer" >&2
  exit 1
fi

cd "$BUILD_DIR/net"
ctest --output-on-failure -j"$JOBS" --timeout 300
