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

# (nss_wrapper only: pam_wrapper, which --preauth does not use, would
# race other processes for its /tmp/pam.N directory as alice)
wrapper = env.write("imapd-alice", (
    "#!/bin/sh\nunset PAM_WRAPPER PAM_WRAPPER_SERVICE_DIR\n"
    "LD_PRELOAD=%s HOME=%s USER=alice LOGNAME=alice exec setpriv "
    "--reuid=%d --regid=%d --clear-groups -- %s \"$@\"\n"
    % (harness.NSS_WRAPPER, env.home("alice"), ALICE_UID, ALICE_UID,
       imapd)), 0o755)


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
        return self.read_reply(tag)

    def read_reply(self, tag):
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


def uid_list(c):
    un, t = c.cmd("UID SEARCH ALL")
    return [int(x) for x in un[0].split()[2:]]


def fetch_info(line):
    """(seq, uid, flags without \\Recent) of "* n FETCH (UID u FLAGS (...))"
    in either order."""
    m = re.fullmatch(r"\* (\d+) FETCH \((.*)\)", line or "")
    if not m:
        return (None, None, None)
    uid = re.search(r"\bUID (\d+)", m.group(2))
    fl = re.search(r"\bFLAGS \(([^)]*)\)", m.group(2))
    flags = set(fl.group(1).split()) - {"\\Recent"} if fl else None
    return (int(m.group(1)), int(uid.group(1)) if uid else None, flags)


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

    with tap.section("%s: no EXPUNGE during FETCH, STORE, SEARCH" % n):
        store.reset([("one", "S"), ("two", "ST"), ("three", "S"),
                     ("four", "ST"), ("five", "S")])
        a, b = Imap(srv), Imap(srv)
        a.cmd("SELECT INBOX")
        b.cmd("SELECT INBOX")
        uids = uid_list(b)
        un, t = b.cmd("UID EXPUNGE %d" % uids[1])
        tap.is_(un, ["* 2 EXPUNGE"], "%s: B removes message 2" % n)
        un, t = a.cmd("FETCH 3 (FLAGS UID)")
        tap.ok(len(un) == 1 and fetch_info(un[0])[:2] == (3, uids[2]),
               "%s: FETCH 3 is still the third message, no EXPUNGE" % n,
               repr(un))
        un, t = a.cmd("STORE 3 +FLAGS (\\Flagged)")
        tap.ok(len(un) == 1 and fetch_info(un[0])[0] == 3 and
               "\\Flagged" in fetch_info(un[0])[2],
               "%s: nor while answering STORE 3" % n, repr(un))
        un, t = a.cmd("SEARCH FLAGGED")
        tap.is_(un, ["* SEARCH 3"], "%s: nor SEARCH, which still counts "
                "the old numbers" % n)
        un, t = a.cmd("UID FETCH 1:* (FLAGS)")
        tap.is_(un[-1:], ["* 2 EXPUNGE"], "%s: UID FETCH reports it, after "
                "its own answers" % n)
        un, t = a.cmd("FETCH 2 (UID FLAGS)")
        tap.ok(len(un) == 1 and fetch_info(un[0])[1] == uids[2] and
               "\\Flagged" in fetch_info(un[0])[2],
               "%s: the message flagged as 3 is 2 now" % n, repr(un))
        un, t = b.cmd("EXPUNGE")
        tap.is_(no_recent(un)[:1], ["* 3 EXPUNGE"],
                "%s: B removes message 3 (four)" % n)
        un, t = a.cmd("STORE 1 +FLAGS.SILENT (\\Answered)")
        tap.is_(un, [], "%s: no EXPUNGE with STORE.SILENT" % n)
        un, t = a.cmd("NOOP")
        tap.is_(no_recent(un), ["* 3 EXPUNGE"],
                "%s: the EXPUNGE comes with the next NOOP" % n)
        store.deliver("six")
        un, t = a.cmd("CHECK")
        tap.is_(no_recent(un), ["* 4 EXISTS"],
                "%s: other commands report new mail too" % n)
        un, t = a.cmd("FETCH 4 BODY.PEEK[HEADER.FIELDS (Subject)]")
        tap.is_(un[1:2], ["Subject: six"], "%s: the new message is 4" % n)
        a.close()
        b.close()

    with tap.section("%s: reading a message does not lose an EXPUNGE" % n):
        store.reset([("one", "S"), ("two", "ST"), ("three", "S")])
        a, b = Imap(srv), Imap(srv)
        a.cmd("SELECT INBOX")
        b.cmd("SELECT INBOX")
        b.cmd("EXPUNGE")
        un, t = a.cmd("FETCH 3 BODY.PEEK[HEADER.FIELDS (Subject)]")
        tap.is_(un[1:2], ["Subject: three"], "%s: FETCH 3 body" % n)
        un, t = a.cmd("NOOP")
        tap.is_(no_recent(un), ["* 2 EXPUNGE"], "%s: then NOOP reports "
                "the EXPUNGE" % n)
        a.close()
        b.close()

    with tap.section("%s: flag changes by others as FETCH FLAGS" % n):
        store.reset([("one", "S"), ("two", ""), ("three", "S")])
        a, b = Imap(srv), Imap(srv)
        a.cmd("SELECT INBOX")
        b.cmd("SELECT INBOX")
        un, t = b.cmd("STORE 2 +FLAGS.SILENT (\\Flagged \\Seen)")
        tap.is_((un, t[:2]), ([], "OK"), "%s: B flags message 2" % n)
        un, t = a.cmd("NOOP")
        tap.ok(len(un) == 1 and fetch_info(un[0])[0] == 2 and
               fetch_info(un[0])[2] == {"\\Flagged", "\\Seen"},
               "%s: A's NOOP reports B's change with UID and FLAGS" % n,
               repr(un))
        un, t = a.cmd("NOOP")
        tap.is_(un, [], "%s: once" % n)
        un, t = b.cmd("STORE 1 +FLAGS.SILENT (NewKeyword)")
        un, t = a.cmd("NOOP")
        tap.ok(len(un) == 3 and un[0].startswith("* FLAGS (") and
               "NewKeyword" in un[0] and "NewKeyword" in un[1] and
               un[1].startswith("* OK [PERMANENTFLAGS (") and
               fetch_info(un[2])[2] == {"\\Seen", "NewKeyword"},
               "%s: a new keyword: FLAGS and PERMANENTFLAGS before the "
               "FETCH" % n, repr(un))
        if isinstance(store, Maildir):
            store.set_flags(2, "D")
            un, t = a.cmd("NOOP")
            tap.ok(len(un) == 1 and fetch_info(un[0])[0] == 3 and
                   fetch_info(un[0])[2] == {"\\Draft"},
                   "%s: another program's change too" % n, repr(un))
        a.close()
        b.close()

    with tap.section("%s: another session deletes the selected folder" % n):
        a, b = Imap(srv), Imap(srv)
        b.cmd("CREATE doomed")
        msg = "Subject: doomed\r\n\r\nx\r\n"
        b.send("d1 APPEND doomed {%d+}\r\n%s\r\n" % (len(msg), msg))
        un, t = b.read_reply("d1")
        tap.like(t, r"^OK ", "%s: a message in it" % n)
        un, t = a.cmd("SELECT doomed")
        tap.ok("* 1 EXISTS" in un, "%s: A selects it" % n, repr(un))
        un, t = b.cmd("DELETE doomed")
        tap.is_(t, "OK Delete completed.", "%s: B deletes it" % n)
        un, t = a.cmd("NOOP")
        if isinstance(store, Maildir):
            tap.is_((un, t), (["* BYE Selected mailbox was deleted, have to "
                               "disconnect."], "OK NOOP completed."),
                    "%s: A is told with BYE, then the NOOP's result" % n)
            tap.ok(a.c.closed_within(env.timeout),
                   "%s: and disconnected" % n)
        else:
            tap.is_((un, t), (["* 1 EXPUNGE"], "OK NOOP completed."),
                    "%s: A sees its messages go" % n)
        a.close()
        b.close()

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
        time.sleep(0.3)
        un, t = b.cmd("STORE 1 +FLAGS.SILENT (\\Answered)")
        t0 = time.monotonic()
        got, took = a.wait_line(r"\* 1 FETCH \(UID \d+ FLAGS \(\\Answered "
                                r"\\Seen( \\Recent)?\)\)", 5)
        tap.ok(took is not None and time.monotonic() - t0 < PROMPT,
               "%s: another session's flag change within %.0f s" % (n, PROMPT),
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
