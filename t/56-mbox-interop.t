#!/usr/bin/env python3
# An mbox shared with the programs that deliver to it and lock it, as on
# a Debian mail host: procmail delivering while a session has the folder
# open (the session sees the new mail at its next sync, and the flags it
# wrote survive), dotlockfile (liblockfile, what MTAs and MUAs use)
# holding <mbox>.lock while a session must wait for it, and a session's
# own lock refusing dotlockfile.  The session is build/store_bench
# (bench/store_bench.c), which drives store.h as imapd will.
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

for tool in ("procmail", "dotlockfile"):
    if not shutil.which(tool):
        tap.ok(False, "%s is installed (tools/deps.sh check installs it)"
               % tool)
        tap.done()

base = tempfile.mkdtemp(prefix="postern-interop-")
inbox = os.path.join(base, "inbox")
loc = "mbox:%s/mail:INBOX=%s" % (base, inbox)
rc = os.path.join(base, "procmailrc")
with open(rc, "w") as f:
    f.write("DEFAULT=%s\nLOGFILE=%s/procmail.log\n:0:\n%s\n"
            % (inbox, base, inbox))


def procmail(subject):
    """Deliver one message as an MTA's mailbox_command would."""
    msg = ("From: sender@example.org\nTo: user@example.org\n"
           "Subject: %s\nMessage-ID: <%s@example.org>\n\n"
           "Body of %s.\nFrom the body, quoted by procmail.\n"
           % (subject, subject, subject))
    subprocess.run(["procmail", "-f", "sender@example.org", rc],
                   input=msg.encode(), check=True, timeout=30)


class Session:
    def __init__(self):
        self.p = subprocess.Popen([BENCH, "session", loc],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.first = self.p.stdout.readline().strip()

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


try:
    procmail("one")
    procmail("two")
    s = Session()
    tap.is_(s.first, "count=2", "a session opens the two delivered messages")

    with tap.section("procmail delivers while the session is open"):
        procmail("three")
        tap.like(s.cmd("sync"), r"^count=3 added=1 ",
                 "the next sync brings exactly the new message")
        uids = s.cmd("uids")
        m = re.match(r"uids=(\d+),(\d+),(\d+)$", uids)
        tap.ok(m and int(m.group(1)) < int(m.group(2)) < int(m.group(3)),
               "UIDs ascend (%s)" % uids)

    with tap.section("flags written beside deliveries"):
        tap.is_(s.cmd("flag 0 +S"), "ok", "\\Seen on the first message")
        procmail("four")
        tap.like(s.cmd("sync"), r"^count=4 added=1 ", "a fourth arrives")
        tap.is_(s.cmd("flags 0"), "flags=1", "the flag is still set")
        with open(inbox, "rb") as f:
            data = f.read()
        tap.is_(data.count(b"\nFrom sender@example.org "), 3,
                "four From_ lines, none lost or merged")
        tap.ok(re.search(rb"Status: RO?\n", data) is not None,
               "the flag is in the file as mutt reads it")
        s2 = Session()
        tap.is_(s2.first, "count=4", "a second session sees the four")
        tap.is_(s2.cmd("uids"), s.cmd("uids"), "with the same UIDs")
        tap.is_(s2.cmd("flags 0"), "flags=1", "and the flag")
        s2.close()

    with tap.section("dotlockfile holds the lock: the session waits"):
        subprocess.run(["dotlockfile", "-l", "-r", "0", inbox + ".lock"],
                       check=True)
        with open(inbox, "ab") as f:     # an MTA appending under it
            f.write(b"\nFrom mta@example.org Mon Nov 23 10:00:00 2026\n"
                    b"Subject: five\n\nunder dotlockfile\n")
        t0 = time.monotonic()
        unlock = subprocess.Popen(["sh", "-c", "sleep 1.5; dotlockfile "
                                   "-u %s.lock" % inbox])
        out = s.cmd("sync")
        took = time.monotonic() - t0
        unlock.wait()
        tap.like(out, r"^count=5 added=1 ", "the sync sees the message")
        tap.ok(took >= 1.3, "only after dotlockfile let go (%.1f s)" % took)

    s.close()

    with tap.section("a session's lock keeps dotlockfile out"):
        h = subprocess.Popen([BENCH, "hold", loc, "3"],
                             stdout=subprocess.PIPE, text=True)
        tap.is_(h.stdout.readline().strip(), "held", "a POP3-style session "
                "holds the mbox")
        r = subprocess.run(["dotlockfile", "-l", "-r", "0", inbox + ".lock"])
        tap.ok(r.returncode != 0, "dotlockfile cannot take the lock "
               "(exit %d)" % r.returncode)
        h.wait(timeout=30)
        r = subprocess.run(["dotlockfile", "-l", "-r", "0", inbox + ".lock"])
        tap.is_(r.returncode, 0, "after the session it can")
        subprocess.run(["dotlockfile", "-u", inbox + ".lock"])
finally:
    shutil.rmtree(base, ignore_errors=True)
tap.done()
