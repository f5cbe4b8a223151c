#!/usr/bin/env python3
"""Runs a program that must panic: exit status 2 and the expected text on stderr."""
import subprocess
import sys

prog, want = sys.argv[1], sys.argv[2]
p = subprocess.run([prog], capture_output=True, text=True, timeout=30)
ok = p.returncode == 2 and want in p.stderr
if not ok:
    print(f"exit status {p.returncode}, want 2; stderr should contain {want!r}")
    print("stdout:", p.stdout)
    print("stderr:", p.stderr)
sys.exit(0 if ok else 1)
