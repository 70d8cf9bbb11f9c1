#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Forwarder benchmark: how fast does a collector drain a backlog into an upstream collector, and
how much does draining cost its own intake?

Two edge processes on loopback (2 worker threads each, temporary data directories):
  - U, the upstream: a collector with `collector.submitter_token` (accepts the forwarded crash ids);
  - A, the edge under test: a collector with `collector.upstream: {kind: antenna, url:
    http://127.0.0.1:<U>/submit, token, concurrency: C}` and a short backoff so that it notices U
    coming back within a second.
Steps (each bounded in time and count):
  1. U alone: intake of ~200 kB reports with C keep-alive clients (wrk + Lua, like
     bench_collector.py): the rate the upstream can absorb with as many connections as A's
     forwarder uses;
  2. U down: A's intake alone (same wrk settings, D seconds), then A is filled with more reports
     until its spool holds --backlog (20,000) reports; then U's intake alone once more, into a
     second, scratch upstream whose data stays until the end: measured in the memory state the
     drain meets (A's GBs of backlog in the page cache, U's writes going to fresh pages, which on
     the virtual machines measured cost 4-10x recycled ones; docs/performance.md);
  3. U starts (empty): the drain rate = reports U stored per second (its
     edge_collector_save_crash_total; A's edge_forwarder_delivered_total is printed alongside),
     first over a window without load on A; then U's own intake once more, right after that
     window and into the same files, with A stopped (SIGSTOP) for the window: the peer meets the
     drain's memory state as closely as one process can, and the drain goal is judged against
     it (the figures of steps 1 and 2, taken minutes earlier in another memory state, swing 2x
     from run to run on these machines; both ratios are printed too); then the drain while wrk
     loads A with the same settings as in step 2 (intake while draining); finally the time until
     A's backlog is empty (bounded).
Goals: drain / U's intake (step 3's paired figure) >= 0.8; A's intake while draining / A's intake alone >= 0.7.

Usage: bench_forwarder.py --edge build-bench/bin/edge [--quick] [--backlog 20000] [--concurrency 32]
"""
import argparse
import os
import signal
import sys
import tempfile
import time

import benchlib

TOKEN = "bench-forwarder-token-5f2c1e9a7b"
REPORT_BYTES = 200000


def counter(edge, name, **labels):
    return benchlib.metric_sum(benchlib.metrics(edge), name, **labels)


def backlog(edge):
    return counter(edge, "edge_spool_records")


def main():
    ap = argparse.ArgumentParser(description="edge forwarder drain benchmark")
    ap.add_argument("--edge", default=os.path.join(benchlib.SOURCE_DIR, "build-bench", "bin", "edge"))
    ap.add_argument("--quick", action="store_true", help="5,000-report backlog, 4 s windows")
    ap.add_argument("--backlog", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32, help="forwarder transfers = wrk connections (default 32, the config default)")
    ap.add_argument("--duration", type=int, default=6, help="seconds per measured window (default 6)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.backlog, args.duration = 5000, 4
    edge_bin = benchlib.set_edge_bin(args.edge)
    benchlib.warn_if_not_release(edge_bin)
    print("== bench_forwarder: %s" % " ".join(sys.argv))
    print("machine: " + benchlib.machine())
    print("tools: " + benchlib.tool_versions() + "; source tree: " + benchlib.source_version())
    print("binary: %s: %s" % (edge_bin, benchlib.edge_version(edge_bin)))
    print("load average before: %s" % benchlib.loadavg())
    tmp = tempfile.mkdtemp(prefix="edge-bench-forwarder-")
    up = a = None
    status = 0
    try:
        for d in ("upstream", "edge-a"):
            os.makedirs(os.path.join(tmp, d))
        up = benchlib.edgetest.Edge(extra_yaml="collector:\n  submitter_token: \"%s\"\n" % TOKEN, threads=2,
                                    directory=os.path.join(tmp, "upstream"))
        a_yaml = ("collector:\n  upstream:\n    kind: antenna\n    url: \"http://127.0.0.1:%d/submit\"\n"
                  "    token: \"%s\"\n    concurrency: %d\n"
                  "  forwarder:\n    backoff_initial: 100ms\n    backoff_max: 1s\n" % (up.port, TOKEN, args.concurrency))
        a = benchlib.edgetest.Edge(extra_yaml=a_yaml, threads=2, directory=os.path.join(tmp, "edge-a"))
        benchlib.check_config(up)
        benchlib.check_config(a)

        overhead = len(benchlib.crash_report(0)[0])
        body, ctype = benchlib.crash_report(REPORT_BYTES - overhead)
        body_path, lua = os.path.join(tmp, "report.body"), os.path.join(tmp, "post.lua")
        with open(body_path, "wb") as f:
            f.write(body)
        with open(lua, "w") as f:
            f.write(benchlib.POST_LUA)
        wrk_args = [body_path, ctype, "-", "0"]
        conc = args.concurrency
        print("reports: %d bytes multipart; wrk + Lua with %d keep-alive connections (-t2); forwarder concurrency %d"
              % (len(body), conc, conc))

        # 1. upstream alone
        up.start()
        st, _, resp = benchlib.post_report(up, body, ctype)
        if st != 200 or not resp.startswith(b"CrashID=bp-"):
            raise benchlib.Missing("the upstream's POST /submit answered %d %r" % (st, resp[:200]))
        w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % up.port, 2, conc, args.duration, script=lua, script_args=wrk_args,
                             timeout_s="30s")
        up_rate = w["lua"].get("acked", 0) / w["seconds"]
        print("upstream alone: %.0f reports/s (%.0f MB/s), ack p50 %s p99 %s, %d non-acks"
              % (up_rate, up_rate * len(body) / 1e6, benchlib.ms(w["p50"]), benchlib.ms(w["p99"]),
                 w["lua"].get("other", 0) + w["errors"]))
        up.stop()
        benchlib.rm_tree(os.path.join(up.dir, "data"))

        # 2. A with the upstream down
        a.start()
        st, _, resp = benchlib.post_report(a, body, ctype)
        if st != 200 or not resp.startswith(b"CrashID=bp-"):
            raise benchlib.Missing("A's POST /submit answered %d %r" % (st, resp[:200]))
        w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % a.port, 2, conc, args.duration, script=lua, script_args=wrk_args,
                             timeout_s="30s")
        a_alone = w["lua"].get("acked", 0) / w["seconds"]
        print("A alone (upstream down): %.0f reports/s, ack p50 %s p99 %s, %d non-acks"
              % (a_alone, benchlib.ms(w["p50"]), benchlib.ms(w["p99"]), w["lua"].get("other", 0) + w["errors"]))
        have = backlog(a)
        if have < args.backlog:
            t0 = time.perf_counter()
            w, wall = benchlib.run_wrk_until("http://127.0.0.1:%d/submit" % a.port, 2, conc, 300,
                                             lambda: backlog(a) >= args.backlog, script=lua, script_args=wrk_args)
            print("filled A's spool in %.1f s (%.0f reports/s)" % (wall, (backlog(a) - have) / (time.perf_counter() - t0)))
        m = benchlib.metrics(a)
        n0 = benchlib.metric_sum(m, "edge_spool_records")
        print("A's spool: %d reports, %.2f GB; forwarder retries so far: %d; upstream_up=%g"
              % (n0, benchlib.metric_sum(m, "edge_spool_record_bytes") / 1e9, benchlib.metric_sum(m, "edge_forwarder_retries_total"),
                 benchlib.metric_sum(m, "edge_forwarder_upstream_up")))

        # 2b. the upstream's intake in the drain's memory state (a scratch upstream, data kept)
        os.makedirs(os.path.join(tmp, "upstream-adjacent"))
        up2 = benchlib.edgetest.Edge(extra_yaml="collector:\n  submitter_token: \"%s\"\n" % TOKEN, threads=2,
                                     directory=os.path.join(tmp, "upstream-adjacent"))
        try:
            up2.start()
            w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % up2.port, 2, conc, args.duration, script=lua, script_args=wrk_args,
                                 timeout_s="30s")
            up_adjacent = w["lua"].get("acked", 0) / w["seconds"]
            print("upstream alone again, next to the drain (A's backlog in memory, its own data kept): %.0f reports/s "
                  "(%.0f MB/s), ack p50 %s p99 %s" % (up_adjacent, up_adjacent * len(body) / 1e6, benchlib.ms(w["p50"]),
                                                      benchlib.ms(w["p99"])))
        finally:
            up2.stop()

        # 3. upstream back: drain
        t_up = time.perf_counter()
        up.start()
        first = benchlib.wait_until(lambda: counter(up, "edge_collector_save_crash_total") > 0, 30, 0.02)
        if not first:
            raise RuntimeError("A delivered nothing within 30 s of the upstream's start:\n" + benchlib.tail_log(a))
        print("first delivery %.2f s after the upstream started listening" % (time.perf_counter() - t_up))

        def hist_mean(edge, name, state):
            m = benchlib.metrics(edge)
            cur = (benchlib.metric_sum(m, name + "_sum"), benchlib.metric_sum(m, name + "_count"))
            prev = state.get(name)
            state[name] = cur
            if prev is None or cur[1] == prev[1]:
                return None
            return (cur[0] - prev[0]) / (cur[1] - prev[1])

        def window(seconds, load):
            hs = {}
            hist_mean(a, "edge_forwarder_delivery_seconds", hs)
            hist_mean(up, "edge_collector_save_crash_seconds", hs)
            s0, d0, t0 = counter(up, "edge_collector_save_crash_total"), counter(a, "edge_forwarder_delivered_total"), time.perf_counter()
            w = None
            if load:
                w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % a.port, 2, conc, seconds, script=lua, script_args=wrk_args,
                                     timeout_s="30s")
            else:
                time.sleep(seconds)
            dt = time.perf_counter() - t0
            s1, d1, left = counter(up, "edge_collector_save_crash_total"), counter(a, "edge_forwarder_delivered_total"), backlog(a)
            dmean, smean = hist_mean(a, "edge_forwarder_delivery_seconds", hs), hist_mean(up, "edge_collector_save_crash_seconds", hs)
            rate = (s1 - s0) / dt
            print("  window: per forwarder slot one crash every %s (= %d slots / %.0f per s); A's mean delivery time %s; "
                  "upstream's mean wait for its spool commit %s" % (benchlib.ms(conc / rate if rate else None), conc, rate,
                                                                    benchlib.ms(dmean), benchlib.ms(smean)))
            return rate, (d1 - d0) / dt, left, w

        drain, delivered, left, _ = window(args.duration, False)
        print("drain, no load on A: %.0f reports/s stored by the upstream (A's delivered counter: %.0f/s); %d left"
              % (drain, delivered, left))
        if left == 0:
            print("  (!! the backlog emptied inside the window: the rate is underestimated; use a larger --backlog)")

        # 3b. U's own intake in the drain's state: the same process and files, right after the
        # drain window, with A stopped (SIGSTOP: its transfers in flight wait, nothing is lost)
        a.proc.send_signal(signal.SIGSTOP)
        try:
            w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % up.port, 2, conc, args.duration, script=lua, script_args=wrk_args,
                                 timeout_s="30s")
        finally:
            a.proc.send_signal(signal.SIGCONT)
        up_paired = w["lua"].get("acked", 0) / w["seconds"]
        print("upstream alone in the drain's state (the same upstream, right after that window, A paused): %.0f reports/s, "
              "ack p50 %s p99 %s" % (up_paired, benchlib.ms(w["p50"]), benchlib.ms(w["p99"])))
        drain_busy, delivered_busy, left, w = window(args.duration, True)
        a_busy = w["lua"].get("acked", 0) / w["seconds"]
        print("drain while A takes load: %.0f reports/s (delivered counter %.0f/s); A's intake meanwhile: %.0f reports/s, "
              "ack p50 %s p99 %s, %d non-acks; %d left" % (drain_busy, delivered_busy, a_busy, benchlib.ms(w["p50"]),
                                                          benchlib.ms(w["p99"]), w["lua"].get("other", 0) + w["errors"], left))
        if left == 0:
            print("  (!! the backlog emptied inside the window: use a larger --backlog)")
        t0, n_start = time.perf_counter(), left
        done = benchlib.wait_until(lambda: backlog(a) == 0, 600, 0.2)
        if done:
            print("the remaining %d reports drained in %.1f s" % (n_start, time.perf_counter() - t0))
        else:
            print("!! the backlog did not drain within 600 s (%d left)" % backlog(a))
            status = 1
        m = benchlib.metrics(a)
        print("A after the drain: delivered %d, dead letters %d, retries %d"
              % (benchlib.metric_sum(m, "edge_forwarder_delivered_total"), benchlib.metric_sum(m, "edge_forwarder_dead_letters_total"),
                 benchlib.metric_sum(m, "edge_forwarder_retries_total")))

        print("RESULTS")
        r1 = drain / up_paired if up_paired else 0
        r2 = a_busy / a_alone if a_alone else 0
        print("  drain / the same upstream's intake right after the drain window (A paused): %.0f / %.0f = %.2f; goal >= 0.8: %s"
              % (drain, up_paired, r1, "met" if r1 >= 0.8 else "MISSED"))
        print("  (drain / a scratch upstream's intake before the drain, A's backlog in memory: %.0f / %.0f = %.2f)"
              % (drain, up_adjacent, drain / up_adjacent if up_adjacent else 0))
        print("  (drain / upstream intake at the start, before A's backlog: %.0f / %.0f = %.2f)"
              % (drain, up_rate, drain / up_rate if up_rate else 0))
        print("  A intake while draining / alone: %.0f / %.0f = %.2f; goal >= 0.7: %s"
              % (a_busy, a_alone, r2, "met" if r2 >= 0.7 else "MISSED"))
        print("load average after: %s" % benchlib.loadavg())
    except benchlib.Missing as e:
        print("NOT MEASURED: %s" % e)
        status = 2
    finally:
        benchlib.finish(tmp, args.keep, [a, up])
    sys.exit(status)


if __name__ == "__main__":
    main()
