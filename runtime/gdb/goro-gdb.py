# gdb support for goro: lists a goro program's goroutines and shows the stack of a parked
# one, as Go's runtime-gdb.py does for Go programs.
#
#   info goroutines            every live goroutine: id, state, wait, where it was created
#   goroutine N bt             the backtrace of goroutine N (any gdb command works: "goroutine
#   goroutine all bt           N info locals", "goroutine N frame 3"), or of every goroutine
#
# libgoro carries a .debug_gdb_scripts entry naming this file where `meson install` puts it,
# so gdb loads it by itself once that directory is on its auto-load safe path:
#   add-auto-load-safe-path <prefix>/share/goro       (in ~/.gdbinit)
# or load it by hand:  (gdb) source <prefix>/share/goro/goro-gdb.py
#
# It reads the runtime's own structures (runtime/src/sched.hpp, goroutine.hpp), so the
# program needs debug information for libgoro (meson's default buildtype, debugoptimized,
# has it). It works on a live process and, for `info goroutines`, on a core file.
#
# How a parked goroutine's stack is shown: its g holds the Boost.Context fcontext it was
# suspended with, a pointer to the registers jump_fcontext/ontop_fcontext saved on its
# stack (Boost 1.81, x86-64 System V; see kFrame below). `goroutine N cmd` loads those
# registers into the selected thread, runs cmd, and puts the thread's own back, the way Go's
# script switches to a goroutine's saved sp and pc.

import time

import gdb

# Boost.Context 1.81's x86-64 System V fcontext (jump_x86_64_sysv_elf_gas.S): jump_fcontext
# makes room for 0x40 bytes below its return address and saves, at the saved stack pointer
# (the fcontext_t): MXCSR and the x87 control word at 0x0, r12-r15 at 0x10-0x28, rbx at
# 0x30, rbp at 0x38; its return address follows at 0x40, and the caller's stack pointer
# is what lies above it.
kFrame = {"r12": 0x10, "r13": 0x18, "r14": 0x20, "r15": 0x28, "rbx": 0x30, "rbp": 0x38,
          "rip": 0x40}
kCallerSp = 0x48

# wait_reason's words (wait_reason_text in sched.cpp): Go's names for what a goroutine waits on.
kWaitReasons = {
    "none": "runnable",
    "chan_receive": "chan receive",
    "chan_send": "chan send",
    "chan_receive_nil": "chan receive (nil chan)",
    "chan_send_nil": "chan send (nil chan)",
    "select": "select",
    "select_no_cases": "select (no cases)",
    "sleep": "sleep",
    "wait_group": "sync.WaitGroup.Wait",
    "mutex": "sync.Mutex.Lock",
    "rw_mutex_read": "sync.RWMutex.RLock",
    "rw_mutex_write": "sync.RWMutex.Lock",
    "io_wait": "IO wait",
    "syscall": "syscall",
}

kRuntimeSymbols = ("goro::detail::(anonymous namespace)::the_runtime",
                   "goro::detail::the_runtime")


def _plain(v):
    """The value inside a std::atomic<T> (laid out as a T), or v itself."""
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT and t.tag and t.tag.startswith("std::atomic<"):
        return v.address.cast(t.template_argument(0).pointer()).dereference()
    return v


def _enum_name(v):
    return str(v).split("::")[-1]


def _runtime():
    for name in kRuntimeSymbols:
        try:
            rt = _plain(gdb.parse_and_eval("'%s'" % name))
        except gdb.error:
            continue
        if int(rt) == 0:
            raise gdb.GdbError("goro: no runtime is running (goro::run has not started, or "
                               "has returned)")
        return rt.dereference()
    raise gdb.GdbError("goro: the runtime's symbols are missing; is libgoro built with debug "
                       "info (-g)?")


def _goroutines(rt):
    """Every g in the registry (registry::shards_), by id."""
    out = []
    shards = rt["all"]["shards_"]
    lo, hi = shards.type.range()
    gptr = gdb.lookup_type("goro::detail::g").pointer()
    for i in range(lo, hi + 1):
        impl = shards[i]["slots"]["_M_impl"]
        start, finish = impl["_M_start"], impl["_M_finish"]
        for k in range(int(finish - start)):
            slot = int(start[k])
            if slot & 1:  # a link in the free list
                continue
            out.append(gdb.Value(slot).cast(gptr).dereference())
    out.sort(key=lambda gp: int(gp["id"]))
    return out


def _workers(rt):
    """The runtime's workers (a vector of unique_ptr<worker>, each laid out as a pointer)."""
    impl = rt["workers"]["_M_impl"]
    start, finish = impl["_M_start"], impl["_M_finish"]
    wptr = gdb.lookup_type("goro::detail::worker").pointer()
    return [start[k].address.cast(wptr.pointer()).dereference().dereference()
            for k in range(int(finish - start))]


def _state(gp):
    status = _enum_name(_plain(gp["status"]))
    if status == "running":
        return "running"
    if status == "waiting":
        return kWaitReasons.get(_enum_name(_plain(gp["reason"])), "waiting")
    return "runnable"


def _on_stack(gp):
    st = _plain(gp["on_stack_ptr"])
    return st.dereference() if int(st) != 0 else None


def _now(rt):
    """nanotime() now: the monotonic clock on this host, or for a core file (whose process
    may have run on another machine) the latest time a worker read it."""
    latest = 0
    for w in _workers(rt):
        latest = max(latest, int(w["coarse_now"]))
    inferior = gdb.selected_inferior()
    connection = getattr(inferior, "connection", None)  # gdb 13; older: guess by the pid
    live = connection.type == "native" if connection is not None else inferior.pid > 0
    mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    return mono if live and mono >= latest else latest


def _duration(ns):
    """Roughly Go's Duration.String, to a millisecond."""
    if ns < 1000000:
        return "0s"
    s = ns / 1e9
    if s < 60:
        return "%gs" % round(s, 3)
    m, s = divmod(int(s), 60)
    h, m = divmod(m, 60)
    return ("%dh%dm%ds" % (h, m, s)) if h else ("%dm%ds" % (m, s))


def _created(gp):
    if bool(gp["is_main"]):
        return "goro::run main function"
    impl = gp["created"]["_M_impl"]
    if int(impl) == 0:
        return "created by ?"
    impl = impl.dereference()
    return "created by %s:%d" % (impl["_M_file_name"].string(), int(impl["_M_line"]))


def _header(gp, now):
    """The goroutine dump's header (debug.cpp), with the wait in full."""
    name = ""
    st = _on_stack(gp)
    if st is not None:
        name = st["name"].string()
    text = "goroutine %d" % int(gp["id"])
    if name:
        text += " (%s)" % name
    state = _state(gp)
    since = int(_plain(st["waiting_since"])) if st is not None else 0
    if _enum_name(_plain(gp["status"])) == "waiting" and since != 0:  # 0: not in a core file
        state += ", " + _duration(max(0, now - since))
    return "%s [%s]: %s" % (text, state, _created(gp))


class InfoGoroutines(gdb.Command):
    """List goro's goroutines: id, name, state (Go's words), how long it has waited, and
where it was created. A '*' marks one that is running on a thread."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        rt = _runtime()
        now = _now(rt)
        for gp in _goroutines(rt):
            if bool(gp["is_thread"]):
                continue
            mark = "*" if _state(gp) == "running" else " "
            gdb.write("%s %s\n" % (mark, _header(gp, now)))


def _thread_on_stack(gp):
    """The gdb thread whose stack pointer lies in gp's stack (gp runs there), or None."""
    lo = int(gp["stack"]["base"])
    hi = lo + int(gp["stack"]["size"])
    current = gdb.selected_thread()
    try:
        for t in gdb.selected_inferior().threads():
            t.switch()
            if lo <= int(gdb.newest_frame().read_register("rsp")) < hi:
                return t
    finally:
        current.switch()
    return None


def _run_on_context(ctx, command):
    """Runs command with the selected thread's registers set to the saved fcontext ctx."""
    gdb.newest_frame().select()
    regs = list(kFrame) + ["rsp"]
    saved = {r: int(gdb.parse_and_eval("(unsigned long)$" + r)) for r in regs}
    word = gdb.lookup_type("unsigned long").pointer()
    new = {r: int(gdb.Value(ctx + off).cast(word).dereference()) for r, off in kFrame.items()}
    new["rsp"] = ctx + kCallerSp
    try:
        try:
            for r, v in new.items():
                gdb.execute("set $%s = %d" % (r, v), to_string=True)
        except gdb.error as e:
            raise gdb.GdbError("goro: cannot load a parked goroutine's registers (%s); a core "
                               "file shows only the goroutines running on threads" % e)
        gdb.execute(command)
    finally:
        gdb.newest_frame().select()
        for r, v in saved.items():
            gdb.execute("set $%s = %d" % (r, v), to_string=True)
        gdb.newest_frame().select()


def _run_on_goroutine(gp, command):
    gid = int(gp["id"])
    if _state(gp) == "running":
        t = _thread_on_stack(gp)
        if t is None:
            gdb.write("goroutine %d is running; its thread was not found (thread apply all %s)\n"
                      % (gid, command))
            return
        current = gdb.selected_thread()
        t.switch()
        try:
            gdb.execute(command)
        finally:
            current.switch()
        return
    ctx = int(gp["ctx"])
    if not bool(gp["started"]) or ctx == 0:
        gdb.write("goroutine %d has not started: it has no stack yet\n" % gid)
        return
    _unshrink(gp)
    _run_on_context(ctx, command)


def _unshrink(gp):
    """Writes back the stack bytes of a goroutine whose stack the idle sweep shrank
    (runtime/src/stack_shrink.hpp): the same bytes that the runtime restores before it runs
    the goroutine again, so writing them now changes nothing but the pages' residency."""
    st = _on_stack(gp)
    if st is None or int(st["shrunk"]) == 0:
        return
    s = st["shrunk"].dereference()
    lo, hi = int(s["lo"]), int(s["hi"])
    skip_lo, skip_hi = int(s["skip_lo"]), int(s["skip_hi"])
    saved = int(st["shrunk"]) + s.type.sizeof
    inf = gdb.selected_inferior()
    for to, frm, n in ((lo, saved, skip_lo - lo), (skip_hi, saved + (skip_lo - lo), hi - skip_hi)):
        if n > 0:
            inf.write_memory(to, inf.read_memory(frm, n))


class GoroutineCmd(gdb.Command):
    """Run a gdb command on a goroutine's stack: goroutine N bt, goroutine all bt.
A parked goroutine's saved registers are loaded into the selected thread while the command
runs; a running one's command runs on its worker's thread."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        parts = arg.split(None, 1)
        if len(parts) < 2:
            raise gdb.GdbError("usage: goroutine <id>|all <gdb command>")
        which, command = parts
        rt = _runtime()
        gs = [gp for gp in _goroutines(rt) if not bool(gp["is_thread"])]
        if which != "all":
            try:
                gid = int(which)
            except ValueError:
                raise gdb.GdbError("goroutine: not an id: %s" % which)
            gs = [gp for gp in gs if int(gp["id"]) == gid]
            if not gs:
                raise gdb.GdbError("goroutine %d: no such goroutine" % gid)
        now = _now(rt)
        for gp in gs:
            if which == "all":
                gdb.write("\n%s\n" % _header(gp, now))
            _run_on_goroutine(gp, command)


InfoGoroutines()
GoroutineCmd()
