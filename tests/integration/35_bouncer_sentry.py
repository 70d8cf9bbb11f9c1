# SPDX-License-Identifier: MIT
"""Integration tests for the bouncer's mirror health checker (bouncer/sentry.c).

Small HTTP servers on loopback play the mirrors: one serves every file (200 octet-stream), one
answers 404, one 500, one an HTML page with 200, one never answers. The catalog is seeded from
JSON (bouncer.seed_catalog) with one mirror per server; the checker runs every 200 ms with
failures_to_down 1. The tests check the health metrics, that redirects stop using the failing and
absent mirrors, and that the quorum guard refuses to take every mirror down at once.
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edgetest  # noqa: E402


class MirrorServer:
    """A mirror on 127.0.0.1: kind is ok, missing, error, html or hang; switch with set_kind()."""

    def __init__(self, kind):
        self.kind = kind
        self.requests = 0
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                outer.requests += 1
                kind = outer.kind
                if kind == "hang":
                    outer.release.wait(30)
                    return
                root = self.path.endswith("/")
                if kind == "error":
                    self.answer(500, "text/plain")
                elif root:
                    self.answer(200, "text/html")  # a directory index
                elif kind == "ok":
                    self.answer(200, "application/octet-stream")
                elif kind == "missing":
                    self.answer(404, "text/html")
                else:
                    self.answer(200, "text/html; charset=utf-8")

            do_GET = do_HEAD

            def answer(self, status, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set_kind(self, kind):
        self.kind = kind

    def url(self):
        return "http://127.0.0.1:%d/pub/" % self.port

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def catalog(mirrors):
    return {
        "products": [{"name": "Firefox", "languages": ["en-US", "de"]},
                     {"name": "Thunderbird"}],
        "locations": [{"product": "Firefox", "os": "win", "path": "/firefox/:lang/setup.exe"},
                      {"product": "Firefox", "os": "osx", "path": "/firefox/:lang/app.dmg"},
                      {"product": "Thunderbird", "os": "linux", "path": "/thunderbird/tb.tar.xz"}],
        "mirrors": [{"name": name, "base_url": srv.url(), "weight": 100} for name, srv in mirrors],
    }


def start_edge(mirrors, health_yaml):
    edge = edgetest.Edge(extra_yaml="bouncer:\n  seed_catalog: catalog.json\n  health_check:\n" + health_yaml)
    with open(os.path.join(edge.dir, "catalog.json"), "w") as f:
        json.dump(catalog(mirrors), f)
    return edge.start()


def wait_for(predicate, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def redirect_mirror(edge, product="Firefox", os_name="win", lang="de"):
    status, headers, _ = edge.request("GET", "/?product=%s&os=%s&lang=%s" % (product, os_name, lang))
    assert status == 302, status
    return headers.get("x-edge-mirror"), headers.get("location")


def mirror_log(edge):
    return [l["msg"] for l in edge.log_lines() if l.get("component") == "sentry"]


def test_states_and_redirects():
    servers = {k: MirrorServer(k) for k in ("ok", "missing", "error", "html", "hang")}
    mirrors = [("m-" + k, s) for k, s in servers.items()]
    edge = None
    try:
        edge = start_edge(mirrors, "    interval: 200ms\n    timeout: 500ms\n    connect_timeout: 500ms\n"
                                   "    failures_to_down: 1\n    successes_to_up: 1\n    max_down_fraction: 0.8\n")

        def settled():
            m = edge.metrics()
            return (edgetest.metric_sum(m, "edge_bouncer_health_mirrors", state="unhealthy") == 3 and
                    edgetest.metric_sum(m, "edge_bouncer_health_mirrors", state="healthy") == 1)
        wait_for(settled, what="3 unhealthy mirrors and 1 healthy")
        m = edge.metrics()
        assert edgetest.metric_sum(m, "edge_bouncer_health_checks_total", result="ok") >= 3
        assert edgetest.metric_sum(m, "edge_bouncer_health_checks_total", result="absent") >= 3
        assert edgetest.metric_sum(m, "edge_bouncer_health_checks_total", result="html") >= 3
        assert edgetest.metric_sum(m, "edge_bouncer_health_checks_total", result="timeout") >= 1
        assert edgetest.metric_sum(m, "edge_bouncer_health_rounds_skipped_total") == 0
        assert edgetest.metric_sum(m, "edge_bouncer_health_round_duration_seconds_count") >= 1

        # only the healthy mirror is chosen now, for every location (the absent one never)
        for os_name, lang, path in (("win", "de", "/pub/firefox/de/setup.exe"), ("osx", "en-US", "/pub/firefox/en-US/app.dmg")):
            for _ in range(20):
                name, location = redirect_mirror(edge, "Firefox", os_name, lang)
                assert name == "m-ok", name
                assert location == "http://127.0.0.1:%d%s" % (servers["ok"].port, path), location
        name, _ = redirect_mirror(edge, "Thunderbird", "linux", "en-US")
        assert name == "m-ok", name

        # the JSON admin API carries the checker's status
        status, _, body = edge.admin("GET", "/api/v1/mirrors")
        assert status == 200, (status, body)
        hc = json.loads(body)["health_check"]
        assert hc["enabled"] is True and hc["rounds"] >= 1 and hc["last_round_skipped"] is False, hc
        states = {name: m["state"] for name, m in hc["mirrors"].items()}
        assert states == {"m-ok": "healthy", "m-missing": "absent", "m-error": "unhealthy", "m-html": "unhealthy",
                          "m-hang": "unhealthy"}, states
        assert hc["mirrors"]["m-ok"]["healthy"] == 3, hc
        assert hc["mirrors"]["m-error"]["last_reason"] == "mirror root: HTTP 500", hc
        assert hc["mirrors"]["m-hang"]["last_reason"].startswith("mirror root: timeout"), hc
        assert "text/html" in hc["mirrors"]["m-html"]["last_reason"], hc
        assert hc["mirrors"]["m-missing"]["last_reason"] == "HTTP 404", hc

        msgs = mirror_log(edge)
        for k in ("error", "html", "hang"):
            assert any(msg.startswith("mirror m-%s is now unhealthy" % k) for msg in msgs), msgs
        assert any(msg.startswith("mirror m-missing is now absent") for msg in msgs), msgs
        # a state change is logged once, not every round
        assert len([msg for msg in msgs if msg.startswith("mirror m-error is now unhealthy")]) == 1, msgs

        # the broken mirror recovers, the good one breaks: redirects follow
        servers["error"].set_kind("ok")
        servers["ok"].set_kind("error")

        def swapped():
            # one round may still see both healthy (it probed m-ok before the switch): wait for both changes
            mirrors = json.loads(edge.admin("GET", "/api/v1/mirrors")[2])["health_check"]["mirrors"]
            return mirrors["m-error"]["state"] == "healthy" and mirrors["m-ok"]["state"] == "unhealthy"
        wait_for(swapped, what="the checker to see the recovered and the broken mirror")
        for _ in range(20):
            assert redirect_mirror(edge)[0] == "m-error"
        assert edge.stop() == 0
    finally:
        if edge is not None:
            edge.cleanup()
        for s in servers.values():
            s.close()


def test_quorum_guard_refuses_all_down():
    servers = [MirrorServer("ok") for _ in range(3)]
    mirrors = [("q%d" % i, s) for i, s in enumerate(servers)]
    edge = None
    try:
        edge = start_edge(mirrors, "    interval: 200ms\n    failures_to_down: 1\n    successes_to_up: 1\n")
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_mirrors", state="healthy") == 3,
                 what="3 healthy mirrors")
        for s in servers:
            s.set_kind("error")  # everything fails at once: looks like the checker's own network
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_rounds_skipped_total", reason="quorum") >= 2,
                 what="rounds skipped by the quorum guard")
        m = edge.metrics()
        assert edgetest.metric_sum(m, "edge_bouncer_health_guard_active") == 1
        assert edgetest.metric_sum(m, "edge_bouncer_health_mirrors", state="healthy") == 3
        # redirects keep using every mirror
        seen = {redirect_mirror(edge)[0] for _ in range(60)}
        assert seen == {"q0", "q1", "q2"}, seen
        skipped = [msg for msg in mirror_log(edge) if msg.startswith("round not applied (quorum)")]
        assert len(skipped) == 1, skipped  # logged once per episode

        # one mirror failing alone is believed
        for s in servers:
            s.set_kind("ok")
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_guard_active") == 0, what="guard released")
        servers[1].set_kind("error")
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_mirrors", state="unhealthy") == 1,
                 what="one unhealthy mirror")
        seen = {redirect_mirror(edge)[0] for _ in range(40)}
        assert seen == {"q0", "q2"}, seen
        assert edge.stop() == 0
    finally:
        if edge is not None:
            edge.cleanup()
        for s in servers:
            s.close()


def test_admin_write_triggers_a_round():
    good, broken = MirrorServer("ok"), MirrorServer("error")
    helpers = [MirrorServer("ok") for _ in range(2)]
    edge = None
    try:
        mirrors = [("t-good", good)] + [("t-h%d" % i, s) for i, s in enumerate(helpers)]
        edge = start_edge(mirrors, "    interval: 1h\n    failures_to_down: 1\n")
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_rounds_total") >= 1, what="the first round")
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_mirrors", state="healthy") == 3,
                 what="3 healthy mirrors")
        body = json.dumps({"name": "t-broken", "base_url": broken.url(), "weight": 100}).encode()
        status, _, reply = edge.admin("POST", "/api/v1/mirrors", body=body, headers={"Content-Type": "application/json"})
        assert status in (200, 201), (status, reply)
        # checked long before the hour is up, and taken out of the redirects
        wait_for(lambda: edgetest.metric_sum(edge.metrics(), "edge_bouncer_health_mirrors", state="unhealthy") == 1,
                 what="the new mirror checked")
        seen = {redirect_mirror(edge)[0] for _ in range(40)}
        assert "t-broken" not in seen and seen <= {"t-good", "t-h0", "t-h1"}, seen
        assert edge.stop() == 0
    finally:
        if edge is not None:
            edge.cleanup()
        for s in [good, broken] + helpers:
            s.close()


def test_stop_with_hanging_mirror():
    server = MirrorServer("hang")
    edge = None
    try:
        edge = start_edge([("slow", server)], "    timeout: 60s\n")
        wait_for(lambda: server.requests >= 1, what="the first check")
        start = time.time()
        code = edge.stop()
        assert code == 0, (code, edge.read_log()[-3000:])
        assert time.time() - start < 5, time.time() - start
    finally:
        if edge is not None:
            edge.cleanup()
        server.close()


edgetest.main(globals())
