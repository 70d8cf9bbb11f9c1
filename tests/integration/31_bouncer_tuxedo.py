# SPDX-License-Identifier: MIT
"""Integration tests for the tuxedo-compatible XML admin API (bouncer/handler_tuxedo.c): exact
bodies and error numbers from the bouncer protocol reference, methods, auth, form bodies, XML
escaping, and that the next redirect honours every write."""
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bouncertest as bt  # noqa: E402
import edgetest  # noqa: E402

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
E = None


def edge():
    global E
    if E is None:
        E = bt.start()
    return E


def api(method, name, params=None, auth=(edgetest.ADMIN_USER, edgetest.ADMIN_PASSWORD)):
    body = urllib.parse.urlencode(params or [], doseq=True)
    if method == "GET":
        status, h, data = edge().admin("GET", "/api/%s%s" % (name, "?" + body if body else ""), auth=auth)
    else:
        status, h, data = edge().admin(method, "/api/" + name, body=body, headers=FORM, auth=auth)
    return status, h, data.decode()


def xml(status, body, expect_status, expect_body):
    assert status == expect_status, (status, body)
    assert body == HEAD + expect_body + "\n", body


def test_auth_and_method():
    status, h, _ = api("GET", "product_show", auth=("admin", "wrong"))
    assert status == 401 and h["www-authenticate"] == 'Basic realm="Bouncer API"'
    status, h, body = api("GET", "product_add")
    assert status == 405 and h["allow"] == "POST", (status, h)
    assert api("POST", "mirror_list")[0] == 405
    assert api("GET", "no_such_thing")[0] == 404


def test_product_add_show_delete():
    s, _, b = api("POST", "product_add", [("product", "Nightly-1.0"), ("languages", "en-US"), ("languages", "de"), ("ssl_only", "true")])
    assert s == 200 and b.startswith(HEAD + '<products><product id="'), b
    pid = b.split('id="')[1].split('"')[0]
    expect = '<products><product id="%s" name="Nightly-1.0"><language locale="en-US"/><language locale="de"/></product></products>' % pid
    xml(s, b, 200, expect)
    # trailing slash, case-insensitive exact match, fuzzy
    xml(*api("GET", "product_show/", [("product", "nightly-1.0")])[::2], 200, expect)
    assert 'name="Nightly-1.0"' in api("GET", "product_show", [("product", "ightl"), ("fuzzy", "true")])[2]
    xml(*api("GET", "product_show", [("product", "ightl")])[::2], 200, "<products></products>")
    # errors
    xml(*api("POST", "product_add", [("product", "Nightly-1.0")])[::2], 400, '<error number="104">Product already exists: Nightly-1.0</error>')
    xml(*api("POST", "product_add", [("product", "")])[::2], 400, '<error number="103">Product name is required.</error>')
    xml(*api("POST", "product_add", [("product", "X-1"), ("languages", "de<x>")])[::2], 400,
        '<error number="103">Invalid language: de&lt;x&gt;</error>')
    # redirect sees it after a location is added
    s, _, b = api("POST", "location_add", [("product", "Nightly-1.0"), ("os", "win"), ("path", "/n/:lang/a&b.exe")])
    assert s == 200 and "<location id=" in b and ">/n/:lang/a&amp;b.exe</location>" in b, b
    assert bt.url_of(edge(), "product=nightly-1.0&lang=de") == "https://secure.example.net/pub/n/de/a&b.exe"
    # delete by id
    xml(*api("POST", "product_delete", [("product_id", pid)])[::2], 200, "<success>Deleted product: Nightly-1.0</success>")
    assert bt.get(edge(), "product=nightly-1.0")[0] == 404
    xml(*api("POST", "product_delete", [("product", "Nightly-1.0")])[::2], 400, '<error number="102">Product not found: Nightly-1.0</error>')
    xml(*api("POST", "product_delete")[::2], 400, '<error number="101">product_id or product is required.</error>')


def test_languages():
    api("POST", "product_add", [("product", "Lang-1.0"), ("languages", "en-US")])
    api("POST", "location_add", [("product", "Lang-1.0"), ("os", "win"), ("path", "/l/:lang.exe")])
    assert bt.get(edge(), "product=lang-1.0&lang=fr")[0] == 404
    s, _, b = api("POST", "product_language_add", [("product", "Lang-1.0"), ("languages", "fr"), ("languages", "ja-JP-mac")])
    assert s == 200 and '<language locale="fr"/><language locale="ja-JP-mac"/>' in b, b
    assert bt.url_of(edge(), "product=lang-1.0&lang=fr").endswith("/l/fr.exe")
    assert api("POST", "product_language_add", [("product", "Lang-1.0"), ("languages", "fr")])[2].startswith(HEAD + '<error number="104">')
    assert api("POST", "product_language_add", [("product", "Nope"), ("languages", "fr")])[2].startswith(HEAD + '<error number="102">')
    assert api("POST", "product_language_add", [("product", "Lang-1.0")])[2].startswith(HEAD + '<error number="101">')
    assert api("POST", "product_language_delete", [("product", "Lang-1.0"), ("languages", "xx")])[2].startswith(HEAD + '<error number="103">')
    xml(*api("POST", "product_language_delete", [("product", "Lang-1.0"), ("languages", "fr")])[::2], 200,
        "<success>Deleted languages from product: Lang-1.0</success>")
    assert bt.get(edge(), "product=lang-1.0&lang=fr")[0] == 404
    api("POST", "product_language_delete", [("product", "Lang-1.0"), ("languages", "*")])
    # no languages left: any language is accepted
    assert bt.url_of(edge(), "product=lang-1.0&lang=fr").endswith("/l/fr.exe")


def test_locations():
    api("POST", "product_add", [("product", "Loc-1.0")])
    s, _, b = api("POST", "location_add", [("product", "Loc-1.0"), ("os", "linux64"), ("path", "/loc/1.tar")])
    lid = b.split('<location id="')[1].split('"')[0]
    xml(s, b, 200, '<locations><product id="%s" name="Loc-1.0"><location id="%s" os="linux64">/loc/1.tar</location></product></locations>'
        % (b.split('<product id="')[1].split('"')[0], lid))
    e = lambda n, params: api("POST", n, params)[2].split('number="')[1].split('"')[0]  # noqa: E731
    assert e("location_add", [("product", "Loc-1.0"), ("os", "linux64"), ("path", "/x")]) == "104"
    assert e("location_add", [("product", "Nope"), ("os", "linux64"), ("path", "/x")]) == "105"
    assert e("location_add", [("product", "Loc-1.0"), ("os", "beos"), ("path", "/x")]) == "106"
    assert e("location_add", [("product", "Loc-1.0"), ("os", "win")]) == "101"
    assert e("location_modify", [("product", "Loc-1.0"), ("os", "win"), ("path", "/x")]) == "104"
    assert e("location_delete", []) == "101"
    assert e("location_delete", [("location_id", "99999")]) == "102"
    s, _, b = api("POST", "location_modify", [("product", "Loc-1.0"), ("os", "linux64"), ("path", "/loc/2.tar")])
    assert s == 200 and ">/loc/2.tar</location>" in b
    assert bt.url_of(edge(), "product=loc-1.0&os=linux64") == "http://plain.example.net/pub/loc/2.tar"
    assert "/loc/2.tar" in api("GET", "location_show", [("product", "loc-1.0")])[2]
    xml(*api("POST", "location_delete", [("location_id", lid)])[::2], 200, "<success>Deleted location: /loc/2.tar</success>")
    assert bt.get(edge(), "product=loc-1.0&os=linux64")[0] == 404


def test_alias():
    xml(*api("POST", "create_update_alias", [("alias", "fx-beta"), ("related_product", "Firefox-139.0")])[::2], 200,
        "<success>Created/updated alias fx-beta</success>")
    assert bt.url_of(edge(), "product=FX-BETA").endswith("/firefox/139.0/win32/en-US/Setup.exe")
    api("POST", "create_update_alias", [("alias", "fx-beta"), ("related_product", "Firefox-139.0-SSL")])
    assert bt.url_of(edge(), "product=fx-beta").endswith("/Setup-ssl.exe")
    n = lambda params: api("POST", "create_update_alias", params)[2].split('number="')[1].split('"')[0]  # noqa: E731
    assert n([("related_product", "Firefox-139.0")]) == "102"
    assert n([("alias", "a1"), ("related_product", "Nope")]) == "103"
    assert n([("alias", "a1")]) == "103"
    assert n([("alias", "firefox-139.0"), ("related_product", "Firefox-139.0-SSL")]) == "104"


def test_uptake_and_mirror_list():
    s, _, b = api("GET", "uptake", [("product", "Firefox-139.0"), ("os", "win")])
    # plain-product total: every enabled mirror of any scheme (400); all carry it and none is checked yet
    xml(s, b, 200, "<mirror_uptake><item><product>Firefox-139.0</product><os>win</os><available>400</available>"
        "<total>400</total></item></mirror_uptake>")
    s, _, b = api("GET", "uptake", [("product", "firefox-139.0-ssl")])
    xml(s, b, 200, "<mirror_uptake><item><product>Firefox-139.0-SSL</product><os>win</os><available>200</available>"
        "<total>200</total></item></mirror_uptake>")
    assert b.count("<item>") == 1
    assert api("GET", "uptake", [("os", "win64")])[2].count("<item>") == 1
    xml(*api("GET", "uptake")[::2], 400, '<error number="101">product and/or os are required.</error>')
    xml(*api("GET", "uptake", [("product", "zzz")])[::2], 400, '<error number="102">No locations found.</error>')
    # enabled mirrors, ordered by name
    xml(*api("GET", "mirror_list")[::2], 200, '<mirrors><mirror baseurl="http://plain.example.net/pub/"/>'
        '<mirror baseurl="http://de.example.org/mozilla"/><mirror baseurl="https://secure.example.net/pub"/>'
        '<mirror baseurl="https://oc.example.org/mozilla/"/></mirrors>')


def test_zz_shutdown():
    global E
    if E is not None:
        bt.stop_clean(E)
        E = None


if __name__ == "__main__":
    edgetest.main(globals())
