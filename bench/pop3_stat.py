#!/usr/bin/env python3
"""pop3_stat.py - STAT and LIST on a large Maildir, first and second time.

Delivers N messages (LF line endings, names without W=, so their wire size
must be computed by reading them) and runs `pop3d --preauth` as the user
twice under strace, counting the message files opened and timing the
session.  The first session reads each file once and caches the sizes;
the second must open none.  Usage: bench/pop3_stat.py [N]  (as root)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "t", "lib"))
import harness  # noqa: E402


def session(env, trace):
    """One --preauth session: STAT, LIST, QUIT; returns (secs, opens)."""
    uid = harness.USERS["alice"][0]
    cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
           "--clear-groups", os.path.join(harness.BUILD, "pop3d"),
           "--preauth", "-c", env.write_conf({"log_path": "/dev/stderr"})]
    if trace:
        cmd = ["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace] + cmd
    e = env.nss_env(HOME=env.home("alice"))
    t = time.monotonic()
    r = subprocess.run(cmd, input=b"STAT\r\nLIST\r\nQUIT\r\n", env=e,
                       stdout=subprocess.PIPE, check=True, cwd="/")
    secs = time.monotonic() - t
    opens = 0
    if trace:
        with open(trace) as f:
            # message files are opened relative to cur/ or new/: match
            # the names env.deliver() gives them
            opens = sum(1 for l in f if ".postern-test" in l)
    return secs, opens, r.stdout.split(b"\r\n")[1]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    env = harness.Env()
    body = "Subject: bench\n\n" + "a line of text\n" * 20
    for _ in range(n):
        env.deliver("alice", body)
    cache = os.path.join(env.maildir("alice"), "postern-uidlist")
    cold, _, _ = session(env, None)
    os.unlink(cache)            # forget the sizes again (and the UIDs)
    report("first session (sizes computed)", n, cold, session(env, env.path("trace")))
    warm, _, _ = session(env, None)
    report("second session (sizes cached)", n, warm, session(env, env.path("trace")))
    env.cleanup()


def report(label, n, plain, traced):
    secs, opens, stat = traced
    print("%-31s %d msgs, %s: message files opened %d; "
          "%.3f s (%.3f s under strace)"
          % (label, n, stat.decode(), opens, plain, secs))


if __name__ == "__main__":
    main()
