#!/bin/sh
# The two set-up commands of the README, for a fresh Debian 12 machine (run as root):
#   sh packaging/dev.sh run    install dependencies, build, start edge on data/edge.yaml
#   sh packaging/dev.sh test   install dependencies, build (plain, -Werror, ASan+UBSan, fuzz) and run every test
# Build trees: build/ (release), build-asan/, build-fuzz/.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

sh packaging/install-deps.sh

build() { # build DIR [cmake options...]
    dir=$1
    shift
    cmake -S . -B "$dir" -DEDGE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
run)
    build build
    exec ./build/bin/edge --config data/edge.yaml
    ;;
test)
    echo "== static checks"
    sh tests/check-sources.sh
    echo "== release build, all tests"
    build build
    (cd build && ctest --output-on-failure -j 2 -LE fuzz)
    echo "== Debian package"
    rm -f build/edge_*.deb
    (cd build && cpack -G DEB >/dev/null)
    sh tests/check-package.sh build/edge_*.deb
    echo "== ASan + UBSan build, all tests"
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DEDGE_ASAN=ON -DEDGE_UBSAN=ON
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
        ctest --output-on-failure -j 2 -LE fuzz)
    echo "== fuzz targets (bounded time)"
    CC=clang build build-fuzz -DEDGE_FUZZ=ON -DEDGE_TESTS=OFF -DEDGE_FUZZ_SECONDS="${EDGE_FUZZ_SECONDS:-20}"
    (cd build-fuzz && ctest --output-on-failure -L fuzz)
    ;;
*)
    echo "usage: sh packaging/dev.sh run|test" >&2
    exit 2
    ;;
esac
