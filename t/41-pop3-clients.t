#!/usr/bin/env python3
# pop3d with real clients: Python's poplib (STLS and implicit TLS) and
# curl (pop3s://, pop3:// with --ssl-reqd, listing and fetching).
import os
import poplib
import re
import ssl
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import crlf  # noqa: E402

env = harness.setup()
M1 = "From: a@example.com\nSubject: first\n\nHello Alice.\n.leading dot\n"
M2 = "From: b@example.com\nSubject: second\n\nSecond message.\n"
env.deliver("alice", M1)
import time  # noqa: E402
time.sleep(0.01)
env.deliver("alice", M2)
W1, W2 = crlf(M1), crlf(M2)

ctx = ssl.create_default_context(cafile=env.cert)


with tap.section("poplib with STLS"):
    srv = env.start()
    p = poplib.POP3("localhost", srv.port, timeout=env.timeout)
    tap.is_(p.getwelcome(), b"+OK postern ready.", "welcome")
    caps = p.capa()
    tap.ok("STLS" in caps and "UIDL" in caps and "TOP" in caps,
           "capa() parses", repr(caps))
    r = p.stls(context=ctx)
    tap.like(r.decode(), r"^\+OK", "stls() with certificate verification")
    tap.ok("STLS" not in p.capa(), "capa() after STLS has no STLS")
    p.user("alice")
    r = p.pass_("secret")
    tap.is_(r, b"+OK Logged in.", "user()/pass_()")
    tap.is_(p.stat(), (2, len(W1) + len(W2)), "stat()")
    resp, lines, octets = p.list()
    tap.is_(lines, [b"1 %d" % len(W1), b"2 %d" % len(W2)], "list()")
    resp, lines, octets = p.retr(1)
    tap.is_(b"\r\n".join(lines) + b"\r\n", W1, "retr(1) content (dot unstuffed)")
    tap.is_(resp, b"+OK %d octets" % len(W1), "retr(1) response")
    resp, lines, octets = p.top(2, 0)
    tap.is_(lines, [b"From: b@example.com", b"Subject: second", b""], "top(2, 0)")
    resp, lines, octets = p.uidl()
    tap.is_(len(lines), 2, "uidl()")
    u2 = p.uidl(2)
    tap.like(u2.decode(), r"^\+OK 2 [0-9A-F]{16}$", "uidl(2)")
    tap.like(p.noop().decode(), r"^\+OK", "noop()")
    tap.like(p.dele(1).decode(), r"^\+OK", "dele(1)")
    tap.like(p.rset().decode(), r"^\+OK", "rset()")
    tap.like(p.quit().decode(), r"^\+OK", "quit()")
    srv.wait_idle()

with tap.section("poplib.POP3_SSL with --tls"):
    ts = env.start(tls=True)
    p = poplib.POP3_SSL("localhost", ts.port, context=ctx, timeout=env.timeout)
    tap.is_(p.getwelcome(), b"+OK postern ready.", "welcome over TLS")
    p.user("alice")
    tap.is_(p.pass_("secret"), b"+OK Logged in.", "login")
    tap.is_(p.stat()[0], 2, "stat()")
    resp, lines, _ = p.retr(2)
    tap.is_(b"\r\n".join(lines) + b"\r\n", W2, "retr(2)")
    p.quit()
    ts.wait_idle()

with tap.section("poplib: wrong password raises error_proto"):
    p = poplib.POP3("localhost", srv.port, timeout=env.timeout)
    p.user("alice")
    try:
        p.pass_("wrong")
        tap.ok(False, "error_proto raised")
    except poplib.error_proto as e:
        tap.is_(e.args[0], b"-ERR [AUTH] Authentication failed.",
                "error_proto with the [AUTH] reply")
    p.close()


def curl(*args, timeout=None):
    cmd = ["curl", "-sS", "--max-time", str(int(timeout or env.timeout * 2)),
           "--cacert", env.cert] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


with tap.section("curl pop3s:// (implicit TLS)"):
    r = curl("--resolve", "localhost:%d:127.0.0.1" % ts.port,
             "pop3s://localhost:%d/1" % ts.port, "-u", "alice:secret")
    tap.is_(r.returncode, 0, "curl pop3s://.../1 exits 0", r.stderr.decode())
    tap.is_(r.stdout, W1, "curl fetched message 1 exactly")
    ts.wait_idle()
    r = curl("--resolve", "localhost:%d:127.0.0.1" % ts.port,
             "pop3s://localhost:%d/" % ts.port, "-u", "alice:secret")
    tap.is_(r.returncode, 0, "curl pop3s://.../ exits 0", r.stderr.decode())
    tap.is_(r.stdout.decode().splitlines(),
            ["1 %d" % len(W1), "2 %d" % len(W2)], "no path lists messages")
    ts.wait_idle()
    r = curl("--resolve", "localhost:%d:127.0.0.1" % ts.port,
             "pop3s://localhost:%d/1" % ts.port, "-u", "alice:wrong")
    tap.isnt(r.returncode, 0, "curl with a wrong password fails")
    ts.wait_idle()
    tap.like(ts.log(), r"login: user=<alice> .*mech=(PLAIN|LOGIN|USER) tls=yes$",
             "curl's logins are logged with tls=yes")

with tap.section("curl pop3:// --ssl-reqd (STLS)"):
    r = curl("--ssl-reqd", "--resolve", "localhost:%d:127.0.0.1" % srv.port,
             "pop3://localhost:%d/2" % srv.port, "-u", "alice:secret")
    tap.is_(r.returncode, 0, "curl --ssl-reqd pop3://.../2 exits 0",
            r.stderr.decode())
    tap.is_(r.stdout, W2, "curl fetched message 2 over STLS")
    srv.wait_idle()
    r = curl("--ssl-reqd", "--connect-to", "localhost:%d:127.0.0.1:%d"
             % (srv.port, srv.port), "-l", "pop3://localhost:%d/" % srv.port,
             "-u", "alice:secret")
    tap.is_(r.returncode, 0, "curl -l --connect-to exits 0", r.stderr.decode())
    tap.ok(re.match(rb"^1 \d+\r?\n2 \d+\r?\n$", r.stdout),
           "listing over STLS", repr(r.stdout))
    srv.wait_idle()

with tap.section("curl: DELE through a custom request"):
    r = curl("--ssl-reqd", "--resolve", "localhost:%d:127.0.0.1" % srv.port,
             "-X", "DELE", "-I", "pop3://localhost:%d/1" % srv.port,
             "-u", "alice:secret")
    tap.is_(r.returncode, 0, "curl -X DELE 1 exits 0", r.stderr.decode())
    srv.wait_idle()
    tap.is_(len(env.maildir_files("alice")), 1, "curl's QUIT applied the DELE")
    p = poplib.POP3("localhost", srv.port, timeout=env.timeout)
    p.stls(context=ctx)
    p.user("alice")
    p.pass_("secret")
    resp, lines, _ = p.retr(1)
    tap.is_(b"\r\n".join(lines) + b"\r\n", W2, "message 2 is now message 1")
    p.quit()

env.finish()
