#!/usr/bin/env python3
# pop3d's configuration on the command line: errors name file:line and
# stop the daemon, -n prints only changed settings, -a all of them, a
# missing -c file is an error, and a daemon with a bad config serves no one.
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
pop3d = env.binary("pop3d")


def run(*args):
    return subprocess.run([pop3d] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=env.timeout, env=env.nss_env())


with tap.section("unknown setting"):
    bad = env.write("bad.conf", "# comment\nssl = yes\nfrobnicate = 1\n")
    r = run("-c", bad)
    tap.is_(r.returncode, 1, "exit status 1")
    tap.like(r.stderr.decode(), r"%s:3: unknown setting" % bad,
             "stderr names file:line and the problem")
    tap.is_(r.stdout, b"", "nothing on stdout (it could be a client)")
    r = run("-c", bad, "-n")
    tap.is_(r.returncode, 1, "-n with a bad file also fails")

with tap.section("bad values"):
    for text, line, what in (("ssl = maybe\n", 1, "ssl"),
                             ("\nauth_failure_delay = soon\n", 2, "number"),
                             ("pam_session = sure\n", 1, "bool"),
                             ("ssl = yes\nssl = no\n", 2, "repeated key")):
        p = env.write("v.conf", text)
        r = run("-c", p, "-n")
        tap.is_(r.returncode, 1, "%s: exit 1" % what)
        tap.like(r.stderr.decode(), r"%s:%d: " % (p, line), "%s: file:line" % what)

with tap.section("-n and -a"):
    r = run("-c", env.conf, "-n")
    tap.is_(r.returncode, 0, "-n exits 0", r.stderr.decode())
    got = dict(l.split(" = ", 1) for l in r.stdout.decode().splitlines())
    want = {"ssl_cert": env.cert, "ssl_key": env.key,
            "default_login_user": "pstlogin", "login_chroot": env.path("empty"),
            "log_path": env.path("postern.log"), "auth_failure_delay": "1"}
    tap.is_(got, want, "-n prints exactly the settings that differ from the "
            "defaults (not mail_location, not first_valid_uid = 500)")
    r = run("-c", env.conf, "-a")
    tap.is_(r.returncode, 0, "-a exits 0")
    lines = r.stdout.decode().splitlines()
    tap.cmp_ok(len(lines), ">=", 28, "-a prints every setting")
    tap.ok("first_valid_uid = 500" in lines and "ssl = yes" in lines,
           "-a includes defaults")
    p = env.write("pw.conf", "ssl_key_password = hunter2-secret\n")
    r = run("-c", p, "-n")
    tap.ok(b"hunter2-secret" not in r.stdout, "the key password is not printed")

with tap.section("missing -c file"):
    missing = env.path("no-such.conf")
    r = run("-c", missing, "-n")
    tap.is_(r.returncode, 1, "exit 1")
    tap.like(r.stderr.decode(), missing, "stderr names the file")

with tap.section("-V"):
    r = run("-V")
    tap.is_(r.returncode, 0, "-V exits 0")
    tap.like(r.stdout.decode(), r"^pop3d \(postern\) \S+", "version line")

with tap.section("a daemon with a bad config serves no one"):
    bad = env.write("bad2.conf", env.conf_text() + "no_such_key = 1\n")
    srv = harness.Server(env, "pop3d", False, bad, ())
    c = srv.connect()
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        data, closed = b"", False
    tap.ok(closed and b"+OK" not in data, "connection closed without a greeting",
           repr(data))
    tap.like(srv.stderr(), r"bad2\.conf:\d+: unknown setting",
             "the error reaches the service's stderr (the journal)")
    srv.stop()

with tap.section("login_chroot must be root's and not writable"):
    os.mkdir(env.path("badchroot"), 0o777)
    os.chmod(env.path("badchroot"), 0o777)
    srv = env.start(conf={"login_chroot": env.path("badchroot")})
    c = srv.connect()
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        data, closed = b"", False
    tap.ok(closed and b"+OK" not in data,
           "a world-writable login_chroot: no service", repr(data))
    tap.ok(env.wait_log(r"login_chroot", srv.log_offset, 5),
           "and the log says why", srv.log())
    srv.stop()

with tap.section("default_login_user must exist and not be root"):
    for user, what in (("nosuchuser", "missing"), ("root", "root")):
        srv = env.start(conf={"default_login_user": user})
        c = srv.connect()
        try:
            data = c.read_until_eof(env.timeout)
            closed = True
        except harness.Timeout:
            data, closed = b"", False
        tap.ok(closed and b"+OK" not in data,
               "default_login_user %s: no service" % what, repr(data))
        srv.stop()

env.finish()
