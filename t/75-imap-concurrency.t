#!/usr/bin/env python3
# Two imapd sessions on one folder, with deliveries, for Maildir and
# mbox: each session learns what the other did through untagged
# responses with sequence numbers that stay right (RFC 3501 7.4.1, RFC
# 2180 4.1), never an EXPUNGE while answering FETCH/STORE/SEARCH without
# UID, and IDLE (RFC 2177) reports a delivery or another session's
# change within a second.
import os
import re
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
imapd = env.binary("imapd")
ALICE_UID = 60101
# how soon IDLE must report a change (sanitizer builds are slower)
PROMPT = 3.0 if env.instrumented else 1.0

wrapper = env.write("imapd-alice", (
    "#!/bin/sh\nHOME=%s USER=alice LOGNAME=alice exec setpriv --reuid=%d "
    "--regid=%d --clear-groups -- %s \"$@\"\n"
    % (env.home("alice"), ALICE_UID, ALICE_UID, imapd)), 0o755)


def preauth_server(conf=None):
    c = {"log_path": "/dev/stderr"}
    c.update(conf or {})
    return env.start(wrapper, conf=c, args=["--preauth"])


class Imap:
    def __init__(self, srv):
        self.c = srv.connect()
        self.n = 0
        self.greeting = self.c.readline()

    def send(self, data):
        self.c.send(data)

    def line(self, timeout=None):
        return self.c.readline(timeout)

    def cmd(self, text):
        self.n += 1
        tag = "a%d" % self.n
        self.send("%s %s\r\n" % (tag, text))
        lines = []
        while True:
            ln = self.line()
            if ln is None or ln.startswith(tag + " "):
                return lines, (ln[len(tag) + 1:] if ln else None)
            lines.append(ln)

    def wait_line(self, pattern, timeout):
        """Lines until one matches pattern: (the lines, seconds taken),
        or (lines, None) on timeout."""
        t0 = time.monotonic()
        got = []
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                return got, None
            try:
                ln = self.line(left)
            except harness.Timeout:
                return got, None
            if ln is None:
                return got, None
            got.append(ln)
            if re.fullmatch(pattern, ln):
                return got, time.monotonic() - t0

    def close(self):
        self.c.close()


def no_recent(lines):
    """RECENT goes to whichever session sees a message first."""
    return [ln for ln in lines if not re.fullmatch(r"\* \d+ RECENT", ln)]


MSG = "From: a@example.org\nSubject: %s\n\nbody\n"
FROM_ = "From a@example.org  Mon Nov 23 10:00:00 2026\n"


class Maildir:
    name = "Maildir"
    conf = {}

    def reset(self, msgs):
        md = env.maildir("alice")
        for sub in ("new", "cur"):
            for f in os.listdir(os.path.join(md, sub)):
                os.unlink(os.path.join(md, sub, f))
        self.files = [env.deliver("alice", MSG % s, subdir="cur", flags=f)
                      for s, f in msgs]

    def deliver(self, subject):
        env.deliver("alice", MSG % subject)

    def set_flags(self, i, flags):
        """Another program changes message i's flags (0-based)."""
        old = self.files[i]
        new = old.split(":2,")[0] + ":2," + flags
        os.rename(old, new)
        self.files[i] = new


class Mbox:
    name = "mbox"

    def __init__(self):
        self.inbox, loc = env.mbox("alice", "")
        self.conf = {"mail_location": loc}

    def reset(self, msgs):
        data = ""
        for s, f in msgs:
            st = "R" if "S" in f else ""
            xs = ("D" if "T" in f else "") + ("F" if "F" in f else "")
            data += FROM_ + "Subject: %s\nStatus: %sO\n%s\nbody\n\n" % (
                s, st, "X-Status: %s\n" % xs if xs else "")
        env.write_mbox(self.inbox, data)
        d = os.path.dirname(self.inbox)
        for f in os.listdir(d):
            if f != "alice":
                p = os.path.join(d, f)
                if os.path.isfile(p):
                    os.unlink(p)
        root = os.path.join(env.home("alice"), "mail")
        for f in os.listdir(root):
            p = os.path.join(root, f)
            if os.path.isfile(p):
                os.unlink(p)
            elif os.path.isdir(p):
                subprocess.run(["rm", "-rf", p])

    def deliver(self, subject):
        lock = self.inbox + ".lock"
        subprocess.run(["dotlockfile", "-l", "-r", "10", lock], check=True)
        try:
            with open(self.inbox, "ab") as f:
                f.write((FROM_ + MSG % subject + "\n").encode())
        finally:
            subprocess.run(["dotlockfile", "-u", lock])


def run(store):
    srv = preauth_server(store.conf)
    n = store.name

    with tap.section("%s: each session sees the other's EXPUNGE and new "
                     "mail" % n):
        store.reset([("one", "S"), ("two", "ST"), ("three", "S")])
        a, b = Imap(srv), Imap(srv)
        un, t = a.cmd("SELECT INBOX")
        tap.ok("* 3 EXISTS" in un, "%s: A selects 3 messages" % n, repr(un))
        un, t = b.cmd("SELECT INBOX")
        tap.ok("* 3 EXISTS" in un, "%s: B selects 3 messages" % n, repr(un))
        un, t = b.cmd("EXPUNGE")
        tap.is_((un, t), (["* 2 EXPUNGE"], "OK Expunge completed."),
                "%s: B expunges message 2" % n)
        store.deliver("four")
        un, t = a.cmd("NOOP")
        tap.is_(no_recent(un), ["* 2 EXPUNGE", "* 3 EXISTS"],
                "%s: A's NOOP: message 2 went, a new one is 3" % n)
        un, t = b.cmd("NOOP")
        tap.is_(no_recent(un), ["* 3 EXISTS"],
                "%s: B's NOOP: only the new message" % n)
        a.close()
        b.close()

    with tap.section("%s: no EXPUNGE during a command that forbids it" % n):
        store.reset([("one", "S"), ("two", "ST"), ("three", "S")])
        a, b = Imap(srv), Imap(srv)
        a.cmd("SELECT INBOX")
        b.cmd("SELECT INBOX")
        b.cmd("EXPUNGE")
        un, t = a.cmd("FETCH 3 FLAGS")
        fetch_linked = t is not None and t != "BAD Unknown command."
        if fetch_linked:
            tap.ok(not any("EXPUNGE" in ln for ln in un),
                   "%s: no EXPUNGE while answering FETCH" % n, repr(un))
            tap.ok(any(ln.startswith("* 3 FETCH (") for ln in un),
                   "%s: FETCH 3 still means the third message" % n, repr(un))
        else:
            tap.is_(un, [], "%s: (no FETCH yet) an unknown command reports "
                    "nothing" % n)
        un, t = a.cmd("NOOP")
        tap.is_(no_recent(un), ["* 2 EXPUNGE"],
                "%s: the EXPUNGE comes with the next NOOP" % n)
        b.cmd("NOOP")
        store.deliver("four")
        time.sleep(0.05)
        un, t = b.cmd("UID EXPUNGE 1:*")
        un, t = a.cmd("CHECK")
        tap.is_(no_recent(un), ["* 3 EXISTS"],
                "%s: other commands report new mail too" % n)
        a.close()
        b.close()

    with tap.section("%s: flag changes by others as FETCH FLAGS" % n):
        if isinstance(store, Maildir):
            store.reset([("one", "S"), ("two", ""), ("three", "S")])
            a = Imap(srv)
            a.cmd("SELECT INBOX")
            store.set_flags(1, "FS")
            un, t = a.cmd("NOOP")
            tap.ok(len(un) == 1 and re.fullmatch(
                r"\* 2 FETCH \(UID \d+ FLAGS \(\\Flagged \\Seen( \\Recent)?\)\)",
                un[0]),
                "%s: another program's change is reported" % n, repr(un))
            un, t = a.cmd("NOOP")
            tap.is_(un, [], "%s: once" % n)
            a.close()
        else:
            tap.skip("%s: another program's flag change" % n,
                     "covered with STORE in IDLE below")

    with tap.section("%s: IDLE" % n):
        store.reset([("one", "S"), ("two", "ST"), ("three", "S")])
        a, b = Imap(srv), Imap(srv)
        a.cmd("SELECT INBOX")
        b.cmd("SELECT INBOX")
        a.send("i1 IDLE\r\n")
        tap.is_(a.line(), "+ idling", "%s: IDLE continuation" % n)
        time.sleep(0.3)
        store.deliver("four")
        got, took = a.wait_line(r"\* 4 EXISTS", 5)
        tap.ok(took is not None and took < PROMPT,
               "%s: a delivery reaches the idling client within %.0f s "
               "(%s s)" % (n, PROMPT, took and round(took, 2)), repr(got))
        time.sleep(0.3)
        un, t = b.cmd("EXPUNGE")
        t0 = time.monotonic()
        got, took = a.wait_line(r"\* 2 EXPUNGE", 5)
        tap.ok(took is not None and time.monotonic() - t0 < PROMPT,
               "%s: another session's EXPUNGE within %.0f s" % (n, PROMPT),
               repr(got))
        a.send("DONE\r\n")
        got, took = a.wait_line(r"i1 .*", 5)
        tap.is_(got[-1:], ["i1 OK Idle completed."], "%s: DONE ends IDLE" % n)
        un, t = a.cmd("NOOP")
        tap.is_(no_recent(un), [], "%s: nothing reported twice" % n)
        a.send("i2 IDLE\r\n")
        a.line()
        a.send("NOTDONE\r\n")
        tap.is_(a.line(), "i2 BAD Expected DONE.", "%s: anything but DONE "
                "is BAD" % n)
        a.send("i3 IDLE\r\nDONE\r\n")
        tap.is_([a.line(), a.line()], ["+ idling", "i3 OK Idle completed."],
                "%s: DONE sent at once with IDLE" % n)
        a.close()
        b.close()

    srv.stop()


with tap.section("IDLE in the authenticated state"):
    srv = preauth_server()
    c = Imap(srv)
    c.send("i1 idle\r\n")
    tap.is_(c.line(), "+ idling", "+ idling")
    time.sleep(0.2)
    c.send("done\r\n")
    tap.is_(c.line(), "i1 OK Idle completed.", "done in lower case")
    c.send("i2 IDLE\r\n")
    c.line()
    c.c.sock.shutdown(1)
    tap.ok(c.c.closed_within(5), "EOF during IDLE ends the session")
    isrv = preauth_server({"imap_idle_timeout": "2"})
    c = Imap(isrv)
    c.cmd("SELECT INBOX")
    c.send("i1 IDLE\r\n")
    c.line()
    got, took = c.wait_line(r"\* BYE Disconnected for inactivity\.", 8)
    tap.ok(took is not None and took > 1.5,
           "the idle timeout applies to IDLE (%s s)" % (took and round(took, 1)),
           repr(got))
    tap.ok(c.c.closed_within(5), "then the connection closes")

run(Maildir())
run(Mbox())
env.finish()
