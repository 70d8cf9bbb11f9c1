# SPDX-License-Identifier: MIT
"""Helpers shared by the collector integration tests (40-49): multipart bodies shaped like real
crash clients, raw HTTP/1.x over a socket (chunked bodies, HTTP/1.0 without Host), the answer
parser, and `edge spool` on the test's config."""
import hashlib
import json
import os
import re
import socket
import subprocess
import uuid

import edgetest

CRASH_ID_RE = re.compile(rb"^CrashID=bp-([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6})\n$")

COLLECTOR_YAML = "collector:\n  max_body_size: 2m\n  max_inflated_size: 4m\n"


def multipart(fields=(), dumps=(), json_extra=None, boundary=None):
    """fields: [(name, text)], dumps: [(name, bytes)], json_extra: dict sent as one `extra` JSON part.
    Returns (content_type, body)."""
    boundary = boundary or ("----edgetest" + uuid.uuid4().hex)
    out = []
    for name, value in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name)).encode())
        out.append(value.encode() if isinstance(value, str) else value)
        out.append(b"\r\n")
    if json_extra is not None:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"extra\"; filename=\"extra.json\"\r\n"
                    "Content-Type: application/json\r\n\r\n" % boundary).encode())
        out.append(json.dumps(json_extra).encode())
        out.append(b"\r\n")
    for name, data in dumps:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s.dmp\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, name)).encode())
        out.append(data)
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return "multipart/form-data; boundary=" + boundary, b"".join(out)


def simple_crash(dump=b"MDMP\x93\xa7" + b"\x00" * 64, **extra_fields):
    fields = [("ProductName", "Firefox"), ("Version", "120.0"), ("ReleaseChannel", "release")]
    fields += list(extra_fields.items())
    return multipart(fields=fields, dumps=[("upload_file_minidump", dump)])


def post(e, body, content_type, headers=None, path="/submit", timeout=30):
    h = {"Content-Type": content_type} if content_type is not None else {}
    h.update(headers or {})
    return e.request("POST", path, body=body, headers=h, timeout=timeout)


def crash_id(body):
    m = CRASH_ID_RE.match(body)
    assert m, body
    return m.group(1).decode()


def submit(e, n, **fields):
    """Posts n simple crashes; each must be acknowledged. Returns their crash ids."""
    ids = []
    for _ in range(n):
        ct, body = simple_crash(**fields)
        status, _, answer = post(e, body, ct)
        assert status == 200, answer
        ids.append(crash_id(answer))
    return ids


def raw_http(port, data, timeout=20):
    """Sends raw bytes, reads until the server closes or the timeout; returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                resp = b"".join(chunks)
                parsed = parse_response(resp)
                if parsed is not None:
                    return parsed
        except (socket.timeout, ConnectionResetError):
            pass
    parsed = parse_response(b"".join(chunks))
    assert parsed is not None, b"".join(chunks)
    return parsed


def parse_response(resp):
    """Parses one HTTP/1.x response with a Content-Length; None while incomplete."""
    head, sep, rest = resp.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    if status == 100:
        return parse_response(rest)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    assert "transfer-encoding" not in headers, headers  # Crashpad cannot read chunked answers
    n = int(headers["content-length"])
    if len(rest) < n:
        return None
    return status, headers, rest[:n]


def chunked(body, size=7000):
    out = []
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def spool_cmd(e, *args):
    return subprocess.run([edgetest.EDGE_BIN, "--config", e.config, "spool"] + list(args), capture_output=True, cwd=e.dir,
                          timeout=60)


def stored_raw_crash(e, cid):
    """The raw crash JSON `edge spool show` prints, or None when the crash is not in the spool."""
    out = spool_cmd(e, "show", cid)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def minidumps():
    d = os.path.join(edgetest.SHARED_DIR, "testdata", "minidumps")
    if not os.path.isdir(d):
        return []
    return [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".dmp")]


def assert_clean_exit(e, code):
    """Exit status 0, no sanitizer error, no leak from collector code. (Leak reports that only name
    h2o's per-thread contexts come from the server, which does not dispose them, and are left to it.)"""
    log = e.read_log()
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-6000:]
    if code != 0:
        assert "LeakSanitizer" in log and "collector/" not in log.split("LeakSanitizer", 1)[1], (code, log[-6000:])
