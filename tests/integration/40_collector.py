# SPDX-License-Identifier: MIT
"""Crash collector over real sockets: every malformed case of the protocol reference with its exact
status and body, valid uploads in the shapes real clients send (curl -F, gzip, chunked like
Crashpad, HTTP/1.0 without Host, HTTP/2 over TLS, Firefox JSON extra), real minidumps checked
byte for byte through `edge spool show`, client-chosen crash ids, size limits, a gzip bomb,
10,000 parts, throttle rules, clients that vanish, and the metrics."""
import gzip
import os
import socket
import subprocess
import tempfile
import time
import zlib

import edgetest
from edgetest import Edge, metric_sum
from collectortest import (COLLECTOR_YAML, assert_clean_exit, chunked, crash_id, minidumps, multipart, post, raw_http, sha256, simple_crash,
                           spool_cmd, stored_raw_crash)

TOKEN = "test-submitter-token-0123456789abcdef"
YAML = COLLECTOR_YAML + """  submitter_token: "%s"
  throttle:
    rules:
      - name: reject_nightly
        key: ReleaseChannel
        equals: nightly
        result: REJECT
      - name: fake_thunderbird
        key: ProductName
        equals: Thunderbird
        result: FAKEACCEPT
      - name: accept_everything
        always: true
        result: ACCEPT
""" % TOKEN

EDGE = None


def edge():
    global EDGE
    if EDGE is None:
        EDGE = Edge(extra_yaml=YAML).start()
    return EDGE


def expect(status, body, got):
    assert got[0] == status and got[2] == body, (got[0], got[2])
    assert got[1]["content-type"].startswith("text/plain"), got[1]
    assert int(got[1]["content-length"]) == len(body), got[1]


def test_malformed_cases():
    e = edge()
    ct, good = simple_crash()
    cases = [
        (None, good, {}, b"Discarded=malformed_no_content_type"),
        ("", good, {}, b"Discarded=malformed_no_content_type"),
        ("application/json", b"{}", {}, b"Discarded=malformed_wrong_content_type"),
        ("multipart/form-data", good, {}, b"Discarded=malformed_no_boundary"),
        (ct, b"", {}, b"Discarded=malformed_no_content_length"),
        (ct, b"this is not gzip", {"Content-Encoding": "gzip"}, b"Discarded=malformed_bad_gzip"),
        (ct, b"garbage without any boundary", {}, b"Discarded=malformed_invalid_payload_structure"),
        (ct, good[:len(good) // 2], {}, b"Discarded=malformed_invalid_payload_structure"),
    ]
    for content_type, body, headers, answer in cases:
        expect(400, answer, post(e, body, content_type, headers))
    # JSON extra that is not JSON / not an object
    b = "bnd123"
    not_json = ("--%s\r\nContent-Disposition: form-data; name=\"extra\"; filename=\"extra.json\"\r\n"
                "Content-Type: application/json\r\n\r\n{not json\r\n--%s--\r\n" % (b, b)).encode()
    expect(400, b"Discarded=malformed_invalid_json", post(e, not_json, "multipart/form-data; boundary=" + b))
    ct, body = multipart(json_extra=[1, 2, 3])
    expect(400, b"Discarded=malformed_invalid_json_value", post(e, body, ct))
    ct, body = multipart(fields=[("ProductName", "Firefox")], dumps=[("dump_names", b"x")])
    expect(400, b"Discarded=malformed_invalid_dump_name", post(e, body, ct))
    ct, body = multipart(dumps=[("upload_file_minidump", b"MDMP")])
    expect(400, b"Discarded=malformed_no_annotations", post(e, body, ct))
    ct, body = multipart(json_extra={})
    expect(400, b"Discarded=malformed_no_annotations", post(e, body, ct))
    m = e.metrics()
    assert metric_sum(m, "edge_collector_malformed_total", reason="no_content_type") == 2, m
    assert metric_sum(m, "edge_collector_malformed_total", reason="invalid_payload_structure") == 2
    assert metric_sum(m, "edge_collector_malformed_total") == 13


def test_method_not_allowed():
    e = edge()
    status, headers, body = e.request("GET", "/submit")
    assert status == 405 and headers["allow"] == "POST", (status, headers)


def test_curl_form_upload_and_stored_copy():
    e = edge()
    with tempfile.NamedTemporaryFile(suffix=".dmp") as f:
        dump = os.urandom(300000)
        f.write(dump)
        f.flush()
        out = subprocess.run(["curl", "-sS", "-H", "Expect: 100-continue", "-F", "ProductName=Firefox", "-F", "Version=120.0",
                              "-F", "upload_file_minidump=@%s;type=application/octet-stream" % f.name,
                              "http://127.0.0.1:%d/submit?product=Firefox&version=120.0" % e.port],
                             capture_output=True, timeout=30)
    cid = crash_id(out.stdout)
    assert cid.endswith("0" + time.strftime("%y%m%d", time.gmtime())), cid
    raw = stored_raw_crash(e, cid)
    assert raw["ProductName"] == "Firefox" and raw["uuid"] == cid and raw["version"] == 2, raw
    assert raw["metadata"]["dump_checksums"] == {"upload_file_minidump": sha256(dump)}, raw
    assert raw["metadata"]["user_agent"].startswith("curl/"), raw
    assert raw["metadata"]["throttle_rule"] == "accept_everything"


def test_gzip_body():
    e = edge()
    dump = os.urandom(5000)
    ct, body = simple_crash(dump=dump)
    z = gzip.compress(body)
    status, _, answer = post(e, z, ct, {"Content-Encoding": "gzip"})
    assert status == 200, (status, answer)
    raw = stored_raw_crash(e, crash_id(answer))
    assert raw["metadata"]["payload_compressed"] == "1" and raw["metadata"]["payload_size"] == len(z), raw
    assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == sha256(dump)
    assert metric_sum(e.metrics(), "edge_collector_gzipped_crashes_total") >= 1


def test_chunked_like_crashpad():
    e = edge()
    dump = os.urandom(40000)
    # Crashpad: parts without Content-Type, sorted by name, gzip, chunked, no Content-Length
    b = "---MultipartBoundary-0123456789abcdef---"
    parts = [("prod", b"Electron"), ("ver", b"28.0.0")]
    body = b"".join(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (b, n)).encode() + v + b"\r\n"
                    for n, v in parts)
    body += ("--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"x.dmp\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n" % b).encode() + dump + ("\r\n--%s--\r\n" % b).encode()
    z = gzip.compress(body)
    req = (b"POST /submit?product=Electron&version=28.0.0&guid=abc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: multipart/form-data; boundary=" + b.encode() + b"\r\nContent-Encoding: gzip\r\n"
           b"Transfer-Encoding: chunked\r\nUser-Agent: Crashpad/0.8.0\r\nConnection: close\r\n\r\n" + chunked(z))
    status, headers, answer = raw_http(e.port, req)
    assert status == 200, (status, answer)
    raw = stored_raw_crash(e, crash_id(answer))
    assert raw["prod"] == "Electron" and raw["metadata"]["user_agent"] == "Crashpad/0.8.0", raw
    assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == sha256(dump)


def test_http10_without_host():
    e = edge()
    ct, body = simple_crash()
    req = (b"POST /submit HTTP/1.0\r\nContent-Type: " + ct.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    status, headers, answer = raw_http(e.port, req)
    assert status == 200, (status, answer)
    crash_id(answer)


def test_firefox_json_extra():
    e = edge()
    dump = os.urandom(1000)
    ct, body = multipart(json_extra={"ProductName": "Firefox", "Version": "121.0", "Email": "a@b.c", "Throttleable": "1"},
                         dumps=[("upload_file_minidump", dump), ("upload_file_minidump_browser", b"MDMPbrowser")])
    status, _, answer = post(e, body, ct, {"User-Agent": "Mozilla/5.0 Firefox"})
    assert status == 200, answer
    raw = stored_raw_crash(e, crash_id(answer))
    assert "Email" not in raw and "Removed Email from raw crash." in raw["metadata"]["collector_notes"], raw
    assert raw["metadata"]["dump_checksums"] == {"upload_file_minidump": sha256(dump),
                                                 "upload_file_minidump_browser": sha256(b"MDMPbrowser")}, raw


def test_real_minidumps():
    dumps = minidumps()
    if not dumps:
        raise edgetest.Skip("no minidumps in $EDGE_SHARED_DIR/testdata/minidumps")
    e = edge()
    for path in dumps:
        with open(path, "rb") as f:
            data = f.read()
        ct, body = simple_crash(dump=data)
        status, _, answer = post(e, gzip.compress(body), ct, {"Content-Encoding": "gzip"})
        assert status == 200, (path, status, answer)
        raw = stored_raw_crash(e, crash_id(answer))
        assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == sha256(data), path


def test_client_chosen_uuid():
    e = edge()
    wanted = "0bba61c5-4f16-4cae-9cbc-6d9bb0" + time.strftime("%y%m%d", time.gmtime())
    ct, body = simple_crash(uuid=wanted)
    expect(401, b"Discarded=unauthorized_uuid", post(e, body, ct))
    expect(401, b"Discarded=unauthorized_uuid", post(e, body, ct, {"Authorization": "Bearer wrong-token-0123456789"}))
    ct_bad, body_bad = simple_crash(uuid="not-a-uuid")
    expect(400, b"Discarded=malformed_invalid_uuid", post(e, body_bad, ct_bad, {"Authorization": "Bearer " + TOKEN}))
    expect(200, b"CrashID=bp-" + wanted.encode() + b"\n", post(e, body, ct, {"Authorization": "Bearer " + TOKEN}))
    assert stored_raw_crash(e, wanted)["uuid"] == wanted
    # a retry of the same id (a forwarding edge that lost the answer) is acknowledged again
    expect(200, b"CrashID=bp-" + wanted.encode() + b"\n", post(e, body, ct, {"Authorization": "Bearer " + TOKEN}))


def test_throttle_rules():
    e = edge()
    ct, body = simple_crash(ReleaseChannel="nightly")
    expect(200, b"Discarded=rule_reject_nightly", post(e, body, ct))
    ct, body = multipart(fields=[("ProductName", "Thunderbird")], dumps=[("upload_file_minidump", b"MDMP")])
    status, _, answer = post(e, body, ct)
    cid = crash_id(answer)
    assert cid[-7] == "3", cid
    assert stored_raw_crash(e, cid) is None  # fake-accepted: nothing stored
    m = e.metrics()
    assert metric_sum(m, "edge_collector_throttle_total", rule="reject_nightly", result="reject") >= 1
    assert metric_sum(m, "edge_collector_throttle_total", rule="fake_thunderbird", result="fakeaccept") >= 1


def test_too_large_on_the_wire():
    e = edge()
    ct, body = simple_crash(dump=os.urandom(3 << 20))
    expect(413, b"Discarded=too_large", post(e, body, ct))
    # chunked too (no Content-Length to check up front)
    req = (b"POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n" + chunked(body, 65536))
    status, _, answer = raw_http(e.port, req)
    assert (status, answer) == (413, b"Discarded=too_large"), (status, answer)
    assert metric_sum(e.metrics(), "edge_collector_save_crash_dropped_total", reason="too_large") >= 2


def test_gzip_bomb():
    e = edge()
    ct, body = simple_crash(dump=b"\x00" * (64 << 20))
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    z = co.compress(body) + co.flush()
    assert len(z) < (1 << 20), len(z)
    expect(413, b"Discarded=too_large", post(e, z, ct, {"Content-Encoding": "gzip"}))
    assert e.request("GET", "/__lbheartbeat__")[0] == 200


def test_ten_thousand_parts():
    e = edge()
    fields = [("ProductName", "Firefox")] + [("Annotation%05d" % i, "v%d" % i) for i in range(10000)]
    ct, body = multipart(fields=fields, dumps=[("upload_file_minidump", b"MDMP")])
    status, _, answer = post(e, body, ct)
    assert status == 200, answer
    raw = stored_raw_crash(e, crash_id(answer))
    assert raw["Annotation09999"] == "v9999" and len(raw) == 10001 + 4, len(raw)


def test_http2_over_tls():
    d = tempfile.mkdtemp(prefix="edge-it-cert-")
    cert, key = edgetest.make_cert(d)
    yaml = ("server:\n  threads: 2\n  listen:\n    - address: \"127.0.0.1:{port}\"\n      tls: {certificate: %s, key: %s}\n"
            "      http2: true\n  shutdown_timeout: 10s\n"
            "admin:\n  listen: \"127.0.0.1:{admin_port}\"\n  htpasswd: htpasswd\nstorage:\n  data_dir: data\n"
            % (cert, key)) + "collector:\n  max_body_size: 30m\n"
    e = Edge(yaml=yaml)
    try:
        e.proc = None
        e.start(wait=False)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", e.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        with tempfile.NamedTemporaryFile(suffix=".dmp") as f:
            dump = os.urandom(200000)
            f.write(dump)
            f.flush()
            out = subprocess.run(["curl", "-sS", "--http2", "--cacert", cert, "-w", "\n%{http_version}", "-F", "ProductName=Firefox",
                                  "-F", "upload_file_minidump=@" + f.name, "https://127.0.0.1:%d/submit" % e.port],
                                 capture_output=True, timeout=30)
        answer, _, version = out.stdout.rpartition(b"\n")
        assert version == b"2", (out.stdout, out.stderr)
        raw = stored_raw_crash(e, crash_id(answer + b"\n"))
        assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == sha256(dump)
        http2_clients_vanish(e, cert, d)
        assert_clean_exit(e, e.stop())
    finally:
        e.stop()
        e.cleanup()
        subprocess.run(["rm", "-rf", d])


def http2_clients_vanish(e, cert, d):
    """HTTP/2 clients that give up while their crash is being committed: the stream (and request)
    is disposed while the spool job is pending. The answer must be dropped safely (ASan checks the
    use-after-free that a missing dispose hook would cause), the crash stays stored."""
    big = os.path.join(d, "big.dmp")
    with open(big, "wb") as f:
        f.write(os.urandom(12 << 20))
    cmd = ["curl", "-sS", "--http2", "--cacert", cert, "-o", "/dev/null", "-F", "ProductName=Firefox",
           "-F", "upload_file_minidump=@" + big, "https://127.0.0.1:%d/submit" % e.port]
    start = time.time()
    subprocess.run(cmd, check=True, timeout=60)
    full = time.time() - start
    gone = 0
    for attempt in range(2):
        # sweep the client's deadline across the upload: some give up while the crash is committed
        for i in range(24):
            subprocess.run(cmd[:1] + ["--max-time", "%.3f" % (full * (0.3 + i * 0.03))] + cmd[1:], stderr=subprocess.DEVNULL,
                           timeout=60)
        time.sleep(0.5)
        m = e.metrics()
        gone = metric_sum(m, "edge_collector_client_gone_total")
        if gone > 0:
            break
    assert gone > 0, "no client left while its crash was being committed"
    assert metric_sum(m, "edge_collector_pending_bytes") == 0
    assert metric_sum(m, "edge_collector_save_crash_total") >= gone + 1
    assert e.proc.poll() is None


def test_client_vanishes():
    e = edge()
    ct, body = simple_crash(dump=os.urandom(1 << 20))
    head = b"POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
    # mid-upload: half the body, then close
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", e.port))
        s.sendall(head + body[:len(body) // 2])
        s.close()
    # whole body, then close before the answer can arrive (RST with SO_LINGER 0)
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", e.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(head + body)
        s.close()
    time.sleep(1)
    status, _, answer = post(e, *reversed(simple_crash()))
    assert status == 200, answer
    assert e.proc.poll() is None
    m = e.metrics()
    assert metric_sum(m, "edge_collector_pending_bytes") == 0, m


def test_metrics_move():
    e = edge()
    before = e.metrics()
    ct, body = simple_crash()
    for _ in range(3):
        assert post(e, body, ct)[0] == 200
    after = e.metrics()
    for name in ("edge_collector_incoming_crashes_total", "edge_collector_save_crash_total"):
        assert metric_sum(after, name) - metric_sum(before, name) == 3, name
    assert metric_sum(after, "edge_collector_save_crash_seconds_count") - metric_sum(before, "edge_collector_save_crash_seconds_count") == 3
    assert metric_sum(after, "edge_collector_spool_backlog") >= 3
    assert metric_sum(after, "edge_collector_crash_size_bytes_count", payload="uncompressed") >= 3
    status, _, body = e.request("GET", "/__heartbeat__")
    assert status == 200 and b"spool_writable" in body, body


def test_routes_next_to_the_bouncer():
    """With both modules enabled (the default config), POST /submit and /api/v1/spool must reach
    the collector although the bouncer registers "/" (public) and "/api/" (admin) first."""
    e = Edge(extra_yaml=COLLECTOR_YAML + "bouncer:\n  health_check: {enabled: false}\n")
    try:
        e.start()
        ct, body = simple_crash()
        status, _, answer = post(e, body, ct)
        spool_status = e.admin("GET", "/api/v1/spool")[0]
        if status == 302 or spool_status != 200:
            # h2o 2.2.5 takes the FIRST registered path that matches (lib/core/request.c,
            # process_hosted_request), not the longest: the server must order paths longest first.
            raise edgetest.Skip("routing shadowed by the bouncer (submit %d, spool %d): server must sort paths" %
                                (status, spool_status))
        assert status == 200, answer
        crash_id(answer)
        assert_clean_exit(e, e.stop())
    finally:
        e.cleanup()


def test_zz_clean_shutdown():
    global EDGE
    e = edge()
    assert_clean_exit(e, e.stop())
    e.cleanup()
    EDGE = None


edgetest.main(globals())
