#!/usr/bin/env python3
"""The network benchmarks: goro::net against Go's net and Boost.Asio, on loopback.

    python3 bench/net/run.py [--reps N] [--duration S] [--filter RE] [--workers 1,2]

Builds what it needs (the release meson build in build-bench, and the Go servers with
GOCACHE under bench/out), runs every row for every server --reps times, and prints one
table of medians. See bench/README.md ("bench/net") for the rows and the method.

- Echo rows (512-byte messages): every server is driven by the same load client
  (bench/net/load.cpp, plain epoll, one thread). At one worker the server is pinned to
  core 0 (taskset -c 0) and the client to core 1; at two workers neither is pinned.
  req/s is the client's count over the measured window (after a warm-up); CPU per request
  is the server process's utime+stime (/proc/PID/stat) over the same window / requests.
- HTTP hello: wrk -t1 -c100 against Go's net/http and, if it is built, goro+Beast's
  samples/http_hello (or --http-goro CMD).
- Idle: 10,000 connections held open after one round trip each: the server's VmRSS
  increase per connection 1 s after they are all open and again after 5 s more of idle
  (goro gives back stack pages of goroutines that waited 1 s: netpoll.hpp's idle sweep),
  and its CPU time over those 5 s.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
NETOUT = os.path.join(OUT, "net")
BUILD = os.path.join(ROOT, "build-bench")
TICK = os.sysconf("SC_CLK_TCK")

SERVERS = ("goro", "go", "asio")
# not run by default: uring_probe's raw single-threaded servers (--servers goro,epoll,uring
# --workers 1; bench/RESULTS.md, "io_uring: measured, and the decision")
EXTRA = ("epoll", "epoll-short", "uring", "uring-single")
# goro_echo with its poller's back end forced (GORO_NETPOLL), and another build of it
# (--goro-base: a baseline binary, for before/after pairs in one run)
GORO_VARIANTS = ("goro-epoll", "goro-uring", "goro-base")
TITLES = {"goro": "goro", "go": "Go", "asio": "Asio", "epoll": "raw epoll",
          "epoll-short": "raw epoll-short", "uring": "raw io_uring",
          "uring-single": "raw io_uring-single", "goro-epoll": "goro (epoll)",
          "goro-uring": "goro (io_uring)", "goro-base": "goro (base)"}

# name, client mode, connections, pipeline depth
ECHO_ROWS = [
    ("pingpong-1", "pingpong", 1, 1),
    ("pingpong-100", "pingpong", 100, 1),
    ("pingpong-1000", "pingpong", 1000, 1),
    ("stream-4x16", "stream", 4, 16),
]


# The main bench runner's helpers: log, sh (a build command, echoed), go_env (Go's build
# cache under bench/out, an empty GOFLAGS), and run_process / parse_result (for xcore).
sys.path.insert(0, BENCH)
from run import go_env, log, parse_result, run_process, sh  # noqa: E402  (bench/run.py)


# ---- building -----------------------------------------------------------------------------

def build(args):
    """Returns {name: argv prefix} of what was built; the server's argv gets ADDR and P."""
    os.makedirs(NETOUT, exist_ok=True)
    progs = {}
    ok = os.path.exists(os.path.join(BUILD, "build.ninja"))
    if not ok:
        ok = sh(["meson", "setup", BUILD, "--buildtype=release"], cwd=ROOT)
    if ok:
        for t in ("netload", "goro_echo", "asio_echo") + \
                (("uring_probe",) if set(EXTRA) & set(args.servers) else ()):
            if args.no_build or sh(["nice", "-n", "10", "ninja", "-C", BUILD, "-j", str(args.jobs),
                                    f"bench/net/{t}"]):
                exe = os.path.join(BUILD, "bench", "net", t)
                if os.path.exists(exe):
                    progs[t] = exe
        # The core-to-core probe (bench/common/xcore.cpp), run before each echo run: the host
        # moves this VM's vCPUs between near and far cores, which moves every server's cost.
        if args.no_build or sh(["nice", "-n", "10", "ninja", "-C", BUILD, "-j", str(args.jobs),
                                "bench/xcore"]):
            exe = os.path.join(BUILD, "bench", "xcore")
            if os.path.exists(exe):
                progs["xcore"] = exe
        # The goro HTTP row's server is the samples' http_hello (http_servers finds it).
        if not args.no_build and args.http_goro is None:
            sh(["nice", "-n", "10", "ninja", "-C", BUILD, "-j", str(args.jobs), "samples/http_hello"])
    if getattr(args, "goro_base", None):
        progs["goro_base"] = os.path.abspath(args.goro_base)
    gosrc = os.path.join(HERE, "go")
    for t in ("echo", "http"):
        exe = os.path.join(NETOUT, f"go_{t}")
        if args.no_build or sh(["go", "build", "-o", exe, f"./{t}"], cwd=gosrc, env=go_env()):
            if os.path.exists(exe):
                progs[f"go_{t}"] = exe
    return progs


# ---- processes ----------------------------------------------------------------------------

def cpu_of(pid):
    """utime + stime of the whole process (all threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_of(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024


def pinned(cmd, core):
    return (["taskset", "-c", str(core)] if core is not None else []) + cmd


class Server:
    """A server process started on 127.0.0.1:0; .addr once it printed LISTENING."""

    def __init__(self, cmd, env=None, core=None, addr=None):
        """addr: where a server that prints no LISTENING line listens (polled)."""
        self.cmd = pinned(cmd, core)
        self.p = subprocess.Popen(self.cmd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  preexec_fn=raise_nofile)
        self.lines = []
        self.addr = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if addr is not None:
            self._poll(addr)
        if not self.ready.wait(30) or self.addr is None:
            self.stop()
            raise RuntimeError(f"{' '.join(self.cmd)} did not listen: {self.output()}")

    def _poll(self, addr):
        host, port = addr.rsplit(":", 1)
        for _ in range(300):
            if self.p.poll() is not None:
                return
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                self.addr = addr
                self.ready.set()
                return
            except OSError:
                time.sleep(0.1)

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            m = re.match(r"LISTENING (\S+)", line)
            if m and self.addr is None:
                self.addr = m.group(1).replace("[::]", "127.0.0.1")
                self.ready.set()
        self.ready.set()  # the end of its output: it exited (or closed stdout)

    def output(self):
        return "\n".join(self.lines[-20:])

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def server_cmd(progs, server, workers, addr="127.0.0.1:0"):
    """(argv, env) of an echo server, or None when it is not built."""
    if server == "goro" and "goro_echo" in progs:
        return [progs["goro_echo"], addr, str(workers)], dict(os.environ)
    if server in ("goro-epoll", "goro-uring") and "goro_echo" in progs:
        return [progs["goro_echo"], addr, str(workers)], \
            dict(os.environ, GORO_NETPOLL=server.split("-")[1])
    if server == "goro-base" and "goro_base" in progs:
        return [progs["goro_base"], addr, str(workers)], dict(os.environ)
    if server == "asio" and "asio_echo" in progs:
        return [progs["asio_echo"], addr, str(workers)], dict(os.environ)
    if server in EXTRA and "uring_probe" in progs:
        return [progs["uring_probe"], "--backend", server, addr], dict(os.environ)
    if server == "go" and "go_echo" in progs:
        return [progs["go_echo"], addr], dict(os.environ, GOMAXPROCS=str(workers))
    return None


def cores(workers):
    """(server core, client core): pinned at one worker, free at two."""
    return (0, 1) if workers == 1 else (None, None)


# ---- echo rows ----------------------------------------------------------------------------

def xcore_ns(progs):
    """The core-to-core round trip right now (bench/common/xcore.cpp), in ns, or None."""
    if "xcore" not in progs:
        return None
    s = parse_result(*run_process([progs["xcore"], "100000"], dict(os.environ), 30)[:2])
    return s.value if s.status == "ok" else None


def run_echo(progs, row, server, workers, args):
    name, mode, conns, depth = row
    sc = server_cmd(progs, server, workers)
    if sc is None or "netload" not in progs:
        return {"status": "unbuilt"}
    xcore = xcore_ns(progs)
    score, ccore = cores(workers)
    try:
        srv = Server(sc[0], env=sc[1], core=score)
    except RuntimeError as e:
        return {"status": "crash", "detail": str(e)}
    cmd = pinned([progs["netload"], "--addr", srv.addr, "--mode", mode, "--conns", str(conns),
                  "--msg", str(args.msg), "--depth", str(depth), "--duration", str(args.duration),
                  "--warmup", str(args.warmup), "--io", args.client_io], ccore)
    res = {"status": "ok"}
    try:
        cl = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=raise_nofile)
        out = []
        cpu0 = cpu1 = None
        deadline = time.monotonic() + args.duration + args.warmup + 60
        timer = threading.Timer(deadline - time.monotonic(), cl.kill)
        timer.start()
        for line in cl.stdout:
            out.append(line.rstrip("\n"))
            if line.startswith("START"):
                cpu0 = cpu_of(srv.p.pid)
            elif line.startswith("RESULT"):
                cpu1 = cpu_of(srv.p.pid)
        cl.wait()
        timer.cancel()
        m = next((l for l in out if l.startswith("RESULT")), None)
        if cl.returncode != 0 or m is None or cpu0 is None:
            res = {"status": "crash" if srv.alive() else "server died",
                   "detail": "\n".join(out[-10:]) + "\n-- server:\n" + srv.output()}
        else:
            kv = dict(i.split("=", 1) for i in m.split()[1:])
            reqs = int(kv["requests"])
            res.update(rps=float(kv["rps"]), requests=reqs, xcore_ns=xcore,
                       cpu_us=(cpu1 - cpu0) * 1e6 / reqs if reqs else None,
                       client_cpu_us=float(kv["client_cpu_us_per_req"]))
            if not srv.alive():
                res = {"status": "server died", "detail": srv.output()}
    finally:
        srv.stop()
    return res


# ---- HTTP ---------------------------------------------------------------------------------

def http_servers(progs, args):
    """{name: argv} of the HTTP hello servers; each gets 'ADDR' appended."""
    out = {}
    goro = args.http_goro
    if goro is None:
        for cand in (os.path.join(BUILD, "samples", "http_hello"),
                     os.path.join(BUILD, "samples", "http_hello", "http_hello")):
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                goro = cand + " serve"
                break
    if goro:
        out["goro"] = shlex.split(goro)
    if "go_http" in progs:
        out["go"] = [progs["go_http"], "serve"]
    return out


def run_http(argv, server, workers, args):
    score, ccore = cores(workers)
    env = dict(os.environ, GOMAXPROCS=str(workers), GORO_THREADS=str(workers))
    # the goro sample takes its worker count from GOMAXPROCS, as goro::options{} does
    try:
        if server == "go":
            srv = Server(argv + ["127.0.0.1:0"], env=env, core=score)
        else:
            srv = Server(argv + [args.http_addr], env=env, core=score, addr=args.http_addr)
    except RuntimeError as e:
        return {"status": "crash", "detail": str(e)}
    try:
        addr = srv.addr
        cmd = pinned(["wrk", "-t1", f"-c{args.http_conns}", f"-d{args.http_duration}s",
                      f"http://{addr}/"], ccore)
        # warm-up: a short wrk run, not measured
        subprocess.run(pinned(["wrk", "-t1", f"-c{args.http_conns}", "-d1s", f"http://{addr}/"],
                              ccore), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0 = cpu_of(srv.p.pid)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=args.http_duration + 60)
        cpu1 = cpu_of(srv.p.pid)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
        total = re.search(r"(\d+) requests in", r.stdout)
        errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", r.stdout)
        if r.returncode != 0 or not rps or not total:
            return {"status": "crash", "detail": r.stdout[-2000:] + "\n-- server:\n" + srv.output()}
        reqs = int(total.group(1))
        res = {"status": "ok", "rps": float(rps.group(1)), "requests": reqs,
               "cpu_us": (cpu1 - cpu0) * 1e6 / reqs if reqs else None}
        if errs:
            res["errors"] = errs.group(0)
        if not srv.alive():
            res = {"status": "server died", "detail": srv.output()}
        return res
    finally:
        srv.stop()


# ---- idle ---------------------------------------------------------------------------------

def run_idle(progs, server, args):
    sc = server_cmd(progs, server, 1)
    if sc is None or "netload" not in progs:
        return {"status": "unbuilt"}
    try:
        srv = Server(sc[0], env=sc[1], core=0)
    except RuntimeError as e:
        return {"status": "crash", "detail": str(e)}
    cl = None
    try:
        time.sleep(0.2)
        rss0 = rss_of(srv.p.pid)
        cl = subprocess.Popen(pinned([progs["netload"], "--addr", srv.addr, "--mode", "idle",
                                      "--conns", str(args.idle_conns)], 1),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, preexec_fn=raise_nofile)
        line = ""
        t0 = time.monotonic()
        for line in cl.stdout:
            if line.startswith("READY") or line.startswith("ERROR"):
                break
        if not line.startswith("READY"):
            return {"status": "crash", "detail": line + srv.output()}
        setup = time.monotonic() - t0
        time.sleep(1.0)  # let the server settle (its goroutines parked in read)
        rss1 = rss_of(srv.p.pid)
        cpu0 = cpu_of(srv.p.pid)
        time.sleep(args.idle_secs)
        cpu1 = cpu_of(srv.p.pid)
        rss2 = rss_of(srv.p.pid)
        if not srv.alive():
            return {"status": "server died", "detail": srv.output()}
        return {"status": "ok", "bytes_per_conn": (rss1 - rss0) / args.idle_conns,
                "bytes_per_conn_idle": (rss2 - rss0) / args.idle_conns,
                "idle_cpu_ms": (cpu1 - cpu0) * 1e3, "rss0": rss0, "rss1": rss1, "rss2": rss2,
                "setup_s": setup}
    finally:
        if cl is not None:
            try:
                cl.stdin.close()
            except OSError:
                pass
            cl.wait()
        srv.stop()


# ---- table --------------------------------------------------------------------------------

def med(samples, key):
    vals = [s[key] for s in samples if s.get("status") == "ok" and s.get(key) is not None]
    return statistics.median(vals) if vals else None


def status_of(samples):
    bad = [s for s in samples if s.get("status") != "ok"]
    if not samples:
        return "-"
    if bad and len(bad) == len(samples):
        return bad[0]["status"]
    return f"{bad[0]['status']} {len(bad)}/{len(samples)}" if bad else ""


def fmt(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def table(results, args):
    lines = []
    servers = [s for s in SERVERS + GORO_VARIANTS + EXTRA if s in args.servers]
    # echo
    head = ["row", "P"] + [f"{TITLES[s]} req/s" for s in servers] + \
           [f"{TITLES[s]} µs CPU/req" for s in servers]
    if "goro" in servers:
        head += [f"goro/{TITLES[s]} req/s" for s in servers if s != "goro"]
        head += [f"goro/{TITLES[s]} CPU" for s in servers if s != "goro"]
    with_xcore = any(x.get("xcore_ns") for v in results.values() for x in v)
    if with_xcore:
        head.append("x-core ns")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    problems = []
    for row in ECHO_ROWS:
        for p in args.workers:
            key = lambda s: (row[0], s, p)
            if not any(key(s) in results for s in servers):
                continue
            cells = [row[0], f"{p}" + ("" if p == 1 else " (unpinned)")]
            rps = {}
            for s in servers:
                samples = results.get(key(s), [])
                rps[s] = med(samples, "rps")
                st = status_of(samples)
                cells.append(fmt(rps[s]) + (f" ({st})" if st and rps[s] is not None else
                                             "" if rps[s] is not None else f" {st}"))
                for x in samples:
                    if x.get("status") != "ok":
                        problems.append(f"{row[0]} P={p} {s}: {x['status']}: "
                                        f"{x.get('detail', '')[:600]}")
            cpu = {s: med(results.get(key(s), []), "cpu_us") for s in servers}
            cells += [fmt(cpu[s], 2) for s in servers]
            if "goro" in servers:
                cells += [ratio(rps["goro"], rps[s]) for s in servers if s != "goro"]
                cells += [ratio(cpu["goro"], cpu[s]) for s in servers if s != "goro"]
            if with_xcore:
                # the median of the probe before each run of the row, all servers
                cells.append(fmt(med([x for s in servers for x in results.get(key(s), [])],
                                     "xcore_ns")))
            lines.append("| " + " | ".join(cells) + " |")
    # http
    if any(k[0] == "http" for k in results):
        lines.append("")
        lines.append(f"HTTP hello, wrk -t1 -c{args.http_conns} -d{args.http_duration}s:")
        lines.append("")
        lines.append("| P | goro+Beast req/s | Go net/http req/s | goro µs CPU/req | "
                     "Go µs CPU/req | goro/Go |")
        lines.append("|---|---|---|---|---|---|")
        for p in args.workers:
            g = results.get(("http", "goro", p), [])
            o = results.get(("http", "go", p), [])
            if not g and not o:
                continue
            gr, orr = med(g, "rps"), med(o, "rps")
            lines.append(f"| {p}{'' if p == 1 else ' (unpinned)'} | "
                         f"{fmt(gr) if g else 'not built'} | {fmt(orr)} | "
                         f"{fmt(med(g, 'cpu_us'), 1)} | {fmt(med(o, 'cpu_us'), 1)} | "
                         f"{ratio(gr, orr)} |")
            for s, samples in (("goro", g), ("go", o)):
                for x in samples:
                    if x.get("status") != "ok" or x.get("errors"):
                        problems.append(f"http P={p} {s}: {x.get('status')}: "
                                        f"{x.get('errors', '')} {x.get('detail', '')[:600]}")
    # idle
    if any(k[0] == "idle" for k in results):
        lines.append("")
        lines.append(f"{args.idle_conns:,} idle connections (P=1, server on core 0):")
        lines.append("")
        lines.append("| server | RSS bytes/conn after 1 s | after "
                     f"{1 + args.idle_secs:g} s | CPU ms over {args.idle_secs:g} s idle | setup s |")
        lines.append("|---|---|---|---|---|")
        for s in ("goro", "go"):
            samples = results.get(("idle", s, 1), [])
            if samples:
                lines.append(f"| {TITLES[s]} | {fmt(med(samples, 'bytes_per_conn'))} | "
                             f"{fmt(med(samples, 'bytes_per_conn_idle'))} | "
                             f"{fmt(med(samples, 'idle_cpu_ms'), 1)} | "
                             f"{fmt(med(samples, 'setup_s'), 2)} |")
                for x in samples:
                    if x.get("status") != "ok":
                        problems.append(f"idle {s}: {x['status']}: {x.get('detail', '')[:600]}")
    if problems:
        lines.append("")
        lines.append("Problems:")
        lines += ["- " + p.replace("\n", " / ") for p in problems]
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--duration", type=float, default=3.0, help="measured seconds per echo run")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    ap.add_argument("--msg", type=int, default=512, help="message bytes")
    ap.add_argument("--filter", default="", help="rows whose name matches (pingpong-1000, "
                    "stream-4x16, http, idle, ...)")
    ap.add_argument("--servers", default=",".join(SERVERS), type=lambda s: s.split(","))
    ap.add_argument("--workers", default="1,2", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--http-goro", default=None,
                    help="the goro HTTP hello server's command (ADDR is appended); default: "
                    "build-bench/samples/http_hello serve, if built")
    ap.add_argument("--http-addr", default="127.0.0.1:18080",
                    help="the address given to --http-goro (Go's listens on port 0)")
    ap.add_argument("--http-conns", type=int, default=100)
    ap.add_argument("--http-duration", type=int, default=5)
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--idle-secs", type=float, default=5.0)
    ap.add_argument("--client-io", default="uring", choices=("uring", "epoll"),
                    help="the load client's event loop for the echo rows: uring (the default; "
                    "the epoll client ran out of its core first, bench/RESULTS.md \"The load "
                    "client was the limit\") or epoll (the tables before 2026-12-07's evening)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--goro-base", help="another goro_echo binary, the server 'goro-base' "
                    "(e.g. one built from main, for a before/after pair)")
    ap.add_argument("--raw", default=None, help="raw results file (default bench/out/net/raw-DATE.json)")
    ap.add_argument("--from-raw", nargs="+", help="print the table of saved results")
    args = ap.parse_args()

    if args.from_raw:
        results = {}
        for path in args.from_raw:
            with open(path) as f:
                data = json.load(f)
            for r in data["results"]:
                results.setdefault((r["row"], r["server"], r["workers"]), []).extend(r["samples"])
        print(table(results, args))
        return

    progs = build(args)
    log("built: " + ", ".join(sorted(progs)))
    flt = re.compile(args.filter)
    results = {}
    raw = args.raw or os.path.join(NETOUT, "raw-" + datetime.datetime.now().strftime(
        "%Y%m%d-%H%M%S") + ".json")
    meta = {"argv": sys.argv, "loadavg_before": open("/proc/loadavg").read().strip(),
            "date": datetime.datetime.now().isoformat(), "nproc": os.cpu_count(),
            "client_io": args.client_io}

    def save():
        meta["loadavg_after"] = open("/proc/loadavg").read().strip()
        with open(raw, "w") as f:
            json.dump({"meta": meta, "results": [
                {"row": k[0], "server": k[1], "workers": k[2], "samples": v}
                for k, v in results.items()]}, f, indent=1)

    rows = [r for r in ECHO_ROWS if flt.search(r[0])]
    for row in rows:
        for rep in range(args.reps):
            for p in args.workers:
                cells = []
                for s in args.servers:
                    res = run_echo(progs, row, s, p, args)
                    results.setdefault((row[0], s, p), []).append(res)
                    cells.append(f"{s}={fmt(res.get('rps'))}" if res["status"] == "ok"
                                 else f"{s}={res['status']}")
                log(f"{row[0]} P={p} rep {rep + 1}: " + " ".join(cells))
                save()
    if flt.search("http"):
        if not shutil.which("wrk"):
            log("wrk is not installed: no HTTP row (apt-get install wrk)")
        else:
            hs = http_servers(progs, args)
            for rep in range(args.reps):
                for p in args.workers:
                    cells = []
                    for s, argv in hs.items():
                        res = run_http(argv, s, p, args)
                        results.setdefault(("http", s, p), []).append(res)
                        cells.append(f"{s}={fmt(res.get('rps'))}" if res["status"] == "ok"
                                     else f"{s}={res['status']}")
                    log(f"http P={p} rep {rep + 1}: " + " ".join(cells))
                    save()
    if flt.search("idle"):
        for rep in range(args.reps):
            cells = []
            for s in ("goro", "go"):
                if s not in args.servers:
                    continue
                res = run_idle(progs, s, args)
                results.setdefault(("idle", s, 1), []).append(res)
                cells.append(f"{s}={fmt(res.get('bytes_per_conn'))}B/conn,"
                             f"{fmt(res.get('idle_cpu_ms'), 1)}ms" if res["status"] == "ok"
                             else f"{s}={res['status']}")
            log(f"idle rep {rep + 1}: " + " ".join(cells))
            save()
    save()
    print(f"loadavg before: {meta['loadavg_before']}; after: {meta['loadavg_after']}; "
          f"{args.reps} reps, {args.duration:g} s measured after {args.warmup:g} s warm-up; "
          f"client on {args.client_io}")
    print(table(results, args))
    log(f"raw results: {raw}")


if __name__ == "__main__":
    main()
