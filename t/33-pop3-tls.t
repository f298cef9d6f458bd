#!/usr/bin/env python3
# pop3d: STLS (RFC 2595), plaintext pipelined after STLS (CVE-2011-0411
# class, CVE-2021-38084: SECURITY.md 3.4, G11), implicit TLS (--tls, RFC
# 8314), ALPN (ALPACA, RFC 7301 section 3.2: SECURITY.md G10) and the
# handshake timeout (CVE-2014-3430).
import os
import ssl
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

BEGIN = "+OK Begin TLS negotiation now."

env = harness.setup()
env.deliver("alice", "Subject: t\n\nbody\n")
srv = env.start(conf={"ssl_handshake_timeout": "2"})


def conn(s=srv):
    c = s.connect()
    g = c.readline()
    assert g == "+OK postern ready.", g
    return c


def no_data(c, secs):
    """True if the server sends nothing (and keeps the line open) for secs."""
    try:
        line = c.readline(secs)
    except harness.Timeout:
        return True
    tap.diag("unexpected data: %r" % (line,))
    return False


with tap.section("STLS"):
    c = conn()
    tap.is_(c.cmd("STLS"), BEGIN, "STLS -> +OK Begin TLS negotiation now.")
    c.starttls()
    tap.ok(c.sock.version() in ("TLSv1.2", "TLSv1.3"),
           "TLS 1.2 or newer (%s)" % c.sock.version())
    tap.ok(no_data(c, 0.5), "no greeting or other data after the handshake")
    tap.like(c.cmd("STLS"), r"^-ERR", "a second STLS inside TLS -> -ERR")
    tap.like(c.cmd("CAPA"), r"^\+OK", "connection fine after the refused STLS")
    c.read_multi()
    tap.is_(c.login(), "+OK Logged in.", "login inside STLS")
    tap.like(c.cmd("STAT"), r"^\+OK 1 \d+$", "STAT inside STLS")
    tap.like(c.cmd("STLS"), r"^-ERR", "STLS after login -> -ERR")
    c.cmd("QUIT")
    c.close()
    tap.like(srv.log(), r"login: user=<alice> rip=127\.0\.0\.1 lip=127\.0\.0\.1 "
             r"mech=USER tls=yes$", "log: tls=yes after STLS")
    srv.wait_idle()

with tap.section("STLS\\r\\nCAPA\\r\\n in one segment (command injection)"):
    off = env.log_size()
    c = conn()
    c.send(b"STLS\r\nCAPA\r\n")
    tap.is_(c.readline(), BEGIN, "STLS answered")
    # nothing in plaintext for the pipelined CAPA
    tap.is_(c.buf, b"", "no plaintext bytes after the STLS reply")
    time.sleep(0.5)
    plain = b""
    if harness.select_readable(c.sock, 0):
        try:
            c.sock.setblocking(False)
            plain = c.sock.recv(65536)
        except (BlockingIOError, OSError):
            plain = b""
        finally:
            c.sock.setblocking(True)
    tap.ok(b"+OK" not in plain and b"-ERR" not in plain and b"TOP" not in plain,
           "the pipelined CAPA was not answered in plaintext", repr(plain))
    # SECURITY.md G11 (and io.h): pipelined bytes cause a close with no
    # handshake and no execution.  (Dovecot fails closed the same way.)
    handshake_ok = False
    try:
        c.starttls()
        handshake_ok = True
    except (ssl.SSLError, OSError) as e:
        tap.diag("handshake refused as G11 requires: %r" % e)
    tap.ok(not handshake_ok, "no TLS session is set up after a pipelined "
           "STLS\\r\\nCAPA\\r\\n (G11: close, no execution)")
    if handshake_ok:
        # not G11, but at least the injected CAPA must not have run
        tap.ok(no_data(c, 1.0), "nothing arrives inside TLS before the "
               "client's own command (the injected CAPA never ran)")
    c.close()
    tap.ok(env.wait_log(r"discarded", off, 5), "the log mentions the "
           "discarded bytes", env.read_log(off)[-1500:])
    srv.wait_idle()

with tap.section("PIPELINING inside TLS, across login"):
    c = conn()
    c.cmd("STLS")
    c.starttls()
    c.send(b"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\n"
           b"NOOP\r\nQUIT\r\n")
    tap.is_(c.readline(), "+OK Capability list follows", "CAPA")
    c.read_multi()
    tap.like(c.readline(), r"^\+OK", "USER")
    tap.is_(c.readline(), "+OK Logged in.", "PASS")
    tap.like(c.readline(), r"^\+OK 1 \d+$", "STAT (buffered in TLS, relayed)")
    tap.like(c.readline(), r"^\+OK 1 \d+$", "LIST 1")
    tap.like(c.readline(), r"^\+OK", "NOOP")
    tap.like(c.readline(), r"^\+OK Logging out", "QUIT")
    c.close()
    srv.wait_idle()

with tap.section("a USER given before STLS is forgotten inside TLS"):
    c = conn()
    tap.like(c.cmd("USER alice"), r"^\+OK", "USER before STLS")
    tap.is_(c.cmd("STLS"), BEGIN, "STLS")
    c.starttls()
    r = c.cmd("PASS secret")
    tap.like(r, r"^-ERR", "PASS inside TLS does not use the plaintext USER",
             )
    c.close()
    srv.wait_idle()

with tap.section("handshake timeout"):
    c = conn()
    tap.is_(c.cmd("STLS"), BEGIN, "STLS")
    t0 = time.monotonic()
    closed = c.closed_within(2 + 5)
    dt = time.monotonic() - t0
    tap.ok(closed, "a client that never starts the handshake is dropped "
           "(ssl_handshake_timeout = 2)")
    tap.cmp_ok(dt, ">=", 1.5, "not before the timeout (%.1fs)" % dt)
    c.close()
    c = conn()
    c.cmd("STLS")
    c.send(b"\x16\x03\x01\x00\xff\x01\x00")   # half a ClientHello
    tap.ok(c.closed_within(2 + 5), "half a ClientHello is dropped too")
    c.close()

with tap.section("garbage instead of a ClientHello"):
    c = conn()
    c.cmd("STLS")
    c.send(b"CAPA\r\nUSER alice\r\n")
    data = b""
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        closed = False
    tap.ok(closed, "server closes on a non-TLS reply to STLS")
    tap.ok(b"+OK" not in data and b"Capability" not in data,
           "and answers none of it", repr(data[:200]))
    c.close()

srv.stop()

with tap.section("implicit TLS (--tls)"):
    ts = env.start(tls=True, conf={"ssl_handshake_timeout": "2"})
    c = ts.connect()
    tap.ok(c.tls, "TLS handshake before the greeting")
    tap.is_(c.readline(), "+OK postern ready.", "greeting inside TLS")
    tap.like(c.cmd("STLS"), r"^-ERR", "STLS on implicit TLS -> -ERR")
    tap.is_(c.login(), "+OK Logged in.", "login")
    c.cmd("QUIT")
    c.close()
    tap.like(ts.log(), r"login: user=<alice> .*mech=USER tls=yes$",
             "log: tls=yes on implicit TLS")

with tap.section("implicit TLS: plaintext client gets no greeting"):
    c = ts.connect(tls=False)
    try:
        data = c.read_until_eof(2 + 5)
        tap.ok(b"+OK" not in data, "no plaintext greeting on --tls", repr(data))
    except harness.Timeout:
        tap.ok(False, "no plaintext greeting on --tls", "server kept the "
               "connection open past ssl_handshake_timeout")
    c.close()

with tap.section("ALPN"):
    for alpn, want in ((["pop3"], "pop3"), (None, None),
                       (["http/1.1", "pop3"], "pop3")):
        c = ts.connect(alpn=alpn)
        tap.is_(c.sock.selected_alpn_protocol(), want,
                "ALPN offer %r -> selected %r" % (alpn, want))
        tap.is_(c.readline(), "+OK postern ready.", "and served")
        c.close()
    for alpn in (["http/1.1"], ["h2", "http/1.1"], ["imap"]):
        err = None
        try:
            c = ts.connect(alpn=alpn)
            c.readline()
            c.close()
        except ssl.SSLError as e:
            err = str(e)
        except OSError as e:
            err = "OSError: %r" % e
        tap.ok(err is not None and ("NO_APPLICATION_PROTOCOL" in err or
                                    "no application protocol" in err),
               "ALPN offer %r -> alert no_application_protocol" % (alpn,),
               "got: %r" % err)
    ts.stop()

with tap.section("ALPN on STLS"):
    s2 = env.start()
    c = s2.connect()
    c.readline()
    c.cmd("STLS")
    err = None
    try:
        c.starttls(alpn=["http/1.1"])
    except ssl.SSLError as e:
        err = str(e)
    tap.ok(err is not None and ("NO_APPLICATION_PROTOCOL" in err or
                                "no application protocol" in err),
           "STLS with ALPN http/1.1 -> no_application_protocol", repr(err))
    c.close()
    c = s2.connect()
    c.readline()
    c.cmd("STLS")
    c.starttls(alpn=["pop3"])
    tap.is_(c.sock.selected_alpn_protocol(), "pop3", "STLS with ALPN pop3")
    tap.like(c.cmd("CAPA"), r"^\+OK", "served")
    c.close()
    s2.stop()

env.finish()
