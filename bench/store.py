#!/usr/bin/env python3
"""store.py - the store's scale targets, measured through store.h.

For Maildir folders of 10,000 and 100,000 messages (names without S=/W=,
as many MDAs write them) it times, with build/store_bench:
  first   the first open ever (no uid list, no index);
  reopen  a re-open with nothing changed (the index and three stat()s);
  change  a re-open after one delivery (only new/ is read);
and the session's memory per message (heap left by the open, with and
without the file names).  For a 1 GiB mbox it times the first open and a
second one, with the bytes each read.  Usage: bench/store.py [--quick]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")
BENCH = os.path.join(BUILD, "store_bench")


def run(*args):
    return subprocess.run([BENCH] + list(args), check=True,
                          capture_output=True, text=True).stdout


def measure(loc):
    out = run("open", loc)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", out)}


def maildir(base, n):
    md = os.path.join(base, "md%d" % n)
    run("mkmaildir", md, str(n))
    loc = "maildir:" + md
    first = measure(loc)
    time.sleep(2.2)     # directory mtimes younger than 2 s are not trusted
    measure(loc)
    reopen = measure(loc)
    run("deliver", md)
    time.sleep(2.2)
    change = measure(loc)
    per = reopen["heap"] / max(reopen["msgs"], 1)
    per_nonames = (reopen["heap"] - reopen["names"]) / max(reopen["msgs"], 1)
    print("maildir %7d msgs: first open %5d ms, re-open %4d ms, after one "
          "delivery %4d ms; memory %.0f B/msg (%.0f B/msg without file "
          "names)" % (n, first["ms"], reopen["ms"], change["ms"], per,
                      per_nonames))
    shutil.rmtree(md)
    return first["ms"]


def mbox(base, mib):
    path = os.path.join(base, "inbox")
    run("mkmbox", path, str(mib))
    loc = "mbox:%s/mail:INBOX=%s" % (base, path)
    first = measure(loc)
    time.sleep(2.2)
    second = measure(loc)
    print("mbox %d MiB, %d msgs: first open %d ms (read %d MiB), second "
          "open %d ms (read %d KiB)" % (
              mib, first["msgs"], first["ms"], first["rchar"] >> 20,
              second["ms"], second["rchar"] >> 10))


def main():
    quick = "--quick" in sys.argv
    base = tempfile.mkdtemp(prefix="postern-bench-")
    try:
        small = maildir(base, 10000 if not quick else 1000)
        big = maildir(base, 100000 if not quick else 10000)
        print("first open, 10x the messages: %.1fx the time" %
              (big / max(small, 1)))
        mbox(base, 1024 if not quick else 64)
    finally:
        shutil.rmtree(base, ignore_errors=True)


main()
