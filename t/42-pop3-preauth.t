#!/usr/bin/env python3
# pop3d --preauth: serve the invoking (non-root) user on stdin/stdout with
# no TLS, no PAM and no other processes (for `ssh host pop3d --preauth`);
# refused when run as root.
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import crlf  # noqa: E402

env = harness.setup()
M1 = "Subject: pre\n\nauthenticated\n"
env.deliver("alice", M1)
conf = env.write_conf({"log_path": "/dev/stderr"})
pop3d = env.binary("pop3d")


def as_alice(args, stdin, **kw):
    cmd = ["setpriv", "--reuid=60101", "--regid=60101", "--clear-groups",
           "--", pop3d] + args
    e = env.nss_env(HOME=env.home("alice"), USER="alice", LOGNAME="alice")
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=e, timeout=env.timeout,
                          cwd="/", **kw)


with tap.section("--preauth as alice"):
    r = as_alice(["--preauth", "-c", conf],
                 b"STAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nCAPA\r\nQUIT\r\n")
    tap.is_(r.returncode, 0, "exit status 0 after QUIT", r.stderr.decode())
    out = r.stdout
    lines = out.split(b"\r\n")
    tap.ok(lines[0].startswith(b"+OK"), "starts with +OK", repr(out[:200]))
    tap.is_(lines[1], b"+OK 1 %d" % len(crlf(M1)), "STAT answers alice's maildrop")
    tap.ok(b"\r\n1 %d\r\n.\r\n" % len(crlf(M1)) in out, "LIST")
    tap.ok(b"+OK %d octets\r\n" % len(crlf(M1)) + crlf(M1) + b".\r\n" in out,
           "RETR 1 content")
    capa = out.split(b"+OK Capability list follows\r\n", 1)[-1].split(b"\r\n.\r\n")[0]
    tap.ok(b"USER" not in capa and b"STLS" not in capa and b"SASL" not in capa,
           "CAPA is the authenticated list", repr(capa))
    tap.ok(out.rstrip(b"\r\n").split(b"\r\n")[-1].startswith(b"+OK Logging out"),
           "QUIT answered", repr(out[-100:]))
    tap.unlike(r.stderr.decode(), r"AddressSanitizer|runtime error",
               "no sanitizer report")

with tap.section("--preauth: EOF without QUIT deletes nothing"):
    r = as_alice(["--preauth", "-c", conf], b"DELE 1\r\n")
    tap.like(r.stdout.decode("latin-1"), r"\+OK[^\n]*\r\n\+OK", "DELE accepted")
    tap.is_(len(env.maildir_files("alice")), 1, "message still there after EOF")
    r = as_alice(["--preauth", "-c", conf], b"DELE 1\r\nQUIT\r\n")
    tap.is_(r.returncode, 0, "exit 0")
    tap.is_(len(env.maildir_files("alice")), 0, "DELE + QUIT removed it")

with tap.section("--preauth without a config file"):
    if os.path.exists("/etc/postern/postern.conf"):
        tap.skip("--preauth with built-in defaults",
                 "/etc/postern/postern.conf exists on this machine")
    else:
        env.deliver("alice", M1)
        r = as_alice(["--preauth"], b"STAT\r\nQUIT\r\n")
        tap.is_(r.returncode, 0, "built-in defaults (maildir:~/Maildir) work",
                r.stderr.decode())
        tap.like(r.stdout.decode(), r"\r\n\+OK 1 \d+\r\n", "STAT")

with tap.section("--preauth as root is refused"):
    r = subprocess.run([pop3d, "--preauth", "-c", conf], input=b"STAT\r\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env.nss_env(), timeout=env.timeout)
    tap.is_(r.returncode, 1, "exit status 1")
    tap.ok(b"+OK" not in r.stdout, "nothing served", repr(r.stdout))
    tap.like(r.stderr.decode(), r"root", "the reason mentions root")

with tap.section("usage errors"):
    r = subprocess.run([pop3d, "--preauth", "--tls", "-c", conf],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=env.timeout)
    tap.is_(r.returncode, 2, "--preauth with --tls is a usage error (2)")
    r = subprocess.run([pop3d, "--no-such-option"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=env.timeout)
    tap.is_(r.returncode, 2, "unknown option -> 2")
    tap.like(r.stderr.decode(), r"usage", "usage on stderr")

env.finish()
