#!/usr/bin/env python3
# imapd's authenticated and selected states: the greeting that completes
# a login (and --preauth's PREAUTH), CAPABILITY/NOOP/LOGOUT/ID/ENABLE/
# NAMESPACE, state errors, SELECT/EXAMINE responses, \Recent, CLOSE vs
# UNSELECT, EXPUNGE and UID EXPUNGE, untagged EXISTS after a delivery,
# the bad-command limit and the inactivity BYE.
import imaplib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
imapd = env.binary("imapd")
ALICE_UID = 60101

# A listener that runs imapd --preauth as alice for each connection:
# the session without the login process, over a real socket.
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
    """A raw IMAP client: exact lines, tags a1, a2, ..."""

    def __init__(self, srv, greeting=True):
        self.c = srv.connect()
        self.n = 0
        self.greeting = self.c.readline() if greeting else None

    def send(self, data):
        self.c.send(data)

    def line(self, timeout=None):
        return self.c.readline(timeout)

    def cmd(self, text, tag=None):
        """Send a command; returns (untagged lines, tagged line)."""
        if tag is None:
            self.n += 1
            tag = "a%d" % self.n
        self.send("%s %s\r\n" % (tag, text))
        return self.read_reply(tag)

    def read_reply(self, tag):
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                return lines, None
            if ln.startswith(tag + " "):
                return lines, ln[len(tag) + 1:]
            lines.append(ln)

    def close(self):
        self.c.close()


MSG = "From: a@example.org\nSubject: %s\n\nbody %s\n"


def maildir_reset():
    md = env.maildir("alice")
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, f))
    for f in os.listdir(md):
        if f.startswith(("dovecot", ".postern", "postern")) or f.endswith(
                ("uidlist", "index", "cache")):
            p = os.path.join(md, f)
            if os.path.isfile(p):
                os.unlink(p)


srv = preauth_server()

with tap.section("--preauth greeting and CAPABILITY"):
    c = Imap(srv)
    tap.like(c.greeting, r"^\* PREAUTH \[CAPABILITY IMAP4rev1( [^\]]+)?\] "
             r"Logged in as alice$", "PREAUTH greeting with capabilities")
    caps = re.search(r"\[CAPABILITY ([^\]]*)\]", c.greeting or "")
    un, t = c.cmd("CAPABILITY")
    tap.is_(un, ["* CAPABILITY " + (caps.group(1) if caps else "?")],
            "CAPABILITY lists what the greeting did")
    tap.is_(t, "OK Capability completed.", "tagged OK")
    tap.ok(caps is not None and "LOGINDISABLED" not in caps.group(1) and
           "STARTTLS" not in caps.group(1) and "AUTH=" not in caps.group(1),
           "the authenticated list: no STARTTLS, AUTH=, LOGINDISABLED")
    un, t = c.cmd("CAPABILITY extra")
    tap.like(t, r"^BAD ", "CAPABILITY with an argument is BAD")
    un, t = c.cmd("noop")
    tap.is_((un, t), ([], "OK NOOP completed."), "noop in lower case")
    un, t = c.cmd("LOGOUT")
    tap.is_(un, ["* BYE Logging out"], "LOGOUT: BYE first")
    tap.is_(t, "OK Logout completed.", "then the tagged OK")
    tap.ok(c.c.closed_within(5), "then the connection closes")

with tap.section("state errors and unknown commands"):
    c = Imap(srv)
    for cmd in ("CLOSE", "EXPUNGE", "UNSELECT", "CHECK", "UID EXPUNGE 1"):
        un, t = c.cmd(cmd)
        tap.is_(t, "BAD No mailbox selected.", "%s before SELECT" % cmd)
    un, t = c.cmd("LOGIN alice secret")
    tap.is_(t, "BAD Already logged in.", "LOGIN after login")
    un, t = c.cmd("AUTHENTICATE PLAIN")
    tap.is_(t, "BAD Already logged in.", "AUTHENTICATE after login")
    un, t = c.cmd("XYZZY")
    tap.is_(t, "BAD Unknown command.", "unknown command")
    un, t = c.cmd("UID")
    tap.like(t, r"^BAD ", "UID without a command")
    un, t = c.cmd("UID NOOP")
    tap.is_(t, "BAD Unknown command.", "UID NOOP is not a UID command")
    un, t = c.cmd("UID XYZZY 1")
    tap.is_(t, "BAD Unknown command.", "UID with an unknown command")
    un, t = c.cmd("NOOP")
    tap.is_(t, "OK NOOP completed.", "the session goes on")
    c.close()

maildir_reset()
env.deliver("alice", MSG % ("one", 1), subdir="cur", flags="S")
env.deliver("alice", MSG % ("two", 2))
env.deliver("alice", MSG % ("three", 3))


def select_lines(exists, recent, unseen, uidnext, rdonly=False):
    flags = r"\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    out = [r"\* FLAGS \(%s\)" % flags,
           r"\* OK \[PERMANENTFLAGS \(\)\] Read-only mailbox\." if rdonly else
           r"\* OK \[PERMANENTFLAGS \(%s \\\*\)\] Flags permitted\." % flags,
           r"\* %d EXISTS" % exists, r"\* %d RECENT" % recent]
    if unseen:
        out.append(r"\* OK \[UNSEEN %d\] First unseen\." % unseen)
    out += [r"\* OK \[UIDVALIDITY \d+\] UIDs valid",
            r"\* OK \[UIDNEXT %d\] Predicted next UID" % uidnext]
    return out


def lines_match(got, patterns):
    return len(got) == len(patterns) and all(
        re.fullmatch(p, g) for p, g in zip(patterns, got))


with tap.section("EXAMINE, then SELECT: exact responses, \\Recent once"):
    c = Imap(srv)
    un, t = c.cmd("EXAMINE INBOX")
    tap.ok(lines_match(un, select_lines(3, 2, 2, 4, rdonly=True)),
           "EXAMINE: FLAGS, empty PERMANENTFLAGS, EXISTS, RECENT (the two in new/, unclaimed), "
           "UNSEEN, UIDVALIDITY, UIDNEXT", "\n".join(un))
    tap.is_(t, "OK [READ-ONLY] Examine completed.", "EXAMINE is READ-ONLY")
    uidv = re.search(r"UIDVALIDITY (\d+)", "\n".join(un))
    un, t = c.cmd("SELECT inbox")
    tap.is_(un[:1], ["* OK [CLOSED] Previous mailbox closed."],
            "selecting while selected closes the old one first")
    tap.ok(lines_match(un[1:], select_lines(3, 2, 2, 4)),
           "SELECT: the same with PERMANENTFLAGS \\*, RECENT claimed",
           "\n".join(un))
    tap.is_(t, "OK [READ-WRITE] Select completed.", "SELECT is READ-WRITE")
    uidv2 = re.search(r"UIDVALIDITY (\d+)", "\n".join(un))
    tap.ok(uidv and uidv2 and uidv.group(1) == uidv2.group(1),
           "the same UIDVALIDITY both times")
    c2 = Imap(srv)
    un, t = c2.cmd("SELECT INBOX")
    tap.ok(lines_match(un, select_lines(3, 0, 2, 4)),
           "another session's SELECT: 0 RECENT (claimed once)", "\n".join(un))
    c2.close()
    un, t = c.cmd("CHECK")
    tap.is_((un, t), ([], "OK Check completed."), "CHECK")
    un, t = c.cmd("SELECT INBOX extra")
    tap.like(t, r"^BAD ", "SELECT with two arguments is BAD")
    un, t = c.cmd("SELECT")
    tap.like(t, r"^BAD ", "SELECT without a mailbox is BAD")
    un, t = c.cmd("SELECT nosuchbox")
    tap.is_(un, ["* OK [CLOSED] Previous mailbox closed."],
            "a failing SELECT closes the selected mailbox")
    tap.is_(t, "NO [NONEXISTENT] Mailbox doesn't exist.",
            "SELECT of a missing mailbox (no path in the reply)")
    un, t = c.cmd("CLOSE")
    tap.is_(t, "BAD No mailbox selected.",
            "after a failed SELECT the session is in the authenticated state")
    un, t = c.cmd("SELECT &AAA")
    tap.like(t, r"^NO \[CANNOT\] .*modified UTF-7",
             "a name that is not modified UTF-7 is refused, with the reason")
    un, t = c.cmd('SELECT ""')
    tap.like(t, r"^NO \[CANNOT\] ", "an empty name")
    un, t = c.cmd("SELECT a/../b")
    tap.like(t, r"^NO \[CANNOT\] ", "a name with ..")
    c.close()

with tap.section("NOOP reports new mail"):
    c = Imap(srv)
    un, t = c.cmd("SELECT INBOX")
    tap.is_(t, "OK [READ-WRITE] Select completed.", "SELECT")
    un, t = c.cmd("NOOP")
    tap.is_(un, [], "nothing new: NOOP says nothing")
    env.deliver("alice", MSG % ("four", 4))
    un, t = c.cmd("NOOP")
    tap.is_(un, ["* 4 EXISTS", "* 1 RECENT"], "a delivery: EXISTS and RECENT")
    tap.is_(t, "OK NOOP completed.", "tagged OK after the updates")
    un, t = c.cmd("NOOP")
    tap.is_(un, [], "reported once")
    c.close()

with tap.section("UNSELECT keeps \\Deleted messages, CLOSE expunges them"):
    maildir_reset()
    env.deliver("alice", MSG % ("keep", 1), subdir="cur", flags="S")
    env.deliver("alice", MSG % ("del", 2), subdir="cur", flags="ST")
    c = Imap(srv)
    c.cmd("SELECT INBOX")
    un, t = c.cmd("UNSELECT")
    tap.is_((un, t), ([], "OK Unselect completed."), "UNSELECT")
    tap.is_(len(env.maildir_files("alice")), 2, "UNSELECT expunged nothing")
    un, t = c.cmd("NOOP")
    un, t = c.cmd("CLOSE")
    tap.is_(t, "BAD No mailbox selected.", "UNSELECT left the selected state")
    c.cmd("EXAMINE INBOX")
    un, t = c.cmd("CLOSE")
    tap.is_((un, t), ([], "OK Close completed."), "CLOSE after EXAMINE")
    tap.is_(len(env.maildir_files("alice")), 2,
            "CLOSE of a read-only mailbox expunges nothing")
    c.cmd("SELECT INBOX")
    un, t = c.cmd("CLOSE")
    tap.is_((un, t), ([], "OK Close completed."), "CLOSE: no EXPUNGE responses")
    files = env.maildir_files("alice")
    tap.ok(len(files) == 1 and not files[0].endswith("T"),
           "CLOSE removed the \\Deleted message only", repr(files))
    un, t = c.cmd("UNSELECT")
    tap.is_(t, "BAD No mailbox selected.", "CLOSE left the selected state")
    c.close()

with tap.section("EXPUNGE and UID EXPUNGE"):
    maildir_reset()
    for i in range(1, 7):
        env.deliver("alice", MSG % ("m%d" % i, i), subdir="cur",
                    flags="ST" if i in (2, 4, 5, 6) else "S")
    c = Imap(srv)
    c.cmd("EXAMINE INBOX")
    un, t = c.cmd("EXPUNGE")
    tap.like(t, r"^NO \[READ-ONLY\] ", "EXPUNGE in a read-only mailbox")
    un, t = c.cmd("SELECT INBOX")
    un, t = c.cmd("EXPUNGE extra")
    tap.like(t, r"^BAD ", "EXPUNGE with an argument is BAD")
    un, t = c.cmd("UID EXPUNGE")
    tap.like(t, r"^BAD ", "UID EXPUNGE without a set is BAD")
    un, t = c.cmd("UID EXPUNGE 1:x")
    tap.like(t, r"^BAD ", "UID EXPUNGE with a bad set is BAD")
    un, t = c.cmd("UID EXPUNGE 1:3")
    tap.is_(un, ["* 2 EXPUNGE"], "UID EXPUNGE 1:3: only \\Deleted UID 2")
    tap.is_(t, "OK Expunge completed.", "tagged OK")
    un, t = c.cmd("UID EXPUNGE 100:200")
    tap.is_((un, t), ([], "OK Expunge completed."),
            "UIDs that do not exist are ignored")
    un, t = c.cmd("EXPUNGE")
    tap.ok(sorted(un) == ["* 3 EXPUNGE", "* 4 EXPUNGE", "* 5 EXPUNGE"]
           and un == sorted(un, reverse=True),
           "EXPUNGE: the rest, highest first (UIDs 4, 5, 6 were 3, 4, 5)",
           repr(un))
    tap.is_(len(env.maildir_files("alice")), 2, "two messages left")
    un, t = c.cmd("EXPUNGE")
    tap.is_((un, t), ([], "OK Expunge completed."), "nothing left to expunge")
    c.close()

with tap.section("ID, ENABLE, NAMESPACE"):
    c = Imap(srv)
    un, t = c.cmd("ID NIL")
    tap.is_((un, t), (['* ID ("name" "postern")'], "OK ID completed."),
            "ID NIL")
    un, t = c.cmd('ID ("name" "TestClient" "version" "1.2" "os" NIL)')
    tap.is_((un, t), (['* ID ("name" "postern")'], "OK ID completed."),
            "ID with a list of pairs")
    tap.ok(harness.wait_for(lambda: "name=<TestClient> version=<1.2>"
                            in srv.stderr(), 5),
           "the client's name and version are logged")
    un, t = c.cmd("ID")
    tap.like(t, r"^BAD ", "ID without an argument")
    un, t = c.cmd('ID ()')
    tap.like(t, r"^BAD ", "ID with an empty list")
    un, t = c.cmd('ID ("name")')
    tap.like(t, r"^BAD ", "ID with an odd list")
    un, t = c.cmd("ID (%s)" % " ".join('"f%d" "v"' % i for i in range(31)))
    tap.like(t, r"^BAD ", "ID with 31 pairs")
    un, t = c.cmd("ID (%s)" % " ".join('"f%d" "v"' % i for i in range(30)))
    tap.is_(t, "OK ID completed.", "ID with 30 pairs")
    un, t = c.cmd('ID ("%s" "v")' % ("x" * 31))
    tap.like(t, r"^BAD ", "ID with a field longer than 30 octets")
    un, t = c.cmd('ID (name "v")')
    tap.like(t, r"^BAD ", "ID field as an atom")
    un, t = c.cmd('ID ("name" "v") NIL')
    tap.like(t, r"^BAD ", "ID with two arguments")
    un, t = c.cmd("ENABLE CONDSTORE XYZZY")
    tap.is_((un, t), (["* ENABLED"], "OK ENABLE completed."),
            "ENABLE: nothing enabled")
    un, t = c.cmd("ENABLE")
    tap.like(t, r"^BAD ", "ENABLE without arguments")
    un, t = c.cmd("NAMESPACE")
    tap.is_((un, t), (['* NAMESPACE (("" "/")) NIL NIL'],
                      "OK NAMESPACE completed."), "NAMESPACE")
    c.close()
    dsrv = preauth_server({"namespace_separator": "."})
    c = Imap(dsrv)
    un, t = c.cmd("NAMESPACE")
    tap.is_(un, ['* NAMESPACE (("" ".")) NIL NIL'],
            "NAMESPACE with namespace_separator = .")
    c.close()

with tap.section("too many bad commands"):
    c = Imap(srv)
    for i in range(19):
        c.cmd("XYZZY")
    un, t = c.cmd("NOOP")
    tap.is_(t, "OK NOOP completed.", "a good command resets the count")
    for i in range(19):
        un, t = c.cmd("XYZZY")
    tap.is_(t, "BAD Unknown command.", "19 in a row are answered")
    c.send("z XYZZY\r\n")
    tap.is_(c.line(), "z BAD Unknown command.", "the 20th is answered")
    tap.is_(c.line(), "* BYE Too many invalid commands.", "then BYE")
    tap.ok(c.c.closed_within(5), "and the connection is closed")

with tap.section("inactivity"):
    isrv = preauth_server({"imap_idle_timeout": "2"})
    c = Imap(isrv)
    c.cmd("SELECT INBOX")
    t0 = time.monotonic()
    ln = c.line(timeout=10)
    tap.is_(ln, "* BYE Disconnected for inactivity.", "BYE after the idle "
            "timeout")
    tap.ok(1.5 < time.monotonic() - t0 < 8, "after about 2 s")
    tap.ok(c.c.closed_within(5), "then the connection closes")

with tap.section("LOGIN through the login process"):
    lsrv = env.start("imapd")
    c = Imap(lsrv)
    tap.like(c.greeting, r"^\* OK ", "greeting")
    un, t = c.cmd("LOGIN alice secret", tag="L1")
    tap.like(t, r"^OK \[CAPABILITY IMAP4rev1 [^\]]*\bIDLE\b[^\]]*\] Logged in$",
             "L1 OK [CAPABILITY ...] Logged in (the session's answer)", t)
    tap.ok("AUTH=" not in (t or "") and "STARTTLS" not in (t or ""),
           "the authenticated capability list")
    un, t = c.cmd("SELECT INBOX")
    tap.like(t, r"^OK \[READ-WRITE\] ", "SELECT after LOGIN")
    un, t = c.cmd("LOGOUT")
    tap.is_((un, t), (["* BYE Logging out"], "OK Logout completed."),
            "LOGOUT through the relay")
    tap.ok(c.c.closed_within(5), "closed")
    m = imaplib.IMAP4("127.0.0.1", lsrv.port)
    typ, data = m.login("alice", "secret")
    tap.is_(typ, "OK", "imaplib login")
    typ, data = m.capability()
    tap.ok(typ == "OK" and b"NAMESPACE" in data[0] and b"AUTH=" not in data[0],
           "imaplib: CAPABILITY after login", repr(data))
    typ, data = m.namespace()
    tap.is_((typ, data), ("OK", [b'(("" "/")) NIL NIL']), "imaplib namespace")
    m.logout()
    tap.like(lsrv.log(), r"disconnected \(logged out\): commands=\d+",
             "the session logs how it ended")

with tap.section("literals in commands"):
    c = Imap(srv)
    c.send("s1 SELECT {5}\r\n")
    tap.is_(c.line(), "+ OK", "a synchronizing literal gets a continuation")
    c.send("INBOX\r\n")
    un, t = c.read_reply("s1")
    tap.like(t, r"^OK \[READ-WRITE\] ", "SELECT with the name as a literal")
    c.send("s2 EXAMINE {5+}\r\nINBOX\r\n")
    un, t = c.read_reply("s2")
    tap.like(t, r"^OK \[READ-ONLY\] ", "the same with a LITERAL+ literal")
    c.send("s3 SELECT {2000000}\r\n")
    tap.is_(c.line(), "s3 BAD [TOOBIG] Literal too large",
            "a literal over the command limit is refused before it is sent")
    c.send("s4 SELECT {3000000+}\r\n" + "x" * 3000000 + "\r\n")
    tap.is_(c.line(), "s4 BAD [TOOBIG] Literal too large",
            "a LITERAL+ one is read and thrown away")
    c.send('s5 ID ("name" {3+}\r\nabc "x" {2+}\r\nab) junk)\r\n')
    tap.like(c.line(), r"^s5 BAD ", "a syntax error after a literal")
    c.send('s6 ID ("a" {3+}\r\nabc NUL\x00 {4+}\r\nnoop\r\n')
    tap.like(c.line(), r"^s6 BAD ", "NUL in a line after a literal")
    un, t = c.cmd("NOOP")
    tap.is_(t, "OK NOOP completed.", "the literals of bad commands were "
            "skipped, not run as commands")
    c.send('s7 ID ("name" {6}\r\n')
    tap.is_(c.line(), "+ OK", "ID: continuation")
    c.send('Client "version" {1}\r\n')
    tap.is_(c.line(), "+ OK", "a second literal in the same command")
    c.send('7)\r\n')
    un, t = c.read_reply("s7")
    tap.is_((un, t), (['* ID ("name" "postern")'], "OK ID completed."),
            "a command with two literals")
    msg = "Subject: appended\r\n\r\nhello\r\n"
    c.send("s8 APPEND INBOX (\\Seen) {%d}\r\n" % len(msg))
    tap.is_(c.line(), "+ OK", "APPEND streams its literal")
    c.send(msg + "\r\n")
    un, t = c.read_reply("s8")
    tap.like(t, r"^OK \[APPENDUID \d+ \d+\] ", "APPEND through the loop")
    tap.ok(any(re.fullmatch(r"\* \d+ EXISTS", ln) for ln in un),
           "the appended message is reported as EXISTS", repr(un))
    c.close()

with tap.section("message sets"):
    maildir_reset()
    for i in range(1, 4):
        env.deliver("alice", MSG % ("s%d" % i, i), subdir="cur", flags="S")
    c = Imap(srv)
    c.cmd("CREATE empty")
    c.cmd("SELECT empty")
    un, t = c.cmd("FETCH * FLAGS")
    tap.is_(t, "BAD Invalid messageset.", "* in an empty mailbox")
    un, t = c.cmd("FETCH 1 FLAGS")
    tap.is_(t, "BAD Invalid messageset.", "1 in an empty mailbox")
    un, t = c.cmd("UID FETCH 1:* FLAGS")
    tap.is_((un, t[:2]), ([], "OK"), "UID 1:* in an empty mailbox: nothing")
    c.cmd("SELECT INBOX")
    un, t = c.cmd("FETCH 4 FLAGS")
    tap.is_(t, "BAD Invalid messageset.", "a number past the count")
    un, t = c.cmd("FETCH 0 FLAGS")
    tap.is_(t, "BAD Invalid messageset.", "0")
    un, t = c.cmd("FETCH 2:* FLAGS")
    tap.is_([ln.split(" ")[1] for ln in un], ["2", "3"], "2:*")
    un, t = c.cmd("FETCH 3:1 FLAGS")
    tap.is_(len(un), 3, "3:1 is 1:3")
    un, t = c.cmd("UID SEARCH ALL")
    uids = [int(x) for x in un[0].split()[2:]] if un else []
    un, t = c.cmd("UID FETCH %d:%d FLAGS" % (uids[-1] + 1, uids[-1] + 5))
    tap.is_((un, t[:2]), ([], "OK"), "UIDs that do not exist are ignored")
    un, t = c.cmd("UID FETCH %d:* FLAGS" % (uids[-1] + 100))
    tap.is_(len(un), 1, "UID n:* includes the last message even past it")
    un, t = c.cmd("SEARCH RETURN (SAVE) UID %d,%d" % (uids[0], uids[2]))
    un, t = c.cmd("FETCH $ UID")
    tap.is_([ln.split(" ")[1] for ln in un], ["1", "3"], "$ is the saved "
            "result (RFC 5182)")
    c.cmd("UNSELECT")
    c.cmd("SELECT INBOX")
    un, t = c.cmd("FETCH $ UID")
    tap.is_((un, t[:2]), ([], "OK"), "$ is empty after a new SELECT")
    c.close()

with tap.section("UIDVALIDITY changes under a selected mailbox"):
    maildir_reset()
    env.deliver("alice", MSG % ("v1", 1), subdir="cur", flags="S")
    c = Imap(srv)
    un, t = c.cmd("SELECT INBOX")
    uidv = re.search(r"UIDVALIDITY (\d+)", "\n".join(un))
    md = env.maildir("alice")
    for f in ("postern-uidlist", "postern-index", "postern-index.expunged"):
        if os.path.exists(os.path.join(md, f)):
            os.unlink(os.path.join(md, f))
    time.sleep(1.1)
    env.deliver("alice", MSG % ("v2", 2))
    c.send("v1 NOOP\r\n")
    ln = c.line()
    tap.is_(ln, "* BYE [UNAVAILABLE] Mailbox UIDVALIDITY changed, please "
            "reconnect.", "BYE: the session cannot go on with stale UIDs")
    tap.ok(c.c.closed_within(5), "and it ends")
    c = Imap(srv)
    un, t = c.cmd("SELECT INBOX")
    uidv2 = re.search(r"UIDVALIDITY (\d+)", "\n".join(un))
    tap.ok(uidv and uidv2 and uidv.group(1) != uidv2.group(1),
           "a new session sees the new UIDVALIDITY")
    c.close()

with tap.section("hostile input"):
    c = Imap(srv)
    c.send(b"h1 NOOP \x00\r\n")
    tap.like(c.line(), r"^h1 BAD ", "NUL in a command")
    c.send(b"h2 NOOP " + b"x" * 20000 + b"\r\n")
    tap.like(c.line(), r"^(\*|h2) BAD .*[Tt]oo long", "a 20 kB line")
    c.send(b"h3 SELECT (\r\n")
    tap.like(c.line(), r"^h3 BAD ", "an open list")
    c.send(b"h4 UID " + b"F" * 100 + b" 1\r\n")
    tap.like(c.line(), r"^h4 BAD ", "a 100-letter UID subcommand")
    c.send(b"+ NOOP\r\n")
    tap.like(c.line(), r"^\* BAD ", "a tag that is not one")
    c.send(b"h5 ID (" + b'"a" "b" ' * 1000 + b")\r\n")
    tap.like(c.line(), r"^h5 BAD ", "ID with 1000 pairs")
    c.send(b"h6 SELECT {5+}\r\n\xff\xfe\x80zz\r\n")
    tap.like(c.line(), r"^h6 NO \[CANNOT\] ", "an 8-bit mailbox name")
    c.send(b"\r\n")
    tap.like(c.line(), r"^\* BAD ", "an empty line")
    un, t = c.cmd("NOOP")
    tap.is_(t, "OK NOOP completed.", "the session goes on")
    c.close()

with tap.section("pipelining"):
    c = Imap(srv)
    c.send("".join("p%d NOOP\r\n" % i for i in range(50)) +
           "q1 SELECT INBOX\r\nq2 CAPABILITY\r\nq3 EXAMINE INBOX\r\n")
    got = [c.line() for _ in range(50)]
    tap.is_(got, ["p%d OK NOOP completed." % i for i in range(50)],
            "50 pipelined NOOPs answered in order")
    un, t = c.read_reply("q1")
    tap.like(t, r"^OK \[READ-WRITE\]", "then SELECT")
    un, t = c.read_reply("q2")
    tap.is_(t, "OK Capability completed.", "then CAPABILITY")
    un, t = c.read_reply("q3")
    tap.like(t, r"^OK \[READ-ONLY\]", "then EXAMINE")
    c.close()

with tap.section("imaplib over --preauth"):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    tap.is_(m.state, "AUTH", "imaplib sees PREAUTH")
    typ, data = m.select("INBOX")
    tap.is_((typ, data), ("OK", [b"2"]), "select INBOX: 2 messages")
    typ, data = m.noop()
    tap.is_(typ, "OK", "noop")
    typ, data = m.logout()
    tap.is_(typ, "BYE", "logout")

env.finish()
