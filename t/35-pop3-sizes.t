#!/usr/bin/env python3
# pop3d: sizes are exact.  LIST/STAT report the bytes RETR then sends
# (after dot-unstuffing, without the terminating ".\r\n"): CRLF line ends
# (crlf.h), a final CRLF added when the stored message lacks one, lines
# starting with '.', bytes straddling read-buffer boundaries; and on mbox:
# no From_ line, mboxrd ">From " unquoting, internal headers (Status,
# X-Status, X-Keywords, X-UID, X-IMAPbase, Content-Length) hidden.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import crlf, parse_stat  # noqa: E402

env = harness.setup()


def big_crlf():
    # CRLF-stored lines of every length 0..299, many starting with '.':
    # puts "\r" | "\n" and ".": at every offset of any power-of-two buffer
    lines = []
    for i in range(3000):
        n = i % 300
        lines.append(("." if i % 3 == 0 else "x") + "y" * n + "\r\n")
    return ("Subject: big crlf\r\n\r\n" + "".join(lines)).encode()


def big_lf():
    lines = []
    for i in range(4000):
        n = (i * 7) % 257
        lines.append(("." if i % 2 else "") + "z" * n + "\n")
    return ("Subject: big lf\n\n" + "".join(lines)).encode()


MAILDIR = [
    (b"Subject: lf\n\nline\n.dot first\n..two dots\n.\nend\n", "LF endings, dot lines"),
    (b"Subject: crlf\r\n\r\nline\r\n.dot\r\n.\r\nend\r\n", "CRLF endings"),
    (b"Subject: nonl\n\nno final newline", "no final newline"),
    (b"Subject: dot\n\n.", "ends with a lone '.' and no newline"),
    (b"Subject: mixed\r\n\nlf and crlf\r\nbare\rcr\n", "mixed endings, bare CR"),
    (b"Subject: cr end\n\nends with CR\r", "ends with a bare CR"),
    (b"Subject: 8bit\n\n\xe4\xf6\xfc \xff\x00 nul\n", "8-bit bytes and NUL"),
    (b"Subject: long\n\n" + b"L" * 20000 + b"\n", "a 20000-byte line"),
    (big_crlf(), "300 KB CRLF with dot lines at every offset"),
    (big_lf(), "600 KB LF with dot lines at every offset"),
]

for data, _ in MAILDIR:
    env.deliver("alice", data)
    time.sleep(0.01)
# one already seen, in cur/ with flags
env.deliver("alice", b"Subject: seen\n\nin cur\n", subdir="cur", flags="S")
MAILDIR.append((b"Subject: seen\n\nin cur\n", "in cur/ with :2,S"))

srv = env.start()


def subject(data):
    for line in data.splitlines():
        if line.startswith(b"Subject: "):
            return line.strip()
    return None


def check_all(c, msgs, what):
    """Every message: LIST size == RETR size line == bytes RETR sends ==
    crlf(stored).  Messages are matched by Subject, not by position."""
    r = c.cmd("LIST")
    tap.like(r, r"^\+OK", "%s: LIST" % what)
    sizes = {}
    for line in c.read_multi():
        n, s = line.split()
        sizes[int(n)] = int(s)
    tap.is_(len(sizes), len(msgs), "%s: %d messages listed" % (what, len(msgs)))
    by_subject = {subject(d): (d, desc) for d, desc in msgs}
    seen = set()
    total = 0
    for i in sorted(sizes):
        r = c.cmd("RETR %d" % i)
        body = c.read_body() if r and r.startswith("+OK") else None
        subj = subject(body or b"")
        data, desc = by_subject.get(subj, (None, "message %d (%r)" % (i, subj)))
        want = crlf(data) if data is not None else None
        seen.add(subj)
        if want is None:
            tap.ok(False, "%s: RETR %d is one of the stored messages" % (what, i),
                   repr((body or b"")[:200]))
            continue
        total += len(want)
        tap.is_(sizes[i], len(want), "%s: LIST size, %s" % (what, desc))
        tap.is_(r, "+OK %d octets" % len(want), "%s: RETR size, %s" % (what, desc))
        ok = body == want
        tap.ok(ok, "%s: RETR bytes, %s" % (what, desc),
               None if ok else "got %d bytes, want %d; first difference at %s"
               % (len(body or b""), len(want), first_diff(body or b"", want)))
    tap.is_(seen, set(by_subject), "%s: every stored message retrieved once" % what)
    tap.is_(parse_stat(c.cmd("STAT")), (len(msgs), total), "%s: STAT" % what)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "%d: got %r want %r" % (i, a[max(0, i - 20):i + 20],
                                           b[max(0, i - 20):i + 20])
    return "%d (one is a prefix of the other)" % min(len(a), len(b))


with tap.section("Maildir"):
    c = srv.session()
    check_all(c, MAILDIR, "maildir")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("Maildir, second session (sizes from the cache)"):
    c = srv.session()
    check_all(c, MAILDIR, "maildir again")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("TOP on a message stored without a final newline"):
    c = srv.session()
    pos = {}
    n = parse_stat(c.cmd("STAT"))[0]
    for i in range(1, n + 1):
        c.cmd("TOP %d 0" % i)
        pos[subject(c.read_body())] = i
    c.cmd("TOP %d 5" % pos[b"Subject: nonl"])
    tap.is_(c.read_body(), b"Subject: nonl\r\n\r\nno final newline\r\n",
            "TOP n 5 ends with the added CRLF")
    c.cmd("TOP %d 0" % pos[b"Subject: dot"])
    tap.is_(c.read_body(), b"Subject: dot\r\n\r\n", "TOP n 0 of a '.' body")
    c.cmd("TOP %d 1" % pos[b"Subject: lf"])
    tap.is_(c.read_body(), b"Subject: lf\r\n\r\nline\r\n", "TOP n 1")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("a 24 MiB message streams in bounded memory"):
    line = b"x" * 70 + b"\n"
    big = b"Subject: huge\n\n" + line * (24 * 1024 * 1024 // len(line))
    path = env.deliver("bob", big)
    c = srv.session("bob", "hunter2")
    want = len(crlf(big))
    tap.is_(c.cmd("LIST 1"), "+OK 1 %d" % want, "LIST size of the big message")
    pid = None
    for m in srv.monitors():
        for k in harness.proc_children(m):
            if harness.proc_comm(k) == "session":
                pid = k
    before = int(harness.proc_status(pid)["VmHWM"].split()[0]) if pid else 0
    r = c.cmd("RETR 1")
    body = c.read_body(env.timeout * 3) if r and r.startswith("+OK") else b""
    tap.is_(r, "+OK %d octets" % want, "RETR size line")
    tap.ok(body == crlf(big), "all %d bytes arrive intact" % want,
           "got %d bytes" % len(body))
    if pid and harness.proc_stat(pid):
        after = int(harness.proc_status(pid)["VmHWM"].split()[0])
        tap.cmp_ok(after - before, "<", 4 * 1024,
                   "session memory did not grow with the message "
                   "(%d -> %d KiB)" % (before, after))
    else:
        tap.ok(False, "session process found to measure")
    c.cmd("QUIT")
    c.close()

srv.stop()

# ---- mbox
MBOX = (
    b"From alice@example.com Mon Jan  1 00:00:00 2024\n"
    b"Return-Path: <a@example.com>\n"
    b"X-IMAPbase: 1700000000 0000000010\n"
    b"Subject: one\n"
    b"Status: RO\n"
    b"X-Status: A\n"
    b"X-Keywords: $Label1\n"
    b"X-UID: 7\n"
    b"X-UIDL: keep-me\n"
    b"\n"
    b">From the start\n"
    b">>From deeper\n"
    b">Fromage is not quoted\n"
    b"Status: body text, not a header\n"
    b".dot line\n"
    b"\n"
    b"From bob@example.com Mon Jan  1 00:00:01 2024\n"
    b"Subject: two\n"
    b"Content-Length: 9\n"
    b"Status: O\n"
    b"\n"
    b"two body\n"
    b"\n"
    b"From carol@example.com Mon Jan  1 00:00:02 2024\n"
    b"Subject: three\n"
    b"\n"
    b"last, no final newline"
)
MBOX_MSGS = [
    (b"Return-Path: <a@example.com>\nSubject: one\nX-UIDL: keep-me\n\n"
     b"From the start\n>From deeper\n>Fromage is not quoted\n"
     b"Status: body text, not a header\n.dot line\n", "mbox message 1"),
    (b"Subject: two\n\ntwo body\n", "mbox message 2"),
    (b"Subject: three\n\nlast, no final newline", "mbox message 3"),
]

inbox, location = env.mbox("alice", MBOX)
mailroot = os.path.join(env.home("alice"), "mail")
msrv = env.start(conf={"mail_location": location})

with tap.section("mbox"):
    c = msrv.session()
    check_all(c, MBOX_MSGS, "mbox")
    r = c.cmd("UIDL")
    uids = dict(l.split() for l in c.read_multi()) if r.startswith("+OK") else {}
    tap.is_(len(set(uids.values())), 3, "mbox: three distinct UIDs")
    c.cmd("QUIT")
    c.close()
    msrv.wait_idle()

with tap.section("mbox: DELE + QUIT rewrites the file safely"):
    c = msrv.session()
    tap.like(c.cmd("DELE 1"), r"^\+OK", "DELE 1")
    tap.like(c.cmd("QUIT"), r"^\+OK", "QUIT")
    c.close()
    msrv.wait_idle()
    with open(inbox, "rb") as f:
        data = f.read()
    tap.ok(data.startswith(b"From "), "the mbox still starts with a From_ line",
           repr(data[:80]))
    tap.ok(b"Subject: one" not in data, "message 1 is gone from the file")
    tap.ok(b"two body" in data and b"last, no final newline" in data,
           "messages 2 and 3 are still in the file")
    st = os.stat(inbox)
    tap.is_((st.st_uid, st.st_mode & 0o7777), (60101, 0o600),
            "the mbox keeps its owner and mode")
    c = msrv.session()
    check_all(c, MBOX_MSGS[1:], "mbox after expunge")
    r = c.cmd("UIDL")
    uids2 = dict(l.split() for l in c.read_multi()) if r.startswith("+OK") else {}
    tap.is_([uids2.get("1"), uids2.get("2")], [uids.get("2"), uids.get("3")],
            "mbox: UIDs of the remaining messages are unchanged")
    c.cmd("QUIT")
    c.close()

with tap.section("mbox: %u in the INBOX path"):
    m2 = env.start(conf={"mail_location": "mbox:%s:INBOX=%s/%%u"
                         % (mailroot, env.path("spool"))})
    c = m2.session()
    tap.like(c.cmd("STAT"), r"^\+OK 2 \d+$", "INBOX=.../%u is alice's spool file")
    c.cmd("QUIT")
    c.close()
    m2.stop()

env.finish()
