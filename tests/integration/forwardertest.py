# SPDX-License-Identifier: MIT
"""Helpers shared by the forwarder integration tests (50-59): a python3 upstream collector ("sink")
that can be told to fail in every way that matters (5xx, 429, 400, hang, connection reset, wrong
answer), the s3rver launcher, YAML for a forwarding edge, and polling helpers."""
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

import edgetest
from collectortest import COLLECTOR_YAML

UUID_RE = re.compile(rb'name="uuid"\r\n\r\n([a-f0-9-]{36})\r\n|"uuid": ?"([a-f0-9-]{36})"')


def wait_for(predicate, timeout=30, step=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def spool_status(e):
    status, _, body = e.admin("GET", "/api/v1/spool")
    assert status == 200, (status, body)
    return json.loads(body)


def heartbeat(e):
    status, _, body = e.request("GET", "/__heartbeat__")
    return status, json.loads(body)


def forwarding_yaml(upstream_yaml, forwarder_yaml=""):
    """The collector section of a forwarding edge; upstream_yaml/forwarder_yaml are indented by 4."""
    out = COLLECTOR_YAML + "  upstream:\n" + upstream_yaml
    if forwarder_yaml:
        out += "  forwarder:\n" + forwarder_yaml
    return out


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients killed mid-request (SIGKILL tests) are expected


class Sink:
    """An Antenna-like upstream on 127.0.0.1. `modes` is a list consumed one request at a time
    (the last one sticks): "ok", "500", "429", "400", "hang", "reset", "wrong", "redirect".
    `received[crash_id]` counts successful deliveries (answered CrashID=bp-<id>)."""

    def __init__(self, modes=("ok",)):
        self.lock = threading.Lock()
        self.modes = list(modes)
        self.received = {}
        self.requests = 0
        self.auth = []
        self.release = threading.Event()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                m = UUID_RE.search(body)
                cid = (m.group(1) or m.group(2)).decode() if m else None
                with sink.lock:
                    mode = sink.modes[0] if len(sink.modes) == 1 else sink.modes.pop(0)
                    sink.requests += 1
                    sink.auth.append(self.headers.get("Authorization"))
                if mode == "hang":
                    sink.release.wait(30)
                    self.close_connection = True
                    return
                if mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                status, answer = 200, b""
                if mode == "ok" and cid is not None:
                    answer = ("CrashID=bp-%s\n" % cid).encode()
                    with sink.lock:
                        sink.received[cid] = sink.received.get(cid, 0) + 1
                elif mode == "wrong":
                    answer = b"CrashID=bp-00000000-0000-4000-8000-000000250101\n"
                elif mode == "redirect":
                    status, answer = 302, b""
                elif mode in ("500", "429", "400"):
                    status, answer = int(mode), ("Discarded=sink_says_%s" % mode).encode()
                else:
                    status, answer = 400, b"Discarded=no_uuid"
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/submit" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_modes(self, *modes):
        with self.lock:
            self.modes = list(modes)

    def count(self):
        with self.lock:
            return dict(self.received)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class S3Server:
    """s3rver (tests/integration/s3server) on a free port, with the bucket `crashes`. Keys S3RVER/S3RVER."""

    def __init__(self, directory):
        here = os.path.join(edgetest.SOURCE_DIR, "tests", "integration", "s3server")
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise edgetest.Skip("node/npm not installed (packaging/install-deps.sh)")
        if not os.path.isdir(os.path.join(here, "node_modules", "@20minutes", "s3rver")):
            out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=here, capture_output=True, timeout=300)
            if out.returncode != 0:
                raise edgetest.Skip("npm ci failed: %s" % out.stderr.decode()[-500:])
        self.port = edgetest.free_port()
        self.dir = os.path.join(directory, "s3data")
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(directory, "s3rver.log"), "wb")
        self.proc = subprocess.Popen(["node", os.path.join(here, "server.js"), str(self.port), self.dir, "crashes"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready"), line
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, key, bucket="crashes"):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/%s/%s" % (bucket, key))
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
