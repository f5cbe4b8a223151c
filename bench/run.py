#!/usr/bin/env python3
"""Builds and runs the goro / Go / Boost.Fiber benchmark comparison and prints one table.

    bash bench/run.sh [options]          (or python3 bench/run.py [options])

Every workload runs as its own process, per implementation, per worker-thread count
(GOMAXPROCS), repeated --reps times; the table shows medians of wall and CPU time and the
ratios goro/Go and goro/Boost.Fiber. See bench/README.md for what each row measures.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
BUILD = os.path.join(ROOT, "build-bench")

IMPLS = ("goro", "base", "go", "fiber")
IMPL_TITLES = {"goro": "goro", "base": "goro base", "go": "Go", "fiber": "Boost.Fiber"}


@dataclass
class Workload:
    name: str
    unit: str
    go: str  # "runtime": Go's own runtime benchmark; "prog": bench/go/main.go
    fiber: bool  # Boost.Fiber has an equivalent (no select in Boost.Fiber)
    ratio_on: str = "wall"  # what the ratio columns compare: "wall" or "cpu"


WORKLOADS = [
    Workload("ChanNonblocking", "ns/op", "runtime", False),
    Workload("SelectUncontended", "ns/op", "runtime", False),
    Workload("SelectSyncContended", "ns/op", "runtime", False),
    Workload("SelectAsyncContended", "ns/op", "runtime", False),
    Workload("SelectNonblock", "ns/op", "runtime", False),
    Workload("ChanUncontended", "ns/op", "runtime", True),
    Workload("ChanContended", "ns/op", "runtime", True),
    Workload("ChanSync", "ns/op", "runtime", True),
    Workload("ChanProdCons0", "ns/op", "runtime", True),
    Workload("ChanProdCons10", "ns/op", "runtime", True),
    Workload("ChanProdCons100", "ns/op", "runtime", True),
    Workload("ChanProdConsWork0", "ns/op", "runtime", True),
    Workload("ChanProdConsWork10", "ns/op", "runtime", True),
    Workload("ChanProdConsWork100", "ns/op", "runtime", True),
    Workload("SelectProdCons", "ns/op", "runtime", False),
    Workload("ChanCreation", "ns/op", "runtime", True),
    Workload("ChanSem", "ns/op", "runtime", True),
    Workload("ChanPopular", "ns/op", "runtime", False),
    Workload("ChanClosed", "ns/op", "runtime", False),
    Workload("CreateGoroutines", "ns/op", "runtime", True),
    Workload("CreateGoroutinesParallel", "ns/op", "runtime", True),
    Workload("PingPongHog", "ns/op", "runtime", True),
    Workload("Skynet1M", "ms/run", "prog", True),
    Workload("Pipeline1M", "ns/value", "prog", True),
    Workload("FanOutIn1M", "ns/value", "prog", True),
    Workload("PipelineDone1M", "ns/value", "prog", False),
    Workload("FanOutInDone1M", "ns/value", "prog", False),
    Workload("ContextCancel100k", "ns/context", "prog", False),
    Workload("MemParked100k", "B/goroutine", "prog", True),
    Workload("MemParked1M", "B/goroutine", "prog", True),
    Workload("IdleTimers10k", "ms", "prog", True, ratio_on="cpu"),
    Workload("SpawnJoin1M", "ns/goroutine", "prog", True),
    Workload("DaisyChain100k", "ms/run", "prog", True),
    Workload("DaisyChainWarm100k", "ms/run", "prog", True),
    Workload("DaisyChainRSS100k", "MB", "prog", True),
    Workload("ExitParked40k", "ns/goroutine", "prog", False),
    Workload("ExitUnwind40k", "ns/goroutine", "prog", False),
]


@dataclass
class Sample:
    value: float = None  # wall (or bytes) per unit
    cpu: float = None  # CPU per unit; None: not applicable
    status: str = "ok"  # ok | n/a | TODO | FAIL | crash | timeout | unbuilt
    detail: str = ""


@dataclass
class Programs:
    goro: str = None
    fiber: str = None
    go_runtime: str = None
    go_prog: str = None
    xcore: str = None  # the core-to-core round-trip probe (common/xcore.cpp)
    goroot: str = None
    goro_workloads: set = field(default_factory=set)
    base_workloads: set = field(default_factory=set)  # of --goro-base
    problems: list = field(default_factory=list)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, cwd=None, env=None):
    """Runs a build command, echoing it; returns True on success."""
    log("+ " + " ".join(cmd))
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        log(r.stdout[-4000:])
    return r.returncode == 0


# ---- building -----------------------------------------------------------------------------

def build(args):
    progs = Programs()
    os.makedirs(OUT, exist_ok=True)
    jobs = str(args.jobs)
    meson_ok = os.path.exists(os.path.join(BUILD, "build.ninja"))
    if not meson_ok:
        if os.path.isdir(BUILD):
            shutil.rmtree(BUILD)
        meson_ok = sh(["meson", "setup", BUILD, "--buildtype=release"], cwd=ROOT)
    elif buildtype(BUILD) != "release":
        sh(["meson", "configure", BUILD, "-Dbuildtype=release"], cwd=ROOT)
    if meson_ok:
        if "goro" in args.impl:
            if sh(["ninja", "-C", BUILD, "-j", jobs, "bench/bench_goro"]):
                progs.goro = os.path.join(BUILD, "bench", "bench_goro")
            else:
                progs.problems.append("goro: the build failed (ninja -C build-bench bench/bench_goro)")
        if "fiber" in args.impl and sh(["ninja", "-C", BUILD, "-j", jobs, "bench/bench_fiber"]):
            progs.fiber = os.path.join(BUILD, "bench", "bench_fiber")
        if sh(["ninja", "-C", BUILD, "-j", jobs, "bench/xcore"]):
            progs.xcore = os.path.join(BUILD, "bench", "xcore")
    else:
        progs.problems.append("goro: meson setup failed, so goro was not built")
    if "fiber" in args.impl and progs.fiber is None:
        # Without a configured project (the library not building yet), build it directly.
        exe = os.path.join(OUT, "bench_fiber")
        if sh(["g++", "-std=c++20", "-O2", "-DNDEBUG", "-Wall", "-Wextra",
               "-I" + os.path.join(HERE, "common"), os.path.join(HERE, "fiber", "bench_fiber.cpp"),
               "-o", exe, "-lboost_fiber", "-lboost_context", "-pthread"]):
            progs.fiber = exe
        else:
            progs.problems.append("Boost.Fiber: the build failed")
    if progs.goro:
        r = subprocess.run([progs.goro, "--list"], stdout=subprocess.PIPE, text=True)
        progs.goro_workloads = set(r.stdout.split())
    if "go" in args.impl:
        env = go_env()
        goroot = subprocess.run(["go", "env", "GOROOT"], stdout=subprocess.PIPE, text=True,
                                env=env).stdout.strip()
        gobin = os.path.join(OUT, "go")
        os.makedirs(gobin, exist_ok=True)
        test_bin = os.path.join(gobin, "runtime.test")
        if sh(["go", "test", "-c", "-o", test_bin, "runtime"],
              cwd=os.path.join(goroot, "src", "runtime"), env=env):
            progs.go_runtime = test_bin
        else:
            progs.problems.append("Go: building the runtime package's tests failed")
        prog = os.path.join(gobin, "gobench")
        if sh(["go", "build", "-o", prog, "."], cwd=os.path.join(HERE, "go"), env=env):
            progs.go_prog = prog
        else:
            progs.problems.append("Go: building bench/go failed")
        progs.goroot = goroot
    return progs


def buildtype(build_dir):
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            return next(o["value"] for o in json.load(f) if o["name"] == "buildtype")
    except (OSError, StopIteration, ValueError):
        return None


def go_env():
    env = dict(os.environ)
    env["GOCACHE"] = os.environ.get("BENCH_GOCACHE", os.path.join(OUT, "go-cache"))
    env["GOFLAGS"] = ""
    return env


# ---- running ------------------------------------------------------------------------------

RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)


def run_process(cmd, env, timeout, cwd=None):
    """Runs one benchmark process: (returncode or None on timeout, stdout+stderr, wall s, cpu s,
    time.monotonic_ns() when it had exited)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    try:
        r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        rc, out = r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = None
    end_ns = time.monotonic_ns()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return rc, out, wall, cpu, end_ns


def failed_sample(rc, out):
    if rc is None:
        return Sample(status="timeout", detail=out[-2000:])
    return Sample(status="crash", detail=f"exit status {rc}: " + out[-2000:])


def parse_result(rc, out):
    m = RESULT_RE.search(out)
    if rc is None or m is None:
        return failed_sample(rc, out)
    kv = dict(item.split("=", 1) for item in m.group(1).split())
    cpu = float(kv["cpu"])
    s = Sample(value=float(kv["value"]), cpu=cpu if cpu >= 0 else None)
    if kv.get("check", "ok") != "ok":
        s.status, s.detail = "FAIL", kv["check"]
    elif rc != 0:
        s.status, s.detail = "crash", f"exit status {rc} after its result: " + out[-2000:]
    return s


def run_cpp(exe, w, threads, args, trace=False):
    env = dict(os.environ, GOMAXPROCS=str(threads))
    cmd = [exe, "--threads", str(threads), "--benchtime", args.benchtime, w.name]
    if not trace:
        return parse_result(*run_process(cmd, env, args.timeout)[:2])
    # --trace: GORO_TRACE on, into a file that is dropped after the run (the write happens
    # once goro::run returns, after the measured loop).
    os.makedirs(OUT, exist_ok=True)
    env["GORO_TRACE"] = os.path.join(OUT, f"trace-{os.getpid()}.json")
    try:
        return parse_result(*run_process(cmd, env, args.timeout)[:2])
    finally:
        if os.path.exists(env["GORO_TRACE"]):
            os.remove(env["GORO_TRACE"])


def run_go(progs, w, threads, args):
    env = dict(go_env(), GOMAXPROCS=str(threads))
    if w.go == "prog":
        cmd = [progs.go_prog, "-threads", str(threads), "-benchtime", args.benchtime, w.name]
        rc, out, _, _, end_ns = run_process(cmd, env, args.timeout)
        s = parse_result(rc, out)
        stamp = re.search(r"^EXITSTAMP (\d+)$", out, re.M)
        if s.status == "ok" and stamp:
            # Go abandons goroutines at exit: the time from main's last statement (the
            # stamp, CLOCK_MONOTONIC) to the process's exit, per goroutine.
            iters = int(dict(i.split("=", 1) for i in RESULT_RE.search(out).group(1).split())["iters"])
            s.value, s.cpu = (end_ns - int(stamp.group(1))) / iters, None
        return s
    cmd = [progs.go_runtime, "-test.run", "^$", "-test.bench", f"^Benchmark{w.name}$",
           "-test.cpu", str(threads), "-test.benchtime", args.benchtime]
    rc, out, wall, cpu, _ = run_process(cmd, env, args.timeout,
                                     cwd=os.path.join(progs.goroot, "src", "runtime"))
    m = re.search(rf"^Benchmark{w.name}(-\d+)?\s+\d+\s+([\d.]+) ns/op", out, re.M)
    if rc != 0 or m is None:
        return failed_sample(rc, out)
    ns = float(m.group(2))
    # `go test` reports no CPU time: use the process's CPU utilisation over its life.
    return Sample(value=ns, cpu=ns * cpu / wall if wall > 0 else None)


def run_one(progs, w, impl, threads, args):
    if impl == "goro":
        if progs.goro is None:
            return Sample(status="unbuilt")
        if w.name not in progs.goro_workloads:
            return Sample(status="TODO")
        return run_cpp(progs.goro, w, threads, args, trace=args.trace)
    if impl == "base":
        if w.name not in progs.base_workloads:
            return Sample(status="TODO")
        return run_cpp(args.goro_base, w, threads, args)
    if impl == "fiber":
        if not w.fiber:
            return Sample(status="n/a")
        if progs.fiber is None:
            return Sample(status="unbuilt")
        return run_cpp(progs.fiber, w, threads, args)
    exe = progs.go_prog if w.go == "prog" else progs.go_runtime
    if exe is None:
        return Sample(status="unbuilt")
    return run_go(progs, w, threads, args)


def run_xcore(progs, args):
    """The core-to-core round trip right now (common/xcore.cpp), or None."""
    if progs.xcore is None:
        return None
    s = parse_result(*run_process([progs.xcore, "100000"], dict(os.environ), args.timeout)[:2])
    return s if s.status == "ok" else None


def run_all(progs, workloads, args):
    """Returns {(workload, impl, threads): [Sample, ...]}; impl "xcore" holds the core-to-core
    round trips measured just before each repetition of a row at P >= 2."""
    results = {}
    total = len(workloads) * len(args.threads) * args.reps
    done = 0
    for w in workloads:
        for rep in range(args.reps):
            for threads in args.threads:
                done += 1
                cells = []
                probe = run_xcore(progs, args) if threads >= 2 else None
                if probe is not None:
                    results.setdefault((w.name, "xcore", threads), []).append(probe)
                    cells.append(f"x-core={fmt(probe.value)}ns")
                for impl in args.impl:
                    start = time.monotonic()
                    s = run_one(progs, w, impl, threads, args)
                    if args.pause > 0:  # leave a shared machine to others for a while
                        time.sleep(args.pause * (time.monotonic() - start))
                    results.setdefault((w.name, impl, threads), []).append(s)
                    cells.append(f"{impl}={fmt(s.value) if s.status == 'ok' else s.status}")
                log(f"[{done}/{total}] {w.name} P={threads} rep {rep + 1}: " + " ".join(cells))
    return results


# ---- the table ----------------------------------------------------------------------------

def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summarize(samples):
    """(median value, median cpu, status, spread) of the repetitions of one cell."""
    if not samples:
        return None, None, "-", ""
    bad = [s for s in samples if s.status != "ok"]
    if bad:
        status = bad[0].status
        if status in ("crash", "timeout", "FAIL") and len(bad) < len(samples):
            status = f"{status} {len(bad)}/{len(samples)}"
        return None, None, status, ""
    values = [s.value for s in samples]
    cpus = [s.cpu for s in samples if s.cpu is not None]
    med = statistics.median(values)
    spread = f"{fmt(min(values))}..{fmt(max(values))}" if len(values) > 1 else ""
    return med, (statistics.median(cpus) if cpus else None), "ok", spread


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def table(results, workloads, threads_list, impls, ratio_on=None):
    head = ["workload", "unit", "P"]
    xcore = any(k[1] == "xcore" for k in results)
    if xcore:
        head.append("x-core ns")
    for impl in impls:
        head += [IMPL_TITLES[impl], f"{IMPL_TITLES[impl]} CPU"]
    if "goro" in impls and "base" in impls:
        head.append("goro/base")
    if "goro" in impls and "go" in impls:
        head.append("goro/Go")
    if "goro" in impls and "fiber" in impls:
        head.append("goro/Boost")
    rows = [head]
    for w in workloads:
        for threads in threads_list:
            if not any((w.name, impl, threads) in results for impl in impls):
                continue
            row = [w.name, w.unit, str(threads)]
            if xcore:
                probes = [s.value for s in results.get((w.name, "xcore", threads), [])]
                row.append(fmt(statistics.median(probes)) if probes else "")
            summary = {}
            on = ratio_on or w.ratio_on
            for impl in impls:
                med, cpu, status, _ = summarize(results.get((w.name, impl, threads), []))
                summary[impl] = cpu if on == "cpu" and cpu is not None else med
                if status != "ok":
                    row += [status, ""]
                else:
                    row += [fmt(med), fmt(cpu)]
            suffix = " (CPU)" if on == "cpu" and ratio_on is None else ""
            if "goro" in impls and "base" in impls:
                r = ratio(summary["goro"], summary["base"])
                row.append(r + suffix if r != "-" else r)
            if "goro" in impls and "go" in impls:
                r = ratio(summary["goro"], summary["go"])
                row.append(r + suffix if r != "-" else r)
            if "goro" in impls and "fiber" in impls:
                r = ratio(summary["goro"], summary["fiber"])
                row.append(r + suffix if r != "-" else r)
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for i, r in enumerate(rows):
        cells = [c.ljust(widths[j]) if j == 0 or j == 1 else c.rjust(widths[j])
                 for j, c in enumerate(r)]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            rules = ["-" * (wd + 2) if j < 2 else "-" * (wd + 1) + ":"
                     for j, wd in enumerate(widths)]
            lines.append("|" + "|".join(rules) + "|")
    return "\n".join(lines)


def describe_machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rev = os.environ.get("BENCH_REV") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "runtime", "patterns"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    if dirty.strip() and "BENCH_REV" not in os.environ:
        rev += " with uncommitted changes"
    go = subprocess.run(["go", "version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs ({model}), goro {rev}, {go}"


def print_report(results, workloads, meta, failures, ratio_on=None):
    print(f"# goro vs Go vs Boost.Fiber ({meta['date']})")
    print()
    print(f"Machine: {meta['machine']}. Medians of {meta['reps']} runs per cell, "
          f"bench time {meta['benchtime']} (Go's -benchtime rule), P = worker threads "
          f"(GOMAXPROCS). Wall time, with the process's CPU time (all threads) beside it; "
          + ("ratios compare CPU time (wall time for the memory rows)" if ratio_on == "cpu"
             else "ratios compare wall time, or CPU time where marked")
          + " (< 1: goro is faster).")
    if meta.get("load"):
        print(f"Load average (1 min) seen at the start and end of the runs: "
              f"{min(meta['load'])} to {max(meta['load'])}.")
    if meta.get("trace"):
        print("goro's cells ran with GORO_TRACE on (--trace); goro base's, if any, with it off.")
    print("n/a: Boost.Fiber has no select. TODO: goro lacks the feature yet.")
    if any(k[1] == "xcore" for k in results):
        print("x-core ns: median core-to-core round trip of a cache line, measured just before "
              "each run of the row (bench/common/xcore.cpp); on a VM it moves with where the "
              "host puts the vCPUs, and rows that hand work between threads move with it.")
    print()
    print(table(results, workloads, meta["threads"], meta["impls"], ratio_on))
    for p in meta.get("problems", []):
        print(f"\n- {p}")
    if failures:
        print("\nFailures (first lines of output):")
        for f in failures:
            print(f"- {f}")


def collect_failures(results):
    out = []
    for (name, impl, threads), samples in sorted(results.items()):
        for s in samples:
            if s.status in ("crash", "timeout", "FAIL"):
                detail = " ".join(s.detail.strip().splitlines()[:3])[:300]
                out.append(f"{impl} {name} P={threads}: {s.status}: {detail}")
                break
    return out


# ---- raw results --------------------------------------------------------------------------

def save_raw(path, results, meta):
    data = {"meta": meta, "results": [
        {"workload": k[0], "impl": k[1], "threads": k[2], "samples": [s.__dict__ for s in v]}
        for k, v in results.items()]}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def load_raw(paths):
    results, meta = {}, None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        if meta is None:
            meta = data["meta"]
        else:
            meta["threads"] = sorted(set(meta["threads"]) | set(data["meta"]["threads"]))
            meta["load"] = meta.get("load", []) + data["meta"].get("load", [])
        for r in data["results"]:
            key = (r["workload"], r["impl"], r["threads"])
            results.setdefault(key, []).extend(Sample(**s) for s in r["samples"])
        dates = sorted({meta["date"], data["meta"]["date"]} | set(meta.get("dates", [])))
        meta["dates"] = [dates[0], dates[-1]]
    if meta is not None:
        counts = {len(v) for v in results.values()}
        meta["reps"] = max(counts) if len(counts) == 1 else f"{min(counts)}-{max(counts)}"
        if meta["dates"][0] != meta["dates"][-1]:
            meta["date"] = f"{meta['dates'][0]} to {meta['dates'][-1]}"
    return results, meta


# ---- main ---------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "3")),
                   help="runs per cell, median reported (env BENCH_REPS, default 3)")
    p.add_argument("--benchtime", default=os.environ.get("BENCH_TIME", "1s"),
                   help="Go's -benchtime for every workload: 1s, 200ms or 1000x "
                        "(env BENCH_TIME, default 1s)")
    p.add_argument("--threads", default=os.environ.get("BENCH_THREADS", "1,2"),
                   help="worker-thread counts (GOMAXPROCS), default 1,2")
    p.add_argument("--filter", default=os.environ.get("BENCH_FILTER", ""),
                   help="regular expression selecting workloads (env BENCH_FILTER)")
    p.add_argument("--impl", default="goro,go,fiber", help="implementations, default goro,go,fiber")
    p.add_argument("--goro-base", metavar="EXE",
                   help="another build of bench_goro (a baseline), run beside goro in every "
                        "row as 'goro base', with a goro/base ratio column (A/B)")
    p.add_argument("--trace", action="store_true",
                   help="run goro's cells with GORO_TRACE on (the runtime's event trace); with "
                        "--goro-base set to the same bench_goro, the goro/base column is the "
                        "cost of tracing")
    p.add_argument("--timeout", type=float, default=float(os.environ.get("BENCH_TIMEOUT", "300")),
                   help="seconds before one process counts as hung (default 300)")
    p.add_argument("--pause", type=float, default=float(os.environ.get("BENCH_PAUSE", "0")),
                   help="after each process sleep PAUSE x its run time, to share a busy "
                        "machine (env BENCH_PAUSE, default 0)")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", "1")),
                   help="ninja -j for the build (default 1)")
    p.add_argument("--no-build", action="store_true", help="use the programs already built")
    p.add_argument("--build-only", action="store_true", help="build, then stop")
    p.add_argument("--raw", help="where to save the raw samples (default bench/out/raw-DATE.json)")
    p.add_argument("--from-raw", nargs="+", metavar="FILE",
                   help="print the table of saved raw samples (merged) instead of running")
    p.add_argument("--ratio-on", choices=("wall", "cpu"),
                   help="compare wall or CPU time in every ratio column "
                        "(default: wall, CPU for IdleTimers10k)")
    p.add_argument("--list", action="store_true", help="list the workloads")
    args = p.parse_args()

    workloads = [w for w in WORKLOADS if re.search(args.filter, w.name)]
    if args.list:
        for w in workloads:
            print(f"{w.name:26} {w.unit:12} Go: {w.go:8} Boost.Fiber: {'yes' if w.fiber else 'n/a'}")
        return 0
    if args.from_raw:
        results, meta = load_raw(args.from_raw)
        names = {k[0] for k in results}
        print_report(results, [w for w in workloads if w.name in names], meta,
                     collect_failures(results), args.ratio_on)
        return 0

    args.threads = [int(t) for t in args.threads.split(",")]
    args.impl = [i for i in args.impl.split(",") if i in IMPLS and i != "base"]
    if args.goro_base:
        args.impl.insert(1 if "goro" in args.impl else 0, "base")
    if args.no_build:
        progs = Programs(goro=os.path.join(BUILD, "bench", "bench_goro"),
                         fiber=os.path.join(BUILD, "bench", "bench_fiber"),
                         xcore=os.path.join(BUILD, "bench", "xcore"),
                         go_runtime=os.path.join(OUT, "go", "runtime.test"),
                         go_prog=os.path.join(OUT, "go", "gobench"))
        if not os.path.exists(progs.fiber):
            progs.fiber = os.path.join(OUT, "bench_fiber")
        for attr in ("goro", "fiber", "go_runtime", "go_prog", "xcore"):
            if not os.path.exists(getattr(progs, attr)):
                setattr(progs, attr, None)
        if progs.goro:
            progs.goro_workloads = set(subprocess.run([progs.goro, "--list"], stdout=subprocess.PIPE,
                                                      text=True).stdout.split())
        progs.goroot = subprocess.run(["go", "env", "GOROOT"], stdout=subprocess.PIPE,
                                      text=True).stdout.strip()
    else:
        progs = build(args)
    if args.goro_base:
        progs.base_workloads = set(subprocess.run([args.goro_base, "--list"],
                                                  stdout=subprocess.PIPE, text=True).stdout.split())
    for problem in progs.problems:
        log("warning: " + problem)
    if args.build_only:
        return 1 if progs.problems else 0

    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": describe_machine(), "reps": args.reps, "benchtime": args.benchtime,
            "threads": args.threads, "impls": args.impl, "problems": progs.problems,
            "trace": args.trace,
            "load": [round(os.getloadavg()[0], 2)]}
    results = run_all(progs, workloads, args)
    meta["load"].append(round(os.getloadavg()[0], 2))
    raw = args.raw or os.path.join(
        OUT, "raw-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    save_raw(raw, results, meta)
    log(f"raw samples: {raw}")
    print_report(results, workloads, meta, collect_failures(results), args.ratio_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())
