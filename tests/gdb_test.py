"""Runs gdb_helper under gdb with runtime/gdb/goro-gdb.py loaded and checks its commands:
`info goroutines` lists the helper's goroutines with their states and creation sites, and
`goroutine N bt` shows the function each parked goroutine is parked in (one of them with
its stack shrunk by the idle sweep, which the command restores first); afterwards the
thread's own backtrace is back. Also checks that the program carries the
.debug_gdb_scripts entry that makes gdb load the installed script by itself.

Usage: gdb_test.py <gdb> <gdb_helper> <goro-gdb.py> <gdb_helper.cpp>
"""
import re
import shutil
import subprocess
import sys

gdb, helper, script, source = sys.argv[1:5]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# The creation sites: the lines marked "gdb_test: <role>" in the helper's source.
lines = {}
with open(source) as f:
    for n, text in enumerate(f, 1):
        m = re.search(r"// gdb_test: (\w+)", text)
        if m:
            lines[m.group(1)] = n

bt = 'python gdb.execute("goroutine %%d bt" %% int(gdb.parse_and_eval("%s")))'
commands = [
    "set auto-load python-scripts off",  # the installed copy, if any: load the tree's
    "source " + script,
    "set pagination off",
    "break goro_test_breakpoint",
    "run",
    "echo @@info\\n",
    "info goroutines",
    "echo @@receiver\\n",
    bt % "goro_test_receiver_id",
    "echo @@sleeper\\n",
    bt % "goro_test_sleeper_id",
    "echo @@reader\\n",
    bt % "goro_test_reader_id",
    "echo @@running\\n",
    "goroutine 1 bt",
    "echo @@own\\n",
    "bt 1",
    "echo @@end\\n",
    "kill",
]
args = [gdb, "-batch", "-nx"]
for c in commands:
    args += ["-ex", c]
args.append(helper)
run = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                     timeout=120)
out = run.stdout


def section(name):
    m = re.search(r"^@@%s\n(.*?)^@@" % name, out, re.S | re.M)
    return m.group(1) if m else ""


info = section("info")
rows = {int(m.group(1)): m.group(0)
        for m in re.finditer(r"^[ *] goroutine (\d+).*$", info, re.M)}
check(1 in rows and "[running]" in rows[1] and rows[1].startswith("*") and
      "goro::run main function" in rows[1], "goroutine 1 is listed as running main")
receiver = [r for r in rows.values() if "[chan receive" in r]
sleeper = [r for r in rows.values() if "[sleep" in r]
check(len(receiver) == 1 and re.search(r"created by \S*gdb_helper\.cpp:%d$" % lines["receiver"],
                                       receiver[0]),
      "the receiver is listed in chan receive, created at line %d" % lines["receiver"])
check(len(sleeper) == 1 and "(sleeper)" in sleeper[0] and
      re.search(r"created by \S*gdb_helper\.cpp:%d$" % lines["sleeper"], sleeper[0]),
      "the sleeper is listed by name in sleep, created at line %d" % lines["sleeper"])
reader = [r for r in rows.values() if "[IO wait" in r]
check(len(reader) == 1 and re.search(r"created by \S*gdb_helper\.cpp:%d$" % lines["reader"],
                                     reader[0]),
      "the reader is listed in IO wait, created at line %d" % lines["reader"])
check(len(rows) == 4, "four goroutines listed")
check(re.search(r"\bpark_on_receive\b", section("receiver")),
      "goroutine N bt of the receiver shows park_on_receive")
check(re.search(r"\bpark_in_sleep\b", section("sleeper")),
      "goroutine N bt of the sleeper shows park_in_sleep")
check(re.search(r"\bpark_in_read\b", section("reader")),
      "goroutine N bt of the reader, whose stack was shrunk, shows park_in_read")
check(re.search(r"^#0 .*goro_test_breakpoint", section("running"), re.M),
      "goroutine 1 bt of the running main goroutine shows goro_test_breakpoint")
check(re.search(r"^#0 .*goro_test_breakpoint", section("own"), re.M),
      "the thread's own registers are back after goroutine N bt")

# The auto-load entry: a Python file (kind 1) named goro-gdb.py.
readelf = shutil.which("readelf")
if readelf:
    sec = subprocess.run([readelf, "-p", ".debug_gdb_scripts", helper],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    check("goro-gdb.py" in sec, "the program's .debug_gdb_scripts names goro-gdb.py")

if failures:
    print(out)
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print(info + "ok")
