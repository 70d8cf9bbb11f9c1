# SPDX-License-Identifier: MIT
"""The admin console (/console/, docs/console.md): how edge serves it (redirect, content types,
caching, CSP, 404, auth, the time series), then the browser tests of tests/e2e/ (node --test,
headless Debian chromium via playwright-core) against one edge running both modules, forwarding
to a python sink that the browser test can hold, release, or make refuse a crash with an HTML
answer (the dead letter that the XSS check renders).

The browser tests skip, naming the cause, only when /usr/bin/chromium or
tests/e2e/node_modules/playwright-core is missing (packaging/install-deps.sh installs both).
Screenshots go to <build>/e2e-artifacts (or $EDGE_ARTIFACTS_DIR)."""
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edgetest  # noqa: E402
import bouncertest  # noqa: E402
from collectortest import COLLECTOR_YAML, crash_id, post, simple_crash  # noqa: E402

E2E_DIR = os.path.join(edgetest.SOURCE_DIR, "tests", "e2e")
CHROMIUM = os.environ.get("EDGE_CHROMIUM", "/usr/bin/chromium")
UUID_RE = re.compile(rb'name="uuid"\r\n\r\n([a-f0-9-]{36})\r\n')
# what the sink answers for a crash whose annotations carry this marker: a permanent refusal
# whose text becomes the dead letter's reason, shown by the console
DEAD_MARKER = b"E2E-REFUSE-ME"
HOSTILE_ANSWER = b'<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>refused'


class Sink(http.server.ThreadingHTTPServer):
    """Antenna-like upstream. GET /control?hold=1 makes deliveries wait until GET /control?hold=0."""
    daemon_threads = True

    def __init__(self):
        self.released = threading.Event()
        self.released.set()
        self.delivered = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/control?hold="):
                    (sink.released.clear if self.path.endswith("=1") else sink.released.set)()
                    return self.answer(200, b"ok\n")
                return self.answer(404, b"")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                m = UUID_RE.search(body)
                if DEAD_MARKER in body:
                    return self.answer(400, HOSTILE_ANSWER)
                sink.released.wait(60)
                if m is None:
                    return self.answer(400, b"Discarded=no_uuid")
                sink.delivered.append(m.group(1).decode())
                return self.answer(200, b"CrashID=bp-" + m.group(1) + b"\n")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.shutdown()
        self.server_close()


def start_edge(sink_url=None):
    e = edgetest.Edge()
    yaml = COLLECTOR_YAML
    if sink_url is not None:
        yaml += ("  upstream:\n    kind: antenna\n    url: %s/submit\n    token: e2e-token\n"
                 "  forwarder:\n    backoff_initial: 200ms\n    backoff_max: 1s\n") % sink_url
    base = open(e.config).read()
    e.write_config(base + yaml + bouncertest.bouncer_yaml(e.dir))
    return e.start()


def get(e, path, headers=None, auth=True):
    return e.admin("GET", path, headers=headers) if auth else e.admin("GET", path, auth=None)


def test_console_files_are_served():
    e = start_edge()
    try:
        status, headers, _ = get(e, "/console")
        assert status == 301 and headers["location"] == "/console/", (status, headers)
        status, headers, body = get(e, "/console/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8", (status, headers)
        assert body == open(os.path.join(edgetest.SOURCE_DIR, "console", "index.html"), "rb").read()
        assert headers["cache-control"] == "no-cache" and headers["x-content-type-options"] == "nosniff", headers
        assert "script-src 'self'" in headers["content-security-policy"], headers
        etag = headers["etag"]
        status, _, body = get(e, "/console/", headers={"If-None-Match": etag})
        assert status == 304 and body == b"", status
        expected = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8",
                    "index.html": "text/html; charset=utf-8"}
        for name, ctype in expected.items():
            status, headers, body = get(e, "/console/" + name)
            assert status == 200 and headers["content-type"] == ctype, (name, status, headers)
            assert body == open(os.path.join(edgetest.SOURCE_DIR, "console", name), "rb").read(), name
        for path in ("/console/nope.js", "/console/../edge.yaml", "/console/sub/console.js"):
            assert get(e, path)[0] == 404, path
        assert e.admin("POST", "/console/", body=b"x")[0] == 405
        for path in ("/console/", "/console/console.js", "/api/v1/stats/timeseries"):
            status, headers, _ = get(e, path, auth=False)
            assert status == 401 and "www-authenticate" in headers, (path, status)
        assert e.request("GET", "/console/")[0] != 200  # never on the public listener
    finally:
        e.stop()
        e.cleanup()


def test_timeseries_counts_intake_and_redirects():
    e = start_edge()
    try:
        for _ in range(3):
            ct, body = simple_crash()
            status, _, answer = post(e, body, ct)
            assert status == 200, answer
            crash_id(answer)
        for _ in range(2):
            assert e.request("GET", "/?product=firefox-latest&os=win&lang=de")[0] == 302
        status, headers, body = get(e, "/api/v1/stats/timeseries")
        assert status == 200 and headers["content-type"] == "application/json", (status, headers)
        doc = json.loads(body)
        assert doc["interval_seconds"] == 60 and 1 <= len(doc["minutes"]) <= 61, doc
        last = doc["minutes"][-1]
        assert last["partial"] is True and last["t"] % 60 == 0 and last["t"] <= doc["now"] < last["t"] + 120, doc
        assert sum(m["intake"] for m in doc["minutes"]) == 3, doc
        assert sum(m["redirects"] for m in doc["minutes"]) == 2, doc
        assert sum(m["delivered"] for m in doc["minutes"]) == 0, doc
        assert e.admin("POST", "/api/v1/stats/timeseries", body=b"")[0] == 405
        assert get(e, "/api/v1/stats/timeseries/x")[0] == 404
    finally:
        e.stop()
        e.cleanup()


def browser_ready():
    if not os.path.exists(CHROMIUM):
        raise edgetest.Skip("%s not found (packaging/install-deps.sh installs Debian's chromium)" % CHROMIUM)
    if shutil.which("node") is None:
        raise edgetest.Skip("node not found (packaging/install-deps.sh)")
    if not os.path.isdir(os.path.join(E2E_DIR, "node_modules", "playwright-core")):
        if shutil.which("npm") is not None:
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=E2E_DIR, capture_output=True, timeout=300)
        if not os.path.isdir(os.path.join(E2E_DIR, "node_modules", "playwright-core")):
            raise edgetest.Skip("tests/e2e/node_modules/playwright-core not found (cd tests/e2e && npm ci)")


def test_browser():
    browser_ready()
    artifacts = os.environ.get("EDGE_ARTIFACTS_DIR") or os.path.join(os.path.dirname(os.path.dirname(edgetest.EDGE_BIN)),
                                                                      "e2e-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    sink = Sink()
    e = start_edge(sink.url)
    try:
        env = dict(os.environ, EDGE_ADMIN_URL="http://127.0.0.1:%d" % e.admin_port, EDGE_PUBLIC_URL="http://127.0.0.1:%d" % e.port,
                   EDGE_ADMIN_USER=edgetest.ADMIN_USER, EDGE_ADMIN_PASSWORD=edgetest.ADMIN_PASSWORD, EDGE_SINK_URL=sink.url,
                   EDGE_DEAD_MARKER=DEAD_MARKER.decode(), EDGE_ARTIFACTS_DIR=artifacts, EDGE_CHROMIUM=CHROMIUM)
        r = subprocess.run(["node", "--test", "--test-reporter=spec", E2E_DIR], env=env, capture_output=True, text=True,
                           timeout=170)
        output = r.stdout + r.stderr
        print(output[-6000:] if r.returncode != 0 else output[-1500:])
        assert r.returncode == 0, "node --test failed (see above); edge log:\n" + e.read_log()[-3000:]
        assert len(sink.delivered) >= 1, sink.delivered
    finally:
        e.stop()
        e.cleanup()
        sink.close()


if __name__ == "__main__":
    edgetest.main(globals())
