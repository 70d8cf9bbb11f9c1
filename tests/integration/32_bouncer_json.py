# SPDX-License-Identifier: MIT
"""Integration tests for the bouncer's JSON admin API (bouncer/handler_json.c) and the
`edge catalog import|export` command (bouncer/command.c): mirror admin (add, patch weight,
disable, delete) honoured by the next redirect, validation errors that change nothing, rules,
catalog round trips through the API and the CLI (picked up by a running server), product flags
(ssl_only, active) and aliases through the API, and the module's metrics."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bouncertest as bt  # noqa: E402
import edgetest  # noqa: E402

E = None
JSON = {"Content-Type": "application/json"}


def edge():
    global E
    if E is None:
        E = bt.start()
    return E


def api(method, path, body=None):
    data = json.dumps(body) if body is not None and not isinstance(body, str) else body
    status, h, out = edge().admin(method, "/api/v1/" + path, body=data, headers=JSON)
    return status, (json.loads(out) if out.strip() else None)


def mirrors_seen(query="product=firefox-latest-ssl", n=40):
    return {bt.get(edge(), query)[1].get("x-edge-mirror") for _ in range(n)}


def test_mirror_add_patch_disable_delete():
    bt.BASES.append("https://new.example.com/dl")
    s, m = api("POST", "mirrors", {"name": "new", "base_url": "https://new.example.com/dl", "weight": 1000000})
    assert s == 201 and m["name"] == "new" and m["weight"] == 1000000 and m["enabled"] is True, (s, m)
    # not checked yet: every location it serves counts as healthy (as for the redirect choice)
    h = m["health"]
    assert h["locations"] > 0 and h["healthy"] == h["locations"] and h["unhealthy"] == h["absent"] == 0, h
    assert h["last_check"] is None
    # 1,000,000 : 100 -> almost every pick is "new"
    assert "new" in mirrors_seen()
    s, m = api("PATCH", "mirrors/new", {"weight": 0})
    assert s == 200 and m["weight"] == 0
    assert mirrors_seen() == {"secure"}
    api("PATCH", "mirrors/new", {"weight": 100})
    s, m = api("PATCH", "mirrors/secure", {"enabled": False})
    assert s == 200 and m["enabled"] is False
    assert mirrors_seen() == {"new"}
    api("PATCH", "mirrors/secure", {"enabled": True})
    s, out = api("DELETE", "mirrors/new")
    assert s == 200 and out == {"deleted": "new"}
    assert mirrors_seen() == {"secure"}
    assert api("GET", "mirrors/new")[0] == 404


def test_mirror_validation_changes_nothing():
    before = api("GET", "mirrors")[1]["mirrors"]
    s, out = api("POST", "mirrors", {"name": "bad", "base_url": "ftp://x.example.com/"})
    assert s == 400 and out["error"].startswith("$.base_url:"), out
    s, out = api("POST", "mirrors", {"name": "bad", "base_url": "https://x.example.com/", "wieght": 3})
    assert s == 400 and "wieght" in out["error"], out
    s, out = api("PATCH", "mirrors/secure", {"weight": 5, "countries": ["XXX"]})
    assert s == 400 and out["error"].startswith("$.countries"), out
    s, out = api("POST", "mirrors", {"name": "plain", "base_url": "https://x.example.com/"})
    assert s == 409, (s, out)
    assert api("PATCH", "mirrors/nope", {"weight": 1})[0] == 404
    assert api("GET", "mirrors")[1]["mirrors"] == before
    assert api("PUT", "mirrors")[0] == 405


def test_list_includes_health_and_checker_status():
    s, out = api("GET", "mirrors")
    assert s == 200 and [m["name"] for m in out["mirrors"]] == ["plain", "plain-de", "secure", "secure-oc"], out
    assert out["health_check"]["enabled"] is False
    s, out = api("GET", "status")
    assert s == 200 and out["snapshot_version"] >= 1


def test_products_search():
    s, out = api("GET", "products?q=SSL")
    assert s == 200 and [p["name"] for p in out["products"]] == ["Firefox-139.0-SSL"], out
    p = out["products"][0]
    assert p["aliases"] == ["firefox-latest-ssl"] and p["locations"][0]["os"] == "win" and p["ssl_only"] is True
    assert len(api("GET", "products")[1]["products"]) == 4


def test_rules_put_and_redirect():
    rules = [{"name": "old-windows", "ua_contains": ["Windows NT 6.1"], "product_prefix": ["firefox-"],
              "set_product": "firefox-latest-ssl", "final": True}]
    s, out = api("PUT", "rules", rules)
    assert s == 200 and out["rules"][0]["name"] == "old-windows", out
    loc = bt.url_of(edge(), "product=firefox-latest", {"User-Agent": "Mozilla/5.0 (Windows NT 6.1; Win64; x64)"})
    assert loc.endswith("/Setup-ssl.exe"), loc
    status, h, _ = bt.get(edge(), "product=firefox-latest")
    assert "User-Agent" in h.get("vary", ""), h
    s, out = api("PUT", "rules", [{"name": "x"}])
    assert s == 400, out
    assert api("GET", "rules")[1]["rules"][0]["name"] == "old-windows"
    api("PUT", "rules", {"rules": []})
    assert api("GET", "rules")[1] == {"rules": []}


def test_catalog_api_round_trip_and_atomic_import():
    s, exported = api("GET", "catalog")
    assert s == 200 and len(exported["products"]) == 4
    exported.pop("health", None)
    bad = json.loads(json.dumps(exported))
    bad["mirrors"][1]["base_url"] = "gopher://x"
    s, out = api("PUT", "catalog", bad)
    assert s == 400 and out["error"] == "mirrors[1].base_url: must start with http:// or https://", out
    assert api("GET", "catalog")[1]["mirrors"] == exported["mirrors"]
    smaller = json.loads(json.dumps(exported))
    smaller["aliases"] = [a for a in smaller["aliases"] if a["alias"] != "firefox-latest"]
    s, out = api("PUT", "catalog", smaller)
    assert s == 200 and out["aliases"] == 1, out
    assert bt.get(edge(), "product=firefox-latest")[0] == 404
    assert api("PUT", "catalog", exported)[0] == 200
    assert bt.get(edge(), "product=firefox-latest")[0] == 302


def run_cli(*args, stdin=None):
    return subprocess.run([edgetest.EDGE_BIN, "catalog", *args, "--config", edge().config], cwd=edge().dir, input=stdin,
                          capture_output=True, text=True, timeout=30)


def test_cli_export_import_while_running():
    r = run_cli("export", "-")
    assert r.returncode == 0, r.stderr
    cat = json.loads(r.stdout)
    assert {m["name"] for m in cat["mirrors"]} == {"plain", "plain-de", "secure", "secure-oc"}
    cat.pop("health", None)
    cat["aliases"].append({"alias": "cli-alias", "product": "Firefox-139.0"})
    path = os.path.join(edge().dir, "cat.json")
    with open(path, "w") as f:
        json.dump(cat, f)
    r = run_cli("import", path)
    assert r.returncode == 0, r.stderr
    # the running server notices another process's commit within about a second, no SIGHUP needed
    deadline = time.time() + 10
    while bt.get(edge(), "product=cli-alias")[0] != 302:
        assert time.time() < deadline, edge().read_log()[-2000:]
        time.sleep(0.05)
    assert "published (external change)" in edge().read_log()
    # an invalid import changes nothing and says where the problem is
    r = run_cli("import", "-", stdin='{"mirrors": [{"name": "m", "base_url": "https://x/", "wieght": 1}]}')
    assert r.returncode == 1 and "mirrors[0]" in r.stderr, r.stderr
    assert run_cli("frobnicate", "x").returncode == 2
    r = run_cli("export", os.path.join(edge().dir, "out.json"))
    assert r.returncode == 0 and "cli-alias" in open(os.path.join(edge().dir, "out.json")).read()


def test_cli_without_server():
    e = edgetest.Edge()
    try:
        e.write_config(bt.edgetest_base() + bt.bouncer_yaml(e.dir))
        cat = dict(bt.CATALOG, aliases=[{"alias": "offline", "product": "AnyLang-1.0"}])
        r = subprocess.run([edgetest.EDGE_BIN, "catalog", "import", "-", "--config", e.config], cwd=e.dir, input=json.dumps(cat),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        e.start()
        # the catalog was not empty at start: the seed was not applied over the import
        assert bt.url_of(e, "product=offline&os=linux64").endswith("/any/1.0/en-US/any.tar.xz")
        assert bt.get(e, "product=firefox-latest")[0] == 404
    finally:
        e.stop()
        e.cleanup()


def test_admin_write_metrics_and_snapshot_version():
    before = edge().metrics()
    api("PATCH", "mirrors/plain", {"weight": 101})
    after = edge().metrics()
    assert edgetest.metric_sum(after, "edge_bouncer_admin_writes_total") == edgetest.metric_sum(before, "edge_bouncer_admin_writes_total") + 1
    assert edgetest.metric_sum(after, "edge_bouncer_snapshot_version") == edgetest.metric_sum(before, "edge_bouncer_snapshot_version") + 1
    assert edgetest.metric_sum(after, "edge_bouncer_snapshot_age_seconds") < 5
    assert (edgetest.metric_sum(after, "edge_bouncer_snapshot_rebuild_seconds_count") ==
            edgetest.metric_sum(before, "edge_bouncer_snapshot_rebuild_seconds_count") + 1)


def schemes_seen(query, n=20):
    """The URL schemes of n print=yes answers (the body is the mirror URL)."""
    seen = set()
    for _ in range(n):
        status, h, body = bt.get(edge(), query + "&print=yes")
        assert status == 200, (status, body)
        seen.add(body.decode().strip().split("://", 1)[0])
    return seen


def test_product_patch_ssl_only_and_active():
    q = "product=AnyLang-1.0&os=linux64"
    assert schemes_seen(q) == {"http"}  # a plain request prefers http:// mirrors
    s, p = api("PATCH", "products/anylang-1.0", {"ssl_only": True})
    assert s == 200 and p["name"] == "AnyLang-1.0" and p["ssl_only"] is True and p["active"] is True, (s, p)
    assert p == [x for x in api("GET", "products?q=AnyLang")[1]["products"] if x["name"] == "AnyLang-1.0"][0]
    assert schemes_seen(q) == {"https"}
    # inactive products answer 404 (resolve.c: unknown or inactive product), through their aliases too
    s, p = api("PATCH", "products/AnyLang-1.0", {"active": False})
    assert s == 200 and p["active"] is False and p["ssl_only"] is True, p
    status, h, body = bt.get(edge(), q)
    assert status == 404 and "location" not in h, (status, h, body)
    s, p = api("PATCH", "products/AnyLang-1.0", {"active": True, "ssl_only": False})
    assert s == 200 and p["active"] is True and p["ssl_only"] is False, p
    assert bt.get(edge(), q)[0] == 302
    # the seeded inactive product comes alive
    assert bt.get(edge(), "product=Off-1.0")[0] == 404
    assert api("PATCH", "products/Off-1.0", {"active": True})[0] == 200
    assert bt.url_of(edge(), "product=Off-1.0").endswith("/off.exe")
    assert api("PATCH", "products/Off-1.0", {"active": False})[0] == 200
    assert bt.get(edge(), "product=Off-1.0")[0] == 404


def test_product_patch_validation():
    before = api("GET", "products")[1]
    version = api("GET", "status")[1]["snapshot_version"]
    for body, field in (({"ssl_only": "yes"}, "$.ssl_only"), ({"active": 1}, "$.active"), ({"ssl_only": True, "activ": False}, "$.activ"),
                        ([True], "$"), ("{not json", "line 1")):
        s, out = api("PATCH", "products/AnyLang-1.0", body)
        assert s == 400 and out["error"].startswith(field), (body, s, out)
    s, out = api("PATCH", "products/NoSuch-1.0", {"active": True})
    assert s == 404 and out == {"error": "product not found"}, (s, out)
    assert api("GET", "products/AnyLang-1.0")[0] == 405
    assert api("GET", "products")[1] == before
    assert api("GET", "status")[1]["snapshot_version"] == version


def test_alias_delete_and_create():
    assert bt.get(edge(), "product=firefox-latest")[0] == 302
    s, out = api("DELETE", "aliases/Firefox-Latest")
    assert s == 200 and out == {"deleted": "Firefox-Latest"}, (s, out)
    assert bt.get(edge(), "product=firefox-latest")[0] == 404
    s, out = api("DELETE", "aliases/firefox-latest")
    assert s == 404 and out == {"error": "alias not found"}, (s, out)
    assert api("GET", "aliases/firefox-latest")[0] == 405
    # create_update_alias semantics: the product must exist, an alias may not be a product's name
    s, out = api("POST", "aliases", {"alias": "firefox-latest", "product": "nosuch"})
    assert s == 400 and out["error"].startswith("$.product"), (s, out)
    s, out = api("POST", "aliases", {"alias": "AnyLang-1.0", "product": "Firefox-139.0"})
    assert s == 409 and out["error"].startswith("$.alias"), (s, out)
    s, out = api("POST", "aliases", {"alias": "bad alias/", "product": "Firefox-139.0"})
    assert s == 400 and out["error"].startswith("$.alias"), (s, out)
    s, out = api("POST", "aliases", {"alias": 3, "product": "Firefox-139.0"})
    assert s == 400 and out["error"].startswith("$.alias"), (s, out)
    assert bt.get(edge(), "product=firefox-latest")[0] == 404
    s, out = api("POST", "aliases", {"alias": "firefox-latest", "product": "firefox-139.0-ssl"})
    assert s == 201 and out == {"alias": "firefox-latest", "product": "Firefox-139.0-SSL", "created": True}, (s, out)
    assert bt.url_of(edge(), "product=firefox-latest").endswith("/Setup-ssl.exe")
    s, out = api("POST", "aliases", {"alias": "firefox-latest", "product": "Firefox-139.0"})
    assert s == 200 and out["created"] is False, (s, out)
    assert bt.url_of(edge(), "product=firefox-latest").endswith("/Setup.exe")
    assert "firefox-latest" in api("GET", "products?q=139.0")[1]["products"][0]["aliases"]


def test_zz_shutdown():
    global E
    if E is not None:
        bt.stop_clean(E)
        E = None


if __name__ == "__main__":
    edgetest.main(globals())
