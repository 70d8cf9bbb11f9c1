#!/bin/sh
# Static checks on the source tree, run by the test command before building:
#  - only the server plumbing (edge/app, edge/respond.h, edge/main.c) and handler*.c files include h2o.h;
#  - every public header compiles on its own.
set -eu
cd "$(dirname "$0")/.."
fail=0

offenders=$(grep -l '#include <h2o' edge/*.c edge/*.h bouncer/*.c bouncer/*.h collector/*.c collector/*.h 2>/dev/null |
    grep -v -e '^edge/respond\.h$' -e '/handler[^/]*\.[ch]$' || true)
if [ -n "$offenders" ]; then
    echo "h2o.h included outside the h2o glue: $offenders"
    fail=1
fi

cflags="-std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -DOPENSSL_API_COMPAT=30000 -Wall -Wextra -Werror -I. $(pkg-config --cflags libh2o-evloop jansson libmaxminddb)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in edge/*.h edge/app/*.h bouncer/*.h collector/*.h; do
    [ -f "$h" ] || continue
    printf '#include "%s"\n#include "%s"\n' "$h" "$h" > "$tmp/t.c"
    if ! cc $cflags -fsyntax-only "$tmp/t.c" 2>"$tmp/err"; then
        echo "header does not stand alone: $h"
        cat "$tmp/err"
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "source checks passed"
exit $fail
