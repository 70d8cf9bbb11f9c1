# SPDX-License-Identifier: MIT
"""Shared pieces of the benchmark scripts (tests/bench/bench_*.py): starting edge through the
integration harness (tests/integration/edgetest.py), running wrk and reading its output, reading
edge's metrics, and describing the machine.

Benchmarks are not tests: they print figures and ratios against a peer measured in the same run,
because the machines are shared and noisy. Every load loop here is bounded in time and count, and
everything listens on loopback only.
"""
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
import edgetest  # noqa: E402  (the integration harness: Edge, free_port, parse_metrics)

free_port = edgetest.free_port
parse_metrics = edgetest.parse_metrics
metric_sum = edgetest.metric_sum


class Missing(Exception):
    """A feature the benchmark needs is not in this build: reported, never faked."""


def set_edge_bin(path):
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise SystemExit("edge binary not found or not executable: %s (build it: cmake -S . -B build-bench "
                         "-DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2)" % path)
    edgetest.EDGE_BIN = path
    return path


def build_type(edge_bin):
    """Reads CMAKE_BUILD_TYPE from the CMakeCache.txt next to bin/edge, or None."""
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(edge_bin))), "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def warn_if_not_release(edge_bin):
    bt = build_type(edge_bin)
    if bt != "Release":
        print("WARNING: %s comes from a build with CMAKE_BUILD_TYPE=%r, not Release: figures are not "
              "representative" % (edge_bin, bt))


def machine():
    """One line describing the machine: cores, memory, the data file system, kernel, date."""
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    df = subprocess.run(["df", "-hT", tempfile.gettempdir()], capture_output=True, text=True).stdout.splitlines()
    df_line = " ".join(df[-1].split()) if df else "?"
    return ("nproc=%d, MemTotal=%.1f GiB, cpu=%s, tmp fs: %s, kernel %s, %s" %
            (os.cpu_count(), mem_kb / 1048576.0, cpu or "?", df_line, os.uname().release,
             datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))


def tool_versions():
    out = []
    for cmd in (["wrk", "--version"], ["nginx", "-v"]):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            text = (p.stdout + p.stderr).strip().splitlines()
            out.append(text[0] if text else "?")
        except OSError:
            out.append("%s: not installed" % cmd[0])
    return "; ".join(out)


# ---------------------------------------------------------------------------------------------
# wrk

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text):
    m = re.match(r"^([0-9.]+)(us|ms|s|m|h)$", text)
    if not m:
        raise ValueError("unparsable wrk duration %r" % text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(text):
    """Returns {requests, seconds, rps, p50, p75, p90, p99 (seconds), non_ok, errors, lua: {...}}
    from wrk --latency output. Lua scripts may print 'LUA key=value' lines in done()."""
    res = {"non_ok": 0, "errors": 0, "lua": {}}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+),", text, re.M)
    if not m:
        raise ValueError("wrk output has no request count:\n" + text)
    res["requests"] = int(m.group(1))
    res["seconds"] = _duration(m.group(2))
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s*%s%%\s+([0-9.]+\w+)" % pct, text, re.M)
        res["p" + pct] = _duration(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m:
        res["non_ok"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
        res["error_detail"] = m.group(0)
    for line in text.splitlines():
        if line.startswith("LUA "):
            for kv in line[4:].split():
                k, _, v = kv.partition("=")
                try:
                    res["lua"][k] = float(v)
                except ValueError:
                    res["lua"][k] = v
    return res


def run_wrk(url, threads, connections, seconds, script=None, script_args=(), timeout_s="10s", env=None):
    """Runs wrk once (bounded by -d and a hard subprocess timeout) and returns parse_wrk's dict
    plus 'raw' (the output) and 'cmd'."""
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency", "--timeout", timeout_s]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if script_args:
        cmd += ["--"] + list(script_args)
    import resource
    ru0, st0 = resource.getrusage(resource.RUSAGE_CHILDREN), proc_stat()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env)
    ru1, st1 = resource.getrusage(resource.RUSAGE_CHILDREN), proc_stat()
    if p.returncode != 0:
        raise RuntimeError("wrk failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout + p.stderr))
    res = parse_wrk(p.stdout)
    res["raw"] = p.stdout
    res["cmd"] = " ".join(cmd)
    # CPU seconds wrk used (the only child reaped meanwhile), to tell a CPU-bound run
    res["client_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    # the whole machine meanwhile, in cores: other people's work shows up as busy time nobody here used
    tick = os.sysconf("SC_CLK_TCK")
    wall = max(res["seconds"], 1e-9)
    d = [(b - a) / tick / wall for a, b in zip(st0, st1)]
    res["machine_idle"] = d[3] + d[4]
    res["machine_softirq"] = d[6]
    res["machine_busy"] = sum(d[:8]) - res["machine_idle"]
    return res


def proc_stat():
    """The aggregate 'cpu' line of /proc/stat: user nice system idle iowait irq softirq steal (ticks)."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def tree_cpu_seconds(pid):
    """CPU seconds of a process and its direct children (nginx master + workers)."""
    total = cpu_seconds(pid)
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                for child in f.read().split():
                    try:
                        total += cpu_seconds(int(child))
                    except OSError:
                        pass
    except OSError:
        pass
    return total


def cpu_seconds(pid):
    """User + system CPU seconds a process (all its threads) has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid):
    """{thread id: user + system CPU seconds} for every thread of a process."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return out


def busiest_threads(before, after, seconds, n=3):
    """The n largest per-thread CPU shares (cores) between two thread_cpu_seconds() samples."""
    return sorted(((after[t] - before.get(t, 0.0)) / seconds for t in after), reverse=True)[:n]


def ms(seconds):
    return "n/a" if seconds is None else "%.2f ms" % (seconds * 1000.0)


# ---------------------------------------------------------------------------------------------
# edge

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def check_config(edge):
    """edge --check-config on the generated file: a clear error instead of a start timeout."""
    p = subprocess.run([edgetest.EDGE_BIN, "--check-config", edge.config], capture_output=True, text=True, cwd=edge.dir)
    if p.returncode != 0:
        raise Missing("edge --check-config refused the benchmark's config (a feature or key missing in this "
                      "build?):\n%s%s--- config ---\n%s" % (p.stdout, p.stderr, open(edge.config).read()))


def metrics(edge):
    status, _, body = edge.admin("GET", "/metrics")
    if status != 200:
        raise RuntimeError("GET /metrics answered %d" % status)
    return parse_metrics(body.decode())


def metric_names(m, needle):
    return sorted({n for (n, _) in m if needle in n})


def wait_until(pred, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def tail_log(edge, lines=20):
    try:
        return "\n".join(edge.read_log().splitlines()[-lines:])
    except OSError:
        return ""


def rm_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def finish(tmp, keep, edges=()):
    """End of a benchmark: shows the log tail of any edge that exited on its own, stops the edges
    and removes the temporary directory (unless --keep)."""
    for e in edges:
        if e is None:
            continue
        if e.proc is not None and e.proc.poll() is not None:
            print("edge exited (%s); log tail:\n%s" % (e.proc.returncode, tail_log(e)))
        e.cleanup()
    if keep:
        print("kept " + tmp)
    else:
        rm_tree(tmp)


# ---------------------------------------------------------------------------------------------
# disk

def dd_bandwidth(directory, count_mb=512):
    """Sequential write with fdatasync at the end (dd conv=fdatasync) in directory's file system.
    Returns (MB/s with MB = 10^6 bytes, dd's own summary line)."""
    path = os.path.join(directory, "dd-bench.tmp")
    try:
        p = subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % count_mb, "conv=fdatasync"],
                           capture_output=True, text=True, timeout=600)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    line = [ln for ln in p.stderr.splitlines() if "copied" in ln]
    if p.returncode != 0 or not line:
        raise RuntimeError("dd failed: " + p.stderr)
    m = re.match(r"^(\d+) bytes .* copied, ([0-9.,e+-]+) s,", line[0])
    nbytes, secs = int(m.group(1)), float(m.group(2).replace(",", "."))
    return nbytes / secs / 1e6, line[0]


def fsync_latency(directory, count=200):
    """Latency of one 4 KiB append + os.fsync, in seconds: (mean, p50, p99)."""
    path = os.path.join(directory, "fsync-bench.tmp")
    block = os.urandom(4096)
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            samples.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    samples.sort()
    return sum(samples) / len(samples), samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]


# ---------------------------------------------------------------------------------------------
# crash reports

POST_LUA = r"""
-- POSTs one prebuilt body (args[1]) with Content-Type args[2], optional Content-Encoding args[3]
-- ("-" = none), and stops each thread after args[4] answers (0 = no limit). Counts answers whose
-- body starts with "CrashID=bp-" (acknowledged crashes) and prints them in done().
local threads = {}
local limit = 0
acked, other = 0, 0
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = args[2]
  if args[3] and args[3] ~= "-" then wrk.headers["Content-Encoding"] = args[3] end
  if args[4] then limit = tonumber(args[4]) end
end
function response(status, headers, body)
  if status == 200 and string.sub(body, 1, 11) == "CrashID=bp-" then acked = acked + 1 else other = other + 1 end
  if limit > 0 and acked + other >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("acked"); o = o + t:get("other") end
  io.write(string.format("LUA acked=%d other=%d\n", a, o))
end
"""

BOUNDARY = "------------------------edgebench5f3c9a1e"


def minidump_like(size, seed=7):
    """size bytes that look like a minidump: an MDMP header and stream directory, then a mix of
    incompressible (random) and structured (pointer-like, zero-padded) blocks, so gzip gets a
    realistic ~2x rather than 100x."""
    import random
    import struct
    rnd = random.Random(seed)
    head = struct.pack("<4sIIIIII", b"MDMP", 0xA793, 8, 32, 0, 0x684A1B2C, 0x0000000000000421 & 0xFFFFFFFF)
    head += b"\0" * 4
    for i in range(8):
        head += struct.pack("<III", [3, 4, 5, 6, 7, 9, 15, 21][i], 4096, 512 + i * 4096)
    out = bytearray(head)
    i = 0
    while len(out) < size:
        if i % 2 == 0:
            out += bytes(rnd.getrandbits(8) for _ in range(4096))
        else:
            base = 0x7FF6_0000_0000 + rnd.randrange(1 << 24) * 16
            for k in range(512):
                out += struct.pack("<Q", base + (k % 37) * 8 if k % 3 else 0)
        i += 1
    return bytes(out[:size])


def crash_report(dump_size, annotations=None):
    """A multipart/form-data crash report as Breakpad/Crashpad send it: text annotations and
    one upload_file_minidump part. Returns (body bytes, content type)."""
    ann = annotations or {"ProductName": "BenchApp", "Version": "139.0.1", "BuildID": "20250601093000",
                          "ReleaseChannel": "release", "CrashTime": "1750000000", "Throttleable": "1",
                          "Vendor": "Example", "URL": "https://www.example.com/"}
    parts = []
    for k, v in ann.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (BOUNDARY, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; "
                  "filename=\"a0b1c2d3.dmp\"\r\nContent-Type: application/octet-stream\r\n\r\n" % BOUNDARY).encode())
    parts.append(minidump_like(dump_size) if dump_size else b"")
    parts.append(("\r\n--%s--\r\n" % BOUNDARY).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + BOUNDARY


def post_report(edge, body, ctype, encoding=None):
    headers = {"Content-Type": ctype}
    if encoding:
        headers["Content-Encoding"] = encoding
    return edge.request("POST", "/submit", body=body, headers=headers)


def build_preload_helper(out_dir, edge_bin):
    """Compiles tests/bench/spool_preload.c against the build's static libraries."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(edge_bin)))
    exe = os.path.join(out_dir, "spool_preload")
    libs = subprocess.run(["pkg-config", "--libs", "jansson", "zlib", "libisal", "yaml-0.1"], capture_output=True, text=True,
                          check=True).stdout.split()
    cmd = (["cc", "-O2", "-D_GNU_SOURCE", "-I" + SOURCE_DIR, os.path.join(HERE, "spool_preload.c"),
            os.path.join(build, "collector", "libedge_collector.a"), os.path.join(build, "edge", "libedge_core.a")]
           + libs + ["-llmdb", "-lcrypto", "-lpthread", "-lm", "-o", exe])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("building spool_preload failed:\n%s\n%s" % (" ".join(cmd), p.stderr))
    return exe


def run_wrk_until(url, threads, connections, max_seconds, done, script=None, script_args=(), timeout_s="30s"):
    """Runs wrk for at most max_seconds and interrupts it (SIGINT: wrk prints its summary) as soon
    as done() returns true (polled every 0.2 s). Returns (parse_wrk dict, wall seconds)."""
    import signal as _signal
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % max_seconds, "--latency", "--timeout", timeout_s]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if script_args:
        cmd += ["--"] + list(script_args)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while p.poll() is None and time.perf_counter() - t0 < max_seconds + 30:
            if done():
                p.send_signal(_signal.SIGINT)
                break
            time.sleep(0.2)
        out, err = p.communicate(timeout=60)
    except BaseException:
        p.kill()
        p.wait()
        raise
    wall = time.perf_counter() - t0
    res = parse_wrk(out)
    res["raw"] = out
    res["cmd"] = " ".join(cmd)
    return res, wall


def loadavg():
    """/proc/loadavg's three averages: other people's work on a shared machine shows up here."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def source_version():
    """The commit of the source tree the scripts run from, with the number of modified files."""
    try:
        head = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", SOURCE_DIR, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
        return head + (" (+%d modified files)" % len(dirty) if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def rss_text(pid):
    """'VmRSS MB (anon A + file F)': file-backed pages (LMDB and mmdb maps) are reclaimable page cache."""
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                vals[k] = int(v.split()[0]) / 1024.0
    return "%.1f MB (anon %.1f + file %.1f)" % (vals.get("VmRSS", 0), vals.get("RssAnon", 0), vals.get("RssFile", 0))


def edge_version(edge_bin):
    """`edge --version`: names the commit the binary was built from."""
    try:
        p = subprocess.run([edge_bin, "--version"], capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"
