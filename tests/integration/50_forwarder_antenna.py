# SPDX-License-Identifier: MIT
"""Forwarder, antenna kind, against a second edge as the upstream collector: the crash id survives
the hop (the upstream's `edge spool show <id>` finds it), an upstream that is down and comes back
gets everything, the circuit logs once per state change, and /__heartbeat__ goes 503 and back."""
import os
import signal

import edgetest
from edgetest import Edge, metric_sum
from collectortest import COLLECTOR_YAML, assert_clean_exit, stored_raw_crash, submit
from forwardertest import forwarding_yaml, heartbeat, spool_status, wait_for

TOKEN = "upstream-token-0123456789"


def upstream_edge():
    return Edge(extra_yaml=COLLECTOR_YAML + "  submitter_token: %s\n" % TOKEN)


def forwarder_edge(up, forwarder_yaml=""):
    return Edge(extra_yaml=forwarding_yaml("    name: edge2\n    kind: antenna\n    url: http://127.0.0.1:%d/submit\n"
                                           "    token: %s\n    timeout: 5s\n    connect_timeout: 1s\n" % (up.port, TOKEN),
                                           forwarder_yaml))


def thread_nice(edge, name):
    """The nice value of the edge thread called name (field 19 of /proc/<pid>/task/<tid>/stat)."""
    tasks = "/proc/%d/task" % edge.proc.pid
    for tid in os.listdir(tasks):
        with open(os.path.join(tasks, tid, "stat")) as f:
            stat = f.read()
        if stat[stat.index("(") + 1:stat.rindex(")")] == name:
            return int(stat[stat.rindex(")") + 2:].split()[16])
    raise AssertionError("no thread %s in %s" % (name, os.listdir(tasks)))


def test_crash_id_survives_the_hop():
    up, fw = upstream_edge(), None
    try:
        up.start()
        fw = forwarder_edge(up).start()
        # delivery yields the CPU to intake (forwarder.nice, default 10); the workers keep nice 0
        wait_for(lambda: thread_nice(fw, "edge-fwd-0") == 10, what="the delivery thread to lower its priority")
        assert thread_nice(fw, "edge-public-0") == 0
        ids = submit(fw, 5)
        wait_for(lambda: spool_status(fw)["count"] == 0, what="forwarding spool to drain")
        for cid in ids:
            raw = stored_raw_crash(up, cid)
            assert raw is not None and raw["uuid"] == cid and raw["ProductName"] == "Firefox", (cid, raw)
        assert spool_status(up)["count"] == 5
        m = fw.metrics()
        assert metric_sum(m, "edge_forwarder_delivered_total", upstream="edge2") == 5, m
        assert metric_sum(m, "edge_forwarder_upstream_up", upstream="edge2") == 1
        assert metric_sum(m, "edge_forwarder_dead_letters_total", upstream="edge2") == 0
        st = spool_status(fw)["upstreams"][0]
        assert st["name"] == "edge2" and st["kind"] == "antenna" and st["state"] == "ok" and st["delivered"] == 5, st
        assert_clean_exit(fw, fw.stop())
        assert_clean_exit(up, up.stop())
    finally:
        for e in (fw, up):
            if e is not None:
                e.cleanup()


def test_upstream_down_then_back_and_heartbeat():
    up, fw = upstream_edge(), None
    try:
        fw = forwarder_edge(up, "    backoff_initial: 100ms\n    backoff_max: 500ms\n    circuit_threshold: 3\n"
                                "    max_pending_age: 1s\n").start()
        ids = submit(fw, 20)
        # the upstream is down: connection refused, the circuit opens, the heartbeat fails on age
        wait_for(lambda: spool_status(fw)["upstreams"][0]["state"] == "failing", what="failing state")
        wait_for(lambda: heartbeat(fw)[0] == 503, what="heartbeat 503")
        status, hb = heartbeat(fw)
        assert not hb["checks"]["forwarder_backlog"]["ok"] and "oldest pending" in hb["checks"]["forwarder_backlog"]["detail"], hb
        m = fw.metrics()
        assert metric_sum(m, "edge_forwarder_retries_total", upstream="edge2", cause="connect") >= 3, m
        assert metric_sum(m, "edge_forwarder_upstream_up", upstream="edge2") == 0
        assert "connect" in spool_status(fw)["upstreams"][0]["last_error"]
        # up again: everything arrives, the circuit closes, the heartbeat recovers
        up.start()
        wait_for(lambda: spool_status(fw)["count"] == 0, timeout=60, what="spool to drain")
        for cid in ids:
            assert stored_raw_crash(up, cid) is not None, cid
        assert spool_status(up)["count"] == 20
        wait_for(lambda: heartbeat(fw)[0] == 200, what="heartbeat 200")
        assert spool_status(fw)["upstreams"][0]["state"] == "ok"
        msgs = [l["msg"] for l in fw.log_lines() if l.get("component") == "forwarder"]
        assert sum(1 for x in msgs if x.startswith("upstream edge2 failing:")) == 1, msgs
        assert sum(1 for x in msgs if x == "upstream edge2 recovered") == 1, msgs
        assert_clean_exit(fw, fw.stop())
        assert_clean_exit(up, up.stop())
    finally:
        for e in (fw, up):
            if e is not None:
                e.cleanup()


def test_shutdown_is_prompt_with_a_stuck_upstream():
    """SIGTERM while the upstream is down and records are pending: the forwarder stops at once and
    the records are still there after a restart."""
    up = upstream_edge()
    fw = forwarder_edge(up)
    try:
        fw.start()
        ids = submit(fw, 3)
        assert_clean_exit(fw, fw.stop(signal.SIGTERM, timeout=10))
        fw.start()
        assert spool_status(fw)["count"] == 3
        up.start()
        wait_for(lambda: spool_status(fw)["count"] == 0, timeout=60, what="spool to drain")
        assert all(stored_raw_crash(up, cid) is not None for cid in ids)
        assert_clean_exit(fw, fw.stop())
        assert_clean_exit(up, up.stop())
    finally:
        fw.cleanup()
        up.cleanup()


edgetest.main(globals())
