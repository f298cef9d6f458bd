#!/usr/bin/env python3
# pop3d: AUTH (RFC 5034) with PLAIN (RFC 4616) and LOGIN: initial
# response, continuation, cancel, bad base64 (CVE-2025-59028 class: an
# auth failure, never a crash), authzid, malformed PLAIN messages, and
# the log's mech= field.
import base64
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402


def b64(s):
    return base64.b64encode(s.encode("latin-1")).decode()


env = harness.setup()
srv = env.start()


def conn():
    c = srv.connect()
    g = c.readline()
    assert g == "+OK postern ready.", g
    return c


with tap.section("AUTH PLAIN with initial response"):
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0secret")), "+OK Logged in.",
            "AUTH PLAIN <ir> logs in")
    tap.like(c.cmd("STAT"), r"^\+OK \d+ \d+$", "STAT after AUTH PLAIN")
    c.cmd("QUIT")
    c.close()
    tap.like(srv.log(), r"login: user=<alice> rip=127\.0\.0\.1 lip=127\.0\.0\.1 "
             r"mech=PLAIN tls=no$", "log: mech=PLAIN")
    srv.wait_idle()

with tap.section("AUTH PLAIN with continuation"):
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN"), "+ ", "AUTH PLAIN -> '+ '")
    tap.is_(c.cmd(b64("\0alice\0secret")), "+OK Logged in.",
            "credentials in the continuation")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("AUTH PLAIN with authzid = user"):
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN " + b64("alice\0alice\0secret")), "+OK Logged in.",
            "authzid equal to the user is fine")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("AUTH PLAIN: mechanism name is case-insensitive"):
    c = conn()
    tap.is_(c.cmd("auth plain " + b64("\0alice\0secret")), "+OK Logged in.",
            "auth plain (lowercase)")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("AUTH LOGIN"):
    c = conn()
    tap.is_(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6", "username prompt")
    tap.is_(c.cmd(b64("alice")), "+ UGFzc3dvcmQ6", "password prompt")
    tap.is_(c.cmd(b64("secret")), "+OK Logged in.", "AUTH LOGIN logs in")
    c.cmd("QUIT")
    c.close()
    tap.like(srv.log(), r"login: user=<alice> .*mech=LOGIN tls=no$",
             "log: mech=LOGIN")
    srv.wait_idle()

with tap.section("cancel with *"):
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN"), "+ ", "continuation")
    tap.like(c.cmd("*"), r"^-ERR", "'*' cancels AUTH PLAIN with -ERR")
    tap.like(c.cmd("CAPA"), r"^\+OK", "connection still served after a cancel")
    c.close()
    c = conn()
    c.cmd("AUTH LOGIN")
    tap.like(c.cmd("*"), r"^-ERR", "'*' at the LOGIN username prompt")
    tap.like(c.cmd("CAPA"), r"^\+OK", "still served")
    c.close()
    c = conn()
    c.cmd("AUTH LOGIN")
    c.cmd(b64("alice"))
    tap.like(c.cmd("*"), r"^-ERR", "'*' at the LOGIN password prompt")
    tap.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0secret")), "+OK Logged in.",
            "a later AUTH on the same connection works")
    c.close()
    srv.wait_idle()

with tap.section("wrong password"):
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0nope")),
            "-ERR [AUTH] Authentication failed.", "wrong password")
    tap.like(srv.log(), r"login failed: user=<alice> .*mech=PLAIN tls=no "
             r"reason=password$", "log: failed, mech=PLAIN")
    c.close()

with tap.section("authzid other than the user"):
    c = conn()
    r = c.cmd("AUTH PLAIN " + b64("bob\0alice\0secret"))
    tap.like(r, r"^-ERR", "authzid bob for user alice is refused")
    tap.unlike(srv.log(), r"login: user=<bob>", "never logged in as bob")
    tap.like(srv.log(), r"login failed: user=<alice> .*reason=\S+$",
             "refusal logged")
    c.close()

with tap.section("bad base64 and malformed PLAIN are auth failures"):
    bad = [
        ("!!!!", "invalid base64"),
        ("AGFsaWNlAHNlY3JldA", "missing padding"),
        ("AGFsaWNl AHNlY3JldA==", "embedded space"),
        ("=", "only padding"),
        (b64("alice\0secret"), "one NUL"),
        (b64("\0\0secret"), "empty authcid"),
        (b64("\0alice\0"), "empty password"),
        (b64("\0alice\0sec\0ret"), "NUL in the password"),
        (b64("\0" + "a" * 256 + "\0pw"), "authcid of 256 bytes"),
        (b64("\0alice\0" + "p" * 1025), "password of 1025 bytes"),
    ]
    for payload, what in bad:
        c = conn()
        if len(payload) > 400:
            # too long for an initial response on the 510-byte command
            # line: send it as the continuation so the length limits of
            # the credentials themselves are what answers
            tap.is_(c.cmd("AUTH PLAIN"), "+ ", "%s: continuation" % what)
            r = c.cmd(payload)
            tap.unlike(r or "", r"Line too long", "%s: not a line-length "
                       "refusal" % what)
        else:
            r = c.cmd("AUTH PLAIN " + payload)
        tap.like(r, r"^-ERR", "AUTH PLAIN, %s -> -ERR" % what)
        # the login process survives: another command gets an answer
        r2 = c.cmd("CAPA")
        tap.ok(r2 is not None and r2.startswith("+OK"),
               "%s: connection still served" % what, repr(r2))
        c.close()
    c = conn()
    c.cmd("AUTH PLAIN")
    tap.like(c.cmd("!!!!"), r"^-ERR", "invalid base64 in the continuation -> -ERR")
    tap.like(c.cmd("CAPA"), r"^\+OK", "still served")
    c.close()
    c = conn()
    c.cmd("AUTH LOGIN")
    tap.like(c.cmd("@@@@"), r"^-ERR", "invalid base64 as the LOGIN user -> -ERR")
    c.close()
    c = conn()
    tap.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0secret")), "+OK Logged in.",
            "a new connection logs in fine after all that")
    c.close()

with tap.section("unknown mechanism"):
    c = conn()
    tap.like(c.cmd("AUTH CRAM-MD5"), r"^-ERR", "AUTH CRAM-MD5 -> -ERR")
    tap.like(c.cmd("AUTH X" + "Y" * 30), r"^-ERR", "AUTH XYYY... -> -ERR")
    c.close()

with tap.section("8-bit and control bytes in the user name"):
    c = conn()
    r = c.cmd("AUTH PLAIN " + b64("\0\xff\xfe\0secret"))
    tap.like(r, r"^-ERR", "invalid UTF-8 user -> -ERR (CVE-2019-10691 class)")
    c.close()
    c = conn()
    r = c.cmd("AUTH PLAIN " + b64("\0al\tice\0secret"))
    tap.like(r, r"^-ERR", "TAB in the user -> -ERR (CVE-2008-1218 class)")
    c.close()
    c = conn()
    r = c.cmd("AUTH PLAIN " + b64("\0alice\0\tmaster_user=root\tskip_password_check=1"))
    tap.like(r, r"^-ERR \[AUTH\]", "the CVE-2008-1218 password -> auth failure")
    c.close()
    c = conn()
    r = c.cmd("AUTH PLAIN " + b64("\0%s%n%s%n\0secret"))
    tap.like(r, r"^-ERR", "format specifiers in the user -> -ERR")
    c.close()
    tap.like(srv.log(), r"user=<%s%n%s%n>", "logged verbatim (not as a format)")

env.finish()
