#!/usr/bin/env python3
# pop3d: the greeting and CAPA (RFC 2449) before TLS, inside TLS (STLS)
# and after login; which capabilities depend on ssl, auth_mechanisms and
# the connection's security (RFC 2595 section 4; RFC 5034 section 3).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

ALLOWED = {"CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
           "USER", "SASL PLAIN LOGIN", "SASL PLAIN", "SASL LOGIN", "STLS",
           "IMPLEMENTATION postern"}
ALWAYS = {"TOP", "UIDL", "RESP-CODES", "IMPLEMENTATION postern"}
# RFC 3206: AUTH-RESP-CODE describes replies to USER/PASS/AUTH, so it is
# required before login and optional after it.
PREAUTH = ALWAYS | {"AUTH-RESP-CODE"}

env = harness.setup()


def capa(c, what, preauth=True):
    r = c.cmd("CAPA")
    tap.is_(r, "+OK Capability list follows", "%s: CAPA reply" % what)
    lines = c.read_multi()
    tap.ok(set(lines) <= ALLOWED, "%s: only known capabilities" % what,
           "unexpected: %r" % sorted(set(lines) - ALLOWED))
    tap.is_(len(lines), len(set(lines)), "%s: no capability twice" % what)
    missing = (PREAUTH if preauth else ALWAYS) - set(lines)
    tap.ok(not missing, "%s: TOP UIDL RESP-CODES %sIMPLEMENTATION"
           % (what, "AUTH-RESP-CODE " if preauth else ""),
           "missing: %r; got %r" % (sorted(missing), lines))
    return set(lines)


with tap.section("default config (ssl = yes) on loopback"):
    srv = env.start()
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting")
    caps = capa(c, "pre-auth")
    tap.ok("STLS" in caps, "STLS offered (ssl = yes, TLS not active)")
    tap.ok("USER" in caps, "USER offered (loopback counts as secure)")
    tap.ok("SASL PLAIN LOGIN" in caps, "SASL PLAIN LOGIN offered")
    tap.is_(c.cmd("STLS"), "+OK Begin TLS negotiation now.", "STLS accepted")
    c.starttls()
    caps = capa(c, "in TLS")
    tap.ok("STLS" not in caps, "no STLS once TLS is active")
    tap.ok("USER" in caps and "SASL PLAIN LOGIN" in caps,
           "USER and SASL offered in TLS")
    tap.is_(c.login(), "+OK Logged in.", "login in TLS")
    caps = capa(c, "after login", False)
    tap.ok(not caps & {"USER", "STLS", "SASL PLAIN LOGIN", "SASL PLAIN",
                       "SASL LOGIN"},
           "no USER, SASL or STLS after login", repr(caps))
    c.cmd("QUIT")
    c.close()

with tap.section("CAPA after login without TLS"):
    c = srv.session()
    caps = capa(c, "after plaintext login", False)
    tap.ok(not caps & {"USER", "STLS", "SASL PLAIN LOGIN", "SASL PLAIN",
                       "SASL LOGIN"},
           "no USER, SASL or STLS after plaintext login", repr(caps))
    c.cmd("QUIT")
    c.close()
    srv.stop()

with tap.section("ssl = no"):
    srv = env.start(conf={"ssl": "no"})
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting (ssl = no)")
    caps = capa(c, "ssl = no")
    tap.ok("STLS" not in caps, "no STLS when ssl = no")
    tap.ok("USER" in caps and "SASL PLAIN LOGIN" in caps,
           "USER and SASL offered on loopback with ssl = no")
    r = c.cmd("STLS")
    tap.like(r, r"^-ERR", "STLS refused when ssl = no")
    c.close()
    srv.stop()

with tap.section("ssl = required"):
    srv = env.start(conf={"ssl": "required"})
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting (ssl = required)")
    caps = capa(c, "ssl = required, before TLS")
    tap.ok("STLS" in caps, "STLS offered")
    tap.ok("USER" not in caps, "no USER before TLS with ssl = required")
    tap.ok(not caps & {"SASL PLAIN LOGIN", "SASL PLAIN", "SASL LOGIN"},
           "no SASL before TLS with ssl = required")
    tap.is_(c.cmd("STLS"), "+OK Begin TLS negotiation now.", "STLS")
    c.starttls()
    caps = capa(c, "ssl = required, in TLS")
    tap.ok("USER" in caps and "SASL PLAIN LOGIN" in caps and "STLS" not in caps,
           "USER and SASL in TLS, no STLS", repr(caps))
    c.close()
    srv.stop()

with tap.section("auth_mechanisms and login_greeting"):
    srv = env.start(conf={"auth_mechanisms": "plain",
                          "login_greeting": "Mail service at your door."})
    c = srv.connect()
    tap.is_(c.readline(), "+OK Mail service at your door.",
            "login_greeting is the greeting text")
    caps = capa(c, "auth_mechanisms = plain")
    tap.ok("SASL PLAIN" in caps and "SASL PLAIN LOGIN" not in caps,
           "only SASL PLAIN offered", repr(caps))
    r = c.cmd("AUTH LOGIN")
    tap.like(r, r"^-ERR", "AUTH LOGIN refused when not configured")
    c.close()
    srv.stop()

with tap.section("implicit TLS (--tls)"):
    srv = env.start(tls=True)
    c = srv.connect()
    tap.ok(c.tls, "handshake before anything else")
    tap.is_(c.readline(), "+OK postern ready.", "greeting inside TLS")
    caps = capa(c, "implicit TLS")
    tap.ok("STLS" not in caps, "no STLS on implicit TLS")
    tap.ok("USER" in caps and "SASL PLAIN LOGIN" in caps, "USER and SASL offered")
    c.close()
    srv.stop()

env.finish()
