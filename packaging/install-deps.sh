#!/bin/sh
# Installs everything edge needs to build, test and benchmark on Debian 12, from Debian's
# packages only. Idempotent: packages already present are left alone. Run as root.
set -eu

PACKAGES="
build-essential cmake pkg-config git ca-certificates
libh2o-evloop-dev libssl-dev liblmdb-dev lmdb-utils libmaxminddb-dev zlib1g-dev libisal-dev libyaml-dev
libjansson-dev libcurl4-openssl-dev libcrypt-dev libcmocka-dev
clang libclang-rt-14-dev
python3 curl openssl apache2-utils libmaxmind-db-writer-perl
nodejs chromium
"
# tools for benchmarks (tests/bench) and packaging
PACKAGES_EXTRA="wrk nginx-light dpkg-dev file"

missing=""
for p in $PACKAGES $PACKAGES_EXTRA; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# npm: Debian's package, unless the installed nodejs already ships it (NodeSource builds conflict with it)
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
# nginx-light may start a system nginx on port 80; the benchmarks start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl stop nginx || true
fi
# S3-compatible server for the forwarder integration tests (tests/integration/s3server, git-ignored node_modules)
s3server_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/s3server"
if [ -f "$s3server_dir/package-lock.json" ] && [ ! -d "$s3server_dir/node_modules/@20minutes/s3rver" ]; then
    (cd "$s3server_dir" && npm ci --no-audit --no-fund)
fi
# playwright-core for the admin console's browser tests (tests/e2e, git-ignored node_modules;
# they drive Debian's chromium above, playwright downloads no browser)
e2e_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
if [ -f "$e2e_dir/package-lock.json" ] && [ ! -d "$e2e_dir/node_modules/playwright-core" ]; then
    (cd "$e2e_dir" && npm ci --no-audit --no-fund)
fi
