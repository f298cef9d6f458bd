#!/usr/bin/env python3
"""95-hardening.t - the built daemons carry the hardening the Makefile asks
for (SECURITY.md G15), read back from the ELF files with readelf: PIE,
full RELRO (BIND_NOW), a non-executable stack, the stack protector,
_FORTIFY_SOURCE's checked functions, and CET (IBT + SHSTK) notes.
Sanitizer builds trade FORTIFY away, so that one check is for build/.

CET is checked on our object files: the linker marks an executable only
when every input is marked, and Debian 12's glibc start files (Scrt1.o,
crti.o) are not, so no executable built on it carries the note."""
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402

BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build")


def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def check(name):
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        tap.ok(False, "%s is built" % name, path)
        return
    header = readelf("-h", path)
    segments = readelf("-l", path)
    dynamic = readelf("-d", path)
    symbols = readelf("--dyn-syms", path)
    tap.ok("DYN (Position-Independent Executable" in header,
           "%s is PIE" % name, header)
    tap.ok("GNU_RELRO" in segments and "BIND_NOW" in dynamic
           or "FLAGS_1" in dynamic and "NOW" in dynamic,
           "%s has full RELRO (RELRO + BIND_NOW)" % name)
    stack = [l for l in segments.splitlines() if "GNU_STACK" in l]
    tap.ok(stack and "RWE" not in stack[0], "%s has a non-executable stack" % name,
           "\n".join(stack))
    tap.ok("__stack_chk_fail" in symbols, "%s uses the stack protector" % name)
    if "build-san" not in BUILD:
        tap.ok("_chk@" in symbols, "%s uses _FORTIFY_SOURCE's checked functions"
               % name)
    objs = glob.glob(os.path.join(BUILD, "obj", "*", "*.o"))
    unmarked = [o for o in objs if "IBT, SHSTK" not in readelf("-n", o)]
    tap.ok(objs and not unmarked,
           "every object file is marked for CET (IBT, SHSTK): -fcf-protection",
           "\n".join(unmarked))


for prog in ("pop3d", "imapd"):
    check(prog)
tap.done()
