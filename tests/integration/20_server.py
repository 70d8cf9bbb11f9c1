# SPDX-License-Identifier: MIT
"""Server plumbing over real sockets: health endpoints, admin authentication, metrics format,
TLS with HTTP/1.1 and HTTP/2 (curl), limits and malformed requests, IPv6, CPU-local accepting."""
import os
import re
import socket
import subprocess
import time

import edgetest
from edgetest import Edge, metric_sum


def with_edge(fn, **kwargs):
    def run():
        e = Edge(**kwargs).start()
        try:
            fn(e)
        finally:
            e.stop()
            e.cleanup()
    run.__name__ = fn.__name__
    return run


def raw(port, data, read_timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading everything
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


@with_edge
def test_dockerflow(e):
    status, headers, body = e.request("GET", "/__lbheartbeat__")
    assert status == 200 and headers["content-length"] == str(len(body))
    status, headers, body = e.request("GET", "/__heartbeat__")
    assert status == 200, body
    doc = __import__("json").loads(body)
    assert doc["healthy"] is True and doc["checks"]["data_dir"]["ok"] is True
    status, headers, body = e.request("GET", "/__version__")
    doc = __import__("json").loads(body)
    assert status == 200 and doc["version"] and doc["commit"] and headers["content-type"] == "application/json"


def test_heartbeat_fails_when_disk_threshold_not_met():
    e = Edge(extra_yaml="health:\n  min_free_disk: 1000000g\n").start()
    try:
        status, _, body = e.request("GET", "/__heartbeat__")
        doc = __import__("json").loads(body)
        assert status == 503, status
        assert doc["healthy"] is False and doc["checks"]["data_dir"]["ok"] is False
        assert "free" in doc["checks"]["data_dir"]["detail"]
    finally:
        e.stop()
        e.cleanup()


@with_edge
def test_admin_requires_credentials(e):
    status, headers, _ = e.admin("GET", "/metrics", auth=None)
    assert status == 401 and headers["www-authenticate"].startswith("Basic realm=")
    status, _, _ = e.admin("GET", "/metrics", auth=("admin", "wrong"))
    assert status == 401
    status, _, _ = e.admin("GET", "/metrics", auth=("nobody", edgetest.ADMIN_PASSWORD))
    assert status == 401
    status, _, _ = e.admin("GET", "/metrics", headers={"Authorization": "Basic !!!notbase64"}, auth=None)
    assert status == 401
    status, _, _ = e.admin("GET", "/no/such/admin/path", auth=None)
    assert status == 401, "unknown admin paths must not leak without credentials"
    status, _, _ = e.admin("GET", "/no/such/admin/path")
    assert status == 404
    status, _, body = e.admin("GET", "/metrics")
    assert status == 200 and b"edge_build_info" in body
    m = e.metrics()
    assert metric_sum(m, "edge_admin_auth_failures_total") >= 4


@with_edge
def test_admin_locks_out_password_guessing(e):
    assert e.admin("GET", "/metrics")[0] == 200  # the operator logged in recently
    for _ in range(10):
        assert e.admin("GET", "/metrics", auth=("admin", "guess"))[0] == 401
    status, headers, _ = e.admin("GET", "/metrics", auth=("admin", "guess"))
    assert status == 429 and 0 < int(headers["retry-after"]) <= 60, (status, headers)
    # known-good credentials still get in; nothing else is hashed from this address meanwhile
    assert e.admin("GET", "/metrics")[0] == 200
    assert e.admin("GET", "/metrics", auth=("nobody", "x"))[0] == 429
    assert metric_sum(e.metrics(), "edge_admin_auth_failures_total", reason="locked_out") == 2


@with_edge
def test_admin_refuses_cross_site_writes(e):
    host = "127.0.0.1:%d" % e.admin_port
    status, _, _ = e.admin("POST", "/metrics", body=b"x", headers={"Origin": "https://evil.example"})
    assert status == 403, status
    status, _, _ = e.admin("POST", "/metrics", body=b"x", headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403, status
    status, _, _ = e.admin("POST", "/metrics", body=b"x", headers={"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"})
    assert status != 403, status  # the console's own requests
    status, _, _ = e.admin("GET", "/metrics", headers={"Origin": "https://evil.example"})
    assert status == 200  # reads stay allowed (the browser's same-origin policy keeps the answer from the other site)
    assert metric_sum(e.metrics(), "edge_admin_auth_failures_total", reason="cross_site") == 2


@with_edge
def test_admin_routes_not_on_public_listener(e):
    status, _, body = e.request("GET", "/metrics")
    assert status == 404, status
    assert b"edge_build_info" not in body


@with_edge
def test_metrics_format_and_counts(e):
    for _ in range(3):
        e.request("GET", "/__lbheartbeat__")
    m = e.metrics()
    assert metric_sum(m, "edge_http_requests_total", route="lbheartbeat", status="200") >= 3
    assert metric_sum(m, "edge_http_request_duration_seconds_count", route="lbheartbeat") >= 3
    assert ("edge_http_requests_in_flight", 'listener="public"') in m
    assert metric_sum(m, "edge_http_connections_accepted_total", listener="public") >= 3
    assert m[("edge_process_resident_memory_bytes", "")] > 1e6
    # histogram buckets are cumulative and end in +Inf == count
    buckets = sorted((float(l.split('le="')[1].rstrip('"').replace("+Inf", "inf")), v)
                     for (n, l), v in m.items() if n == "edge_http_request_duration_seconds_bucket" and 'route="lbheartbeat"' in l)
    values = [v for _, v in buckets]
    assert values == sorted(values) and buckets[-1][0] == float("inf")
    assert buckets[-1][1] == metric_sum(m, "edge_http_request_duration_seconds_count", route="lbheartbeat")


@with_edge
def test_malformed_http_gets_400_and_server_survives(e):
    reply = raw(e.port, b"GARBAGE\x00\x01\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    reply = raw(e.port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    assert e.request("GET", "/__lbheartbeat__")[0] == 200


@with_edge
def test_wrong_method_405_and_counted(e):
    status, headers, _ = e.request("POST", "/__heartbeat__", body=b"x")
    assert status == 405 and headers["allow"] == "GET, HEAD", (status, headers)
    status, headers, body = e.request("HEAD", "/__lbheartbeat__")
    assert status == 200 and body == b""
    assert metric_sum(e.metrics(), "edge_http_requests_total", route="heartbeat", status="405") == 1


@with_edge
def test_malformed_requests_counted(e):
    raw(e.port, b"GARBAGE\x00\x01\r\n\r\n")
    raw(e.port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
    time.sleep(0.2)
    m = e.metrics()
    assert metric_sum(m, "edge_http_connections_without_request_total", listener="public") == 2, m
    assert ("edge_http_h2o_errors_total", 'listener="public",status="400"') in m


def test_statsd_push():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(10)
    e = Edge(extra_yaml="metrics:\n  statsd:\n    address: '127.0.0.1:%d'\n    prefix: edgetest\n    interval: 200ms\n"
                        % sink.getsockname()[1]).start()
    try:
        e.request("GET", "/__lbheartbeat__")
        lines = b""
        deadline = time.time() + 10
        while b"route.lbheartbeat.status.200:" not in lines and time.time() < deadline:
            lines += sink.recv(65536)
        text = lines.decode()
        # the readiness probes of Edge.start() count too
        assert re.search(r"^edgetest\.edge_http_requests_total\.listener\.public\.route\.lbheartbeat\.status\.200:[1-9][0-9]*\|c$",
                         text, re.M), text
        assert re.search(r"^edgetest\.edge_process_resident_memory_bytes:[0-9]+\|g$", text, re.M), text
        assert re.search(r"^edgetest\.edge_build_info\.version\.", text, re.M), text
    finally:
        e.stop()
        e.cleanup()
        sink.close()


def test_access_log_combined_format():
    e = Edge(extra_yaml="")
    e.write_config(open(e.config).read().replace("shutdown_timeout: 10s", "shutdown_timeout: 10s\n  access_log: access.log"))
    e.start()
    try:
        e.request("GET", "/__version__?x=1", headers={"User-Agent": "tester/1.0", "Referer": "http://ref.example/"})
        e.stop()
        # the readiness probes' lines may be written after it (each worker logs when it is done with a request)
        lines = [ln for ln in open(os.path.join(e.dir, "access.log")).read().splitlines() if "/__version__" in ln]
        assert len(lines) == 1, lines
        line = lines[0]
        assert line.startswith("127.0.0.1 - - ["), line
        assert '"GET /__version__?x=1 HTTP/1.1" 200 ' in line and '"http://ref.example/" "tester/1.0"' in line, line
    finally:
        e.cleanup()


@with_edge
def test_oversized_headers_rejected(e):
    reply = raw(e.port, b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 600000 + b"\r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply[:100]
    assert e.request("GET", "/__lbheartbeat__")[0] == 200


def test_cpu_local_accept_stays_balanced_when_connections_crowd():
    # Each worker takes the connections whose SYN reached its CPU (SO_INCOMING_CPU). A client held
    # on one CPU is what a single-queue network card looks like: every connection would go to one
    # worker, so beyond its share that worker hands new connections to the other one.
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        raise edgetest.Skip("needs 2 CPUs")
    e = Edge(threads=2).start()
    conns = []

    def crowd(n):  # loopback SYNs are processed on the connecting CPU: hold this process on one
        os.sched_setaffinity(0, {min(allowed)})
        try:
            for _ in range(n):
                conns.append(socket.create_connection(("127.0.0.1", e.port), timeout=10))
        finally:
            os.sched_setaffinity(0, allowed)

    try:
        assert metric_sum(e.metrics(), "edge_http_connections_handed_over_total", listener="public") == 0
        crowd(64)
        deadline = time.time() + 10
        while metric_sum(e.metrics(), "edge_http_connections", listener="public") < 64:
            assert time.time() < deadline, "the 64 connections were not all accepted"
            time.sleep(0.02)
        # 32 stay together (one client's burst), then the crowded worker gives some of the rest away
        handed = metric_sum(e.metrics(), "edge_http_connections_handed_over_total", listener="public")
        assert 16 <= handed <= 32, handed
        for c in conns:  # a handed-over connection works like any other
            c.sendall(b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in conns:
            assert c.recv(4096).startswith(b"HTTP/1.1 200 "), "no answer on a connection"
        # and a stop while a crowd is still being accepted and handed over ends cleanly
        crowd(64)
        code = e.stop()
        assert code == 0, (code, e.read_log()[-3000:])
    finally:
        for c in conns:
            c.close()
        e.stop()
        e.cleanup()


def test_cpu_local_accept_off():
    e = Edge(threads=2)
    e.write_config(open(e.config).read().replace("shutdown_timeout: 10s", "shutdown_timeout: 10s\n  cpu_local_accept: false"))
    e.start()
    try:
        m = e.metrics()
        assert not any(n == "edge_http_connections_handed_over_total" for (n, _) in m), m
        assert e.request("GET", "/__lbheartbeat__")[0] == 200
    finally:
        e.stop()
        e.cleanup()


def test_oversized_body_413():
    e = Edge(extra_yaml="").start()
    try:
        e.write_config(open(e.config).read().replace("shutdown_timeout: 10s", "shutdown_timeout: 10s\n  max_request_body: 64k"))
        e.stop()
        e.start()
        reply = raw(e.port, b"POST /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 70000)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    finally:
        e.stop()
        e.cleanup()


def test_slow_client_times_out():
    e = Edge().start()
    try:
        e.write_config(open(e.config).read().replace("shutdown_timeout: 10s", "shutdown_timeout: 10s\n  request_timeout: 1s"))
        e.stop()
        e.start()
        with socket.create_connection(("127.0.0.1", e.port), timeout=10) as s:
            s.sendall(b"POST /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            start = time.time()
            data = s.recv(1000)
            # h2o closes (or answers 408) after the request timeout, never waits forever
            assert time.time() - start < 5, "slow client held the connection"
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data
        assert e.request("GET", "/__lbheartbeat__")[0] == 200
    finally:
        e.stop()
        e.cleanup()


def test_http10_without_host():
    e = Edge().start()
    try:
        reply = raw(e.port, b"GET /__lbheartbeat__ HTTP/1.0\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200") or reply.startswith(b"HTTP/1.0 200"), reply[:100]
        assert b"Content-Length: 3" in reply or b"content-length: 3" in reply
    finally:
        e.stop()
        e.cleanup()


def test_tls_http1_and_http2_with_curl():
    e = Edge()
    cert, key = edgetest.make_cert(e.dir)
    tls_port, h2_port = edgetest.free_port(), edgetest.free_port()
    e.write_config(
        "server:\n  threads: 2\n  listen:\n    - '127.0.0.1:{port}'\n"
        "    - {address: '127.0.0.1:%d', tls: {certificate: server.crt, key: server.key}}\n"
        "    - {address: '127.0.0.1:%d', tls: {certificate: server.crt, key: server.key}, http2: true}\n"
        "admin:\n  listen: '127.0.0.1:{admin_port}'\n  htpasswd: htpasswd\nstorage:\n  data_dir: data\n" % (tls_port, h2_port))
    e.start()
    try:
        def curl(port, *args):
            r = subprocess.run(["curl", "-sS", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                                *args, "https://127.0.0.1:%d/__lbheartbeat__" % port], capture_output=True, text=True, timeout=20)
            assert r.returncode == 0, r.stderr
            return r.stdout
        assert curl(tls_port, "--http1.1") == "200 1.1"
        # a listener without http2 never negotiates h2, even when the client asks for it
        assert curl(tls_port, "--http2") == "200 1.1"
        assert curl(h2_port, "--http2") == "200 2"
        assert curl(h2_port, "--http1.1") == "200 1.1"
        # TLS 1.1 and below are refused
        r = subprocess.run(["curl", "-sS", "--cacert", cert, "--tls-max", "1.1", "https://127.0.0.1:%d/" % tls_port],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode != 0
    finally:
        e.stop()
        e.cleanup()


def test_ipv6_listener():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        raise edgetest.Skip("no IPv6 loopback")
    e = Edge()
    port6 = edgetest.free_port()
    e.write_config("server:\n  listen: ['127.0.0.1:{port}', '[::1]:%d']\nadmin:\n  listen: '127.0.0.1:{admin_port}'\n"
                   "  htpasswd: htpasswd\nstorage:\n  data_dir: data\n" % port6)
    e.start()
    try:
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://[::1]:%d/__lbheartbeat__" % port6],
                           capture_output=True, text=True, timeout=10)
        assert r.stdout == "200", r.stdout + r.stderr
    finally:
        e.stop()
        e.cleanup()


def test_max_connections():
    e = Edge()
    e.write_config(open(e.config).read().replace("shutdown_timeout: 10s", "shutdown_timeout: 10s\n  max_connections: 3"))
    e.start()
    try:
        # four connections against a limit of three: exactly one is closed unanswered (which one
        # depends on the order the two workers accept them)
        conns = []
        for _ in range(4):
            conns.append(socket.create_connection(("127.0.0.1", e.port), timeout=5))
            time.sleep(0.1)
        answers = []
        for s in conns:
            try:
                s.sendall(b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n")
                answers.append(s.recv(100))
            except (ConnectionResetError, BrokenPipeError):
                answers.append(b"")
        assert sorted(a.startswith(b"HTTP/1.1 200") for a in answers) == [False, True, True, True], answers
        for s in conns:
            s.close()
        time.sleep(0.3)
        assert e.request("GET", "/__lbheartbeat__")[0] == 200
        assert metric_sum(e.metrics(), "edge_http_connections_refused_total", listener="public") >= 1
    finally:
        e.stop()
        e.cleanup()


if __name__ == "__main__":
    edgetest.main(globals())
