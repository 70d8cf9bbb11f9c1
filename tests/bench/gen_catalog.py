#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates a synthetic bouncer catalog (docs/catalog-format.md) of any size, deterministically
(same arguments, same bytes), for the bouncer benchmark.

Shape, chosen to look like a release catalog rather than a best case:
  - products "bench-<family>-<n>[-SSL]": every other one SSL-only; one in four lists 8 languages
    (the rest accept any language); locations for 3 of the standard OS names each, with a :lang
    placeholder in the path;
  - one alias "bench-<family>-<n>-latest" for every 10th product;
  - mirrors: half https, half http; a third limited to a country, a sixth to a continent, the rest
    unrestricted; weights 10..1000.

Usage: gen_catalog.py [--products 50000] [--mirrors 100] [--seed 1] [-o FILE]
As a module: make_catalog(products, mirrors, seed) -> dict; request_paths(catalog, k, seed) -> list of
"/?product=..&os=..&lang=.." paths that resolve to a location (a 302).
"""
import argparse
import json
import random
import sys

FAMILIES = ["browser", "mail", "vpn", "devtools", "beta", "nightly", "esr", "stub"]
OSES = ["win", "win64", "win64-aarch64", "osx", "linux", "linux64", "linux64-aarch64", "android", "android-x86"]
OS_DIRS = {"win": "win32", "win64": "win64", "win64-aarch64": "win64-aarch64", "osx": "mac", "linux": "linux-i686",
           "linux64": "linux-x86_64", "linux64-aarch64": "linux-aarch64", "android": "android-arm",
           "android-x86": "android-x86"}
LANGS = ["en-US", "de", "fr", "es-AR", "ja-JP-mac", "pt-BR", "zh-TW", "sat"]
COUNTRIES = ["US", "DE", "FR", "JP", "BR", "GB", "IN", "AU", "CA", "NL", "SE", "KR"]
CONTINENTS = ["EU", "NA", "AS", "SA", "OC", "AF"]


def product_name(i):
    fam = FAMILIES[i % len(FAMILIES)]
    return "bench-%s-%d%s" % (fam, i, "-SSL" if i % 2 == 0 else "")


def make_catalog(products=50000, mirrors=100, seed=1):
    rnd = random.Random(seed)
    cat = {"comment": "synthetic benchmark catalog: tests/bench/gen_catalog.py --products %d --mirrors %d --seed %d"
                      % (products, mirrors, seed),
           "oses": OSES, "products": [], "locations": [], "aliases": [], "mirrors": []}
    for i in range(products):
        name = product_name(i)
        p = {"name": name, "ssl_only": i % 2 == 0}
        if i % 4 == 1:
            p["languages"] = LANGS
        cat["products"].append(p)
        start = rnd.randrange(len(OSES))
        for k in range(3):
            os_name = OSES[(start + k) % len(OSES)]
            cat["locations"].append({"product": name, "os": os_name,
                                     "path": "/pub/bench/%s/%d/%s/:lang/bench-%d-setup.bin"
                                             % (FAMILIES[i % len(FAMILIES)], i, OS_DIRS[os_name], i)})
        if i % 10 == 0:
            cat["aliases"].append({"alias": "bench-%s-%d-latest" % (FAMILIES[i % len(FAMILIES)], i), "product": name})
    for j in range(mirrors):
        scheme = "https" if j % 2 == 0 else "http"
        m = {"name": "mirror-%03d" % j, "base_url": "%s://mirror%03d.bench.example.net/mozilla/" % (scheme, j),
             "weight": rnd.randrange(10, 1001)}
        if j % 3 == 1:
            m["countries"] = [COUNTRIES[j % len(COUNTRIES)]]
        elif j % 6 == 2:
            m["continents"] = [CONTINENTS[j % len(CONTINENTS)]]
        cat["mirrors"].append(m)
    return cat


def request_paths(cat, k=64, seed=2):
    """k request paths spread over the catalog, each naming an existing location."""
    rnd = random.Random(seed)
    by_product = {}
    for loc in cat["locations"]:
        by_product.setdefault(loc["product"], []).append(loc["os"])
    langs = {p["name"]: p.get("languages") for p in cat["products"]}
    names = list(by_product)
    out = []
    for _ in range(k):
        name = names[rnd.randrange(len(names))]
        os_name = rnd.choice(by_product[name])
        lang = rnd.choice(langs[name] or LANGS)
        out.append("/?product=%s&os=%s&lang=%s" % (name.lower(), os_name, lang))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=50000)
    ap.add_argument("--mirrors", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    cat = make_catalog(args.products, args.mirrors, args.seed)
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    json.dump(cat, out, separators=(",", ":"))
    out.write("\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
