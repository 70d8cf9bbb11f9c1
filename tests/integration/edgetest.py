# SPDX-License-Identifier: MIT
"""Harness for integration tests: starts the real edge binary from a generated config in a
temporary directory on free loopback ports, and talks to it over real sockets.

Each test file is a plain script: it defines test_* functions and calls edgetest.main(globals()),
which runs them in order, prints one line per test and a closing "N passed, N failed" line.
"""
import base64
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

EDGE_BIN = os.path.abspath(os.environ.get("EDGE_BIN", "build/bin/edge"))
SOURCE_DIR = os.environ.get("EDGE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED_DIR = os.environ.get("EDGE_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
ADMIN_USER, ADMIN_PASSWORD = "admin", "s3cret-pass"


class Skip(Exception):
    pass


PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range, so client sockets never take one
PORT_COUNTER = os.path.join(tempfile.gettempdir(), "edge-it-next-port")


def free_port():
    """A loopback port no other test of this run was given. Ports from bind(0) are free only until
    closed: two tests running in parallel could be handed the same one, and edge would then refuse
    to start. So ports come from one counter shared by all test processes (under flock)."""
    with open(PORT_COUNTER, "a+") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)
        counter.seek(0)
        text = counter.read().strip()
        port = int(text) if text.isdigit() else PORT_RANGE[0] + os.getpid() % 1000
        for _ in range(PORT_RANGE[1] - PORT_RANGE[0]):
            port = port + 1 if PORT_RANGE[0] <= port < PORT_RANGE[1] else PORT_RANGE[0]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            counter.seek(0)
            counter.truncate()
            counter.write(str(port))
            return port
    raise AssertionError("no free loopback port in %s" % (PORT_RANGE,))


def htpasswd_line(user, password):
    out = subprocess.run(["htpasswd", "-nbB", "-C", "5", user, password], check=True, capture_output=True, text=True)
    return out.stdout.strip() + "\n"


def make_cert(directory, name="server"):
    """Self-signed certificate for 127.0.0.1 / localhost; returns (cert, key) paths."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Edge:
    """One edge process. yaml is the config text with {port}, {admin_port}, {dir} placeholders."""

    def __init__(self, yaml=None, extra_yaml="", threads=2, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="edge-it-")
        self.port, self.admin_port = free_port(), free_port()
        with open(os.path.join(self.dir, "htpasswd"), "w") as f:
            f.write(htpasswd_line(ADMIN_USER, ADMIN_PASSWORD))
        if yaml is None:
            yaml = ("server:\n  threads: {threads}\n  listen: [\"127.0.0.1:{port}\"]\n  shutdown_timeout: 10s\n"
                    "admin:\n  listen: \"127.0.0.1:{admin_port}\"\n  htpasswd: htpasswd\n"
                    "storage:\n  data_dir: data\n") + extra_yaml
        self.config = os.path.join(self.dir, "edge.yaml")
        self.write_config(yaml, threads=threads)
        self.proc = None
        self.log_path = os.path.join(self.dir, "edge.log")

    def write_config(self, yaml, threads=2):
        with open(self.config, "w") as f:
            f.write(yaml.replace("{port}", str(self.port)).replace("{admin_port}", str(self.admin_port))
                    .replace("{dir}", self.dir).replace("{threads}", str(threads)))

    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([EDGE_BIN, "--config", self.config], stdout=self.log, stderr=self.log, cwd=self.dir)
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("edge exited early with %s:\n%s" % (self.proc.returncode, self.read_log()))
                try:
                    if self.request("GET", "/__lbheartbeat__")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise AssertionError("edge did not become ready:\n" + self.read_log())
        return self

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        return [json.loads(line) for line in self.read_log().splitlines() if line.startswith("{")]

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("edge did not stop within %ss" % timeout)
        self.log.close()
        self.proc = None
        return code

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, port=None, auth=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def admin(self, method, path, body=None, headers=None, auth=(ADMIN_USER, ADMIN_PASSWORD)):
        return self.request(method, path, body=body, headers=headers, port=self.admin_port, auth=auth)

    def metrics(self):
        status, _, body = self.admin("GET", "/metrics")
        assert status == 200, status
        return parse_metrics(body.decode())


def parse_metrics(text):
    """Parses the Prometheus text format strictly enough to catch format errors: {(name, labels): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line == "" or line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        name_labels, value = line.rsplit(" ", 1)
        float(value)
        if "{" in name_labels:
            name, labels = name_labels.split("{", 1)
            assert labels.endswith("}"), line
            labels = labels[:-1]
        else:
            name, labels = name_labels, ""
        out[(name, labels)] = float(value)
    return out


def metric_sum(metrics, name, **labels):
    total = 0.0
    for (n, l), v in metrics.items():
        if n != name:
            continue
        if all('%s="%s"' % (k, val) in l for k, val in labels.items()):
            total += v
    return total


def main(namespace):
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        start = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.time() - start), flush=True)
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)
