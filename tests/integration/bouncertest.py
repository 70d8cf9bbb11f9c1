# SPDX-License-Identifier: MIT
"""Helpers shared by the bouncer integration tests (30-37): a small test catalog, an Edge with a
bouncer section seeded from it, and a redirect request that checks the Location invariant (every
Location starts with a configured mirror base URL, the landing URL or the stub root)."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edgetest  # noqa: E402

LANDING = "https://www.example.com/landing/"

CATALOG = {
    "products": [
        {"name": "Firefox-139.0", "languages": ["en-US", "de", "ja-JP-mac", "es-AR"]},
        {"name": "Firefox-139.0-SSL", "ssl_only": True, "languages": ["en-US", "de"]},
        {"name": "AnyLang-1.0"},
        {"name": "Off-1.0", "active": False},
    ],
    "locations": [
        {"product": "Firefox-139.0", "os": "win", "path": "/firefox/139.0/win32/:lang/Setup.exe"},
        {"product": "Firefox-139.0", "os": "win64", "path": "/firefox/139.0/win64/:lang/Setup.exe"},
        {"product": "Firefox-139.0-SSL", "os": "win", "path": "/firefox/139.0/win32/:lang/Setup-ssl.exe"},
        {"product": "AnyLang-1.0", "os": "linux64", "path": "/any/1.0/:lang/any.tar.xz"},
        {"product": "Off-1.0", "os": "win", "path": "/off.exe"},
    ],
    "aliases": [
        {"alias": "firefox-latest", "product": "Firefox-139.0"},
        {"alias": "firefox-latest-ssl", "product": "Firefox-139.0-SSL"},
    ],
    "mirrors": [
        {"name": "plain", "base_url": "http://plain.example.net/pub/", "weight": 100},
        {"name": "secure", "base_url": "https://secure.example.net/pub", "weight": 100},
        {"name": "plain-de", "base_url": "http://de.example.org/mozilla", "weight": 100, "countries": ["DE"]},
        {"name": "secure-oc", "base_url": "https://oc.example.org/mozilla/", "weight": 100, "continents": ["OC"]},
    ],
}

BASES = [m["base_url"].rstrip("/") for m in CATALOG["mirrors"]]


def bouncer_yaml(directory, catalog=None, extra="", trusted=True, geoip=None):
    path = os.path.join(directory, "catalog.json")
    with open(path, "w") as f:
        json.dump(catalog or CATALOG, f)
    y = "bouncer:\n  seed_catalog: catalog.json\n  landing_url: '%s'\n  health_check: {enabled: false}\n" % LANDING
    if trusted:
        y += "  trusted_proxies: ['127.0.0.1/32', '::1']\n"
    if geoip:
        y += "  geoip_database: '%s'\n" % geoip
    return y + extra


def start(catalog=None, extra="", trusted=True, geoip=None, yaml=None):
    e = edgetest.Edge(extra_yaml="")
    try:
        e.write_config(yaml or (edgetest_base() + bouncer_yaml(e.dir, catalog, extra, trusted, geoip)))
        e.start()
    except BaseException:
        e.cleanup()
        raise
    return e


def stop_clean(e):
    """Stops e and removes its directory; its log must hold no sanitizer report about the bouncer."""
    e.stop()
    log = e.read_log()
    e.cleanup()
    assert "ERROR: AddressSanitizer" not in log and "runtime error" not in log, log[-3000:]
    assert "LeakSanitizer" not in log or "/bouncer/" not in log.split("LeakSanitizer", 1)[1], log[-3000:]


def edgetest_base():
    return ("server:\n  threads: 2\n  listen: [\"127.0.0.1:{port}\"]\n  shutdown_timeout: 10s\n"
            "admin:\n  listen: \"127.0.0.1:{admin_port}\"\n  htpasswd: htpasswd\nstorage:\n  data_dir: data\n")


def get(e, query, headers=None, path="/"):
    """GET path?query; returns (status, headers, body) and checks the Location invariant."""
    status, h, body = e.request("GET", path + ("?" + query if query is not None else ""), headers=headers)
    if "location" in h:
        loc = h["location"]
        assert "\r" not in loc and "\n" not in loc and " " not in loc, loc
        assert loc.startswith(LANDING) or any(loc.startswith(b + "/") for b in BASES), loc
    return status, h, body


def url_of(e, query, headers=None):
    status, h, body = get(e, query, headers)
    assert status == 302, (query, status, body)
    return h["location"]


def qs(**kw):
    return urllib.parse.urlencode(kw)
