#!/usr/bin/env python3
# imapd: the not-authenticated state (RFC 3501 6.1, 6.2): greeting and
# CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), commands of later states,
# LOGIN with atom, quoted, literal and LITERAL+ (RFC 7888) credentials,
# AUTHENTICATE PLAIN and LOGIN with and without SASL-IR (RFC 4959),
# cancel and bad base64, failures with their RFC 5530 codes and log
# lines, the attempt and bad-command limits, the idle timeout, an HTTP
# request (ALPACA), NUL and overlong lines, and real clients (imaplib).
import base64
import imaplib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

PRE_CAPS = ("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS "
            "AUTH=PLAIN AUTH=LOGIN")
GREETING = "* OK [CAPABILITY %s] postern ready." % PRE_CAPS
AUTH_CAPS = ("IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE "
             "UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED "
             "LIST-STATUS ESEARCH SEARCHRES MULTIAPPEND STATUS=SIZE "
             "APPENDLIMIT=52428800")
FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."
# Before login the third BAD on a connection (in all, not in a row) gets
# "* BYE Too many invalid commands." (imapd/imap.h, SECURITY.md G6).
IMAP_LOGIN_BAD_MAX = 3


def b64(s):
    return base64.b64encode(s.encode("latin-1")).decode()


env = harness.setup()
srv = env.start("imapd")


def conn(s=srv, greeting=GREETING):
    c = s.connect()
    g = c.readline()
    assert g == greeting, g
    return c


def reply(c, tag):
    """Untagged lines and the tagged line of command tag."""
    lines = []
    while True:
        line = c.readline()
        if line is None:
            return lines, None
        if line.startswith(tag + " "):
            return lines, line[len(tag) + 1:]
        lines.append(line)


def run(c, line):
    tag = line.split(" ", 1)[0]
    c.send(line + "\r\n")
    return reply(c, tag)


def logged_in(c, tag):
    """The session answers the tag of a successful LOGIN/AUTHENTICATE."""
    u, t = reply(c, tag)
    return t


class Hostile:
    """Connections for a series of commands that each provoke a BAD.

    bad() is the connection for the next such command: a new one once
    the current one has had IMAP_LOGIN_BAD_MAX - 1 BADs, so each check
    still gets its own answer instead of the BYE of the bad-command limit
    (tested in its own section).  c is the current connection, for the
    commands in between that do not provoke a BAD."""

    def __init__(self, s=srv):
        self.s = s
        self.c = conn(s)
        self.bads = 0
        self.conns = 1

    def bad(self):
        if self.bads >= IMAP_LOGIN_BAD_MAX - 1:
            self.c.close()
            self.c = conn(self.s)
            self.bads = 0
            self.conns += 1
        self.bads += 1
        return self.c

    def run(self, line):
        """run() for a command that is to get a BAD."""
        return run(self.bad(), line)

    def close(self):
        self.c.close()


with tap.section("greeting and CAPABILITY"):
    c = srv.connect()
    tap.is_(c.readline(), GREETING, "greeting lists the pre-auth capabilities")
    u, t = run(c, "a1 CAPABILITY")
    tap.is_(u, ["* CAPABILITY " + PRE_CAPS], "CAPABILITY: the same list")
    tap.like(t, r"^OK ", "CAPABILITY: tagged OK")
    u, t = run(c, "a2 capability")
    tap.like(t, r"^OK ", "command names are case-insensitive")
    u, t = run(c, "a3 CAPABILITY x")
    tap.like(t, r"^BAD ", "CAPABILITY with an argument: BAD")
    u, t = run(c, "a4 NOOP")
    tap.is_((u, t), ([], "OK NOOP completed."), "NOOP")
    u, t = run(c, "a5 LOGOUT")
    tap.is_(u, ["* BYE Logging out"], "LOGOUT: BYE first (RFC 3501 6.1.3)")
    tap.like(t, r"^OK ", "then the tagged OK")
    tap.ok(c.closed_within(env.timeout), "and the connection is closed")
    c.close()

with tap.section("pipelined commands"):
    c = conn()
    c.send("p1 NOOP\r\np2 CAPABILITY\r\np3 NOOP\r\n")
    tap.is_(reply(c, "p1")[1], "OK NOOP completed.", "first of three")
    tap.is_(reply(c, "p2")[0], ["* CAPABILITY " + PRE_CAPS], "second")
    tap.is_(reply(c, "p3")[1], "OK NOOP completed.", "third")
    c.close()

with tap.section("ID (RFC 2971) before login"):
    h = Hostile()
    c = h.c
    u, t = run(c, "i1 ID NIL")
    tap.is_(u, ['* ID ("name" "postern")'], "ID NIL: our name")
    tap.like(t, r"^OK ", "ID NIL: OK")
    u, t = run(c, 'i2 ID ("name" "imaplib" "version" NIL)')
    tap.is_(u, ['* ID ("name" "postern")'], "ID with a field list")
    tap.like(t, r"^OK ", "ID with a list: OK")
    tap.like(h.run('i3 ID ("name")')[1], r"^BAD ", "odd number of strings: BAD")
    tap.like(h.run("i4 ID")[1], r"^BAD ", "no argument: BAD")
    tap.like(h.run('i5 ID (name "x")')[1], r"^BAD ", "atom field: BAD")
    tap.like(h.run('i6 ID ("%s" "x")' % ("f" * 31))[1], r"^BAD ",
             "field over 30 octets: BAD")
    pairs = " ".join('"f%d" "v"' % i for i in range(31))
    tap.like(h.run("i7 ID (%s)" % pairs)[1], r"^BAD ",
             "31 field-value pairs: BAD (RFC 2971 3.3)")
    pairs = " ".join('"f%d" "v"' % i for i in range(30))
    tap.like(run(h.c, "i8 ID (%s)" % pairs)[1], r"^OK ",
             "30 pairs: OK (after a BAD on the same connection)")
    tap.like(h.run("i9 ID " + "(" * 8000)[1], r"^BAD ",
             "8000 '(' (CVE-2026-27857): BAD")
    tap.is_(run(h.c, "i10 NOOP")[1], "OK NOOP completed.",
            "still served after two BADs")
    h.close()

with tap.section("commands of later states and unknown commands"):
    h = Hostile()
    for i, cmd in enumerate(["ENABLE IDLE", "SELECT INBOX", "LIST \"\" *",
                             "FETCH 1 FLAGS", "UID FETCH 1 FLAGS", "IDLE"]):
        tap.like(h.run("s%d %s" % (i, cmd))[1], r"^BAD ",
                 "%s before login: BAD" % cmd.split()[0])
    tap.like(h.run("s9 XYZZY")[1], r"^BAD ", "unknown command: BAD")
    tap.is_(run(h.c, "s10 NOOP")[1], "OK NOOP completed.", "still served")
    h.close()

with tap.section("LOGIN with an atom, quoted strings, literals, LITERAL+"):
    c = conn()
    c.send("l1 LOGIN alice secret\r\n")
    tap.is_(logged_in(c, "l1"), "OK [CAPABILITY %s] Logged in" % AUTH_CAPS,
            "LOGIN atom atom: tagged OK with the post-login capabilities")
    tap.is_(run(c, "l2 NOOP")[1][:2], "OK", "the session answers NOOP")
    c.close()
    tap.like(env.wait_log(r"login: user=<alice> rip=127\.0\.0\.1 "
                          r"lip=127\.0\.0\.1 mech=USER tls=no$",
                          srv.log_offset).group(0), r"mech=USER",
             "log: login with mech=USER tls=no")

    c = conn()
    c.send('l3 LOGIN "alice" "secret"\r\n')
    tap.like(logged_in(c, "l3"), r"^OK \[CAPABILITY IMAP4rev1 .*\] Logged in$",
             "LOGIN with quoted strings")
    c.close()

    c = conn()
    c.send("l4 LOGIN {5}\r\n")
    tap.like(c.readline(), r"^\+ ", "continuation request for {5}")
    c.send("alice {6}\r\n")
    tap.like(c.readline(), r"^\+ ", "continuation request for {6}")
    c.send("secret\r\n")
    tap.like(logged_in(c, "l4"), r"^OK \[CAPABILITY ", "LOGIN with literals")
    c.close()

    c = conn()
    c.send("l5 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
    u, t = reply(c, "l5")
    tap.is_(u, [], "LITERAL+: no continuation requests")
    tap.like(t, r"^OK \[CAPABILITY ", "LOGIN with non-synchronizing literals")
    c.close()

    c = conn()
    c.send('l6 LOGIN alice "secret"\r\n')
    tap.like(logged_in(c, "l6"), r"^OK \[CAPABILITY ",
             "LOGIN mixing an atom and a quoted string")
    c.close()

with tap.section("LOGIN failures"):
    c = conn()
    tap.is_(run(c, "f1 LOGIN alice wrong")[1], FAILED, "wrong password")
    tap.like(env.wait_log(r"login failed: user=<alice> rip=127\.0\.0\.1 .*"
                          r"mech=USER tls=no reason=password$",
                          srv.log_offset).group(0), r"reason=password",
             "log: login failed, reason=password")
    tap.is_(run(c, "f2 LOGIN nosuchuser secret")[1], FAILED,
            "unknown user: the same answer")
    tap.like(env.wait_log(r"login failed: user=<nosuchuser> ",
                          srv.log_offset).group(0), r"nosuchuser",
             "log: unknown user")
    c.close()
    srv.wait_idle()

    h = Hostile()
    for i, args in enumerate(["", "alice", "alice secret extra",
                              "(alice) secret", "alice (secret)", "al%ce x"]):
        tap.like(h.run("g%d LOGIN %s" % (i, args))[1], r"^BAD ",
                 "LOGIN %r: BAD" % args)
    tap.is_(run(h.c, "g9 NOOP")[1], "OK NOOP completed.", "still served")
    h.close()
    srv.wait_idle()

    c = conn()
    c.send("b1 LOGIN alice {3}\r\n")
    c.readline()
    c.send("a\0b\r\n")
    tap.like(reply(c, "b1")[1], r"^BAD ", "NUL in a literal password: BAD")
    c.close()

with tap.section("hostile credentials are plain failures"):
    c = conn()
    tap.is_(run(c, 'k1 LOGIN "%n%s%1$n%hn" secret')[1], FAILED,
            "format directives in the user name (CVE-2004-0777)")
    tap.is_(run(c, 'k2 LOGIN alice "secret\tmaster_user=root"')[1], FAILED,
            "a TAB in the password (CVE-2008-1218)")
    c.close()
    srv.wait_idle()
    c = conn()
    tap.is_(run(c, "k3 LOGIN %s secret" % ("a" * 256))[1], FAILED,
            "a 256-byte user name (AUTH_USER_MAX + 1)")
    tap.is_(run(c, "k4 LOGIN alice %s" % ("p" * 1025))[1], FAILED,
            "a 1025-byte password (AUTH_PASS_MAX + 1)")
    tap.is_(run(c, "k5 AUTHENTICATE PLAIN " + b64("\0alice\0" + "p" * 3000))[1],
            "NO [AUTHENTICATIONFAILED] Credentials too long.",
            "a 3 KB PLAIN message")
    c.send("k6 AUTHENTICATE LOGIN " + b64("a" * 300) + "\r\n")
    tap.is_(c.readline(), "k6 NO [AUTHENTICATIONFAILED] Credentials too long.",
            "a 300-byte LOGIN user name")
    tap.is_(run(c, "k7 NOOP")[1], "OK NOOP completed.", "still served")
    c.close()
    tap.like(srv.log(), r"login failed: user=<%n%s%1\$n%hn> ",
             "the user name is logged as data")
    srv.wait_idle()

with tap.section("too many failed attempts"):
    c = conn()
    tap.is_(run(c, "t1 LOGIN alice bad1")[1], FAILED, "first failure")
    tap.is_(run(c, "t2 LOGIN alice bad2")[1], FAILED, "second failure")
    c.send("t3 LOGIN alice bad3\r\n")
    tap.is_(c.readline(), "* BYE Too many invalid authentication attempts",
            "third (auth_max_attempts = 3): BYE")
    tap.ok(c.closed_within(env.timeout), "and the connection is closed")
    c.close()
    srv.wait_idle()

with tap.section("AUTHENTICATE PLAIN"):
    c = conn()
    c.send("p1 AUTHENTICATE PLAIN " + b64("\0alice\0secret") + "\r\n")
    tap.is_(logged_in(c, "p1"), "OK [CAPABILITY %s] Logged in" % AUTH_CAPS,
            "with an initial response (SASL-IR)")
    c.close()
    tap.ok(env.wait_log(r"login: user=<alice> .*mech=PLAIN tls=no$",
                        srv.log_offset), "log: mech=PLAIN")

    c = conn()
    c.send("p2 AUTHENTICATE PLAIN\r\n")
    tap.is_(c.readline(), "+ ", "without: an empty continuation request")
    c.send(b64("\0alice\0secret") + "\r\n")
    tap.like(logged_in(c, "p2"), r"^OK \[CAPABILITY ", "then logged in")
    c.close()

    c = conn()
    c.send("p3 authenticate plain " + b64("alice\0alice\0secret") + "\r\n")
    tap.like(logged_in(c, "p3"), r"^OK \[CAPABILITY ",
             "lower case, authzid equal to the user")
    c.close()

    c = conn()
    tap.is_(run(c, "p4 AUTHENTICATE PLAIN " + b64("\0alice\0wrong"))[1],
            FAILED, "wrong password")
    c.send("p5 AUTHENTICATE PLAIN\r\n")
    c.readline()
    c.send(b64("\0alice\0wrong") + "\r\n")
    tap.is_(reply(c, "p5"), ([], FAILED), "wrong password in a continuation")
    c.close()
    srv.wait_idle()

    c = conn()
    tap.is_(run(c, "p6 AUTHENTICATE PLAIN =")[1], FAILED,
            "'=' (empty initial response) is not a PLAIN message")
    tap.is_(run(c, "p7 AUTHENTICATE PLAIN " + b64("bob\0alice\0secret"))[1],
            FAILED, "authzid other than the user")
    tap.unlike(srv.log(), r"login: user=<bob>", "never logged in as bob")
    c.close()
    srv.wait_idle()

with tap.section("AUTHENTICATE LOGIN"):
    c = conn()
    c.send("m1 AUTHENTICATE LOGIN\r\n")
    tap.is_(c.readline(), "+ VXNlcm5hbWU6", "username prompt")
    c.send(b64("alice") + "\r\n")
    tap.is_(c.readline(), "+ UGFzc3dvcmQ6", "password prompt")
    c.send(b64("secret") + "\r\n")
    tap.like(logged_in(c, "m1"), r"^OK \[CAPABILITY ", "logged in")
    c.close()
    tap.ok(env.wait_log(r"login: user=<alice> .*mech=LOGIN tls=no$",
                        srv.log_offset), "log: mech=LOGIN")

    c = conn()
    c.send("m2 AUTHENTICATE LOGIN " + b64("alice") + "\r\n")
    tap.is_(c.readline(), "+ UGFzc3dvcmQ6",
            "initial response is the user name: password prompt next")
    c.send(b64("secret") + "\r\n")
    tap.like(logged_in(c, "m2"), r"^OK \[CAPABILITY ", "logged in")
    c.close()

with tap.section("cancel, bad base64, unknown mechanisms"):
    # a cancelled or failed SASL exchange is a BAD: it counts too
    h = Hostile()
    c = h.bad()
    c.send("c1 AUTHENTICATE PLAIN\r\n")
    c.readline()
    c.send("*\r\n")
    tap.like(reply(c, "c1")[1], r"^BAD ", "'*' cancels: BAD (RFC 3501 6.2.2)")
    c = h.bad()
    c.send("c2 AUTHENTICATE LOGIN\r\n")
    c.readline()
    c.send("*\r\n")
    tap.like(reply(c, "c2")[1], r"^BAD ", "'*' at the username prompt")
    c = h.bad()
    c.send("c3 AUTHENTICATE LOGIN\r\n")
    c.readline()
    c.send(b64("alice") + "\r\n")
    c.readline()
    c.send("*\r\n")
    tap.like(reply(c, "c3")[1], r"^BAD ", "'*' at the password prompt")
    c = h.bad()
    c.send("c4 AUTHENTICATE PLAIN\r\n")
    c.readline()
    c.send("!!!!\r\n")
    tap.like(reply(c, "c4")[1], r"^BAD ",
             "bad base64 in a response: BAD (CVE-2025-59028 class)")
    tap.like(h.run("c5 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA")[1], r"^BAD ",
             "initial response without padding: BAD")
    tap.is_(run(h.c, "c6 NOOP")[1], "OK NOOP completed.", "still served")
    h.close()

    h = Hostile()
    tap.like(run(h.c, "u1 AUTHENTICATE CRAM-MD5")[1], r"^NO ",
             "unsupported mechanism: NO")
    tap.like(h.run("u2 AUTHENTICATE")[1], r"^BAD ", "no mechanism: BAD")
    tap.like(h.run('u3 AUTHENTICATE "PLAIN"')[1], r"^BAD ",
             "mechanism as a quoted string: BAD (auth-type is an atom)")
    tap.like(h.run("u4 AUTHENTICATE PLAIN a b")[1], r"^BAD ",
             "two initial responses: BAD")
    c = h.c
    c.send("u5 AUTHENTICATE PLAIN " + b64("\0alice\0secret") + "\r\n")
    tap.like(logged_in(c, "u5"), r"^OK \[CAPABILITY ",
             "a later AUTHENTICATE on the same connection works")
    h.close()

with tap.section("auth_mechanisms = plain"):
    ps = env.start("imapd", conf={"auth_mechanisms": "plain"})
    c = ps.connect()
    tap.like(c.readline(), r"AUTH=PLAIN\] postern ready\.$",
             "only AUTH=PLAIN announced")
    tap.like(run(c, "x1 AUTHENTICATE LOGIN")[1], r"^NO ",
             "AUTHENTICATE LOGIN: NO")
    c.close()
    ps.stop()

with tap.section("the bad-command limit (SECURITY.md G6: 3 before login)"):
    c = conn()
    for i in range(2):
        c.send("z%d BOGUS\r\n" % i)
    c.send("zz NOOP\r\n")
    u, t = reply(c, "zz")
    tap.is_(t, "OK NOOP completed.", "two BADs: still served")
    c.send("zlast BOGUS\r\n")
    tap.like(c.readline(), r"^zlast BAD ", "the third BAD")
    tap.is_(c.readline(), "* BYE Too many invalid commands.",
            "then BYE (IMAP_LOGIN_BAD_MAX = 3)")
    tap.ok(c.closed_within(env.timeout), "and the connection is closed")
    c.close()

with tap.section("NUL, overlong lines, big literals"):
    c = conn()
    c.send(b"n1 NOOP\0\r\n")
    tap.like(c.readline(), r"^(n1|\*) BAD ", "NUL in a line: BAD")
    c.send(b'n2 LOGIN "al\0ice" secret\r\n')
    tap.like(c.readline(), r"^(n2|\*) BAD ",
             "NUL in a quoted string: BAD (CVE-2019-11500)")
    c.close()
    c = conn()
    c.send(b"n3 NOOP " + b"x" * 20000 + b"\r\n")
    line = c.readline()
    tap.like(line, r"^(\*|n3) BAD ", "a 20000-byte line: BAD")
    tap.is_(run(c, "n4 NOOP")[1], "OK NOOP completed.", "still served")
    c.close()
    # G6: the pre-auth budget is 8192 bytes of line and literals
    for size, ok in ((8100, True), (8192, False), (100000, False)):
        c = conn()
        c.send("n5 LOGIN alice {%d}\r\n" % size)
        line = c.readline()
        if ok:
            tap.is_(line, "+ OK", "a %d-byte literal before login: "
                    "continuation request" % size)
        else:
            tap.is_(line, "* BYE [TOOBIG] Command too long.",
                    "a %d-byte literal before login: BYE, no continuation "
                    "request" % size)
            tap.ok(c.closed_within(env.timeout), "and the connection is "
                   "closed")
        c.close()

with tap.section("ALPACA: an HTTP request as the first line"):
    for req in ["GET / HTTP/1.1", "POST /login HTTP/1.0"]:
        c = conn()
        c.send(req + "\r\nHost: <script>x</script>\r\n\r\n")
        data = c.read_until_eof()
        tap.is_(data, b"", "%r: closed without a byte" % req)
        c.close()
    c = conn()
    c.send("h1 NOOP\r\nGET / HTTP/1.1\r\n")
    tap.is_(reply(c, "h1")[1], "OK NOOP completed.", "not the first line:")
    tap.like(c.readline(), r"^GET BAD |^\* BAD ", "an ordinary bad command")
    c.close()

with tap.section("idle timeout"):
    ts = env.start("imapd", conf={"login_timeout": "2"})
    c = conn(ts)
    t0 = time.monotonic()
    tap.is_(c.readline(timeout=env.timeout),
            "* BYE Disconnected for inactivity.", "BYE after login_timeout")
    tap.cmp_ok(time.monotonic() - t0, ">=", 1.5, "not before it")
    tap.ok(c.closed_within(env.timeout), "then closed")
    c.close()
    c = conn(ts)
    c.send("w1 AUTHENTICATE PLAIN\r\n")
    c.readline()
    tap.is_(c.readline(timeout=env.timeout),
            "* BYE Disconnected for inactivity.",
            "also while waiting for a SASL response")
    c.close()
    ts.stop()

with tap.section("imaplib"):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    tap.ok("AUTH=PLAIN" in m.capabilities and "STARTTLS" in m.capabilities,
           "imaplib reads the greeting's capabilities", repr(m.capabilities))
    typ, data = m.login("alice", "secret")
    tap.is_(typ, "OK", "imaplib login()")
    tap.is_(m.state, "AUTH", "imaplib is in the authenticated state")
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    typ, data = m.authenticate("PLAIN", lambda _: b"\0alice\0secret")
    tap.is_(typ, "OK", "imaplib authenticate('PLAIN')")
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    try:
        m.login("alice", "wrong")
        tap.ok(False, "imaplib login() with a wrong password fails")
    except imaplib.IMAP4.error as e:
        tap.like(str(e), r"AUTHENTICATIONFAILED",
                 "imaplib login() with a wrong password fails")
    m.logout()

env.finish()
