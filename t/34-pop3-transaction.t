#!/usr/bin/env python3
# pop3d: the TRANSACTION and UPDATE states on a Maildir (RFC 1939 sections
# 5-7): STAT, LIST, RETR, TOP, UIDL, DELE, RSET, NOOP, QUIT; deletions
# happen only at QUIT, a dropped connection deletes nothing; UIDs are
# stable across sessions (default pop3_uidl_format %08Xu%08Xv).
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import crlf, parse_stat  # noqa: E402

env = harness.setup()

MSGS = [
    "From: a@example.com\nTo: alice@example.com\nSubject: one\n\n"
    "line 1\nline 2\nline 3\n",
    "From: b@example.com\nSubject: two\n\nsecond message body\n",
    "From: c@example.com\nSubject: three\n\n" + "".join(
        "body line %d\n" % i for i in range(1, 21)),
]
for m in MSGS:
    env.deliver("alice", m)
    time.sleep(0.01)   # distinct delivery times; order is by delivery
WIRE = [crlf(m) for m in MSGS]

srv = env.start()


def listing(c):
    r = c.cmd("LIST")
    if r is None or not r.startswith("+OK"):
        raise AssertionError("LIST -> %r" % r)
    out = {}
    for line in c.read_multi():
        n, size = line.split(" ")
        out[int(n)] = int(size)
    return out


def uidl(c):
    r = c.cmd("UIDL")
    if r is None or not r.startswith("+OK"):
        raise AssertionError("UIDL -> %r" % r)
    out = {}
    for line in c.read_multi():
        n, uid = line.split(" ")
        out[int(n)] = uid
    return out


def retr(c, i):
    r = c.cmd("RETR %d" % i)
    if r is None or not r.startswith("+OK"):
        return r, None
    return r, c.read_body()


with tap.section("STAT, LIST, RETR"):
    c = srv.session()
    st = parse_stat(c.cmd("STAT"))
    total = sum(len(w) for w in WIRE)
    tap.is_(st, (3, total), "STAT: 3 messages, total wire size")
    lst = listing(c)
    tap.is_(lst, {i + 1: len(w) for i, w in enumerate(WIRE)},
            "LIST: one line per message with its wire size")
    for i in (1, 2, 3):
        tap.is_(c.cmd("LIST %d" % i), "+OK %d %d" % (i, len(WIRE[i - 1])),
                "LIST %d" % i)
    for i in (1, 2, 3):
        r, body = retr(c, i)
        tap.is_(r, "+OK %d octets" % len(WIRE[i - 1]), "RETR %d status line" % i)
        tap.is_(body, WIRE[i - 1], "RETR %d content, CRLF line ends" % i)
    tap.like(c.cmd("LIST 4"), r"^-ERR", "LIST 4 (no such message)")
    tap.like(c.cmd("LIST 0"), r"^-ERR", "LIST 0")
    tap.like(c.cmd("RETR 4"), r"^-ERR", "RETR 4")
    tap.like(c.cmd("RETR 0"), r"^-ERR", "RETR 0")
    tap.like(c.cmd("RETR -1"), r"^-ERR", "RETR -1")
    tap.like(c.cmd("RETR x"), r"^-ERR", "RETR x")
    tap.like(c.cmd("RETR"), r"^-ERR", "RETR without argument")
    tap.like(c.cmd("RETR 4294967297"), r"^-ERR", "RETR 2^32+1 (no wrap to 1)")
    tap.like(c.cmd("RETR 99999999999999999999999"), r"^-ERR",
             "RETR with a huge number")
    tap.like(c.cmd("NOOP"), r"^\+OK", "NOOP")
    tap.like(c.cmd("retr 1"), r"^\+OK", "commands are case-insensitive")
    c.read_body()

    with tap.section("TOP"):
        r = c.cmd("TOP 1 0")
        tap.like(r, r"^\+OK", "TOP 1 0")
        hdr = WIRE[0].split(b"\r\n\r\n")[0] + b"\r\n\r\n"
        tap.is_(c.read_body(), hdr, "TOP 1 0: the header and the blank line")
        c.cmd("TOP 1 2")
        tap.is_(c.read_body(), hdr + b"line 1\r\nline 2\r\n",
                "TOP 1 2: header + 2 body lines")
        c.cmd("TOP 1 100")
        tap.is_(c.read_body(), WIRE[0], "TOP 1 100: the whole message")
        tap.like(c.cmd("TOP 1"), r"^-ERR", "TOP without a line count")
        tap.like(c.cmd("TOP 1 -1"), r"^-ERR", "TOP with a negative count")
        tap.like(c.cmd("TOP 9 1"), r"^-ERR", "TOP of a missing message")

    with tap.section("UIDL"):
        u = uidl(c)
        tap.is_(sorted(u), [1, 2, 3], "UIDL lists all messages")
        tap.ok(all(re.fullmatch(r"[0-9A-F]{16}", x) for x in u.values()),
               "default format %08Xu%08Xv: 16 uppercase hex digits", repr(u))
        tap.is_(len(set(u.values())), 3, "UIDs are unique")
        tap.ok(len({x[8:] for x in u.values()}) == 1,
               "the last 8 digits (uidvalidity) are shared", repr(u))
        for i in (1, 2, 3):
            tap.is_(c.cmd("UIDL %d" % i), "+OK %d %s" % (i, u[i]), "UIDL %d" % i)
        tap.like(c.cmd("UIDL 4"), r"^-ERR", "UIDL 4")
        uids1 = u
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("UIDs are stable, new mail gets a new one"):
    c = srv.session()
    tap.is_(uidl(c), uids1, "UIDL identical in a second session")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()
    env.deliver("alice", "Subject: four\n\nnew\n")
    c = srv.session()
    u = uidl(c)
    tap.is_({k: v for k, v in u.items() if k <= 3}, uids1,
            "old UIDs unchanged after new mail")
    tap.ok(4 in u and u[4] not in uids1.values(), "new message has a new UID",
           repr(u))
    uids1 = u
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("DELE, RSET"):
    c = srv.session()
    tap.like(c.cmd("DELE 1"), r"^\+OK", "DELE 1")
    tap.like(c.cmd("DELE 1"), r"^-ERR", "DELE 1 again -> -ERR")
    tap.like(c.cmd("RETR 1"), r"^-ERR", "RETR of a deleted message")
    tap.like(c.cmd("LIST 1"), r"^-ERR", "LIST of a deleted message")
    tap.like(c.cmd("TOP 1 0"), r"^-ERR", "TOP of a deleted message")
    tap.like(c.cmd("UIDL 1"), r"^-ERR", "UIDL of a deleted message")
    tap.is_(sorted(listing(c)), [2, 3, 4], "LIST omits the deleted message")
    tap.is_(sorted(uidl(c)), [2, 3, 4], "UIDL omits the deleted message")
    st = parse_stat(c.cmd("STAT"))
    tap.is_(st[0] if st else None, 3, "STAT does not count it")
    tap.like(c.cmd("RSET"), r"^\+OK", "RSET")
    tap.is_(sorted(listing(c)), [1, 2, 3, 4], "RSET undeletes")
    tap.like(c.cmd("LIST 1"), r"^\+OK 1 ", "LIST 1 after RSET")
    c.close()   # dropped without QUIT
    srv.wait_idle()

with tap.section("a dropped connection deletes nothing"):
    c = srv.session()
    tap.like(c.cmd("DELE 1"), r"^\+OK", "DELE 1")
    tap.like(c.cmd("DELE 2"), r"^\+OK", "DELE 2")
    c.close()
    srv.wait_idle()
    tap.is_(len(env.maildir_files("alice")), 4, "all four files still there")
    c = srv.session()
    tap.is_(sorted(listing(c)), [1, 2, 3, 4], "all four listed again")
    tap.is_(uidl(c), uids1, "with the same UIDs")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("QUIT applies deletions"):
    c = srv.session()
    c.cmd("DELE 2")
    c.cmd("DELE 4")
    r = c.cmd("QUIT")
    tap.like(r, r"^\+OK Logging out", "QUIT -> +OK Logging out")
    tap.ok(c.closed_within(env.timeout), "connection closed after QUIT")
    srv.wait_idle()
    tap.is_(len(env.maildir_files("alice")), 2, "two files left in the Maildir")
    c = srv.session()
    tap.is_(parse_stat(c.cmd("STAT")), (2, len(WIRE[0]) + len(WIRE[2])),
            "STAT: messages one and three remain")
    u = uidl(c)
    tap.is_(u, {1: uids1[1], 2: uids1[3]}, "renumbered, UIDs kept")
    r, body = retr(c, 2)
    tap.is_(body, WIRE[2], "message 2 is the old message 3")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("commands outside their state"):
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 1", "RSET"):
        c = srv.connect()
        c.readline()
        tap.like(c.cmd(cmd), r"^-ERR", "%s before login -> -ERR" % cmd)
        c.close()
    c = srv.session()
    tap.like(c.cmd("USER bob"), r"^-ERR", "USER after login -> -ERR")
    tap.like(c.cmd("PASS x"), r"^-ERR", "PASS after login -> -ERR")
    tap.like(c.cmd("AUTH PLAIN AGJvYgBodW50ZXIy"), r"^-ERR",
             "AUTH after login -> -ERR")
    tap.like(c.cmd("STAT"), r"^\+OK 2 ", "still alice's maildrop")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("PIPELINING (RFC 2449)"):
    c = srv.session()
    c.send(b"STAT\r\nLIST 1\r\nUIDL 1\r\nNOOP\r\nRETR 1\r\nQUIT\r\n")
    tap.like(c.readline(), r"^\+OK 2 ", "STAT")
    tap.like(c.readline(), r"^\+OK 1 %d$" % len(WIRE[0]), "LIST 1")
    tap.is_(c.readline(), "+OK 1 %s" % uids1[1], "UIDL 1")
    tap.like(c.readline(), r"^\+OK", "NOOP")
    tap.like(c.readline(), r"^\+OK %d octets$" % len(WIRE[0]), "RETR 1")
    tap.is_(c.read_body(), WIRE[0], "RETR body")
    tap.like(c.readline(), r"^\+OK Logging out", "QUIT")
    c.close()
    srv.wait_idle()

with tap.section("mail delivered during a session is kept"):
    c = srv.session()
    n0 = parse_stat(c.cmd("STAT"))[0]
    late = env.deliver("alice", "Subject: late\n\ndelivered meanwhile\n")
    tap.is_(parse_stat(c.cmd("STAT"))[0], n0,
            "the session's list is a snapshot: the new mail is not listed")
    for i in range(1, n0 + 1):
        c.cmd("DELE %d" % i)
    tap.like(c.cmd("QUIT"), r"^\+OK Logging out", "delete everything, QUIT")
    c.close()
    srv.wait_idle()
    tap.ok(os.path.exists(late), "the mail delivered meanwhile is untouched")
    c = srv.session()
    tap.is_(parse_stat(c.cmd("STAT")),
            (1, len(crlf("Subject: late\n\ndelivered meanwhile\n"))),
            "and is the only message now")
    c.cmd("DELE 1")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("another program renames a file meanwhile (mutt marks it read)"):
    a = env.deliver("alice", "Subject: ra\n\nto be renamed\n")
    time.sleep(0.01)
    b = env.deliver("alice", "Subject: rb\n\nstays\n")
    c = srv.session()
    tap.is_(parse_stat(c.cmd("STAT"))[0], 2, "two messages")
    moved = os.path.join(env.maildir("alice"), "cur",
                         os.path.basename(a) + ":2,S")
    os.rename(a, moved)
    r = c.cmd("RETR 1")
    tap.like(r, r"^\+OK", "RETR of a message renamed to cur/ meanwhile")
    if r and r.startswith("+OK"):
        tap.is_(c.read_body(), crlf("Subject: ra\n\nto be renamed\n"),
                "its content")
    tap.like(c.cmd("DELE 1"), r"^\+OK", "DELE it")
    tap.like(c.cmd("QUIT"), r"^\+OK Logging out", "QUIT")
    c.close()
    srv.wait_idle()
    tap.ok(not os.path.exists(moved), "the renamed file was deleted at QUIT")
    tap.ok(os.path.exists(b), "the other message is untouched")
    c = srv.session()
    c.cmd("DELE 1")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("another program removes a file meanwhile"):
    a = env.deliver("alice", "Subject: ga\n\nto be removed\n")
    time.sleep(0.01)
    b = env.deliver("alice", "Subject: gb\n\nstays\n")
    c = srv.session()
    tap.is_(parse_stat(c.cmd("STAT"))[0], 2, "two messages")
    os.unlink(a)
    r = c.cmd("RETR 1")
    tap.like(r, r"^-ERR", "RETR of a message removed meanwhile -> -ERR "
             "(not +OK followed by a dropped connection)")
    if r and r.startswith("+OK"):
        try:
            c.read_body()
        except AssertionError as e:
            tap.diag("after +OK: %s" % e)
    r = c.cmd("NOOP") if not c.closed_within(0.2) else None
    tap.like(r, r"^\+OK", "the session goes on")
    r = c.cmd("RETR 2") if r else None
    tap.like(r, r"^\+OK", "the other message can be read")
    if r and r.startswith("+OK"):
        tap.is_(c.read_body(), crlf("Subject: gb\n\nstays\n"), "its content")
    c.close()
    srv.wait_idle()
    c = srv.session()
    c.cmd("DELE 1")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("post-login idle timeout (pop3_idle_timeout)"):
    s2 = env.start(conf={"pop3_idle_timeout": "2"})
    c = s2.session()
    t0 = time.monotonic()
    closed = c.closed_within(2 + 8)
    dt = time.monotonic() - t0
    tap.ok(closed, "an idle session is closed after pop3_idle_timeout")
    tap.cmp_ok(dt, ">=", 1.5, "not before it (%.1fs)" % dt)
    tap.ok(s2.wait_idle(), "all its processes exit")
    s2.stop()

with tap.section("an empty maildrop"):
    import shutil
    shutil.rmtree(env.maildir("bob"))
    c = srv.session("bob", "hunter2")
    tap.is_(c.cmd("STAT"), "+OK 0 0", "STAT on an empty Maildir")
    tap.like(c.cmd("LIST"), r"^\+OK", "LIST")
    tap.is_(c.read_multi(), [], "no messages listed")
    tap.like(c.cmd("UIDL"), r"^\+OK", "UIDL")
    tap.is_(c.read_multi(), [], "no UIDs")
    tap.like(c.cmd("RETR 1"), r"^-ERR", "RETR 1 -> -ERR")
    tap.like(c.cmd("QUIT"), r"^\+OK Logging out", "QUIT")
    c.close()
    srv.wait_idle()
    md = os.path.join(env.home("bob"), "Maildir")
    st = [os.stat(os.path.join(md, d)) for d in ("cur", "new", "tmp")]
    tap.ok(all(x.st_uid == 60102 for x in st),
           "a missing Maildir was created, owned by the user")

with tap.section("a burst of 2000 pipelined commands"):
    c = srv.session("bob", "hunter2")
    c.send(b"NOOP\r\n" * 1000 + b"STAT\r\n" * 1000)
    replies = [c.readline() for _ in range(2000)]
    tap.ok(all(r and r.startswith("+OK") for r in replies[:1000]),
           "1000 NOOPs answered in order")
    tap.ok(all(r == "+OK 0 0" for r in replies[1000:]), "1000 STATs answered")
    tap.like(c.cmd("QUIT"), r"^\+OK Logging out", "then QUIT")
    c.close()
    srv.wait_idle()

with tap.section("bob's maildrop is separate"):
    env.deliver("bob", "Subject: for bob\n\nhi bob\n")
    c = srv.session("bob", "hunter2")
    tap.is_(parse_stat(c.cmd("STAT")), (1, len(crlf("Subject: for bob\n\nhi bob\n"))),
            "bob sees only his message")
    c.cmd("QUIT")
    c.close()

env.finish()
