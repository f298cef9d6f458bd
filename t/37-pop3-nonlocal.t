#!/usr/bin/env python3
# pop3d with a client that is not on a loopback address (DESIGN.md
# Configuration, RFC 2595 section 2.3, SECURITY.md G11): with
# disable_plaintext_auth = yes (the default) USER, PASS and AUTH are
# refused and not advertised before TLS; after STLS they work.  The test
# runs in a private network namespace where 192.0.2.1 sits on lo, so no
# packet leaves the machine.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

harness.enter_private_netns()
IP = harness.NONLOCAL
REFUSED = ("-ERR [AUTH] Plaintext authentication disallowed on non-secure "
           "(SSL/TLS) connections.")

env = harness.setup()
env.deliver("alice", "Subject: remote\n\nhello\n")


def capa(c):
    r = c.cmd("CAPA")
    assert r == "+OK Capability list follows", r
    return set(c.read_multi())


with tap.section("default: disable_plaintext_auth = yes, ssl = yes"):
    srv = env.start(host=IP)
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting to %s" % IP)
    caps = capa(c)
    tap.ok("STLS" in caps, "STLS offered", repr(caps))
    tap.ok("USER" not in caps, "USER not offered before TLS", repr(caps))
    tap.ok(not any(x.startswith("SASL") for x in caps),
           "SASL not offered before TLS", repr(caps))
    tap.is_(c.cmd("USER alice"), REFUSED, "USER refused before TLS")
    r = c.cmd("PASS secret")
    tap.like(r, r"^-ERR", "PASS refused before TLS")
    c.close()
    c = srv.connect()
    c.readline()
    tap.is_(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), REFUSED,
            "AUTH PLAIN refused before TLS")
    c.close()
    c = srv.connect()
    c.readline()
    tap.is_(c.cmd("AUTH LOGIN"), REFUSED, "AUTH LOGIN refused before TLS")
    c.close()
    tap.unlike(srv.log(), r"login: user=<alice>", "no login happened")

    c = srv.connect()
    c.readline()
    tap.is_(c.cmd("STLS"), "+OK Begin TLS negotiation now.", "STLS")
    c.starttls()
    caps = capa(c)
    tap.ok("USER" in caps and "SASL PLAIN LOGIN" in caps,
           "USER and SASL offered inside TLS", repr(caps))
    tap.is_(c.login(), "+OK Logged in.", "USER/PASS inside TLS")
    tap.like(c.cmd("STAT"), r"^\+OK 1 \d+$", "STAT")
    c.cmd("QUIT")
    c.close()
    tap.like(srv.log(), r"login: user=<alice> rip=192\.0\.2\.1 lip=192\.0\.2\.1 "
             r"mech=USER tls=yes$", "log: rip/lip 192.0.2.1, tls=yes")
    srv.wait_idle()

    c = srv.connect()
    c.readline()
    c.cmd("STLS")
    c.starttls()
    tap.is_(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), "+OK Logged in.",
            "AUTH PLAIN inside TLS")
    c.cmd("QUIT")
    c.close()
    srv.stop()

with tap.section("implicit TLS from a remote address"):
    ts = env.start(host=IP, tls=True)
    c = ts.connect()
    c.readline()
    caps = capa(c)
    tap.ok("USER" in caps and "STLS" not in caps, "USER offered on --tls",
           repr(caps))
    tap.is_(c.login(), "+OK Logged in.", "login on implicit TLS")
    c.cmd("QUIT")
    c.close()
    ts.stop()

with tap.section("disable_plaintext_auth = no"):
    srv = env.start(host=IP, conf={"disable_plaintext_auth": "no"})
    c = srv.connect()
    c.readline()
    caps = capa(c)
    tap.ok("USER" in caps, "USER offered", repr(caps))
    tap.is_(c.login(), "+OK Logged in.", "cleartext login allowed")
    c.cmd("QUIT")
    c.close()
    tap.like(srv.log(), r"login: user=<alice> rip=192\.0\.2\.1 .*tls=no$",
             "log: tls=no")
    srv.stop()

with tap.section("ssl = no with disable_plaintext_auth = yes"):
    srv = env.start(host=IP, conf={"ssl": "no"})
    c = srv.connect()
    c.readline()
    caps = capa(c)
    tap.ok("STLS" not in caps and "USER" not in caps,
           "neither STLS nor USER offered: no way to log in", repr(caps))
    tap.is_(c.cmd("USER alice"), REFUSED, "USER refused")
    c.close()
    srv.stop()

with tap.section("loopback in the same namespace still counts as secure"):
    srv = env.start(host="127.0.0.1")
    c = srv.connect()
    c.readline()
    tap.is_(c.login(), "+OK Logged in.", "cleartext login from 127.0.0.1")
    c.cmd("QUIT")
    c.close()
    srv.stop()

env.finish()
