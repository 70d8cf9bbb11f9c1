# SPDX-License-Identifier: MIT
"""The shipped default configuration (data/edge.yaml, as the README's run command uses it), both
modules together: redirects, crash intake, health and admin on one process. Also a regression
test for route order: the bouncer's "/" must not shadow the collector's "/submit"."""
import os
import shutil
import socket
import subprocess
import tempfile

import edgetest
from edgetest import Edge


def default_edge():
    d = tempfile.mkdtemp(prefix="edge-default-")
    shutil.copytree(os.path.join(edgetest.SOURCE_DIR, "data"), os.path.join(d, "data"),
                    ignore=shutil.ignore_patterns("var"))
    e = Edge(directory=d)
    text = open(os.path.join(d, "data", "edge.yaml")).read()
    text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % e.port).replace("127.0.0.1:9090", "127.0.0.1:%d" % e.admin_port)
    e.config = os.path.join(d, "data", "edge.yaml")
    with open(e.config, "w") as f:
        f.write(text)
    return e


def multipart(fields, boundary="xYzBoUnDaRy"):
    out = b""
    for name, value, filename in fields:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n"
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", "multipart/form-data; boundary=" + boundary


def test_default_config_serves_redirects_and_crashes():
    e = default_edge().start()
    try:
        status, headers, _ = e.request("GET", "/?product=firefox-latest-ssl&os=win64&lang=de")
        assert status == 302 and headers["location"].startswith("https://"), (status, headers)
        body, ctype = multipart([("ProductName", b"Test", None), ("Version", b"1.0", None),
                                 ("upload_file_minidump", b"MDMP" + b"\0" * 200, "x.dmp")])
        status, _, answer = e.request("POST", "/submit", body=body, headers={"Content-Type": ctype})
        assert status == 200 and answer.startswith(b"CrashID=bp-"), (status, answer)
        crash_id = answer.decode().strip()[len("CrashID=bp-"):]
        status, _, hb = e.request("GET", "/__heartbeat__")
        assert status == 200, hb
        for check in (b"data_dir", b"catalog_snapshot", b"spool_writable"):
            assert check in hb, hb
        r = subprocess.run([edgetest.EDGE_BIN, "spool", "show", crash_id, "--config", e.config],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and crash_id in r.stdout, r.stdout + r.stderr
        assert e.admin("GET", "/metrics")[0] == 401  # the shipped htpasswd has other credentials
        assert e.admin("GET", "/metrics", auth=("admin", "change-me"))[0] == 200
    finally:
        e.stop()
        e.cleanup()


if __name__ == "__main__":
    edgetest.main(globals())
