# SPDX-License-Identifier: MIT
"""Configuration: --check-config, --version, and clear errors that name the file, line and key."""
import os
import subprocess
import tempfile

import edgetest
from edgetest import EDGE_BIN, Edge


def check(yaml_text, extra_files=None):
    d = tempfile.mkdtemp(prefix="edge-conf-")
    with open(os.path.join(d, "htpasswd"), "w") as f:
        f.write(edgetest.htpasswd_line("admin", "pw"))
    for name, content in (extra_files or {}).items():
        with open(os.path.join(d, name), "w") as f:
            f.write(content)
    path = os.path.join(d, "edge.yaml")
    with open(path, "w") as f:
        f.write(yaml_text)
    r = subprocess.run([EDGE_BIN, "--check-config", path], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


BASE = "admin:\n  htpasswd: htpasswd\nstorage:\n  data_dir: data\n"


def test_valid_config():
    code, out = check("server:\n  threads: 2\n  listen: ['127.0.0.1:0']\n" + BASE)
    assert code == 0, out
    assert "configuration is valid" in out


def test_shipped_default_config_is_valid():
    r = subprocess.run([EDGE_BIN, "--check-config", os.path.join(edgetest.SOURCE_DIR, "data", "edge.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_version():
    r = subprocess.run([EDGE_BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("edge "), r.stdout


def test_unknown_key_names_line_and_key():
    code, out = check(BASE + "server:\n  threads: 2\n  thread_count: 4\n")
    assert code == 1
    assert "edge.yaml:7: server.thread_count: unknown key" in out, out


def test_unknown_top_level_key():
    code, out = check(BASE + "severs: {}\n")
    assert code == 1 and "edge.yaml:5: severs: unknown key" in out, out


def test_wrong_type():
    code, out = check(BASE + "server:\n  threads: many\n")
    assert code == 1 and "edge.yaml:6: server.threads: expected an integer between 1 and 1024" in out, out


def test_bad_address():
    code, out = check(BASE + "server:\n  listen:\n    - '127.0.0.1'\n")
    assert code == 1 and "server.listen[0]: expected an address" in out, out


def test_bad_address_in_map_entry():
    code, out = check(BASE + "server:\n  listen:\n    - {address: 'nohost:99999'}\n")
    assert code == 1 and "server.listen[0].address: expected an address" in out, out


def test_tls_needs_both_files():
    code, out = check(BASE + "server:\n  listen:\n    - address: '127.0.0.1:8443'\n      tls: {certificate: a.pem}\n")
    assert code == 1 and "tls needs both certificate and key" in out, out


def test_tls_missing_file():
    code, out = check(BASE + "server:\n  listen:\n    - address: '127.0.0.1:8443'\n      tls: {certificate: a.pem, key: b.pem}\n")
    assert code == 1 and "server.listen[0].tls.certificate: cannot read" in out, out


def test_bad_duration_and_size():
    code, out = check(BASE + "server:\n  request_timeout: 10 parsecs\n")
    assert code == 1 and "server.request_timeout: expected a duration" in out, out
    code, out = check(BASE + "server:\n  max_request_body: -5\n")
    assert code == 1 and "server.max_request_body: expected a size" in out, out


def test_missing_htpasswd_is_an_error():
    code, out = check("storage:\n  data_dir: data\n")
    assert code == 1 and "admin.htpasswd is required" in out, out
    code, out = check("admin:\n  htpasswd: nothere\nstorage:\n  data_dir: data\n")
    assert code == 1 and "nothere: cannot open" in out, out


def test_weak_htpasswd_hash_refused():
    code, out = check("admin:\n  htpasswd: weak\nstorage:\n  data_dir: data\n", {"weak": "admin:plaintext\n"})
    assert code == 1 and "unsupported hash" in out, out


def test_yaml_syntax_error():
    code, out = check(BASE + "server: [unclosed\n")
    assert code == 1 and "YAML syntax error" in out, out


def test_duplicate_key():
    code, out = check(BASE + "log:\n  level: info\n  level: debug\n")
    assert code == 1 and "log.level: duplicate key" in out, out


def test_bad_log_level():
    code, out = check(BASE + "log:\n  level: loud\n")
    assert code == 1 and "log.level: expected debug, info, warn or error" in out, out


def test_bind_failure_exits_nonzero():
    blocker = __import__("socket").socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    e = Edge(yaml="server:\n  listen: ['127.0.0.1:%d']\nadmin:\n  listen: '127.0.0.1:{admin_port}'\n  htpasswd: htpasswd\n"
                  "storage:\n  data_dir: data\n" % port)
    try:
        # SO_REUSEPORT would let two edges share a port, but not a port held by a plain socket
        e.start(wait=False)
        code = e.proc.wait(20)
        assert code != 0
        assert "cannot listen on 127.0.0.1:%d" % port in e.read_log(), e.read_log()
    finally:
        e.proc = None
        e.cleanup()
        blocker.close()


def test_second_edge_on_the_same_port_is_refused():
    # with SO_REUSEPORT alone the second would start and silently take half of the connections
    first = Edge().start()
    second = Edge(yaml="server:\n  listen: ['127.0.0.1:%d']\nadmin:\n  listen: '127.0.0.1:{admin_port}'\n  htpasswd: htpasswd\n"
                       "storage:\n  data_dir: data\n" % first.port)
    try:
        second.start(wait=False)
        assert second.proc.wait(20) != 0
        log = second.read_log()
        assert "cannot listen on 127.0.0.1:%d" % first.port in log and "another process listens there" in log, log
        assert first.request("GET", "/__lbheartbeat__")[0] == 200
    finally:
        second.proc = None
        second.cleanup()
        first.cleanup()


def test_config_file_missing():
    r = subprocess.run([EDGE_BIN, "--config", "/nonexistent/edge.yaml"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "cannot open" in r.stderr, r.stderr


if __name__ == "__main__":
    edgetest.main(globals())
