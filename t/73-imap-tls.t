#!/usr/bin/env python3
# imapd: STARTTLS (RFC 3501 6.2.1, RFC 2595) and the capabilities of each
# pre-auth state: plaintext, after STARTTLS (the client must ask again),
# implicit TLS (RFC 8314), ssl = required, ssl = no, and a client on a
# non-loopback address with disable_plaintext_auth (LOGINDISABLED, NO
# [PRIVACYREQUIRED]).  Commands pipelined after STARTTLS are never run
# (CVE-2011-0411 class, SECURITY.md G11).  The test runs in a private
# network namespace where 192.0.2.1 sits on lo, so no packet leaves the
# machine.
import imaplib
import os
import ssl
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

harness.enter_private_netns()
IP = harness.NONLOCAL

BASE = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE"
AUTH = "AUTH=PLAIN AUTH=LOGIN"
BEGIN = "OK Begin TLS negotiation now."
PRIVACY = ("NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
           "non-secure (SSL/TLS) connections.")


def greeting(caps):
    return "* OK [CAPABILITY %s] postern ready." % caps


env = harness.setup()
srv = env.start("imapd", conf={"ssl_handshake_timeout": "2"})


def reply(c, tag):
    lines = []
    while True:
        line = c.readline()
        if line is None:
            return lines, None
        if line.startswith(tag + " "):
            return lines, line[len(tag) + 1:]
        lines.append(line)


def run(c, line):
    c.send(line + "\r\n")
    return reply(c, line.split(" ", 1)[0])


def caps(c, tag="cap"):
    u, t = run(c, tag + " CAPABILITY")
    assert t is not None and t.startswith("OK "), (u, t)
    assert len(u) == 1 and u[0].startswith("* CAPABILITY "), u
    return u[0][len("* CAPABILITY "):]


def no_data(c, secs):
    try:
        line = c.readline(secs)
    except harness.Timeout:
        return True
    tap.diag("unexpected data: %r" % (line,))
    return False


def tls_context():
    """Our certificate, checked; it names localhost, not 127.0.0.1."""
    ctx = ssl.create_default_context(cafile=env.cert)
    ctx.check_hostname = False
    return ctx


def conn(s, want):
    c = s.connect()
    g = c.readline()
    assert g == greeting(want), g
    return c


with tap.section("STARTTLS on loopback"):
    c = srv.connect()
    tap.is_(c.readline(), greeting(BASE + " STARTTLS " + AUTH),
            "greeting: STARTTLS and AUTH= (loopback counts as secure)")
    tap.is_(run(c, "t1 STARTTLS x")[1][:3], "BAD", "STARTTLS with an argument")
    tap.is_(run(c, "t2 STARTTLS"), ([], BEGIN), "STARTTLS: OK, nothing else")
    c.starttls()
    tap.ok(c.sock.version() in ("TLSv1.2", "TLSv1.3"),
           "TLS 1.2 or newer (%s)" % c.sock.version())
    tap.ok(no_data(c, 0.5), "no unasked greeting or capabilities inside TLS")
    tap.is_(caps(c), BASE + " " + AUTH, "CAPABILITY inside TLS: no STARTTLS")
    tap.is_(run(c, "t3 STARTTLS")[1], "BAD TLS is already active.",
            "a second STARTTLS: BAD")
    c.send("t4 LOGIN alice secret\r\n")
    tap.like(reply(c, "t4")[1], r"^OK \[CAPABILITY IMAP4rev1 .*\] Logged in$",
             "LOGIN inside TLS")
    c.close()
    tap.ok(env.wait_log(r"login: user=<alice> rip=127\.0\.0\.1 .*mech=USER "
                        r"tls=yes$", srv.log_offset), "log: tls=yes")
    srv.wait_idle()

with tap.section("STARTTLS with a pipelined command (command injection)"):
    off = env.log_size()
    c = conn(srv, BASE + " STARTTLS " + AUTH)
    c.send(b"a STARTTLS\r\nINJTAG NOOP\r\n")
    tap.is_(c.readline(), "a " + BEGIN, "STARTTLS answered")
    tap.is_(c.buf, b"", "nothing in plaintext for the pipelined NOOP")
    handshake_ok = False
    try:
        c.starttls()
        handshake_ok = True
    except (ssl.SSLError, OSError) as e:
        tap.diag("handshake refused: %r" % e)
    tap.ok(not handshake_ok, "no TLS session after a pipelined command "
           "(G11: close, no execution)")
    if handshake_ok:
        tap.ok(no_data(c, 1.0), "the injected NOOP never ran")
    c.close()
    tap.ok(env.wait_log(r"STARTTLS: \d+ bytes pipelined", off, 5),
           "the log mentions the discarded bytes", env.read_log(off)[-1000:])
    srv.wait_idle()

with tap.section("handshake timeout after STARTTLS"):
    c = conn(srv, BASE + " STARTTLS " + AUTH)
    tap.is_(run(c, "h STARTTLS")[1], BEGIN, "STARTTLS")
    t0 = time.monotonic()
    tap.ok(c.closed_within(2 + 5), "a client that never starts the "
           "handshake is dropped (ssl_handshake_timeout = 2)")
    tap.cmp_ok(time.monotonic() - t0, ">=", 1.5, "not before the timeout")
    c.close()

with tap.section("imaplib starttls()"):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    typ, _ = m.starttls(ssl_context=tls_context())
    tap.is_(typ, "OK", "imaplib starttls()")
    tap.ok("STARTTLS" not in m.capabilities, "imaplib re-read capabilities "
           "without STARTTLS", repr(m.capabilities))
    tap.is_(m.login("alice", "secret")[0], "OK", "imaplib login() after it")
    m.logout()

with tap.section("implicit TLS (imaps)"):
    ts = env.start("imapd", tls=True)
    c = ts.connect()
    tap.is_(c.readline(), greeting(BASE + " " + AUTH),
            "greeting: no STARTTLS, AUTH= offered")
    tap.is_(run(c, "s1 STARTTLS")[1], "BAD TLS is already active.",
            "STARTTLS: BAD")
    c.send("s2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
    tap.like(reply(c, "s2")[1], r"^OK \[CAPABILITY ", "AUTHENTICATE PLAIN")
    c.close()
    m = imaplib.IMAP4_SSL("127.0.0.1", ts.port, ssl_context=tls_context())
    tap.is_(m.login("alice", "secret")[0], "OK", "imaplib IMAP4_SSL login()")
    m.logout()
    ts.stop()

with tap.section("ssl = no"):
    ns = env.start("imapd", conf={"ssl": "no"})
    c = conn(ns, BASE + " " + AUTH)
    tap.is_(run(c, "n1 STARTTLS")[1], "BAD TLS support isn't enabled.",
            "STARTTLS: BAD")
    tap.is_(caps(c), BASE + " " + AUTH, "CAPABILITY: no STARTTLS")
    c.close()
    ns.stop()

with tap.section("ssl = required, even on loopback"):
    rs = env.start("imapd", conf={"ssl": "required"})
    c = rs.connect()
    tap.is_(c.readline(), greeting(BASE + " STARTTLS LOGINDISABLED"),
            "greeting: STARTTLS LOGINDISABLED, no AUTH=")
    tap.is_(run(c, "r1 LOGIN alice secret")[1], PRIVACY,
            "LOGIN: NO [PRIVACYREQUIRED]")
    tap.is_(run(c, "r2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")[1], PRIVACY,
            "AUTHENTICATE PLAIN: NO [PRIVACYREQUIRED]")
    c.send("r3 AUTHENTICATE LOGIN\r\n")
    tap.is_(c.readline(), "r3 " + PRIVACY,
            "AUTHENTICATE LOGIN: refused before any continuation")
    tap.is_(run(c, "r4 STARTTLS")[1], BEGIN, "STARTTLS")
    c.starttls()
    tap.is_(caps(c), BASE + " " + AUTH, "inside TLS: AUTH=, no LOGINDISABLED")
    c.send("r5 LOGIN alice secret\r\n")
    tap.like(reply(c, "r5")[1], r"^OK \[CAPABILITY ", "LOGIN inside TLS")
    c.close()
    tap.unlike(rs.log(), r"login: user=<alice> .*tls=no",
               "no login without TLS")
    rs.stop()

with tap.section("a client on a non-loopback address"):
    rsrv = env.start("imapd", host=IP)
    c = rsrv.connect()
    tap.is_(c.readline(), greeting(BASE + " STARTTLS LOGINDISABLED"),
            "greeting to %s: LOGINDISABLED (disable_plaintext_auth)" % IP)
    tap.is_(run(c, "x1 LOGIN alice secret")[1], PRIVACY, "LOGIN refused")
    tap.is_(run(c, "x2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")[1], PRIVACY,
            "AUTHENTICATE refused")
    tap.is_(run(c, "x3 STARTTLS")[1], BEGIN, "STARTTLS")
    c.starttls()
    tap.is_(caps(c), BASE + " " + AUTH, "inside TLS: AUTH=PLAIN AUTH=LOGIN")
    c.send("x4 LOGIN alice secret\r\n")
    tap.like(reply(c, "x4")[1], r"^OK \[CAPABILITY ", "LOGIN inside TLS")
    c.close()
    tap.ok(env.wait_log(r"login: user=<alice> rip=192\.0\.2\.1 "
                        r"lip=192\.0\.2\.1 mech=USER tls=yes$",
                        rsrv.log_offset), "log: rip=192.0.2.1 tls=yes")
    tap.unlike(rsrv.log(), r"login: user=<alice> .*tls=no",
               "no login without TLS")
    rsrv.stop()

    psrv = env.start("imapd", host=IP, conf={"disable_plaintext_auth": "no"})
    c = psrv.connect()
    tap.is_(c.readline(), greeting(BASE + " STARTTLS " + AUTH),
            "disable_plaintext_auth = no: AUTH= offered")
    c.send("y1 LOGIN alice secret\r\n")
    tap.like(reply(c, "y1")[1], r"^OK \[CAPABILITY ", "cleartext LOGIN")
    c.close()
    psrv.stop()

env.finish()
