# SPDX-License-Identifier: MIT
"""Durability of the acknowledgement: 32 concurrent uploaders, edge killed with SIGKILL in the middle
of the stream, restarted on the same data directory. Every report that got `CrashID=bp-...` must be
in the spool with the dump bytes that were sent (SHA-256 in the stored raw crash) and the
annotations that were sent; the spool must open cleanly and hold nothing half-written."""
import http.client
import json
import os
import random
import signal
import threading
import time

import edgetest
from edgetest import Edge
from collectortest import COLLECTOR_YAML, CRASH_ID_RE, assert_clean_exit, multipart, sha256

UPLOADERS = 32


def uploader(port, stop, acked, errors, seed):
    rnd = random.Random(seed)
    conn = None
    n = 0
    while not stop.is_set():
        dump = os.urandom(rnd.choice([512, 4096, 60000, 250000]))
        marker = "u%d-%d" % (seed, n)
        n += 1
        ct, body = multipart(fields=[("ProductName", "Firefox"), ("Version", "120.0"), ("Marker", marker)],
                             dumps=[("upload_file_minidump", dump)])
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("POST", "/submit", body=body, headers={"Content-Type": ct})
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException):
            # the server is gone: whatever was not answered may or may not be stored
            if conn is not None:
                conn.close()
                conn = None
            if stop.is_set():
                break
            time.sleep(0.01)
            continue
        m = CRASH_ID_RE.match(answer)
        if resp.status == 200 and m:
            acked.append((m.group(1).decode(), marker, sha256(dump)))
        else:
            errors.append((resp.status, answer))
    if conn is not None:
        conn.close()


def kill_round(e, seconds):
    stop = threading.Event()
    acked, errors = [], []
    threads = [threading.Thread(target=uploader, args=(e.port, stop, acked, errors, i)) for i in range(UPLOADERS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    e.proc.send_signal(signal.SIGKILL)  # mid-stream: uploads and commits in flight
    e.proc.wait()
    e.log.close()
    e.proc = None
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    return acked


def check_stored(e, acked):
    for cid, marker, digest in acked:
        status, _, body = e.admin("GET", "/api/v1/spool/crashes/" + cid)
        assert status == 200, (cid, status, body)
        raw = json.loads(body)
        assert raw["uuid"] == cid and raw["Marker"] == marker, (cid, raw)
        assert raw["metadata"]["dump_checksums"] == {"upload_file_minidump": digest}, (cid, raw)


def test_sigkill_keeps_every_acknowledged_crash():
    e = Edge(extra_yaml=COLLECTOR_YAML, threads=2)
    try:
        all_acked = []
        for round_no, seconds in enumerate((3.0, 2.0)):
            e.start()
            if round_no > 0:
                check_stored(e, all_acked)  # still there after the previous kill
            acked = kill_round(e, seconds)
            assert len(acked) > 50, len(acked)
            all_acked += acked
        e.start()
        check_stored(e, all_acked)
        st = json.loads(e.admin("GET", "/api/v1/spool")[2])
        # unacknowledged uploads may have been committed too, never fewer
        assert st["count"] >= len(all_acked), (st, len(all_acked))
        # every stored record decodes (no half-written crash): walk the whole spool
        after, seen = 0, 0
        while True:
            page = json.loads(e.admin("GET", "/api/v1/spool/crashes?limit=1000&after=%d" % after)[2])
            for c in page["crashes"]:
                status, _, body = e.admin("GET", "/api/v1/spool/crashes/" + c["crash_id"])
                assert status == 200 and json.loads(body)["uuid"] == c["crash_id"], (c, status)
                seen += 1
            if page["next_after"] is None:
                break
            after = page["next_after"]
        assert seen == st["count"], (seen, st)
        assert_clean_exit(e, e.stop())
    finally:
        e.cleanup()


edgetest.main(globals())
