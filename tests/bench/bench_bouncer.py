#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bouncer benchmark: edge's redirect rate against nginx `return 302` on the same machine, in the
same run, with the same wrk settings; plus catalog import time, snapshot rebuild time, RSS and
the redirect rate at 100 vs 50,000 products.

What runs (all on loopback, free ports, temporary directories):
  - nginx: 2 workers, access log off, keepalive_requests raised so neither server closes
    keep-alive connections, one `location / { return 302 <url>; }`;
  - edge A: 2 worker threads, GeoIP on (data/geoip/iptoasn-country.mmdb), loopback trusted as a
    proxy so each request's X-Forwarded-For (rotating public addresses) goes through the GeoIP
    lookup, catalog of --products products x 3 OS locations and --mirrors mirrors (gen_catalog.py)
    imported with `edge catalog import` before start, then re-imported with PUT /api/v1/catalog;
  - edge B: the same with a 100-product catalog.
wrk (-t2 -c64 by default) rotates through 4,096 requests: 64 request paths that all resolve to a
location, each time with another of 1,011 X-Forwarded-For addresses (11 well-known hosts, 1,000
random global ones); the same Lua script (and headers) drives nginx, which ignores both. Rounds interleave nginx, A and
B so that machine noise hits all three; the printed ratio is the median over rounds.

Usage: bench_bouncer.py --edge build-bench/bin/edge [--quick] [--duration 5] [--rounds 9]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import benchlib
import gen_catalog

# Public addresses from several regions (documentation of well-known resolvers/hosts), sent as
# X-Forwarded-For so that every request is geolocated.
KNOWN_ADDRS = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222", "80.80.80.80", "193.0.14.129",
               "202.12.27.33", "200.160.0.10", "196.216.2.1", "203.119.86.101", "2001:4860:4860::8888"]


def random_global_addrs(count, seed=7):
    """Deterministic global unicast addresses (4 in 5 IPv4), so that GeoIP lookups walk many
    different branches of the database as real clients would, not the same few."""
    import ipaddress
    import random
    rnd, out = random.Random(seed), []
    while len(out) < count:
        if rnd.random() < 0.8:
            a = ipaddress.IPv4Address(rnd.getrandbits(32))
        else:
            a = ipaddress.IPv6Address((0x2000 + rnd.getrandbits(12)) << 112 | rnd.getrandbits(112))
        if a.is_global and not a.is_multicast:
            out.append(str(a))
    return out


# 1,011 addresses against 64 paths: the 4,096 requests wrk rotates through are all different pairs.
CLIENT_ADDRS = KNOWN_ADDRS + random_global_addrs(1000)

LUA = r"""
-- rotates through 4096 pre-formatted GET requests (paths from args[1] x X-Forwarded-For values from args[2])
local reqs = {}
local idx = 0
function init(args)
  local paths, addrs = {}, {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  if args[2] then for line in io.lines(args[2]) do addrs[#addrs + 1] = line end end
  for i = 1, (#addrs > 0 and 4096 or #paths) do
    local h = {}
    if #addrs > 0 then h["X-Forwarded-For"] = addrs[(i - 1) % #addrs + 1] end
    reqs[#reqs + 1] = wrk.format("GET", paths[(i - 1) % #paths + 1], h)
  end
  idx = math.random(#reqs)
end
function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end
"""

NGINX_CONF = """worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 302 {url}; }}
    }}
}}
"""

# The bouncer section of edge's config (docs/bouncer.md, docs/configuration.md).
# The mirror health checker is off: it would probe the catalog's (fictitious) mirror hosts.
BOUNCER_YAML = """bouncer:
  geoip_database: {geoip}
  trusted_proxies: ["127.0.0.1/32", "::1/128"]
  health_check:
    enabled: false
"""


class Nginx:
    def __init__(self, tmp, url):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir)
        self.port = benchlib.free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(tmp=self.dir, port=self.port, url=url))
        self.log = open(os.path.join(self.dir, "stdout.log"), "wb")
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", "nginx.conf"], stdout=self.log, stderr=self.log)
        ok = benchlib.wait_until(self.ready, 10)
        if not ok:
            raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "nginx-error.log")).read())

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + open(os.path.join(self.dir, "nginx-error.log")).read())
        try:
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/?product=x")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 302
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_edge(tmp, name, catalog_path, geoip, threads):
    os.makedirs(os.path.join(tmp, name))
    edge = benchlib.edgetest.Edge(extra_yaml=BOUNCER_YAML.format(geoip=json.dumps(geoip)), threads=threads,
                                  directory=os.path.join(tmp, name))
    benchlib.check_config(edge)
    # storage.data_dir is created by the server at start; the import command needs it to exist.
    os.makedirs(os.path.join(edge.dir, "data"), exist_ok=True)
    # Import before start (the command works whether or not a server runs on the data directory).
    t0 = time.perf_counter()
    p = subprocess.run([benchlib.edgetest.EDGE_BIN, "catalog", "import", catalog_path, "--config", edge.config],
                       capture_output=True, text=True, cwd=edge.dir, timeout=600)
    import_s = time.perf_counter() - t0
    if p.returncode != 0:
        raise benchlib.Missing("`edge catalog import` failed (exit %d): %s%s" % (p.returncode, p.stdout, p.stderr))
    t0 = time.perf_counter()
    edge.start()
    start_s = time.perf_counter() - t0
    return edge, import_s, start_s


def get(edge, path, headers=None):
    return edge.request("GET", path, headers=headers)


def verify_paths(edge, paths, addr_headers):
    """Every path must answer 302 with a mirror URL, else the rate would measure 404s."""
    for i, p in enumerate(paths):
        status, headers, body = get(edge, p, {"X-Forwarded-For": addr_headers[i % len(addr_headers)]})
        loc = headers.get("location", "")
        if status != 302 or ".bench.example.net/mozilla/pub/bench/" not in loc:
            raise RuntimeError("%s answered %d %r (location %r): the benchmark would not measure redirects"
                               % (p, status, body[:200], loc))


def admin_put_catalog(edge, body):
    t0 = time.perf_counter()
    status, _, resp = edge.admin("PUT", "/api/v1/catalog", body=body, headers={"Content-Type": "application/json"})
    return status, resp, time.perf_counter() - t0


def measure_visibility(edge, cat, addrs):
    """PUT the catalog plus one new product; time until a redirect for it is served. Returns
    (put status, PUT round trip s, PUT start to first 302 s) or raises Missing."""
    name = "bench-visibility-%d" % int(time.time())
    cat2 = dict(cat)
    cat2["products"] = cat["products"] + [{"name": name, "ssl_only": True}]
    cat2["locations"] = cat["locations"] + [{"product": name, "os": "win64", "path": "/pub/visibility/:lang/x.exe"}]
    body = json.dumps(cat2, separators=(",", ":")).encode()
    path = "/?product=%s&os=win64&lang=en-US" % name
    status, resp, put_s = admin_put_catalog(edge, body)
    t_put = time.perf_counter() - put_s
    if status == 404:
        raise benchlib.Missing("PUT /api/v1/catalog answered 404 (admin JSON API not in this build)")
    if status // 100 != 2:
        raise RuntimeError("PUT /api/v1/catalog answered %d: %r" % (status, resp[:300]))
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        st = get(edge, path, {"X-Forwarded-For": addrs[0]})[0]
        if st == 302:
            return status, put_s, time.perf_counter() - t_put
        time.sleep(0.002)
    raise RuntimeError("the new product was not served within 60 s of the PUT")


def measure_small_write(edge, addrs):
    """Tuxedo-style single writes (product_add, location_add) on the big catalog: time from the
    location_add request to the first 302 for it = one snapshot rebuild + publish of the whole
    catalog. Returns (seconds, admin round trip seconds) or raises Missing."""
    name = "bench-small-write-%d" % int(time.time())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, _, body = edge.admin("POST", "/api/product_add", body=urllib.parse.urlencode({"product": name, "ssl_only": "true"}),
                             headers=form)
    if st == 404:
        raise benchlib.Missing("POST /api/product_add answered 404 (tuxedo API not in this build)")
    if st != 200:
        raise RuntimeError("product_add answered %d: %r" % (st, body[:300]))
    path = "/?product=%s&os=win64&lang=en-US" % name
    t0 = time.perf_counter()
    st, _, body = edge.admin("POST", "/api/location_add",
                             body=urllib.parse.urlencode({"product": name, "os": "win64", "path": "/pub/small/:lang/x.exe"}),
                             headers=form)
    rt = time.perf_counter() - t0
    if st != 200:
        raise RuntimeError("location_add answered %d: %r" % (st, body[:300]))
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        if get(edge, path, {"X-Forwarded-For": addrs[0]})[0] == 302:
            return time.perf_counter() - t0, rt
        time.sleep(0.002)
    raise RuntimeError("location_add not served within 60 s")


def snapshot_metrics(edge):
    m = benchlib.metrics(edge)
    out = {}
    for (n, labels), v in m.items():
        if "snapshot" in n or ("catalog" in n and "bouncer" in n):
            out["%s{%s}" % (n, labels) if labels else n] = v
    return out


def main():
    ap = argparse.ArgumentParser(description="edge bouncer vs nginx redirect benchmark")
    ap.add_argument("--edge", default=os.path.join(benchlib.SOURCE_DIR, "build-bench", "bin", "edge"))
    ap.add_argument("--quick", action="store_true", help="4 s runs, 2 rounds")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--rounds", type=int, default=9, help="rounds of nginx / edge-big / edge-small (default 9: the machine alternates between two speeds, and a median of 5 still flips with them)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("--products", type=int, default=50000)
    ap.add_argument("--mirrors", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.rounds = 4, 2
    edge_bin = benchlib.set_edge_bin(args.edge)
    benchlib.warn_if_not_release(edge_bin)
    geoip = os.path.join(benchlib.SOURCE_DIR, "data", "geoip", "iptoasn-country.mmdb")

    print("== bench_bouncer: %s" % " ".join(sys.argv))
    print("machine: " + benchlib.machine())
    print("tools: " + benchlib.tool_versions() + "; source tree: " + benchlib.source_version())
    print("binary: %s: %s" % (edge_bin, benchlib.edge_version(edge_bin)))
    print("load average before: %s" % benchlib.loadavg())
    tmp = tempfile.mkdtemp(prefix="edge-bench-bouncer-")
    nginx = edge_a = edge_b = None
    status = 0
    try:
        t0 = time.perf_counter()
        big = gen_catalog.make_catalog(args.products, args.mirrors)
        small = gen_catalog.make_catalog(100, args.mirrors)
        big_path, small_path = os.path.join(tmp, "catalog-big.json"), os.path.join(tmp, "catalog-small.json")
        for c, p in ((big, big_path), (small, small_path)):
            with open(p, "w") as f:
                json.dump(c, f, separators=(",", ":"))
        print("catalogs: big %d products, %d locations, %d aliases, %d mirrors (%.1f MB JSON); small %d products "
              "(generated in %.1f s)" % (len(big["products"]), len(big["locations"]), len(big["aliases"]),
                                          len(big["mirrors"]), os.path.getsize(big_path) / 1e6, len(small["products"]),
                                          time.perf_counter() - t0))
        big_paths, small_paths = gen_catalog.request_paths(big, 64), gen_catalog.request_paths(small, 64)
        files = {}
        for key, lines in (("big", big_paths), ("small", small_paths), ("addrs", CLIENT_ADDRS)):
            files[key] = os.path.join(tmp, key + ".txt")
            with open(files[key], "w") as f:
                f.write("\n".join(lines) + "\n")
        lua = os.path.join(tmp, "rotate.lua")
        with open(lua, "w") as f:
            f.write(LUA)

        nginx = Nginx(tmp, "https://mirror000.bench.example.net/mozilla/pub/bench/browser/0/win64/en-US/bench-0-setup.bin")

        edge_a, import_big_s, start_a_s = start_edge(tmp, "edge-big", big_path, geoip, 2)
        print("edge catalog import (%d products, server not running): %.2f s; edge start with it: %.2f s"
              % (len(big["products"]), import_big_s, start_a_s))
        rss_start = benchlib.rss_kib(edge_a.proc.pid)
        verify_paths(edge_a, big_paths, CLIENT_ADDRS)
        edge_b, import_small_s, _ = start_edge(tmp, "edge-small", small_path, geoip, 2)
        print("edge catalog import (100 products): %.2f s" % import_small_s)
        verify_paths(edge_b, small_paths, CLIENT_ADDRS)

        # Admin writes on the running big catalog.
        rss = [("after start (CLI import)", benchlib.rss_text(edge_a.proc.pid))]
        try:
            st, put_s, visible_s = measure_visibility(edge_a, big, CLIENT_ADDRS)
            print("PUT /api/v1/catalog (%d products + 1) on the running server: answered %d in %.2f s; new product "
                  "served %.3f s after the PUT was sent" % (len(big["products"]), st, put_s, visible_s))
            rss.append(("after the PUT", benchlib.rss_text(edge_a.proc.pid)))
        except benchlib.Missing as e:
            print("NOT MEASURED: PUT /api/v1/catalog: %s" % e)
        try:
            vis_s, rt_s = measure_small_write(edge_a, CLIENT_ADDRS)
            print("snapshot rebuild (tuxedo location_add on the %d-product catalog): admin answered in %.3f s, "
                  "redirect served %.3f s after the request was sent" % (len(big["products"]), rt_s, vis_s))
            rss.append(("after product_add + location_add", benchlib.rss_text(edge_a.proc.pid)))
        except benchlib.Missing as e:
            print("NOT MEASURED: single-write snapshot rebuild: %s" % e)
        builds = []
        for line in edge_a.log_lines():
            msg = str(line.get("msg", line.get("message", "")))
            if "snapshot" in msg and "built in" in msg:
                builds.append(msg)
        for msg in builds:
            print("edge log: " + msg)
        snap = snapshot_metrics(edge_a)
        if snap:
            print("bouncer snapshot/catalog metrics after the writes: " +
                  ", ".join("%s=%g" % kv for kv in sorted(snap.items())))
        else:
            print("bouncer exposes no metric with 'snapshot' in its name")
        time.sleep(2)
        rss.append(("2 s later", benchlib.rss_text(edge_a.proc.pid)))
        print("edge RSS with the %d-product catalog: %s; peak so far %.1f MB (goal < 256 MB)"
              % (len(big["products"]), "; ".join("%s %s" % (v, k) for k, v in rss),
                 benchlib.hwm_kib(edge_a.proc.pid) / 1024.0))

        # Load: interleaved rounds.
        results = {"nginx": [], "edge-big": [], "edge-small": []}
        targets = [("nginx", "http://127.0.0.1:%d" % nginx.port, files["big"]),
                   ("edge-big", "http://127.0.0.1:%d" % edge_a.port, files["big"]),
                   ("edge-small", "http://127.0.0.1:%d" % edge_b.port, files["small"])]
        print("wrk -t%d -c%d -d%ds --latency, Lua rotating 4096 requests (64 paths, %d X-Forwarded-For addresses); %d round(s)"
              % (args.threads, args.connections, args.duration, len(CLIENT_ADDRS), args.rounds))
        for rnd in range(args.rounds):
            # rotate the order every round so that a burst of outside load does not always hit the same target
            for name, url, paths in targets[rnd % 3:] + targets[:rnd % 3]:
                pid = {"nginx": nginx.proc.pid, "edge-big": edge_a.proc.pid, "edge-small": edge_b.proc.pid}[name]
                c0 = benchlib.tree_cpu_seconds(pid)
                r = benchlib.run_wrk(url, args.threads, args.connections, args.duration, script=lua,
                                     script_args=[paths, files["addrs"]])
                r["server_cores"] = (benchlib.tree_cpu_seconds(pid) - c0) / r["seconds"]
                results[name].append(r)
                flag = ""
                if r["non_ok"] or r["errors"]:
                    flag = "  (!! %d non-2xx/3xx, %s)" % (r["non_ok"], r.get("error_detail", ""))
                r["us_per_req"] = r["server_cores"] / r["rps"] * 1e6 if r["rps"] else 0.0
                print("  round %d %-10s %9.0f req/s  p50 %s  p99 %s  server CPU %.1f us/req; cores: server %.2f, wrk %.2f, "
                      "machine busy %.2f (softirq %.2f) idle %.2f%s"
                      % (rnd + 1, name, r["rps"], benchlib.ms(r["p50"]), benchlib.ms(r["p99"]), r["us_per_req"], r["server_cores"],
                         r["client_cpu_s"] / r["seconds"], r["machine_busy"], r["machine_softirq"], r["machine_idle"], flag))
                if r["non_ok"] or r["errors"]:
                    status = 1
        print("load average after the runs: %s" % benchlib.loadavg())
        print("edge RSS after the load runs: %s" % benchlib.rss_text(edge_a.proc.pid))
        m = benchlib.metrics(edge_a)
        geo = {l: v for (n, l), v in m.items() if n == "edge_bouncer_geo_lookups_total"}
        outcomes = {l: v for (n, l), v in m.items() if n == "edge_bouncer_outcomes_total" and v}
        print("edge (big) counters after the runs: geo lookups %s; outcomes %s" % (geo or "none exported", outcomes))
        rss_after = benchlib.rss_kib(edge_a.proc.pid)
        hwm = benchlib.hwm_kib(edge_a.proc.pid)

        def med(name, key):
            return statistics.median(r[key] for r in results[name])

        ratios = [a["rps"] / n["rps"] for a, n in zip(results["edge-big"], results["nginx"])]
        scale = [a["rps"] / b["rps"] for a, b in zip(results["edge-big"], results["edge-small"])]
        print("RESULTS")
        for name in results:
            print("  %-10s median %9.0f req/s, p99 %s, server CPU %.1f us/req (user+system of the server process(es); "
                  "the kernel's softirq work is not in it)" % (name, med(name, "rps"), benchlib.ms(med(name, "p99")),
                                                              med(name, "us_per_req")))
        r = statistics.median(ratios)
        print("  ratio edge(%d products)/nginx req/s: %.2f (per round: %s) goal >= 1.0: %s"
              % (args.products, r, ", ".join("%.2f" % x for x in ratios), "met" if r >= 1.0 else "MISSED"))
        eff = statistics.median(n["us_per_req"] / a["us_per_req"] for a, n in zip(results["edge-big"], results["nginx"]))
        print("  CPU efficiency nginx us/req / edge us/req: %.2f (>= 1.0: edge spends no more CPU per redirect than nginx; "
              "less sensitive to other load on the machine than req/s)" % eff)
        s = statistics.median(scale)
        print("  rate at %d products / rate at 100 products: %.2f (per round: %s) goal within 10%%: %s"
              % (args.products, s, ", ".join("%.2f" % x for x in scale), "met" if abs(1 - s) <= 0.10 else "MISSED"))
        print("  edge RSS (%d products): %.1f MB after start with the CLI-imported catalog (goal < 256 MB: %s); "
              "%.1f MB after the admin writes and the load, peak %.1f MB (goal: %s)"
              % (args.products, rss_start / 1024.0, "met" if rss_start < 256 * 1024 else "MISSED", rss_after / 1024.0,
                 hwm / 1024.0, "met" if hwm < 256 * 1024 else "MISSED"))
    except benchlib.Missing as e:
        print("NOT MEASURED: %s" % e)
        status = 2
    finally:
        for e in (edge_a, edge_b):
            if e is not None:
                try:
                    e.stop()
                except AssertionError as err:
                    print("edge stop: %s" % err)
                    e.cleanup()
        if nginx is not None:
            nginx.stop()
        benchlib.finish(tmp, args.keep)
    sys.exit(status)


if __name__ == "__main__":
    main()
