#!/usr/bin/env python3
# SEARCH and UID SEARCH over the wire (RFC 3501 6.4.4): keys on flags,
# headers (encoded words), decoded bodies (base64, quoted-printable,
# ISO-8859-1), dates and sizes; CHARSET with literals (synchronizing and
# LITERAL+), BADCHARSET, BAD syntax; ESEARCH (RFC 4731) and the saved
# result "$" (RFC 5182); Maildir and mbox; a message expunged by another
# session meanwhile.
import imaplib
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
imapd = env.binary("imapd")
ALICE_UID = 60101

wrapper = env.write("imapd-alice", (
    "#!/bin/sh\nHOME=%s USER=alice LOGNAME=alice exec setpriv --reuid=%d "
    "--regid=%d --clear-groups -- %s \"$@\"\n"
    % (env.home("alice"), ALICE_UID, ALICE_UID, imapd)), 0o755)


def preauth_server(conf=None):
    c = {"log_path": "/dev/stderr"}
    c.update(conf or {})
    return env.start(wrapper, conf=c, args=["--preauth"])


class Imap:
    """A raw IMAP client: exact lines, tags a1, a2, ..."""

    def __init__(self, srv):
        self.c = srv.connect()
        self.n = 0
        self.greeting = self.c.readline()

    def tag(self):
        self.n += 1
        return "a%d" % self.n

    def cmd(self, text, tag=None):
        tag = tag or self.tag()
        self.c.send("%s %s\r\n" % (tag, text))
        return self.reply(tag)

    def reply(self, tag):
        lines = []
        while True:
            ln = self.c.readline()
            if ln is None:
                return lines, None
            if ln.startswith(tag + " "):
                return lines, ln[len(tag) + 1:]
            lines.append(ln)

    def literal_cmd(self, head, lit, tail, plus=False):
        """head {n}CRLF lit tail: waits for "+" unless LITERAL+."""
        tag = self.tag()
        self.c.send(("%s %s{%d%s}\r\n" % (tag, head, len(lit),
                                          "+" if plus else "")).encode())
        if not plus:
            cont = self.c.readline()
            if not (cont or "").startswith("+"):
                return [cont], None
        self.c.send(lit + tail.encode() + b"\r\n")
        return self.reply(tag)

    def search(self, text):
        un, t = self.cmd(text)
        s = [ln for ln in un if ln.startswith("* SEARCH")]
        return (s[0] if len(s) == 1 else un), t

    def close(self):
        self.c.close()


MSGS = [
    # 1: plain, \Seen
    ("From: \"Alice Example\" <alice@example.org>\n"
     "To: bob@example.com\nCc: carol@example.net\n"
     "Subject: Hello World\nDate: Mon, 2 Jan 2006 10:00:00 +0000\n"
     "X-Folded: alpha\n beta\n\n"
     "The quick brown fox jumps over the lazy dog.\n", "S",
     "2006-01-02"),
    # 2: encoded words, base64 UTF-8 body, \Flagged; no Date:
    ("From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.de>\n"
     "To: alice@example.org\n"
     "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
     "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: base64\n\n"
     "U2Now7ZuZSBHcsO8w59lIGF1cyBNw7xuY2hlbgo=\n", "F", "2006-01-05"),
    # 3: multipart, ISO-8859-1 quoted-printable text, \Seen \Deleted
    # (Maildir's T)
    ("From: zed@example.com\nSubject: menu\n"
     "Date: 7 Jan 2006 09:00 -0500\nMIME-Version: 1.0\n"
     "Content-Type: multipart/alternative; boundary=\"b1\"\n\n"
     "--b1\nContent-Type: text/plain; charset=ISO-8859-1\n"
     "Content-Transfer-Encoding: quoted-printable\n\n"
     "Caf=E9 cr=E8me br=FBl=E9e\n--b1\n"
     "Content-Type: application/octet-stream\n"
     "Content-Transfer-Encoding: base64\n\naGlkZGVud29yZA==\n--b1--\n",
     "ST", "2006-01-07"),
    # 4: big, no flags
    ("From: big@example.com\nSubject: large one\n"
     "Date: Tue, 10 Jan 2006 12:00:00 +0000\n\n" +
     ("filler line of text\n" * 3000) + "needle at the end\n", "",
     "2006-01-10"),
]


def set_mtime(path, day):
    import calendar
    import time
    t = calendar.timegm(time.strptime(day + " 12:00", "%Y-%m-%d %H:%M"))
    os.utime(path, (t, t))


def fill_maildir():
    md = env.maildir("alice")
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, f))
    for body, flags, day in MSGS:
        p = env.deliver("alice", body, subdir="cur", flags=flags)
        set_mtime(p, day)


def mbox_text():
    out = []
    for body, flags, day in MSGS:
        import time
        ts = time.strftime("%a %b %d %H:%M:%S %Y",
                           time.strptime(day + " 12:00", "%Y-%m-%d %H:%M"))
        hdr, rest = body.split("\n\n", 1)
        st = "Status: %s\n" % ("RO" if "S" in flags else "O")
        xst = "X-Status: %s\n" % "".join(
            {"T": "D", "F": "F"}.get(f, "") for f in flags) if (
            set(flags) & set("TF")) else ""
        out.append("From sender@example.com %s\n%s\n%s%s\n%s\n" % (
            ts, hdr, st, xst, rest))
    return "".join(out)


def keys_suite(c, label):
    """The same searches on either mailbox format."""
    cases = [
        ("ALL", "1 2 3 4"),
        ("SEEN", "1 3"),
        ("UNSEEN", "2 4"),
        ("FLAGGED", "2"),
        ("DELETED", "3"),
        ("UNDELETED", "1 2 4"),
        ("OR FLAGGED DELETED", "2 3"),
        ("NOT (OR SEEN FLAGGED)", "4"),
        ("FROM alice", "1"),
        ("FROM \"ALICE EXAMPLE\"", "1"),
        ("TO alice@example.org", "2"),
        ("CC carol", "1"),
        ("SUBJECT hello", "1"),
        ("HEADER X-Folded \"alpha beta\"", "1"),
        ("HEADER X-Folded \"\"", "1"),
        ("BODY lazy", "1"),
        ("BODY hiddenword", ""),
        ("TEXT \"hello world\"", "1"),
        ("BODY \"needle at the end\"", "4"),
        ("LARGER 10000", "4"),
        ("SMALLER 10000", "1 2 3"),
        ("SENTON 2-Jan-2006", "1"),
        ("SENTSINCE 7-Jan-2006", "3 4"),
        ("SENTBEFORE 7-Jan-2006", "1"),
        ("SINCE 5-Jan-2006", "2 3 4"),
        ("BEFORE 5-Jan-2006", "1"),
        ("ON 7-Jan-2006", "3"),
        ("2:3", "2 3"),
        ("*", "4"),
    ]
    for key, want in cases:
        got, t = c.search("SEARCH " + key)
        tap.is_(got, ("* SEARCH " + want).rstrip(), "%s: SEARCH %s"
                % (label, key))
        tap.is_(t, "OK SEARCH completed", "%s: %s OK" % (label, key))
    got, t = c.search("search seen")
    tap.is_(got, "* SEARCH 1 3", "%s: keys in lower case" % label)


srv = preauth_server()

fill_maildir()

with tap.section("imaplib: SEARCH and UID SEARCH"):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    typ, _ = m.select("INBOX")
    tap.is_(typ, "OK", "SELECT INBOX")
    tap.is_(m.search(None, "ALL"), ("OK", [b"1 2 3 4"]), "SEARCH ALL")
    tap.is_(m.search(None, "UNSEEN"), ("OK", [b"2 4"]), "SEARCH UNSEEN")
    typ, data = m.uid("SEARCH", "ALL")
    uids = data[0].split()
    tap.is_(len(uids), 4, "UID SEARCH ALL: four UIDs")
    tap.is_(m.uid("SEARCH", "SEEN"), ("OK", [uids[0] + b" " + uids[2]]),
            "UID SEARCH SEEN answers UIDs")
    tap.is_(m.uid("SEARCH", "UID", uids[1].decode() + ":*"),
            ("OK", [b" ".join(uids[1:])]), "UID SEARCH UID n:*")
    tap.is_(m.search("UTF-8", "BODY", "\"Gr\u00fc\u00dfe\"".encode()),
            ("OK", [b"2"]),
            "imaplib CHARSET UTF-8: base64 body, quoted 8-bit string")
    m.logout()

c = Imap(srv)
c.cmd("SELECT INBOX")
_, uidline = c.cmd("UID SEARCH ALL")
un, _ = c.cmd("UID SEARCH ALL")
UIDS = un[0].split()[2:]

with tap.section("Maildir: every kind of key"):
    keys_suite(c, "maildir")

with tap.section("CHARSET and literals"):
    un, t = c.literal_cmd("SEARCH CHARSET UTF-8 BODY ",
                          "caf\u00e9 CR\u00c8ME".encode(), "")
    tap.is_((un, t), (["* SEARCH 3"], "OK SEARCH completed"),
            "UTF-8 literal matches an ISO-8859-1 QP part, any case")
    un, t = c.literal_cmd("SEARCH CHARSET ISO-8859-1 SUBJECT ",
                          "gr\u00fc\u00dfe".encode("latin-1"), " UNSEEN")
    tap.is_((un, t), (["* SEARCH 2"], "OK SEARCH completed"),
            "ISO-8859-1 literal against an encoded-word subject")
    un, t = c.literal_cmd("SEARCH CHARSET UTF-8 FROM ",
                          "J\u00d6RG".encode(), "", plus=True)
    tap.is_((un, t), (["* SEARCH 2"], "OK SEARCH completed"),
            "LITERAL+ with an encoded-word display name")
    un, t = c.cmd("SEARCH CHARSET KOI8-XX BODY x")
    tap.is_(un, [], "BADCHARSET: no untagged SEARCH")
    tap.like(t, r"^NO \[BADCHARSET \(US-ASCII UTF-8\)\] ",
             "unknown charset: NO [BADCHARSET (US-ASCII UTF-8)]")
    un, t = c.cmd("SEARCH CHARSET us-ascii SUBJECT hello")
    tap.is_((un, t), (["* SEARCH 1"], "OK SEARCH completed"),
            "CHARSET US-ASCII")

with tap.section("syntax errors are BAD"):
    for args in ("", "FOO", "SUBJECT", "BEFORE 2006", "LARGER x",
                 "KEYWORD \\Seen", "()", "OR SEEN", "UID x", "0",
                 "RETURN (FOO) ALL", "RETURN ALL", "ALL CHARSET UTF-8",
                 "HEADER Subject"):
        un, t = c.cmd("SEARCH " + args)
        tap.like(t, r"^BAD ", "SEARCH %s: BAD" % args)
        tap.is_([ln for ln in un if "SEARCH" in ln], [],
                "SEARCH %s: no result" % args)
    un, t = c.cmd("SEARCH " + "NOT " * 100 + "ALL")
    tap.like(t, r"^NO \[LIMIT\] ", "100 nested NOTs: NO [LIMIT]")
    un, t = c.cmd("NOOP")
    tap.like(t, r"^OK", "the session goes on")

with tap.section("ESEARCH (RFC 4731)"):
    un, t = c.cmd("SEARCH RETURN (MIN MAX ALL COUNT) ALL", tag="e1")
    tap.is_(un, ['* ESEARCH (TAG "e1") MIN 1 MAX 4 ALL 1:4 COUNT 4'],
            "MIN MAX ALL COUNT")
    tap.is_(t, "OK SEARCH completed", "tagged OK")
    un, t = c.cmd("SEARCH RETURN () OR SEEN UNDELETED", tag="e2")
    tap.is_(un, ['* ESEARCH (TAG "e2") ALL 1:4'], "RETURN () is ALL")
    un, t = c.cmd("SEARCH RETURN () 1,3,4", tag="e3")
    tap.is_(un, ['* ESEARCH (TAG "e3") ALL 1,3:4'], "ALL as a sequence set")
    un, t = c.cmd("SEARCH RETURN (COUNT) DELETED", tag="e4")
    tap.is_(un, ['* ESEARCH (TAG "e4") COUNT 1'], "COUNT alone")
    un, t = c.cmd("SEARCH RETURN (MIN MAX ALL COUNT) KEYWORD none", tag="e5")
    tap.is_(un, ['* ESEARCH (TAG "e5") COUNT 0'],
            "no match: only COUNT (MIN, MAX, ALL left out)")
    un, t = c.cmd("SEARCH RETURN (MIN) KEYWORD none", tag="e6")
    tap.is_(un, ['* ESEARCH (TAG "e6")'], "no match: ESEARCH still sent")
    un, t = c.cmd("UID SEARCH RETURN (MIN MAX) SEEN", tag="e7")
    tap.is_(un, ['* ESEARCH (TAG "e7") UID MIN %s MAX %s'
                 % (UIDS[0], UIDS[2])], "UID SEARCH: UID indicator, UIDs")
    tap.is_(t, "OK UID SEARCH completed", "UID SEARCH tagged OK")
    un, t = c.cmd("search return (min) charset utf-8 unseen", tag="e8")
    tap.is_(un, ['* ESEARCH (TAG "e8") MIN 2'],
            "lower case, RETURN then CHARSET")

with tap.section("SEARCHRES: SAVE and $ (RFC 5182)"):
    un, t = c.cmd("SEARCH $")
    tap.is_(un, ["* SEARCH"], "$ is empty after SELECT")
    un, t = c.cmd("SEARCH RETURN (SAVE) SEEN")
    tap.is_((un, t), ([], "OK SEARCH completed"),
            "SAVE alone: no untagged response")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 1 3", "SEARCH $")
    tap.is_(c.search("UID SEARCH UID $")[0], "* SEARCH %s %s"
            % (UIDS[0], UIDS[2]), "UID SEARCH UID $")
    tap.is_(c.search("UID SEARCH $ SMALLER 10000")[0], "* SEARCH %s %s"
            % (UIDS[0], UIDS[2]), "UID SEARCH $ with another key")
    tap.is_(c.search("SEARCH OR $ 4")[0], "* SEARCH 1 3 4", "OR $ 4")
    tap.is_(c.search("SEARCH NOT $")[0], "* SEARCH 2 4", "NOT $")
    un, t = c.cmd("SEARCH RETURN (SAVE) FOO")
    tap.like(t, r"^BAD ", "a BAD SEARCH with SAVE...")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 1 3", "...leaves $ alone")
    un, t = c.cmd("SEARCH RETURN (SAVE MIN) UNDELETED", tag="s1")
    tap.is_(un, ['* ESEARCH (TAG "s1") MIN 1'], "SAVE MIN answers MIN")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 1", "SAVE MIN saves the min")
    c.cmd("SEARCH RETURN (SAVE MIN MAX) UNDELETED")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 1 4", "SAVE MIN MAX")
    un, t = c.cmd("SEARCH RETURN (SAVE MIN COUNT) UNDELETED", tag="s2")
    tap.is_(un, ['* ESEARCH (TAG "s2") MIN 1 COUNT 3'], "SAVE MIN COUNT")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 1 2 4",
            "with COUNT, every match is saved")
    un, t = c.cmd("UID SEARCH RETURN (SAVE) FLAGGED")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH 2",
            "UID SEARCH SAVE, used as sequence numbers")
    un, t = c.cmd("SEARCH RETURN (SAVE) CHARSET X-NONE-9 ALL")
    tap.like(t, r"^NO \[BADCHARSET", "a NO SEARCH with SAVE...")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH", "...empties $")
    un, t = c.cmd("SEARCH RETURN (SAVE) KEYWORD none")
    tap.is_(c.search("SEARCH ALL $")[0], "* SEARCH",
            "saving no match gives an empty $")
    c.cmd("SEARCH RETURN (SAVE) SEEN")
    un, t = c.cmd("FETCH $ (UID)")
    if t is not None and t.startswith("OK"):
        tap.is_(un, ["* 1 FETCH (UID %s)" % UIDS[0],
                     "* 3 FETCH (UID %s)" % UIDS[2]], "FETCH $")
    else:
        tap.skip("FETCH $", "FETCH not linked in this build")
    c.cmd("SELECT INBOX")
    tap.is_(c.search("SEARCH $")[0], "* SEARCH", "SELECT empties $")

with tap.section("a message removed by another program"):
    md = env.maildir("alice")
    victim = [f for f in os.listdir(os.path.join(md, "cur"))
              if open(os.path.join(md, "cur", f), "rb").read().find(
                  b"joerg@example.de") >= 0]
    tap.is_(len(victim), 1, "message 2's file found")
    os.unlink(os.path.join(md, "cur", victim[0]))
    un, t = c.cmd("SEARCH BODY e")
    res = [ln for ln in un if ln.startswith("* SEARCH")]
    tap.is_(res, ["* SEARCH 1 3 4"],
            "its number does not match while it is still in the view")
    tap.like(t, r"^OK", "SEARCH completes")
    un, t = c.cmd("NOOP")
    tap.ok("* 2 EXPUNGE" in un, "NOOP then reports the EXPUNGE")
c.close()

with tap.section("mbox: the same keys"):
    inbox, loc = env.mbox("alice", mbox_text())
    msrv = preauth_server({"mail_location": loc})
    mc = Imap(msrv)
    un, t = mc.cmd("SELECT INBOX")
    tap.like(t, r"^OK", "SELECT the mbox INBOX")
    keys_suite(mc, "mbox")
    un, t = mc.cmd("UID SEARCH RETURN (COUNT) BODY \"br\u00fbl\u00e9e\"".
                   encode().decode("latin-1"), tag="m1")
    tap.is_(un, ['* ESEARCH (TAG "m1") UID COUNT 1'],
            "mbox: 8-bit quoted string (UTF-8) in UID SEARCH RETURN")
    mc.close()

env.finish()
