# SPDX-License-Identifier: MIT
"""Forwarder against a python3 upstream that fails on command: every retry cause is counted
(5xx, 429, wrong answer, connection reset, hang -> timeout, redirect), a permanent 400 becomes a
dead letter with the upstream's answer (heartbeat 503), the admin requeue delivers it, and a
forwarding edge SIGKILLed in a loop while reports flow still delivers every acknowledged report
at least once (duplicates are counted and printed)."""
import random
import signal
import threading
import time

import edgetest
from edgetest import Edge, metric_sum
from collectortest import assert_clean_exit, crash_id, post, simple_crash, submit
from forwardertest import Sink, forwarding_yaml, heartbeat, spool_status, wait_for

FAST = "    backoff_initial: 50ms\n    backoff_max: 200ms\n    poll_interval: 50ms\n"


def forwarder_edge(sink, forwarder_yaml=FAST, timeout="1s"):
    return Edge(extra_yaml=forwarding_yaml("    name: sink\n    kind: antenna\n    url: %s\n    token: tok\n"
                                           "    timeout: %s\n    connect_timeout: 1s\n    concurrency: 2\n" % (sink.url, timeout),
                                           forwarder_yaml))


def test_every_retry_cause_is_counted():
    # "reset" first: on a reused keep-alive connection libcurl itself retries a request whose
    # connection died before any answer, so the reset would never surface
    sink = Sink(["reset", "500", "429", "wrong", "hang", "redirect", "ok"])
    fw = forwarder_edge(sink)
    try:
        fw.start()
        [cid] = submit(fw, 1)
        wait_for(lambda: spool_status(fw)["count"] == 0, what="delivery")
        assert sink.count() == {cid: 1}, sink.count()
        assert sink.requests == 7 and set(sink.auth) == {"Bearer tok"}, (sink.requests, sink.auth)
        m = fw.metrics()
        for cause in ("5xx", "429", "bad_answer", "network", "timeout", "redirect"):
            assert metric_sum(m, "edge_forwarder_retries_total", upstream="sink", cause=cause) == 1, \
                (cause, {k: v for k, v in m.items() if k[0] == "edge_forwarder_retries_total"})
        assert metric_sum(m, "edge_forwarder_retries_total", upstream="sink") == 6
        assert metric_sum(m, "edge_forwarder_delivered_total", upstream="sink") == 1
        st = spool_status(fw)["upstreams"][0]
        assert st["retries"] == 6 and st["delivered"] == 1 and st["state"] == "ok", st
        # the circuit opened after 5 consecutive failures and closed on the success: logged once each
        msgs = [l["msg"] for l in fw.log_lines() if l.get("component") == "forwarder"]
        assert sum(1 for x in msgs if x.startswith("upstream sink failing:")) == 1, msgs
        assert sum(1 for x in msgs if x == "upstream sink recovered") == 1, msgs
        assert_clean_exit(fw, fw.stop())
    finally:
        fw.cleanup()
        sink.close()


def test_permanent_400_dead_letter_then_requeue():
    sink = Sink(["400"])
    fw = forwarder_edge(sink, FAST + "    dead_letter_window: 1m\n")
    try:
        fw.start()
        assert heartbeat(fw)[0] == 200
        ids = submit(fw, 2)
        wait_for(lambda: spool_status(fw)["dead_letters"]["count"] == 2, what="dead letters")
        st = spool_status(fw)
        assert st["count"] == 0 and st["upstreams"][0]["dead_letters"] == 2, st
        status, _, body = fw.admin("GET", "/api/v1/spool/deadletter/" + ids[0])
        assert status == 200, body
        import json
        reason = json.loads(body)["reason"]
        assert "HTTP 400" in reason and "Discarded=sink_says_400" in reason and "sink" in reason, reason
        assert metric_sum(fw.metrics(), "edge_forwarder_dead_letters_total", upstream="sink") == 2
        wait_for(lambda: heartbeat(fw)[0] == 503, what="heartbeat 503")
        status, hb = heartbeat(fw)
        assert "dead letters" in hb["checks"]["forwarder_backlog"]["detail"], hb
        # the upstream is fixed; requeue both through the admin API: delivered
        sink.set_modes("ok")
        for cid in ids:
            status, _, body = fw.admin("POST", "/api/v1/spool/deadletter/%s/requeue" % cid)
            assert status == 200, body
        wait_for(lambda: sink.count() == {ids[0]: 1, ids[1]: 1}, what="requeued crashes delivered")
        wait_for(lambda: spool_status(fw)["count"] == 0, what="spool to drain")
        assert spool_status(fw)["dead_letters"]["count"] == 0
        assert_clean_exit(fw, fw.stop())
    finally:
        fw.cleanup()
        sink.close()


def test_sigkill_loop_delivers_every_acknowledged_report():
    sink = Sink(["ok"])
    fw = forwarder_edge(sink)
    acked = []
    rounds = 6
    try:
        for _ in range(rounds):
            fw.start()
            stop = threading.Event()

            def flow():
                while not stop.is_set():
                    ct, body = simple_crash()
                    try:
                        status, _, answer = post(fw, body, ct, timeout=5)
                    except OSError:
                        continue  # killed mid-request: not acknowledged
                    if status == 200:
                        acked.append(crash_id(answer))
                    time.sleep(0.02)  # a steady flow, not a flood: the drain below must fit sanitizer builds

            threads = [threading.Thread(target=flow) for _ in range(3)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.4, 1.2))
            fw.proc.send_signal(signal.SIGKILL)
            fw.proc.wait()
            stop.set()
            for t in threads:
                t.join()
            fw.log.close()
            fw.proc = None
        fw.start()
        wait_for(lambda: spool_status(fw)["count"] == 0, timeout=240, what="spool to drain")
        got = sink.count()
        missing = [cid for cid in acked if cid not in got]
        dups = {cid: n for cid, n in got.items() if n > 1}
        print("sigkill loop: %d acknowledged, %d delivered ids, %d duplicates %s" % (len(acked), len(got), len(dups), sorted(dups.items())))
        assert len(acked) > 20, len(acked)
        assert not missing, missing
        assert spool_status(fw)["dead_letters"]["count"] == 0
        assert_clean_exit(fw, fw.stop())
    finally:
        fw.cleanup()
        sink.close()


edgetest.main(globals())
