#!/usr/bin/env python3
# imapd: APPEND (RFC 3501 6.3.11), MULTIAPPEND (RFC 3502), APPENDUID
# (RFC 4315), LITERAL+ (RFC 7888) and TOOBIG/APPENDLIMIT (RFC 7889), on
# Maildir and mbox: flags, keywords and date-time are stored, line ends
# are stored as the format keeps them, every failure (too big, empty,
# NUL, missing mailbox, bad syntax) appends nothing and leaves the
# connection usable, and a MULTIAPPEND is all or nothing, also beyond
# one store transaction.
import calendar
import imaplib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
LIMIT = 4096


class Imap:
    """A raw IMAP client over harness.Client: exact bytes, tagged replies."""

    def __init__(self, srv, user="alice", password="secret"):
        self.c = srv.connect()
        self.n = 0
        g = self.c.readline()
        if g is None or not g.startswith("* OK"):
            raise AssertionError("greeting %r" % g)
        _, t = self.run("LOGIN %s %s" % (user, password))
        if not t.startswith("OK"):
            raise AssertionError("LOGIN -> %r" % t)

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def run(self, cmd):
        tag = self.tag()
        self.c.send(tag + " " + cmd + "\r\n")
        return self.collect(tag)

    def collect(self, tag, timeout=None):
        lines = []
        while True:
            line = self.c.readline(timeout)
            if line is None:
                raise AssertionError("connection closed; got %r" % lines)
            if line.startswith(tag + " "):
                return lines, line[len(tag) + 1:]
            lines.append(line)

    def append(self, mailbox, msgs):
        """APPEND/MULTIAPPEND; msgs: list of (opts, data bytes, sync).
        Sends a synchronizing literal only after '+'; stops at the first
        literal the server does not accept.  Returns (untagged, tagged,
        number of literals sent)."""
        tag = self.tag()
        head = tag + " APPEND " + mailbox
        sent = 0
        lines = []
        for k, (opts, data, sync) in enumerate(msgs):
            head += (" " + opts if opts else "") + \
                (" {%d}\r\n" % len(data) if sync else " {%d+}\r\n" % len(data))
            self.c.send(head.encode("latin-1"))
            head = ""
            if sync:
                line = self.c.readline()
                while line is not None and line.startswith("* "):
                    lines.append(line)
                    line = self.c.readline()
                if line is None or not line.startswith("+"):
                    if line is not None and line.startswith(tag + " "):
                        return lines, line[len(tag) + 1:], sent
                    raise AssertionError("no continuation: %r" % line)
            self.c.send(data)
            sent += 1
        self.c.send(b"\r\n")
        u, t = self.collect(tag)
        return lines + u, t, sent

    def close(self):
        try:
            self.run("LOGOUT")
        except Exception:  # noqa: BLE001 - best effort
            pass
        self.c.close()


def select_info(im, name):
    u, t = im.run("SELECT " + name)
    info = {"tagged": t}
    for ln in u:
        m = re.match(r"\* (\d+) EXISTS", ln)
        if m:
            info["exists"] = int(m.group(1))
        m = re.search(r"\[UIDVALIDITY (\d+)\]", ln)
        if m:
            info["uidvalidity"] = int(m.group(1))
        m = re.search(r"\[UIDNEXT (\d+)\]", ln)
        if m:
            info["uidnext"] = int(m.group(1))
    return info


def exists(srv, name):
    im = Imap(srv)
    n = select_info(im, name).get("exists")
    im.close()
    return n


def folder_files(name):
    md = env.maildir("alice")
    d = md if name == "INBOX" else os.path.join(md, "." + name)
    return {f: os.path.join(d, sub, f) for sub in ("cur", "new")
            for f in os.listdir(os.path.join(d, sub))}


def md_folder(name):
    d = os.path.join(env.maildir("alice"), "." + name)
    for sub in ("", "cur", "new", "tmp"):
        p = os.path.join(d, sub)
        os.makedirs(p, exist_ok=True)
        os.chown(p, 60101, 60101)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def msg(i, eol="\r\n"):
    return ("From: a%d@example.com%sSubject: append %d%s%sbody %d%s"
            % (i, eol, i, eol, eol, i, eol)).encode()


DATE = '"23-Nov-2026 10:11:12 +0200"'


def fetch_msg(srv, folder, uid):
    """(INTERNALDATE as epoch, flags, BODY[]) of one message, by imaplib."""
    cl = imaplib.IMAP4("127.0.0.1", srv.port)
    cl.login("alice", "secret")
    cl.select(folder, readonly=True)
    typ, data = cl.uid("FETCH", str(uid), "(INTERNALDATE FLAGS BODY.PEEK[])")
    cl.logout()
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        raise AssertionError("UID FETCH %s -> %r %r" % (uid, typ, data))
    head, body = data[0]
    d = re.search(rb'INTERNALDATE "([^"]+)"', head)
    f = re.search(rb"FLAGS \(([^)]*)\)", head)
    t = imaplib.Internaldate2tuple(b'INTERNALDATE "' + d.group(1) + b'"')
    flags = [x for x in f.group(1).decode().split() if x != "\\Recent"]
    return (int(time.mktime(t)), sorted(flags), body)
DATE_EPOCH = calendar.timegm((2026, 11, 23, 8, 11, 12))



def renamed_under_us(srv, kind, how):
    """Another session renames the selected folder away (or deletes it)
    and makes a new one under its name: an APPEND to that name goes to
    the new folder (RFC 3501 6.3.11), not to the one still selected."""
    a = imaplib.IMAP4("127.0.0.1", srv.port)
    a.login("alice", "secret")
    b = imaplib.IMAP4("127.0.0.1", srv.port)
    b.login("alice", "secret")
    a.create("Shift")
    b.select("Shift")
    if how == "rename":
        a.rename("Shift", "Shifted")
    else:
        a.delete("Shift")
    a.create("Shift")
    # the session may also say BYE after the command, having found its
    # folder gone; the APPEND's own result still comes first
    c = b.socket()
    c.sendall(b"x1 APPEND Shift {%d+}\r\n%s\r\n" % (len(msg(7)), msg(7)))
    got = b""
    while b"x1 " not in got:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    tap.like(got.decode("latin-1"), r"(?m)^x1 OK \[APPENDUID ",
             "%s, %s: APPEND to the name: OK" % (kind, how))
    typ, data = a.status("Shift", "(MESSAGES)")
    tap.like(data[0].decode(), r"MESSAGES 1\)",
             "%s, %s: the message is in the new folder" % (kind, how))
    if how == "rename":
        typ, data = a.status("Shifted", "(MESSAGES)")
        tap.like(data[0].decode(), r"MESSAGES 0\)",
                 "%s, %s: not in the renamed one" % (kind, how))
    for m in (a, b):
        try:
            m.logout()
        except (imaplib.IMAP4.abort, OSError):
            pass
    a = imaplib.IMAP4("127.0.0.1", srv.port)
    a.login("alice", "secret")
    a.delete("Shift")
    if how == "rename":
        a.delete("Shifted")
    a.logout()


# ---------------------------------------------------------------------------

def common_tests(srv, kind, new_files):
    """Behaviour that does not depend on the format; new_files(name) ->
    how many messages the folder holds on disk."""
    im = Imap(srv)
    before = new_files("Target")

    u, t, n = im.append("Target", [("(\\Seen)", msg(1), True)])
    m = re.match(r"OK \[APPENDUID (\d+) (\d+)\]", t)
    tap.ok(m, "%s: APPEND: OK [APPENDUID v uid]" % kind, t)
    info = Imap(srv)
    ti = select_info(info, "Target")
    info.close()
    if m:
        tap.is_(int(m.group(1)), ti.get("uidvalidity"),
                "%s: APPENDUID's UIDVALIDITY is the folder's" % kind)
        tap.is_(int(m.group(2)) + 1, ti.get("uidnext"),
                "%s: APPENDUID's UID is the last one given" % kind)

    u, t, n = im.append("Target", [(None, msg(2), False)])
    tap.ok(t.startswith("OK [APPENDUID"), "%s: APPEND with LITERAL+" % kind, t)

    u, t, n = im.append("Target", [("(\\Flagged)", msg(3), True),
                                   (DATE, msg(4), False),
                                   ("(\\Seen $Work) " + DATE, msg(5), True)])
    m = re.match(r"OK \[APPENDUID \d+ (\d+):(\d+)\]", t)
    tap.ok(m and int(m.group(2)) - int(m.group(1)) == 2,
           "%s: MULTIAPPEND of 3: APPENDUID with a UID range" % kind, t)
    if m:
        first = int(m.group(1))
        d3, f3, b3 = fetch_msg(srv, "Target", first)
        d4, f4, b4 = fetch_msg(srv, "Target", first + 1)
        d5, f5, b5 = fetch_msg(srv, "Target", first + 2)
        tap.is_(f3, ["\\Flagged"], "%s: FETCH: message 1's flags" % kind)
        tap.ok(abs(d3 - time.time()) < 300,
               "%s: FETCH: no date-time: INTERNALDATE is now" % kind, d3)
        tap.is_((d4, f4), (DATE_EPOCH, []),
                "%s: FETCH: message 2's INTERNALDATE is its date-time" % kind)
        tap.is_((d5, f5), (DATE_EPOCH, ["$Work", "\\Seen"]),
                "%s: FETCH: message 3's date, flag and keyword" % kind)
        tap.is_((b3, b4, b5), (msg(3), msg(4), msg(5)),
                "%s: FETCH BODY[] gives the messages back" % kind)
    tap.is_(new_files("Target"), before + 5, "%s: 5 messages appended" % kind)

    # all or nothing
    before = new_files("Target")
    u, t, n = im.append("Target", [(None, msg(6), True),
                                   (None, b"Subject: x\r\n\r\nnul\x00here\r\n", True),
                                   (None, msg(7), True)])
    tap.ok(t.startswith("NO") and n == 2,
           "%s: MULTIAPPEND with a NUL in message 2: NO, message 3 not "
           "asked for" % kind, (t, n))
    tap.is_(new_files("Target"), before, "%s: ... and none appended" % kind)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: the connection goes on" % kind, t)

    u, t, n = im.append("Target", [(None, msg(8), False),
                                   (None, b"Subject: y\r\n\r\n\x00", False),
                                   (None, msg(9), False)])
    tap.ok(t.startswith("NO"), "%s: the same with LITERAL+: NO" % kind, t)
    tap.is_(new_files("Target"), before, "%s: ... none appended" % kind)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: the connection goes on" % kind, t)

    # too big (APPENDLIMIT = LIMIT)
    big = b"Subject: big\r\n\r\n" + b"x" * (LIMIT - 15)   # LIMIT + 1
    u, t, n = im.append("Target", [(None, big, True)])
    tap.ok(t.startswith("NO [TOOBIG]") and n == 0,
           "%s: a synchronizing literal over the limit: NO [TOOBIG], no '+'"
           % kind, (t, n))
    trap = b"Subject: trap\r\n\r\n" + b"x LOGOUT\r\n" * (LIMIT // 5)
    u, t, n = im.append("Target", [(None, trap, False)])
    tap.ok(t.startswith("NO [TOOBIG]"),
           "%s: a non-synchronizing literal over the limit: NO [TOOBIG]" % kind, t)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: its bytes were not taken as commands" % kind, t)
    u, t, n = im.append("Target", [(None, msg(10), True), (None, big, True)])
    tap.ok(t.startswith("NO [TOOBIG]") and n == 1,
           "%s: MULTIAPPEND with message 2 too big: NO [TOOBIG]" % kind, (t, n))
    u, t, n = im.append("Target", [(None, msg(10), False), (None, big, False),
                                   (None, msg(11), False)])
    tap.ok(t.startswith("NO [TOOBIG]"),
           "%s: the same with LITERAL+" % kind, t)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: the connection goes on" % kind, t)
    tap.is_(new_files("Target"), before, "%s: nothing appended" % kind)
    exact = b"Subject: e\r\n\r\n" + b"y" * (LIMIT - 14)
    u, t, n = im.append("Target", [(None, exact, True)])
    tap.ok(len(exact) == LIMIT and t.startswith("OK"),
           "%s: exactly APPENDLIMIT bytes is fine" % kind, t)
    before += 1

    # the mailbox
    u, t, n = im.append("Nope", [(None, msg(12), True)])
    tap.ok(t.startswith("NO [TRYCREATE]") and n == 0,
           "%s: missing mailbox: NO [TRYCREATE] before the literal" % kind, (t, n))
    u, t, n = im.append("Nope", [(None, msg(12), False), (None, msg(13), False)])
    tap.ok(t.startswith("NO [TRYCREATE]"),
           "%s: missing mailbox with LITERAL+: NO [TRYCREATE]" % kind, t)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: the connection goes on" % kind, t)
    u, t = im.run("CREATE Nope")
    u, t, n = im.append("Nope", [(None, msg(12), True)])
    tap.ok(t.startswith("OK [APPENDUID"),
           "%s: after CREATE the APPEND works (what TRYCREATE means)" % kind, t)
    tag = im.tag()
    im.c.send(tag + " APPEND {6}\r\n")
    cont = im.c.readline()
    im.c.send("Target {%d+}\r\n" % len(msg(14)))
    im.c.send(msg(14) + b"\r\n")
    u, t = im.collect(tag)
    tap.ok(cont.startswith("+") and t.startswith("OK [APPENDUID"),
           "%s: the mailbox name as a literal" % kind, (cont, t))
    before += 1

    # the client goes away inside a MULTIAPPEND: nothing is appended
    gone = Imap(srv)
    gone.c.send("x APPEND Target {%d+}\r\n" % len(msg(20)) + msg(20).decode()
                + " {100+}\r\nSubject: cut\r\n\r\nhalf")
    time.sleep(0.3)
    gone.c.close()
    time.sleep(1)
    tap.is_(new_files("Target"), before, "%s: a connection closed inside "
            "MULTIAPPEND appends nothing" % kind)

    # syntax: BAD, nothing appended, no '+'
    for opts in ("(\\Recent)", "(\\Foo)", "(a]b)", '"31-Feb-2026 00:00:00 +0000"',
                 '"23-Nov-2026 10:11:12"', DATE + " (\\Seen)", "\\Seen",
                 "NIL", "(\\Seen) (\\Seen)"):
        u, t, n = im.append("Target", [(opts, msg(15), True)])
        tap.ok(t.startswith("BAD") and n == 0,
               "%s: APPEND Target %s {..}: BAD" % (kind, opts), (t, n))
    for line in ("APPEND Target", "APPEND", "APPEND Target (\\Seen)",
                 "APPEND Target hello", "APPEND Target " + DATE):
        u, t = im.run(line)
        tap.ok(t.startswith("BAD"), "%s: %s -> BAD" % (kind, line), t)
    u, t, n = im.append("Target", [(None, b"", True)])
    tap.ok(t.startswith("NO"), "%s: an empty message: NO" % kind, t)
    tag = im.tag()
    im.c.send(tag + " APPEND Target {5+}\r\nhello extra\r\n")
    u, t = im.collect(tag)
    tap.ok(t.startswith("BAD"), "%s: something after the literal: BAD" % kind, t)
    u, t = im.run("NOOP")
    tap.ok(t.startswith("OK"), "%s: the connection goes on" % kind, t)
    tap.is_(new_files("Target"), before, "%s: no refused message was "
            "appended" % kind)

    # the selected folder: EXISTS through the loop's update
    n0 = select_info(im, "Target").get("exists")
    u, t, n = im.append("Target", [(None, msg(16), True)])
    tap.ok(t.startswith("OK") and "* %d EXISTS" % (n0 + 1) in u,
           "%s: APPEND to the selected folder: EXISTS before the OK" % kind, (u, t))
    im.run("EXAMINE Target")
    u, t, n = im.append("Target", [(None, msg(17), True)])
    tap.ok(t.startswith("OK [APPENDUID"),
           "%s: APPEND to the EXAMINEd folder works" % kind, t)
    im.close()

    # imaplib
    cl = imaplib.IMAP4("127.0.0.1", srv.port)
    cl.login("alice", "secret")
    typ, data = cl.append("Target", "(\\Answered)",
                          imaplib.Time2Internaldate(DATE_EPOCH), msg(18))
    tap.ok(typ == "OK" and b"APPENDUID" in data[0],
           "%s: imaplib append" % kind, data)
    cl.logout()


def maildir_tests(srv):
    md_folder("Target")
    md_folder("Files")
    im = Imap(srv)
    # what lands in the files
    u, t, n = im.append("Files", [("(\\Seen \\Flagged $Work) " + DATE,
                                   msg(1), True)])
    files = folder_files("Files")
    tap.is_(len(files), 1, "maildir: one file")
    for name, path in files.items():
        tap.like(name, r":2,[A-Za-z]*F[A-Za-z]*S",
                 "maildir: the file name carries the flags")
        tap.ok(re.search(r":2,[A-Z]*a$", name) is not None,
               "maildir: ... and the keyword letter", name)
        tap.is_(read(path), msg(1, "\n"), "maildir: CRLF stored as LF")
        tap.is_(int(os.stat(path).st_mtime), DATE_EPOCH,
                "maildir: INTERNALDATE (the mtime) is the date-time given")
    u, t, n = im.append("Files", [(None, msg(2, "\n"), False)])
    new = [p for f, p in folder_files("Files").items() if f not in files]
    tap.ok(len(new) == 1 and read(new[0]) == msg(2, "\n"),
           "maildir: an LF message is stored as sent", new)
    m = re.match(r"OK \[APPENDUID \d+ (\d+)\]", t)
    tap.ok(m and fetch_msg(srv, "Files", int(m.group(1)))[2] == msg(2),
           "maildir: ... and FETCHed with CRLF", t)
    tap.ok(new and abs(os.stat(new[0]).st_mtime - time.time()) < 120,
           "maildir: without a date-time the date is now")
    im.close()
    common_tests(srv, "maildir", lambda name: len(folder_files(name)))
    tap.is_(sorted(os.listdir(os.path.join(env.maildir("alice"), ".Target",
                                           "tmp"))), [],
            "maildir: nothing left behind in tmp/")


def multi_batch_tests(srv, kind, count):
    """A MULTIAPPEND of more than a thousand messages, in one transaction:
    all of it, or nothing also when the last message is refused."""
    m = msg(1)
    im = Imap(srv)
    before = exists(srv, "Batch")
    parts = [b"%s APPEND Batch" % im.tag().encode()]
    tag = "t%d" % im.n
    for _ in range(1001):
        parts.append(b" {%d+}\r\n%s" % (len(m), m))
    parts.append(b" {10+}\r\nbad\x00\r\n\r\n\r\n\r\n")
    im.c.send(b"".join(parts))
    u, t = im.collect(tag, 300)
    tap.ok(t.startswith("NO"), "%s: MULTIAPPEND of 1001 + a bad one: NO" % kind, t)
    tap.is_(exists(srv, "Batch"), before, "%s: ... nothing appended" % kind)
    tap.is_(count(), before, "%s: ... nothing on disk" % kind)

    select_info(im, "Batch")
    tag = im.tag()
    parts[0] = b"%s APPEND Batch" % tag.encode()
    im.c.send(b"".join(parts))
    u, t = im.collect(tag, 300)
    ex = [x for x in u if x.endswith(" EXPUNGE")]
    tap.ok(t.startswith("NO"), "%s: the same into the selected folder: NO" % kind, t)
    u2, t2 = im.run("NOOP")
    tap.is_(exists(srv, "Batch"), before, "%s: ... nothing appended" % kind)
    told = max([int(x.split()[1]) for x in u if x.endswith(" EXISTS")]
               + [before])
    tap.is_(len(ex), told - before,
            "%s: ... what the client was told exists was expunged again"
            % kind, u[:3])

    parts[-1] = b"\r\n"
    tag = im.tag()
    parts[0] = b"%s APPEND Batch" % tag.encode()
    im.c.send(b"".join(parts))
    u, t = im.collect(tag, 300)
    mm = re.match(r"OK \[APPENDUID \d+ (\d+):(\d+)\]", t)
    tap.ok(mm and int(mm.group(2)) - int(mm.group(1)) == 1000,
           "%s: MULTIAPPEND of 1001: APPENDUID names 1001 UIDs" % kind, t)
    tap.ok("* %d EXISTS" % (before + 1001) in u,
           "%s: ... EXISTS for all of them" % kind, u[-3:])
    im.close()
    tap.is_(exists(srv, "Batch"), before + 1001, "%s: 1001 appended" % kind)


# ---------------------------------------------------------------------------

srv = env.start("imapd", conf={"imap_append_limit": str(LIMIT)})
with tap.section("Maildir"):
    maildir_tests(srv)
with tap.section("Maildir: MULTIAPPEND of more than a thousand"):
    md_folder("Batch")
    multi_batch_tests(srv, "maildir", lambda: len(folder_files("Batch")))
with tap.section("Maildir: the selected folder renamed or deleted by another"):
    renamed_under_us(srv, "maildir", "rename")
    renamed_under_us(srv, "maildir", "delete")
srv.stop()

inbox, loc = env.mbox("alice", "")
root = os.path.join(env.home("alice"), "mail")
env.write_mbox(os.path.join(root, "Target"), "")
env.write_mbox(os.path.join(root, "Batch"), "")
srv = env.start("imapd", conf={"mail_location": loc,
                               "imap_append_limit": str(LIMIT)})


def mbox_count(name):
    data = read(os.path.join(root, name))
    return len(re.findall(rb"(?:^|\n\n)From ", data))


with tap.section("mbox"):
    im = Imap(srv)
    u, t, n = im.append("INBOX", [("(\\Seen $Work) " + DATE, msg(1), True),
                                  (None, msg(2, "\n"), False)])
    tap.ok(t.startswith("OK [APPENDUID"), "mbox: APPEND to INBOX", t)
    data = read(inbox)
    tap.ok(b"\r\n" not in data, "mbox: stored with LF line ends", data[:300])
    tap.ok(data.startswith(b"From ") and b"Mon Nov 23 08:11:12 2026" in
           data.split(b"\n")[0], "mbox: the From_ line carries the date in UTC",
           data[:100])
    tap.ok(msg(1, "\n").split(b"\n\n")[1] in data and
           msg(2, "\n").split(b"\n\n")[1] in data,
           "mbox: both bodies are in the file", data)
    tap.ok(re.search(rb"X-Keywords: \$Work", data) is not None,
           "mbox: the keyword is in X-Keywords", data)
    im.close()
    common_tests(srv, "mbox", mbox_count)
with tap.section("mbox: MULTIAPPEND of more than a thousand"):
    multi_batch_tests(srv, "mbox", lambda: mbox_count("Batch"))

with tap.section("mbox: the selected folder renamed or deleted by another"):
    renamed_under_us(srv, "mbox", "rename")
    renamed_under_us(srv, "mbox", "delete")

env.finish()
