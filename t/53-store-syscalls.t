#!/usr/bin/env python3
# What opening a big folder costs, counted in system calls (strace), not
# in time (DESIGN.md: steady-state work is proportional to what changed):
#   - Maildir, first open without any state: one pass over the
#     directories, no per-message open();
#   - Maildir, re-open of an unchanged folder: the index and the
#     directories' mtimes only: no readdir, no per-message stat or open;
#   - Maildir, re-open after one delivery: only new/ is read;
#   - mbox, re-open of an unchanged file: (almost) nothing of it is read.
# The tool is build/store_bench (bench/store_bench.c), which opens INBOX
# through store.h exactly as a session does.
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402

BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")
BENCH = os.path.join(BUILD, "store_bench")
N = 3000


def bench(*args):
    return subprocess.run([BENCH] + list(args), check=True,
                          capture_output=True, text=True).stdout


def traced(loc):
    """Open loc under strace; the calls as (name, path-annotated line)."""
    # LeakSanitizer (make check SANITIZE=1) cannot run under ptrace
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        subprocess.run(["strace", "-f", "-y", "-qq", "-o", out.name,
                        "-e", "trace=openat,open,getdents64,newfstatat,"
                        "stat,lstat,fstatat64,statx,fstat",
                        BENCH, "open", loc],
                       check=True, capture_output=True, env=env)
        lines = out.read().splitlines()
    calls = []
    for line in lines:
        m = re.match(r"(?:\d+\s+)?(\w+)\(", line)
        if m:
            calls.append((m.group(1), line))
    return calls


def count(calls, name, path_part=None):
    return sum(1 for c, line in calls
               if c == name and (path_part is None or path_part in line))


def msg_opens(calls):
    """open() of message files: a name under cur/ or new/, or relative
    to a descriptor of cur/ or new/ (strace -y shows its path)."""
    n = 0
    for c, line in calls:
        if c not in ("openat", "open") or "O_DIRECTORY" in line:
            continue
        if re.search(r'/(cur|new)>, "', line) or \
           re.search(r'"[^"]*/(cur|new)/[^"]+"', line):
            n += 1
    return n


def stats(calls):
    return sum(count(calls, n) for n in
               ("newfstatat", "stat", "lstat", "fstatat64", "statx"))


if not shutil.which("strace"):
    tap.ok(False, "strace is installed (tools/deps.sh check installs it)")
    tap.done()

base = tempfile.mkdtemp(prefix="postern-sys-")
try:
    md = os.path.join(base, "Maildir")
    bench("mkmaildir", md, str(N))
    loc = "maildir:" + md

    with tap.section("Maildir: first open, no state yet"):
        calls = traced(loc)
        tap.is_(msg_opens(calls), 0, "no message file is opened")
        tap.ok(stats(calls) < 50,
               "no per-message stat (%d stat calls for %d messages)"
               % (stats(calls), N))
        tap.ok(count(calls, "getdents64") > 0, "the directories are read")

    # A directory mtime younger than 2 s is not trusted (same-tick
    # deliveries); age the folder as real mail folders are.
    time.sleep(2.2)
    bench("open", loc)  # records the trusted mtimes

    with tap.section("Maildir: re-open, nothing changed"):
        calls = traced(loc)
        tap.is_(count(calls, "getdents64"), 0, "no readdir at all")
        tap.is_(msg_opens(calls), 0, "no message file is opened")
        # (a sanitizer build's runtime adds a few of its own)
        tap.ok(stats(calls) < 50, "a handful of stat calls (%d), not one "
               "per message" % stats(calls))
        out = bench("open", loc)
        tap.like(out, r"msgs=%d " % N, "all %d messages listed" % N)

    bench("deliver", md)
    time.sleep(2.2)
    with tap.section("Maildir: re-open after one delivery"):
        calls = traced(loc)
        tap.ok(count(calls, "getdents64", "/new>") > 0, "new/ is read")
        tap.is_(count(calls, "getdents64", "/cur>"), 0, "cur/ is not")
        tap.is_(msg_opens(calls), 0, "no message file is opened")
        tap.like(bench("open", loc), r"msgs=%d " % (N + 1),
                 "the new message is listed")

    mb = os.path.join(base, "inbox")
    bench("mkmbox", mb, "64")
    mloc = "mbox:%s/mail:INBOX=%s" % (base, mb)
    size = os.path.getsize(mb)
    with tap.section("mbox: first open reads the file"):
        out = bench("open", mloc)
        m = re.search(r"rchar=(\d+)", out)
        tap.ok(m and int(m.group(1)) >= size, "the first open reads all "
               "%d bytes (%s)" % (size, out.strip()))
    time.sleep(2.2)
    bench("open", mloc)
    with tap.section("mbox: re-open, nothing changed"):
        out = bench("open", mloc)
        m = re.search(r"rchar=(\d+)", out)
        tap.ok(m and int(m.group(1)) < 1 << 20, "the second open reads "
               "under 1 MiB of a %d MiB mbox (%s)" % (size >> 20,
                                                       out.strip()))
finally:
    shutil.rmtree(base, ignore_errors=True)
tap.done()
