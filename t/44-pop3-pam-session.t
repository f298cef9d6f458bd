#!/usr/bin/env python3
"""44-pop3-pam-session.t - pam_session = yes: the monitor opens a PAM
session after a successful login and closes it when the client leaves;
with the default (no) no session is opened.  The session stack runs the
real pam_exec.so, whose script records each call with its user."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap, harness  # noqa: E401,E402

PAM_EXEC = "/lib/x86_64-linux-gnu/security/pam_exec.so"

env = harness.setup()
record = env.path("pam-session.log")
script = env.write("pam-session.sh",
                   "#!/bin/sh\necho \"$PAM_TYPE $PAM_USER $PAM_RHOST\" >> %s\n"
                   % record, 0o755)
matrix = "%s passdb=%s" % (harness.PAM_MATRIX, env.path("passdb"))
env.write("pam.d/postern",
          "auth     required %s\naccount  required %s\n"
          "session  required %s %s\n" % (matrix, matrix, PAM_EXEC, script))


def calls():
    try:
        with open(record) as f:
            return [l.split() for l in f.read().splitlines()]
    except OSError:
        return []


def wait_calls(n, timeout=10):
    harness.wait_for(lambda: len(calls()) >= n, timeout)
    return calls()


with tap.section("pam_session = yes"):
    tap.ok(os.path.exists(PAM_EXEC), "pam_exec.so is installed (libpam-modules)")
    srv = env.start("pop3d", conf={"pam_session": "yes"})
    c = srv.session("alice", "secret")
    got = wait_calls(1)
    tap.is_(got[:1], [["open_session", "alice", "127.0.0.1"]],
            "a PAM session is opened for alice after login, with PAM_RHOST")
    tap.like(c.cmd("STAT"), r"^\+OK ", "the mail session works meanwhile")
    tap.is_(c.cmd("QUIT"), "+OK Logging out.", "QUIT")
    c.close()
    got = wait_calls(2)
    tap.is_(got[1:2], [["close_session", "alice", "127.0.0.1"]],
            "the PAM session is closed when the client leaves")

with tap.section("pam_session = yes, client drops the connection"):
    n = len(calls())
    c = srv.session("alice", "secret")
    wait_calls(n + 1)
    c.close()
    got = wait_calls(n + 2)
    tap.is_([g[0] for g in got[n:n + 2]], ["open_session", "close_session"],
            "a dropped connection closes the PAM session too")

with tap.section("a failed login opens no session"):
    n = len(calls())
    c = srv.connect()
    c.readline()
    tap.like(c.login("alice", "wrong"), r"^-ERR \[AUTH\]", "wrong password")
    c.close()
    time.sleep(0.5)
    tap.is_(len(calls()), n, "no PAM session call for a failed login")

with tap.section("pam_session = no (default)"):
    n = len(calls())
    srv2 = env.start("pop3d")
    c = srv2.session("alice", "secret")
    tap.like(c.cmd("STAT"), r"^\+OK ", "login works")
    c.cmd("QUIT")
    c.close()
    time.sleep(0.5)
    tap.is_(len(calls()), n, "no PAM session is opened by default")

env.finish()
