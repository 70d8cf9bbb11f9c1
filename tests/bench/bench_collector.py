#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Collector intake benchmark: how close does POST /submit get to the disk?

Steps (loopback, temporary directories, every load run bounded by wrk -d):
  1. the disk: `dd if=/dev/zero of=<tmp> bs=1M count=512 conv=fdatasync` in the file system that
     holds edge's data directory (fsync'ed sequential write bandwidth), and the latency of one
     4 KiB write + os.fsync (200 samples);
  2. intake: ~200 kB multipart reports (text annotations + a synthetic MDMP-looking dump) POSTed
     with 1, 16 and 64 concurrent keep-alive clients, plain and gzip. Load generator: wrk with a
     Lua script that POSTs one prebuilt body file and counts `CrashID=bp-` answers (only those
     count as reports). A fresh edge (2 worker threads, empty spool) serves each run. Printed:
     reports/s, payload MB/s on the wire, spool MB/s (edge_spool_bytes_written_total), ack latency
     p50/p99 (wrk), mean commit batch (edge_spool_commit_batch_jobs sum/count), and the ratios
     payload MB/s / disk MB/s at 64 clients (goal >= 0.8) and one-client ack latency - one fsync
     (goal <= 2 ms);
  3. backlog: intake of small (~2 kB) reports at 64 clients and 200 kB reports at 16 clients on
     an empty spool; then edge is stopped, 1,000,000 small reports are preloaded with
     tests/bench/spool_preload.c (the submission pipeline + spool_submit, i.e. everything but HTTP,
     compiled against this build's libedge_collector.a), edge restarts, and the same two runs are
     repeated (goal: within 10% of the empty-spool rate).

Usage: bench_collector.py --edge build-bench/bin/edge [--quick] [--duration 8] [--preload 1000000]
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

import benchlib

COLLECTOR_YAML = """collector:
  path: /submit
"""
REPORT_BYTES = 200000


class Run:
    pass


def new_edge(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    edge = benchlib.edgetest.Edge(extra_yaml=COLLECTOR_YAML, threads=2, directory=d)
    benchlib.check_config(edge)
    return edge


def check_ack(edge, body, ctype, encoding=None):
    status, _, resp = benchlib.post_report(edge, body, ctype, encoding)
    if status == 404:
        raise benchlib.Missing("POST /submit answered 404: the collector's submit handler is not in this build")
    if status != 200 or not resp.startswith(b"CrashID=bp-"):
        raise RuntimeError("POST /submit answered %d %r: not an acknowledged crash" % (status, resp[:200]))


def intake(edge, lua, body_path, body_len, ctype, encoding, clients, seconds):
    """One wrk run against edge; returns a Run with the figures."""
    m0 = benchlib.metrics(edge)
    threads = 1 if clients == 1 else 2
    w = benchlib.run_wrk("http://127.0.0.1:%d/submit" % edge.port, threads, clients, seconds, script=lua,
                         script_args=[body_path, ctype, encoding or "-", "0"], timeout_s="30s")
    m1 = benchlib.metrics(edge)

    def delta(name, **labels):
        return benchlib.metric_sum(m1, name, **labels) - benchlib.metric_sum(m0, name, **labels)

    r = Run()
    r.clients, r.encoding, r.wrk = clients, encoding or "plain", w
    r.acked = int(w["lua"].get("acked", 0))
    r.other = int(w["lua"].get("other", 0)) + w["errors"]
    r.rps = r.acked / w["seconds"]
    r.wire_mbs = r.acked * body_len / w["seconds"] / 1e6
    r.spool_mbs = delta("edge_spool_bytes_written_total") / w["seconds"] / 1e6
    commits = delta("edge_spool_commit_batch_jobs_count")
    r.batch = delta("edge_spool_commit_batch_jobs_sum") / commits if commits else 0.0
    r.commits_s = delta("edge_spool_commits_total") / w["seconds"]
    r.p50, r.p99 = w["p50"], w["p99"]
    return r


def show(r):
    flag = "" if r.other == 0 else "  (!! %d answers/errors that are not acks: %s)" % (r.other, r.wrk.get("error_detail", ""))
    print("  %-5s %2d client(s): %7.0f reports/s  %6.1f MB/s payload  %6.1f MB/s spool  ack p50 %s p99 %s  "
          "batch %.1f jobs (%.0f commits/s)%s" % (r.encoding, r.clients, r.rps, r.wire_mbs, r.spool_mbs, benchlib.ms(r.p50),
                                                 benchlib.ms(r.p99), r.batch, r.commits_s, flag))


def main():
    ap = argparse.ArgumentParser(description="edge collector intake benchmark")
    ap.add_argument("--edge", default=os.path.join(benchlib.SOURCE_DIR, "build-bench", "bin", "edge"))
    ap.add_argument("--quick", action="store_true", help="4 s runs, 200,000 preloaded reports, 256 MB dd")
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    ap.add_argument("--preload", type=int, default=1000000, help="reports preloaded for the backlog test")
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    dd_mb = 512
    if args.quick:
        args.duration, args.preload, dd_mb = 4, 200000, 256
    clients = [int(x) for x in args.clients.split(",")]
    edge_bin = benchlib.set_edge_bin(args.edge)
    benchlib.warn_if_not_release(edge_bin)
    print("== bench_collector: %s" % " ".join(sys.argv))
    print("machine: " + benchlib.machine())
    print("tools: " + benchlib.tool_versions())
    print("load average before: %s" % benchlib.loadavg())
    tmp = tempfile.mkdtemp(prefix="edge-bench-collector-")
    edge = None
    status = 0
    try:
        # 1. the disk
        disk_mbs, dd_line = benchlib.dd_bandwidth(tmp, dd_mb)
        print("disk: dd bs=1M count=%d conv=fdatasync: %.0f MB/s  (dd: %s)" % (dd_mb, disk_mbs, dd_line))
        f_mean, f_p50, f_p99 = benchlib.fsync_latency(tmp)
        print("disk: 4 KiB write + os.fsync: mean %s, p50 %s, p99 %s (200 samples)"
              % (benchlib.ms(f_mean), benchlib.ms(f_p50), benchlib.ms(f_p99)))

        # bodies
        overhead = len(benchlib.crash_report(0)[0])
        body, ctype = benchlib.crash_report(REPORT_BYTES - overhead)
        gz = gzip.compress(body, 6)
        small, _ = benchlib.crash_report(1024)
        files = {}
        for key, data in (("plain", body), ("gzip", gz), ("small", small)):
            files[key] = os.path.join(tmp, key + ".body")
            with open(files[key], "wb") as f:
                f.write(data)
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write(benchlib.POST_LUA)
        print("reports: %d bytes multipart (%d annotations + %d-byte dump), gzip %d bytes (level 6); small %d bytes"
              % (len(body), 8, REPORT_BYTES - overhead, len(gz), len(small)))
        print("load generator: wrk + Lua (prebuilt body, keep-alive; 1 client = -t1 -c1, else -t2 -cN), %d s per run, "
              "a fresh edge (2 threads, empty spool) per run" % args.duration)

        # 2. intake
        runs = {}
        for enc in ("plain", "gzip"):
            for n in clients:
                edge = new_edge(tmp, "edge-%s-%d" % (enc, n))
                edge.start()
                check_ack(edge, body if enc == "plain" else gz, ctype, None if enc == "plain" else "gzip")
                r = intake(edge, lua, files[enc], len(body), ctype, None if enc == "plain" else "gzip", n, args.duration)
                r.wire_mbs = r.acked * (len(body) if enc == "plain" else len(gz)) / r.wrk["seconds"] / 1e6
                runs[(enc, n)] = r
                show(r)
                if r.other:
                    status = 1
                edge.stop()
                benchlib.rm_tree(edge.dir)
                edge = None

        print("RESULTS (intake)")
        top = max(clients)
        if ("plain", top) in runs:
            r = runs[("plain", top)]
            ratio = r.wire_mbs / disk_mbs
            print("  payload MB/s / disk MB/s at %d clients (plain): %.1f / %.0f = %.2f; goal >= 0.8: %s"
                  % (top, r.wire_mbs, disk_mbs, ratio, "met" if ratio >= 0.8 else "MISSED"))
            print("  spool-written MB/s / disk MB/s at %d clients (plain): %.2f" % (top, r.spool_mbs / disk_mbs))
        if ("plain", 1) in runs:
            r = runs[("plain", 1)]
            diff = r.p50 - f_mean
            print("  ack latency at 1 client: p50 %s vs one 4 KiB write+fsync %s: +%.2f ms; goal within 2 ms: %s"
                  % (benchlib.ms(r.p50), benchlib.ms(f_mean), diff * 1000, "met" if diff <= 0.002 else "MISSED"))

        # 3. backlog
        if args.preload > 0:
            helper = benchlib.build_preload_helper(tmp, edge_bin)
            edge = new_edge(tmp, "edge-backlog")
            edge.start()
            check_ack(edge, small, ctype)
            before = [intake(edge, lua, files["small"], len(small), ctype, None, 64, args.duration),
                      intake(edge, lua, files["plain"], len(body), ctype, None, 16, args.duration)]
            print("backlog: empty spool")
            for r in before:
                show(r)
            edge.stop()
            t0 = time.perf_counter()
            p = subprocess.run([helper, os.path.join(edge.dir, "data", "spool"), str(args.preload)], capture_output=True,
                               text=True, timeout=1800)
            if p.returncode != 0:
                raise RuntimeError("spool_preload failed: %s%s" % (p.stdout, p.stderr))
            print("backlog: %s (wall %.1f s)" % (p.stdout.strip(), time.perf_counter() - t0))
            t0 = time.perf_counter()
            edge.start()
            print("backlog: edge restarted on the full spool in %.2f s; edge_spool_records = %d"
                  % (time.perf_counter() - t0, benchlib.metric_sum(benchlib.metrics(edge), "edge_spool_records")))
            after = [intake(edge, lua, files["small"], len(small), ctype, None, 64, args.duration),
                     intake(edge, lua, files["plain"], len(body), ctype, None, 16, args.duration)]
            print("backlog: %d+ reports in the spool" % args.preload)
            for r in after:
                show(r)
            print("RESULTS (backlog)")
            for b, a, what in zip(before, after, ("small reports, 64 clients", "200 kB reports, 16 clients")):
                ratio = a.rps / b.rps if b.rps else 0.0
                print("  %s: %.0f -> %.0f reports/s with %d queued: %.2f of the empty-spool rate; goal within 10%%: %s"
                      % (what, b.rps, a.rps, args.preload, ratio, "met" if ratio >= 0.9 else "MISSED"))
                if a.other or b.other:
                    status = 1
            edge.stop()
            benchlib.rm_tree(edge.dir)
            edge = None
        print("load average after: %s" % benchlib.loadavg())
    except benchlib.Missing as e:
        print("NOT MEASURED: %s" % e)
        status = 2
    finally:
        if edge is not None:
            if edge.proc is not None and edge.proc.poll() is not None:
                print("edge exited (%s); log tail:\n%s" % (edge.proc.returncode, benchlib.tail_log(edge)))
            edge.cleanup()
        if args.keep:
            print("kept " + tmp)
        else:
            benchlib.rm_tree(tmp)
    sys.exit(status)


if __name__ == "__main__":
    main()
