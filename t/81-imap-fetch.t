#!/usr/bin/env python3
# imapd FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2) over a real
# connection with imaplib: every data item, the macros, partial ranges,
# sections of nested parts, HEADER.FIELDS(.NOT) in any case, the
# implicit \Seen of BODY[] (not of BODY.PEEK, RFC822.HEADER or EXAMINE),
# UID FETCH ranges, sizes that equal the bytes sent for messages stored
# with LF and with CRLF, in a Maildir and in an mbox; grammar errors
# (BAD) and messages removed by another session (NO [EXPUNGEISSUED]).
import imaplib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
env.binary("imapd")


def crlf(s):
    """The wire form (crlf.h): a bare LF becomes CRLF, a final CRLF is
    added when the message does not end with LF."""
    if isinstance(s, str):
        s = s.encode("latin-1")
    out = re.sub(rb"(?<!\r)\n", b"\r\n", s)
    if not s.endswith(b"\n"):
        out += b"\r\n"
    return out


SIMPLE = ("Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
          "From: Alice Example <alice@example.org>\n"
          "Subject: =?utf-8?q?caf=C3=A9?= time\n"
          "To: bob@example.com\n"
          "Message-ID: <1@example.org>\n"
          "\n"
          "Hi Bob,\nsee you.\n")

NESTED = ("From: a@example.org\n"
          "To: b@example.org\n"
          "Subject: nest\n"
          "X-Long: one\n"
          " two\n"
          "Content-Type: multipart/mixed; boundary=b\n"
          "\n"
          "--b\n"
          "Content-Type: text/plain\n"
          "\n"
          "first\n"
          "--b\n"
          "Content-Type: message/rfc822\n"
          "\n"
          "Subject: inner\n"
          "from: in@example.com\n"
          "Content-Type: multipart/alternative; boundary=c\n"
          "\n"
          "--c\n"
          "\n"
          "alt one\n"
          "--c\n"
          "Content-Type: text/html\n"
          "\n"
          "<b>two</b>\n"
          "--c--\n"
          "--b--\n")

NESTED_CRLF = NESTED.replace("\n", "\r\n")
NOEOL = "Subject: no final newline\n\nlast line"

# 1: simple (LF), 2: nested (LF), 3: nested (CRLF), 4: no final newline
MSGS = [SIMPLE, NESTED, NESTED_CRLF, NOEOL]
paths = []
for m in MSGS:
    paths.append(env.deliver("alice", m))
    time.sleep(0.01)
# INTERNALDATE of a Maildir message is its file's mtime
WHEN = 1700000000
os.utime(paths[0], (WHEN, WHEN))
WHEN_S = time.strftime("%d-%b-%Y %H:%M:%S ", time.localtime(WHEN)) + \
    time.strftime("%z", time.localtime(WHEN))

srv = env.start("imapd")


def connect(mailbox="INBOX", readonly=False):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    m.login("alice", "secret")
    typ, _ = m.select(mailbox, readonly=readonly)
    if typ != "OK":
        raise AssertionError("SELECT failed")
    return m


def raw(data):
    """imaplib's FETCH data back to wire bytes (without the "* " and the
    final CRLF of each response)."""
    out = b""
    for d in data:
        if isinstance(d, tuple):
            out += d[0] + b"\r\n" + d[1]
        else:
            out += d + b"\r\n"
    return out


def fetch(m, seq, items, uid=False):
    if uid:
        typ, data = m.uid("FETCH", seq, items)
    else:
        typ, data = m.fetch(seq, items)
    return typ, [d for d in data if d is not None]


def literal(data, key):
    """The literal that follows key in a FETCH response."""
    for d in data:
        if isinstance(d, tuple) and d[0].rstrip().endswith(
                b"}") and key.encode() in d[0]:
            return d[1]
    return None


def flags_of(m, n):
    typ, data = m.fetch(str(n), "(FLAGS)")
    mm = re.search(rb"FLAGS \(([^)]*)\)", data[0] or b"")
    return mm.group(1).decode() if mm else None


with tap.section("simple items and macros"):
    m = connect()
    typ, data = fetch(m, "1", "(FLAGS UID RFC822.SIZE INTERNALDATE)")
    tap.is_(typ, "OK", "FETCH FLAGS UID RFC822.SIZE INTERNALDATE")
    tap.is_(data[0].decode(), '1 (FLAGS (\\Recent) UID 1 RFC822.SIZE %d '
            'INTERNALDATE "%s")' % (len(crlf(SIMPLE)), WHEN_S),
            "items in the order asked; RFC822.SIZE is the wire size; "
            "INTERNALDATE the file's mtime")
    typ, data = fetch(m, "1", "ENVELOPE")
    tap.is_(data[0], b'1 (ENVELOPE ("Mon, 23 Nov 2026 10:00:00 +0000" '
            b'"=?utf-8?q?caf=C3=A9?= time" '
            b'(("Alice Example" NIL "alice" "example.org")) '
            b'(("Alice Example" NIL "alice" "example.org")) '
            b'(("Alice Example" NIL "alice" "example.org")) '
            b'((NIL NIL "bob" "example.com")) NIL NIL NIL '
            b'"<1@example.org>"))',
            "ENVELOPE: encoded words raw, Sender/Reply-To from From")
    typ, data = fetch(m, "1", "(BODY BODYSTRUCTURE)")
    tap.is_(data[0], b'1 (BODY ("text" "plain" ("charset" "us-ascii") NIL '
            b'NIL "7bit" 19 2) BODYSTRUCTURE ("text" "plain" ("charset" '
            b'"us-ascii") NIL NIL "7bit" 19 2 NIL NIL NIL NIL))',
            "BODY and BODYSTRUCTURE")
    typ, data = fetch(m, "1", "ALL")
    tap.like(data[0].decode(), r'^1 \(FLAGS \(\\Recent\) INTERNALDATE "[^"]+"'
             r' RFC822\.SIZE \d+ ENVELOPE \(.*\)\)$', "ALL")
    typ, data = fetch(m, "1", "FAST")
    tap.like(data[0].decode(), r'^1 \(FLAGS \(\\Recent\) INTERNALDATE "[^"]+"'
             r' RFC822\.SIZE \d+\)$', "FAST")
    typ, data = fetch(m, "1", "FULL")
    tap.like(data[0].decode(), r'^1 \(FLAGS \(\\Recent\) INTERNALDATE "[^"]+"'
             r' RFC822\.SIZE \d+ ENVELOPE \(.*\) BODY \("text" .*\)\)$',
             "FULL")
    typ, data = fetch(m, "2", "BODYSTRUCTURE")
    tap.is_(data[0], b'2 (BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" '
            b'5 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 154 '
            b'(NIL "inner" ((NIL NIL "in" "example.com")) ((NIL NIL "in" '
            b'"example.com")) ((NIL NIL "in" "example.com")) NIL NIL NIL NIL '
            b'NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 '
            b'NIL NIL NIL NIL)("text" "html" NIL NIL NIL "7bit" 10 1 NIL NIL '
            b'NIL NIL) "alternative" ("boundary" "c") NIL NIL NIL) 12 NIL NIL '
            b'NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL))',
            "BODYSTRUCTURE of a nested message/rfc822")
    typ, data = fetch(m, "3", "BODYSTRUCTURE")
    tap.is_(data[0], b'3' + fetch(m, "2", "BODYSTRUCTURE")[1][0][1:],
            "the same message stored with CRLF has the same BODYSTRUCTURE")
    m.logout()

with tap.section("BODY[] and sizes, LF and CRLF stored"):
    m = connect()
    for n, msg in enumerate(MSGS, 1):
        typ, data = fetch(m, str(n), "(RFC822.SIZE BODY.PEEK[])")
        size = re.search(rb"RFC822\.SIZE (\d+)", data[0][0])
        body = literal(data, "BODY[]")
        tap.is_(body, crlf(msg), "message %d: BODY[] is the wire form" % n)
        tap.is_(int(size.group(1)) if size else None, len(body or b""),
                "message %d: RFC822.SIZE equals the bytes sent" % n)
    typ, data = fetch(m, "2", "RFC822.SIZE")
    typ, data3 = fetch(m, "3", "RFC822.SIZE")
    tap.is_(data[0][1:], data3[0][1:], "LF and CRLF copies: same size")
    typ, data = fetch(m, "2", "(RFC822.HEADER)")
    tap.is_(literal(data, "RFC822.HEADER"),
            crlf(NESTED[:NESTED.index("\n\n") + 2]), "RFC822.HEADER")
    typ, data = fetch(m, "4", "(BODY.PEEK[TEXT])")
    tap.is_(literal(data, "BODY[TEXT]"), b"last line\r\n",
            "TEXT of a message without a final newline ends in CRLF")
    m.logout()

with tap.section("partial ranges"):
    m = connect()
    wire = crlf(NESTED)
    typ, data = fetch(m, "2", "(BODY.PEEK[]<0.10>)")
    tap.is_(raw(data), b"2 (BODY[]<0> {10}\r\n" + wire[:10] + b")\r\n",
            "BODY.PEEK[]<0.10>: answered as BODY[]<0> with 10 bytes")
    typ, data = fetch(m, "3", "(BODY.PEEK[]<5.20>)")
    tap.is_(literal(data, "BODY[]<5>"), wire[5:25],
            "<5.20> of the CRLF copy: the same wire bytes")
    typ, data = fetch(m, "2", "(BODY.PEEK[]<%d.100>)" % (len(wire) - 3))
    tap.is_(literal(data, "BODY[]<%d>" % (len(wire) - 3)), wire[-3:],
            "a range past the end is cut")
    typ, data = fetch(m, "2", "(BODY.PEEK[]<%d.10>)" % len(wire))
    tap.is_(raw(data), b'2 (BODY[]<%d> "")\r\n' % len(wire),
            "origin at the end: empty string")
    typ, data = fetch(m, "2", "(BODY.PEEK[1]<4000000000.1>)")
    tap.is_(raw(data), b'2 (BODY[1]<4000000000> "")\r\n',
            "origin far past the end: empty string")
    typ, data = fetch(m, "2", "(BODY.PEEK[HEADER.FIELDS (To)]<4.8>)")
    tap.is_(raw(data), b'2 (BODY[HEADER.FIELDS ("TO")]<4> {8}\r\n'
            b'b@exampl)\r\n', "partial HEADER.FIELDS")
    m.logout()

with tap.section("sections of nested parts"):
    m = connect()
    inner = NESTED[NESTED.index("Subject: inner"):NESTED.index("\n--b--")]
    cases = [
        ("1", "first"),
        ("1.MIME", "Content-Type: text/plain\n\n"),
        ("2", inner),
        ("2.MIME", "Content-Type: message/rfc822\n\n"),
        ("2.HEADER", inner[:inner.index("\n\n") + 2]),
        ("2.TEXT", inner[inner.index("\n\n") + 2:]),
        ("2.1", "alt one"),
        ("2.2", "<b>two</b>"),
        ("2.2.MIME", "Content-Type: text/html\n\n"),
        ("TEXT", NESTED[NESTED.index("\n\n") + 2:]),
    ]
    for n in ("2", "3"):
        for sec, want in cases:
            typ, data = fetch(m, n, "(BODY.PEEK[%s])" % sec)
            tap.is_(literal(data, "BODY[%s]" % sec), crlf(want)
                    if want.endswith("\n") else want.replace(
                        "\n", "\r\n").encode(),
                    "message %s BODY[%s]" % (n, sec))
    for sec in ("3", "1.1", "1.HEADER", "2.3", "2.1.2"):
        typ, data = fetch(m, "2", "(BODY.PEEK[%s])" % sec)
        tap.is_(raw(data), b"2 (BODY[%s] NIL)\r\n" % sec.encode(),
                "BODY[%s] of a part that is not there: NIL" % sec)
    m.logout()

with tap.section("HEADER.FIELDS and HEADER.FIELDS.NOT"):
    m = connect()
    typ, data = fetch(m, "2", "(BODY.PEEK[HEADER.FIELDS (fRoM x-LONG)])")
    tap.is_(raw(data), b'2 (BODY[HEADER.FIELDS ("FROM" "X-LONG")] {42}\r\n'
            b'From: a@example.org\r\nX-Long: one\r\n two\r\n\r\n)\r\n',
            "names in any case; continuation lines kept; blank line ends it")
    typ, data = fetch(m, "3", "(BODY.PEEK[HEADER.FIELDS.NOT (to "
                      "Content-Type X-LONG)])")
    tap.is_(literal(data, "HEADER.FIELDS.NOT"),
            b"From: a@example.org\r\nSubject: nest\r\n\r\n",
            "HEADER.FIELDS.NOT of the CRLF copy")
    typ, data = fetch(m, "2", '(BODY.PEEK[2.HEADER.FIELDS ("FROM")])')
    tap.is_(literal(data, "2.HEADER.FIELDS"),
            b"from: in@example.com\r\n\r\n",
            "HEADER.FIELDS of the enclosed message, quoted names")
    typ, data = fetch(m, "2", "(BODY.PEEK[HEADER.FIELDS (X-None)])")
    tap.is_(literal(data, "HEADER.FIELDS"), b"\r\n",
            "no field matches: the blank line alone")
    m.logout()

with tap.section("implicit \\Seen"):
    m = connect(readonly=True)
    fetch(m, "1", "(BODY[])")
    m.logout()
    m = connect()
    tap.is_(flags_of(m, 1), "", "EXAMINE then BODY[]: not \\Seen")
    typ, data = fetch(m, "1", "(BODY.PEEK[] RFC822.HEADER BODY.PEEK[TEXT])")
    tap.is_(flags_of(m, 1), "", "BODY.PEEK and RFC822.HEADER: not \\Seen")
    typ, data = fetch(m, "1", "(BODY[TEXT])")
    tap.like(raw(data).decode(), r"^1 \(BODY\[TEXT\] \{\d+\}\r\n"
             r"Hi Bob,\r\nsee you\.\r\n FLAGS \(\\Seen\)\)\r\n$",
             "BODY[TEXT] sets \\Seen and the response says so")
    tap.is_(flags_of(m, 1), "\\Seen", "FETCH FLAGS shows \\Seen")
    typ, data = fetch(m, "1", "(BODY[TEXT])")
    tap.ok(b"FLAGS" not in raw(data), "already \\Seen: no FLAGS added")
    typ, data = fetch(m, "2", "(FLAGS RFC822)")
    tap.like(raw(data).decode(), r"^2 \(FLAGS \(\\Seen\) RFC822 \{\d+\}",
             "RFC822 sets \\Seen; a FLAGS asked before shows it")
    typ, data = fetch(m, "3", "(RFC822.TEXT)")
    tap.like(raw(data).decode(), r"FLAGS \(\\Seen\)\)\r\n$",
             "RFC822.TEXT sets \\Seen")
    m.logout()
    m = connect(readonly=True)
    tap.is_(flags_of(m, 1), "\\Seen", "\\Seen was stored")
    m.logout()

with tap.section("UID FETCH"):
    m = connect()
    typ, data = fetch(m, "1:*", "(FLAGS)", uid=True)
    tap.is_([re.sub(rb"FLAGS \([^)]*\)", b"F", d) for d in data],
            [b"%d (UID %d F)" % (i, i) for i in (1, 2, 3, 4)],
            "UID FETCH 1:* includes the UID in every response")
    typ, data = fetch(m, "2:3", "(RFC822.SIZE)", uid=True)
    tap.is_(len(data), 2, "UID FETCH 2:3: two messages")
    tap.like(data[0].decode(), r"^2 \(UID 2 RFC822\.SIZE \d+\)$",
             "UID first even when not asked for")
    typ, data = fetch(m, "3:2", "(UID)", uid=True)
    tap.is_(data, [b"2 (UID 2)", b"3 (UID 3)"], "3:2 is 2:3")
    typ, data = fetch(m, "100:200", "(FLAGS)", uid=True)
    tap.is_((typ, data), ("OK", []), "UIDs that do not exist: OK, nothing")
    typ, data = fetch(m, "*", "(UID)", uid=True)
    tap.is_(data, [b"4 (UID 4)"], "UID FETCH *")
    m.logout()

with tap.section("mbox"):
    MB1 = ("From: m@example.org\nSubject: in mbox\n\nfirst line\n"
           "From here the line was quoted\nend\n")
    MB2 = NESTED
    inbox, loc = env.mbox("alice", (
        "From m@example.org Mon Nov 23 10:00:00 2026\n" +
        MB1.replace("\nFrom here", "\n>From here") + "\n"
        "From n@example.org Mon Nov 23 10:01:00 2026\n" + MB2 + "\n"))
    msrv = env.start("imapd", conf={"mail_location": loc})
    m = imaplib.IMAP4("127.0.0.1", msrv.port)
    m.login("alice", "secret")
    m.select("INBOX")
    for n, msg in ((1, MB1), (2, MB2)):
        typ, data = fetch(m, str(n), "(RFC822.SIZE BODY.PEEK[])")
        size = re.search(rb"RFC822\.SIZE (\d+)", data[0][0])
        body = literal(data, "BODY[]")
        tap.is_(body, crlf(msg), "mbox message %d: BODY[] is the message "
                "without From_ line, >From unquoted, in CRLF" % n)
        tap.is_(int(size.group(1)) if size else None, len(body or b""),
                "mbox message %d: RFC822.SIZE equals the bytes sent" % n)
    typ, data = fetch(m, "2", "(BODY.PEEK[2.2] BODY.PEEK[HEADER.FIELDS "
                      "(subject)])")
    tap.is_(raw(data), b'2 (BODY[2.2] {10}\r\n<b>two</b> BODY[HEADER.FIELDS '
            b'("SUBJECT")] {17}\r\nSubject: nest\r\n\r\n)\r\n',
            "mbox: nested part and HEADER.FIELDS")
    typ, data = fetch(m, "1", "(BODY[])")
    tap.like(raw(data).decode(), r"FLAGS \(\\Seen( \\Recent)?\)\)\r\n$",
             "mbox: BODY[] sets \\Seen")
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", msrv.port)
    m.login("alice", "secret")
    m.select("INBOX")
    typ, data = fetch(m, "1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
    tap.like(data[0][0].decode(), r"FLAGS \(\\Seen\) RFC822\.SIZE %d "
             % len(crlf(MB1)), "mbox: \\Seen stored, size unchanged")
    tap.is_(literal(data, "BODY[]"), crlf(MB1),
            "mbox: the Status header written for \\Seen is not sent")
    m.logout()

with tap.section("errors"):
    c = srv.connect()
    c.readline()
    c.send("a1 LOGIN alice secret\r\n")
    while not (c.readline() or "a1 ").startswith("a1 "):
        pass

    def cmd(text):
        c.send(text + "\r\n")
        lines = []
        while True:
            ln = c.readline()
            if ln is None or ln.startswith("t "):
                return lines, ln
            lines.append(ln)

    _, t = cmd("t FETCH 1 FLAGS")
    tap.like(t, r"^t BAD ", "FETCH without a selected mailbox: BAD")
    cmd("t SELECT INBOX")
    bad = ["t FETCH 1 (FOO)", "t FETCH 1 (ALL)", "t FETCH 1 FLAGS UID",
           "t FETCH 1", "t FETCH 1 ()", "t FETCH 1 BODY[1.MIME.X]",
           "t FETCH 1 BODY[]<1>", "t FETCH 1 BODY[]<0.0>",
           "t FETCH 1 BODY[HEADER.FIELDS ()]", "t FETCH 1 BODY[MIME]",
           "t FETCH 1 BODY[0]", "t FETCH 1 (BODY[HEADER.FIELDS (a)] ])",
           "t FETCH x FLAGS", "t FETCH 0 FLAGS", "t FETCH 99 FLAGS",
           "t UID FETCH x FLAGS", "t FETCH 1 (FLAGS"]
    for b in bad:
        un, t = cmd(b)
        tap.ok(t is not None and t.startswith("t BAD ") and un == [],
               "%s -> BAD, nothing sent (%r)" % (b[2:], t))
    un, t = cmd("t FETCH 1 (flags body.peek[header.fields (subject)]<0.5>)")
    tap.is_((un, t), (['* 1 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS '
                       '("SUBJECT")]<0> {5}', 'Subje)'],
                      "t OK Fetch completed."),
            "lower case attributes")
    c.close()

with tap.section("a message removed by another session"):
    c = srv.connect()
    c.readline()
    c.send("a1 LOGIN alice secret\r\n")
    while not (c.readline() or "a1 ").startswith("a1 "):
        pass
    cmd("t SELECT INBOX")
    md = env.maildir("alice")
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(md, sub)):
            p = os.path.join(md, sub, f)
            with open(p, "rb") as fh:
                if fh.read().startswith(b"Subject: no final"):
                    os.unlink(p)
    # the FETCH's sync keeps the removed message in the view, without
    # EXPUNGE (RFC 3501 7.4.1)
    un, t = cmd("t FETCH 1 (UID)")
    tap.is_((un, t), (["* 1 FETCH (UID 1)"], "t OK Fetch completed."),
            "FETCH after the removal: no EXPUNGE yet")
    un, t = cmd("t FETCH 3:4 (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
    tap.is_(un, ['* 3 FETCH (UID 3 FLAGS (\\Seen) BODY[HEADER.FIELDS '
                 '("SUBJECT")] {17}', 'Subject: nest', '', ')',
                 '* 4 FETCH (UID 4 FLAGS ())'],
            "the message still there is sent whole, the removed one its "
            "UID and FLAGS (RFC 2180 4.1.2)")
    tap.is_(t, "t NO [EXPUNGEISSUED] Some messages were expunged",
            "then NO [EXPUNGEISSUED]")
    un, t = cmd("t FETCH 4 (FLAGS)")
    tap.is_((un, t), (["* 4 FETCH (FLAGS ())"], "t OK Fetch completed."),
            "FLAGS alone of the removed message: OK")
    un, t = cmd("t FETCH 4 (BODY.PEEK[] RFC822.SIZE)")
    tap.is_((un, t), ([], "t NO [EXPUNGEISSUED] Some messages were expunged"),
            "nothing known to send: NO alone")
    un, t = cmd("t NOOP")
    tap.is_(un, ["* 4 EXPUNGE"], "NOOP then reports the EXPUNGE")
    un, t = cmd("t FETCH 4 FLAGS")
    tap.like(t, r"^t BAD ", "and message 4 no longer exists")
    c.close()

with tap.section("an unreadable message"):
    path = env.deliver("alice", "Subject: secret\n\nhidden\n")
    os.chmod(path, 0)
    c = srv.connect()
    c.readline()
    c.send("a1 LOGIN alice secret\r\n")
    while not (c.readline() or "a1 ").startswith("a1 "):
        pass
    cmd("t SELECT INBOX")
    un, t = cmd("t FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Subject)])")
    tap.is_(len([ln for ln in un if ln.startswith("* ")]), 4,
            "a response for every message (%r)" % un)
    tap.is_(un[-1] if un else None, "* 4 FETCH (UID 5)",
            "the unreadable one: what is known (its UID)")
    tap.is_(t, "t NO [UNAVAILABLE] Temporary failure, try again.",
            "then NO [UNAVAILABLE]")
    un, t = cmd("t FETCH 1 (UID)")
    tap.is_(t, "t OK Fetch completed.", "the session goes on")
    c.close()

env.finish()
