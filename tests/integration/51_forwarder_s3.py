# SPDX-License-Identifier: MIT
"""Forwarder, s3 kind, against s3rver (tests/integration/s3server: checks SigV4): Socorro's layout
with the exact keys and bytes (dumps, dump_names, raw_crash/<YYYYMMDD>/<id>), a key prefix, and a
wrong secret key that is retried (403, circuit opens, no dead letter) until the key is fixed."""
import json
import os

import edgetest
from edgetest import Edge, metric_sum
from collectortest import assert_clean_exit, crash_id, multipart, post
from forwardertest import S3Server, forwarding_yaml, spool_status, wait_for

DUMP = b"MDMP\x93\xa7" + bytes(range(256)) * 4
BROWSER = b"MDMP-browser" + bytes(range(100))


def s3_yaml(s3, secret="S3RVER", prefix=""):
    y = ("    name: bucket\n    kind: s3\n    url: %s\n    bucket: crashes\n    region: us-east-1\n    path_style: true\n"
         "    access_key: S3RVER\n    secret_key: %s\n    timeout: 5s\n" % (s3.url, secret))
    if prefix:
        y += "    prefix: %s\n" % prefix
    return forwarding_yaml(y, "    backoff_initial: 100ms\n    backoff_max: 300ms\n    circuit_threshold: 2\n")


def submit_multidump(e):
    ct, body = multipart(fields=[("ProductName", "Firefox"), ("Version", "120.0")],
                         dumps=[("upload_file_minidump", DUMP), ("upload_file_minidump_browser", BROWSER)])
    status, _, answer = post(e, body, ct)
    assert status == 200, answer
    return crash_id(answer)


def check_layout(s3, cid, prefix=""):
    status, names = s3.get(prefix + "v1/dump_names/" + cid)
    assert status == 200 and json.loads(names) == ["upload_file_minidump", "upload_file_minidump_browser"], (status, names)
    assert s3.get(prefix + "v1/dump/" + cid) == (200, DUMP)
    assert s3.get(prefix + "v1/upload_file_minidump_browser/" + cid) == (200, BROWSER)
    status, raw = s3.get(prefix + "v1/raw_crash/20%s/%s" % (cid[-6:], cid))
    assert status == 200, (status, raw)
    raw = json.loads(raw)
    assert raw["uuid"] == cid and raw["ProductName"] == "Firefox" and "upload_file_minidump" in raw["metadata"]["dump_checksums"], raw


def test_socorro_layout():
    e = Edge(extra_yaml="")
    s3 = S3Server(e.dir)
    try:
        e.write_config(open(e.config).read() + s3_yaml(s3))
        e.start()
        ids = [submit_multidump(e) for _ in range(3)]
        wait_for(lambda: spool_status(e)["count"] == 0, what="spool to drain")
        for cid in ids:
            check_layout(s3, cid)
        m = e.metrics()
        assert metric_sum(m, "edge_forwarder_delivered_total", upstream="bucket") == 3
        assert metric_sum(m, "edge_forwarder_retries_total", upstream="bucket") == 0
        st = spool_status(e)["upstreams"][0]
        assert st["kind"] == "s3" and st["state"] == "ok" and st["delivered"] == 3, st
        assert_clean_exit(e, e.stop())
    finally:
        e.cleanup()
        s3.close()


def test_wrong_secret_is_retried_then_fixed():
    e = Edge(extra_yaml="")
    s3 = S3Server(e.dir)
    base = open(e.config).read()
    try:
        e.write_config(base + s3_yaml(s3, secret="WRONG", prefix="edge"))
        e.start()
        cid = submit_multidump(e)
        wait_for(lambda: spool_status(e)["upstreams"][0]["state"] == "failing", what="failing state")
        m = e.metrics()
        assert metric_sum(m, "edge_forwarder_retries_total", upstream="bucket", cause="4xx") >= 2, m
        st = spool_status(e)
        assert st["count"] == 1 and st["dead_letters"]["count"] == 0, st
        assert "HTTP 403" in st["upstreams"][0]["last_error"] and "SignatureDoesNotMatch" in st["upstreams"][0]["last_error"], st
        assert s3.get("edge/v1/dump/" + cid)[0] == 404
        assert_clean_exit(e, e.stop())
        # the operator fixes the key and restarts: delivered under the prefix
        e.write_config(base + s3_yaml(s3, prefix="edge"))
        e.start()
        wait_for(lambda: spool_status(e)["count"] == 0, what="spool to drain")
        check_layout(s3, cid, prefix="edge/")
        assert_clean_exit(e, e.stop())
    finally:
        e.cleanup()
        s3.close()


edgetest.main(globals())
