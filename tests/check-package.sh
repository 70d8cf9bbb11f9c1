#!/bin/sh
# Checks the .deb that `cpack -G DEB` built: the files it must carry, its maintainer script, the
# sandboxing of its systemd unit, and that the packaged binary runs.
set -eu
deb=$1
fail=0
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/edge ./etc/edge/edge.yaml ./usr/lib/systemd/system/edge.service \
         ./usr/share/edge/data/catalog-demo.json ./usr/share/edge/data/geoip/iptoasn-country.mmdb \
         ./usr/share/doc/edge/configuration.md ./usr/share/doc/edge/operations.md ./usr/share/doc/edge/README.md; do
    if ! printf '%s\n' "$contents" | grep -q " $f\$"; then
        echo "package lacks $f"
        fail=1
    fi
done
if printf '%s\n' "$contents" | grep -q -e '/var/' -e 'htpasswd$'; then
    echo "package must not carry runtime data or credentials"
    fail=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/control"
dpkg-deb -x "$deb" "$tmp/root"
grep -q '^Depends:.*adduser' "$tmp/control/control" || { echo "missing Depends on adduser"; fail=1; }
grep -qx '/etc/edge/edge.yaml' "$tmp/control/conffiles" || { echo "edge.yaml is not a conffile"; fail=1; }
sh -n "$tmp/control/postinst" || { echo "postinst does not parse"; fail=1; }
for directive in 'User=edge' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/edge' 'NoNewPrivileges=yes' 'PrivateTmp=yes'; do
    grep -qx "$directive" "$tmp/root/usr/lib/systemd/system/edge.service" || { echo "unit lacks $directive"; fail=1; }
done
"$tmp/root/usr/bin/edge" --version >/dev/null || { echo "packaged binary does not run"; fail=1; }
# the packaged config is valid once its absolute paths point into the extracted tree
printf 'admin:%s\n' "$(printf pw | openssl passwd -6 -stdin)" > "$tmp/htpasswd"
sed -e "s|/etc/edge/htpasswd|$tmp/htpasswd|" -e "s|/usr/share/edge|$tmp/root/usr/share/edge|g" -e "s|/var/lib/edge|$tmp/var|" \
    "$tmp/root/etc/edge/edge.yaml" > "$tmp/edge.yaml"
"$tmp/root/usr/bin/edge" --check-config "$tmp/edge.yaml" >/dev/null || { echo "packaged edge.yaml is invalid"; fail=1; }
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify parses the unit; missing binaries at their install paths are expected here
    systemd-analyze verify "$tmp/root/usr/lib/systemd/system/edge.service" 2>&1 | grep -v -e 'not executable' -e 'No such file' -e 'Failed to' >&2 || true
fi
[ $fail -eq 0 ] && echo "package checks passed: $(basename "$deb")"
exit $fail
