#!/usr/bin/env python3
"""Runs a sample and checks its output against expected/<name>.txt.

The expected file holds one line per output line, taken from the Go original's output.
Where the output depends on timing or randomness, a line may instead be:
  re:REGEX        the output line must match REGEX (Python syntax, whole line)
  ?LINE           an optional line (LINE may itself be re:...)
  {               the lines up to the next "}" may come in any order
  }
Some samples also get a check of their own below (the numbers must add up).
"""
import re
import subprocess
import sys


def line_matches(pattern, line):
    if pattern.startswith("re:"):
        return re.fullmatch(pattern[3:], line) is not None
    return pattern == line


def parse(expected):
    """Items: ('line', pat, optional) or ('group', [pats])."""
    items, group = [], None
    for pat in expected:
        if pat == "{":
            group = []
        elif pat == "}":
            items.append(("group", group))
            group = None
        elif group is not None:
            group.append(pat)
        elif pat.startswith("?"):
            items.append(("line", pat[1:], True))
        else:
            items.append(("line", pat, False))
    return items


def compare(expected, out):
    i = 0
    for item in parse(expected):
        if item[0] == "line":
            _, pat, optional = item
            if i < len(out) and line_matches(pat, out[i]):
                i += 1
            elif not optional:
                got = out[i] if i < len(out) else "<end of output>"
                return f"line {i + 1}: got {got!r}, want {pat!r}"
        else:
            pats = list(item[1])
            chunk = out[i:i + len(pats)]
            if len(chunk) < len(pats):
                return f"line {i + 1}: output ends inside an unordered group"
            for line in chunk:
                for k, pat in enumerate(pats):
                    if line_matches(pat, line):
                        del pats[k]
                        break
                else:
                    return f"line {i + 1}: unexpected {line!r} in an unordered group"
            i += len(chunk)
    if i != len(out):
        return f"line {i + 1}: unexpected extra output {out[i]!r}"
    return None


def check_confinement(out):
    # generator/receiver: Sending and Received each in order, every Received after its
    # Sending, and the channel of capacity 2 never more than 3 ahead (2 buffered + 1 in hand).
    start = out.index("-- generator and receiver --") + 1
    end = out.index("Done!")
    sent = received = 0
    for line in out[start:end]:
        if line == f"Sending {sent}":
            sent += 1
        elif line == f"Received {received}":
            received += 1
            if received > sent:
                return "Received before Sending"
        else:
            return f"unexpected {line!r}"
        if sent - received > 4:
            return "the generator ran too far ahead of the receiver"
    return None if sent == received == 5 else "missing values"


def check_fan_out(out):
    primes = [int(l.strip()) for l in out if l.startswith("\t")]
    if len(primes) != 20:
        return f"want 20 primes, got {len(primes)}"
    for p in primes:
        if p < 2 or any(p % d == 0 for d in range(2, int(p ** 0.5) + 1)):
            return f"{p} is not prime"
    return None


def check_queuing(out):
    rows = [l for l in out if l.startswith("queue length")]
    throughputs = []
    for row in rows:
        m = re.search(r"throughput\s+(\d+)/s, W =\s*([\d.]+) ms, L =\s*([\d.]+), λW =\s*([\d.]+)", row)
        lam, w, L, lw = float(m[1]), float(m[2]), float(m[3]), float(m[4])
        throughputs.append(lam)
        # Little's law: the sampled L agrees with λW.
        if abs(L - lw) > 0.25 * lw + 0.3:
            return f"L = {L} but λW = {lw}: {row}"
    # The slow stage sets the throughput, whatever the queue length: never above its 1 ms
    # per item, and about the same for every queue. "About": each item's 1 ms sleep
    # overshoots by what the machine's load adds (2 of 10 runs differed by more than 1.6x at
    # a load of 4.5-8.5 on 2 cores), so the bound on the spread is loose.
    if max(throughputs) > 1050:
        return f"faster than the slow stage's 1 ms per item: {throughputs}"
    if max(throughputs) > 2.5 * min(throughputs):
        return f"throughputs differ too much: {throughputs}"
    # A longer queue means more units in the system, each staying longer.
    ws = [float(re.search(r"W =\s*([\d.]+)", r)[1]) for r in rows]
    if not ws[-1] > ws[0]:
        return f"W should grow with the queue: {ws}"
    # The book's pipeline: a queue frees the short stage early (about 30 ms instead of 90),
    # that is, well before the pipeline ends (about 100 ms before it instead of 40). Either
    # is enough: a stall of the whole process before the short stage ends (a CI run once
    # saw 90 ms on a busy host: 120 ms for the short stage, 220 for the pipeline) delays both
    # times of its run alike and leaves the second comparison as it was.
    times = [re.findall(r"after (\d+)ms", l) for l in out if "short stage done" in l]
    (s0, t0), (s2, t2) = [(int(a), int(b)) for a, b in times]
    if not s2 < s0 and not t2 - s2 > t0 - s0:
        return (f"the queue should free the short stage earlier: {s0}ms vs {s2}ms, "
                f"{t0 - s0}ms vs {t2 - s2}ms before the pipeline's end")
    return None


def check_goroutine_leak(out):
    # The stream sends a letter every 200 ms and is canceled 1 s after the start: a to e on a
    # quiet machine, and f if the cancel comes late. A stall of the whole machine (up to
    # 530 ms was measured on the development VM beside the stress test) pushes the sender's
    # chain of sleeps past the cancel, whose one sleep ends when the stall does: d and e may
    # be missing (optional in the expected file), but what arrives must be the stream's
    # letters in order, none skipped.
    got = [l[len("Here: "):] for l in out if l.startswith("Here: ")]
    want = [chr(ord("a") + i) for i in range(len(got))]
    return None if got == want else f"the stream's letters out of order: {got}"


extra_checks = {
    "confinement": check_confinement,
    "goroutine_leak": check_goroutine_leak,
    "fan_out_fan_in": check_fan_out,
    "queuing": check_queuing,
}


def main():
    name, exe, expected_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    p = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    out = p.stdout.splitlines()
    with open(f"{expected_dir}/{name}.txt", encoding="utf-8") as f:
        expected = f.read().splitlines()
    problems = []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}")
    if p.stderr:
        problems.append(f"stderr: {p.stderr}")
    if err := compare(expected, out):
        problems.append(err)
    if name in extra_checks and not problems:
        try:
            if err := extra_checks[name](out):
                problems.append(err)
        except Exception as e:  # a malformed line
            problems.append(f"check failed: {e!r}")
    print(p.stdout)
    for problem in problems:
        print("FAIL:", problem)
    sys.exit(1 if problems else 0)


main()
