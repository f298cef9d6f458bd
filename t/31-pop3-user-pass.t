#!/usr/bin/env python3
# pop3d: USER/PASS (RFC 1939 section 7), the cleartext rules (ssl,
# disable_plaintext_auth), the failure delay and attempt limit (SECURITY.md
# G12), refused system accounts, temporary failures, [IN-USE] (RFC 2449
# RESP-CODES), and the fail2ban log lines.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

PLAINTEXT_REFUSED = ("-ERR [AUTH] Plaintext authentication disallowed on "
                     "non-secure (SSL/TLS) connections.")
AUTH_FAILED = "-ERR [AUTH] Authentication failed."
TS = r"^\S+ pop3d\[\d+\]: "

env = harness.setup()
env.deliver("alice", "Subject: hi\n\nhello\n")

with tap.section("successful USER/PASS"):
    srv = env.start()
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting")
    r = c.cmd("USER alice")
    tap.like(r, r"^\+OK", "USER alice -> +OK")
    t0 = time.monotonic()
    tap.is_(c.cmd("PASS secret"), "+OK Logged in.", "PASS secret -> +OK Logged in.")
    tap.like(c.cmd("STAT"), r"^\+OK 1 \d+$", "STAT works after login")
    tap.like(c.cmd("QUIT"), r"^\+OK", "QUIT")
    tap.ok(c.closed_within(env.timeout), "server closes after QUIT")
    tap.like(srv.log(), TS + r"login: user=<alice> rip=127\.0\.0\.1 "
             r"lip=127\.0\.0\.1 mech=USER tls=no$", "login line in the log")

with tap.section("success is not delayed"):
    srv2 = env.start(conf={"auth_failure_delay": "3"})
    c = srv2.connect()
    c.readline()
    c.cmd("USER alice")
    t0 = time.monotonic()
    r = c.cmd("PASS secret")
    dt = time.monotonic() - t0
    tap.is_(r, "+OK Logged in.", "login with auth_failure_delay = 3")
    tap.cmp_ok(dt, "<", 3.0, "a successful login does not wait the failure delay")
    c.close()
    srv2.stop()

with tap.section("PASS without USER"):
    c = srv.connect()
    c.readline()
    tap.is_(c.cmd("PASS secret"), "-ERR No username given.", "PASS first")
    tap.like(c.cmd("CAPA"), r"^\+OK", "connection still usable")
    c.read_multi()
    c.close()

with tap.section("wrong password: delay, reply, log"):
    srv3 = env.start(conf={"auth_failure_delay": "2"})
    c = srv3.connect()
    c.readline()
    c.cmd("USER alice")
    t0 = time.monotonic()
    r = c.cmd("PASS wrong")
    dt = time.monotonic() - t0
    tap.is_(r, AUTH_FAILED, "wrong password -> -ERR [AUTH] Authentication failed.")
    tap.cmp_ok(dt, ">=", 2.0, "the answer came after auth_failure_delay (2 s)")
    tap.cmp_ok(dt, "<", 6.0, "but not much later")
    tap.like(srv3.log(), TS + r"login failed: user=<alice> rip=127\.0\.0\.1 "
             r"lip=127\.0\.0\.1 mech=USER tls=no reason=password$",
             "login failed line in the log")
    # unknown user: same reply, same delay (no user enumeration)
    c.cmd("USER nosuchuser")
    t0 = time.monotonic()
    r = c.cmd("PASS wrong")
    dt = time.monotonic() - t0
    tap.is_(r, AUTH_FAILED, "unknown user -> the same reply")
    tap.cmp_ok(dt, ">=", 2.0, "unknown user waits the same delay")
    tap.like(srv3.log(), r"login failed: user=<nosuchuser> .* reason=\S+$",
             "unknown user logged as a failure")
    # after two failures the right password still works
    c.cmd("USER alice")
    tap.is_(c.cmd("PASS secret"), "+OK Logged in.",
            "third attempt with the right password succeeds")
    c.close()
    srv3.stop()

with tap.section("auth_max_attempts (default 3) then close"):
    c = srv.connect()
    c.readline()
    replies = []
    for i in range(3):
        c.cmd("USER alice")
        replies.append(c.cmd("PASS bad%d" % i))
    tap.is_(replies[:2], [AUTH_FAILED] * 2, "first two failures")
    tap.like(replies[2], r"^-ERR \[AUTH\]", "third failure is -ERR [AUTH]")
    tap.ok(c.closed_within(env.timeout), "then the server closes the connection")
    n = len(re.findall(r"login failed: user=<alice>", srv.log()))
    tap.cmp_ok(n, ">=", 3, "each failure logged")

with tap.section("auth_max_attempts = 1"):
    srv4 = env.start(conf={"auth_max_attempts": "1"})
    c = srv4.connect()
    c.readline()
    c.cmd("USER alice")
    tap.like(c.cmd("PASS bad"), r"^-ERR \[AUTH\]", "one failure")
    tap.ok(c.closed_within(env.timeout), "closes after auth_max_attempts = 1")
    srv4.stop()

with tap.section("system account below first_valid_uid"):
    c = srv.connect()
    c.readline()
    c.cmd("USER sysacct")
    tap.is_(c.cmd("PASS sys"), AUTH_FAILED,
            "uid 100 with the right password is refused like a wrong password")
    tap.like(srv.log(), r"login failed: user=<sysacct> .*reason=\S+$",
             "refusal logged")
    tap.unlike(srv.log(), r"login: user=<sysacct>", "never logged as a login")
    c.close()

with tap.section("root is refused"):
    c = srv.connect()
    c.readline()
    c.cmd("USER root")
    tap.like(c.cmd("PASS x"), r"^-ERR \[AUTH\]", "root refused")
    c.close()

with tap.section("ssl = required: cleartext refused even on loopback"):
    srv5 = env.start(conf={"ssl": "required"})
    c = srv5.connect()
    c.readline()
    tap.is_(c.cmd("USER alice"), PLAINTEXT_REFUSED, "USER before TLS")
    r = c.cmd("PASS secret")
    tap.like(r, r"^-ERR ", "PASS before TLS is refused")
    c.close()
    c = srv5.connect()
    c.readline()
    tap.is_(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), PLAINTEXT_REFUSED,
            "AUTH PLAIN before TLS")
    tap.is_(c.cmd("STLS"), "+OK Begin TLS negotiation now.", "STLS")
    c.starttls()
    tap.is_(c.login(), "+OK Logged in.", "USER/PASS inside TLS works")
    c.close()
    tap.like(srv5.log(), r"login: user=<alice> .*mech=USER tls=yes$",
             "log says tls=yes")
    srv5.stop()

with tap.section("disable_plaintext_auth = yes allows loopback"):
    srv6 = env.start(conf={"ssl": "yes", "disable_plaintext_auth": "yes"})
    c = srv6.connect()
    c.readline()
    tap.is_(c.login(), "+OK Logged in.", "cleartext USER/PASS on 127.0.0.1")
    c.close()
    srv6.stop()

with tap.section("temporary failure -> [SYS/TEMP]"):
    # a PAM service whose password database cannot be read
    env.write("pam.d/broken", "".join(
        "%s required %s passdb=%s\n" % (k, harness.PAM_MATRIX,
                                        env.path("no-such-passdb"))
        for k in ("auth", "account", "password", "session")))
    srv7 = env.start(conf={"pam_service": "broken"})
    c = srv7.connect()
    c.readline()
    c.cmd("USER alice")
    r = c.cmd("PASS secret")
    tap.like(r, r"^-ERR \[SYS/TEMP\] ", "PAM trouble -> -ERR [SYS/TEMP]")
    c.close()
    srv7.stop()

with tap.section("[IN-USE]"):
    a = srv.session()
    tap.like(a.cmd("STAT"), r"^\+OK", "first session holds the maildrop")
    b = srv.connect()
    b.readline()
    b.cmd("USER alice")
    tap.is_(b.cmd("PASS secret"),
            "-ERR [IN-USE] Mailbox is locked by another POP3 session.",
            "second session gets [IN-USE]")
    tap.ok(b.closed_within(env.timeout), "and is closed")
    tap.like(a.cmd("NOOP"), r"^\+OK", "first session unaffected")
    a.cmd("QUIT")
    a.close()
    srv.wait_idle()
    c = srv.session()
    tap.like(c.cmd("STAT"), r"^\+OK", "the lock is released after QUIT")
    c.cmd("QUIT")
    c.close()

with tap.section("PIPELINING across login (RFC 2449 section 6.6)"):
    srv.wait_idle()
    c = srv.connect()
    c.readline()
    c.send(b"USER alice\r\nPASS secret\r\nSTAT\r\nUIDL 1\r\nQUIT\r\n")
    tap.like(c.readline(), r"^\+OK", "USER")
    tap.is_(c.readline(), "+OK Logged in.", "PASS")
    tap.like(c.readline(), r"^\+OK 1 \d+$", "STAT, pipelined behind PASS, "
             "reaches the session")
    tap.like(c.readline(), r"^\+OK 1 [0-9A-F]{16}$", "UIDL 1")
    tap.like(c.readline(), r"^\+OK Logging out", "QUIT")
    tap.ok(c.closed_within(env.timeout), "closed")
    c.close()
    srv.wait_idle()
    c = srv.connect()
    c.readline()
    c.send(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nLIST\r\nQUIT\r\n")
    tap.is_(c.readline(), "+OK Logged in.", "AUTH PLAIN")
    tap.like(c.readline(), r"^\+OK", "LIST pipelined behind AUTH")
    tap.is_(c.read_multi(), ["1 %d" % len(
        harness.crlf("Subject: hi\n\nhello\n"))], "LIST content")
    tap.like(c.readline(), r"^\+OK Logging out", "QUIT")
    c.close()
    srv.wait_idle()
    c = srv.connect()
    c.readline()
    c.send(b"USER alice\r\nPASS wrong\r\nUSER alice\r\nPASS secret\r\n"
           b"STAT\r\n")
    tap.like(c.readline(), r"^\+OK", "USER")
    tap.is_(c.readline(), AUTH_FAILED, "wrong PASS")
    tap.like(c.readline(), r"^\+OK", "USER again")
    tap.is_(c.readline(), "+OK Logged in.", "right PASS")
    tap.like(c.readline(), r"^\+OK 1 ", "STAT")
    c.close()
    srv.wait_idle()

with tap.section("user name escaping in the log"):
    c = srv.connect()
    c.readline()
    c.cmd("USER <evil>\\x")
    r = c.cmd("PASS nope")
    tap.like(r, r"^-ERR", "odd user name fails")
    tap.like(srv.log(), r"login failed: user=<\\x3cevil\\x3e\\x5cx> ",
             "'<', '>' and '\\' are escaped as \\xHH in the log")
    c.close()
    c = srv.connect()
    c.readline()
    c.send(b"USER x\rlogin: user=<root> rip=6.6.6.6\r\n")
    c.readline()
    r = c.cmd("PASS nope")
    tap.like(r, r"^-ERR", "user name with a CR fails")
    tap.unlike(srv.log(), r"^(\S+ pop3d\[\d+\]: )?login: user=<root>",
               "a CR in the user name cannot forge a log line")
    tap.ok("\r" not in srv.log(), "no raw CR in the log")
    c.close()

env.finish()
