#!/usr/bin/env python3
"""92-fail2ban.t - the fail2ban filter and jail in contrib/fail2ban/.

The monitor logs "login failed: user=<NAME> rip=IP ..." (pop3d(8),
LOGGING). fail2ban-regex runs the shipped filter over lines in the three
forms fail2ban sees:
  - syslog: "Nov 23 13:00:00 host pop3d[1]: ...", also with an RFC 3339
    time stamp as Debian 12's rsyslog writes it
  - a log_path file: "2026-11-23T13:00:00 pop3d[1]: ..."
  - the journal, as fail2ban's systemd backend formats it: "host pop3d[1]: ..."
The test checks that exactly the failing clients' addresses come out, that
a user name cannot smuggle in another address, and that successful logins,
other programs and server-side failures (reason=pam-error) are not
counted. fail2ban-client -t then checks that the jail loads.

Needs the Debian package fail2ban. Without it, the whole file is skipped.
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "t", "lib"))
import tap  # noqa: E402

CONTRIB = os.path.join(ROOT, "contrib", "fail2ban")
F2B_ETC = "/etc/fail2ban"

FAIL = "login failed: user=<%s> rip=%s lip=%s mech=PLAIN tls=yes reason=%s"
CASES = [
    # (program, message, expected address or None)
    ("pop3d", FAIL % ("alice", "192.0.2.10", "192.0.2.1", "password"), "192.0.2.10"),
    ("imapd", FAIL % ("bob", "2001:db8::5", "2001:db8::1", "password"), "2001:db8::5"),
    # A user name that tries to supply its own address: '>' is escaped
    # by the monitor, so the field cannot end early.
    ("imapd", FAIL % (r"x\x3e rip=198.51.100.66 \x3c", "192.0.2.11", "192.0.2.1",
                      "password"), "192.0.2.11"),
    ("pop3d", FAIL % ("", "192.0.2.12", "192.0.2.1", "bad-user"), "192.0.2.12"),
    ("pop3d", FAIL % ("carol", "192.0.2.13", "192.0.2.1", "account"), "192.0.2.13"),
    # An IPv4 client on a dual-stack socket, in case a log shows it mapped.
    ("pop3d", FAIL % ("dave", "::ffff:192.0.2.14", "::ffff:192.0.2.1", "password"),
     "192.0.2.14"),
    # Not counted: success, another program, the server's own failures.
    ("pop3d", "login: user=<alice> rip=192.0.2.20 lip=192.0.2.1 mech=PLAIN tls=yes", None),
    ("sshd", FAIL % ("eve", "192.0.2.21", "192.0.2.1", "password"), None),
    ("pop3d", FAIL % ("eve", "192.0.2.22", "192.0.2.1", "pam-error"), None),
    ("imapd", FAIL % ("eve", "192.0.2.23", "192.0.2.1", "pam-session"), None),
    ("pop3d", "STLS: discarded 6 bytes sent before the TLS handshake (rip=192.0.2.24)",
     None),
]
FORMATS = {
    "syslog": lambda i, prog, msg: "Nov 23 13:00:%02d mail %s[%d]: %s" % (i, prog, 100 + i, msg),
    # Debian 12's rsyslog writes RFC 3339 time stamps.
    "rsyslog": lambda i, prog, msg: "2026-11-23T13:00:%02d.123456+01:00 mail %s[%d]: %s"
    % (i, prog, 100 + i, msg),
    "log_path file": lambda i, prog, msg: "2026-11-23T13:00:%02d %s[%d]: %s"
    % (i, prog, 100 + i, msg),
    "journal": lambda i, prog, msg: "mail %s[%d]: %s" % (prog, 100 + i, msg),
}


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def check_filter(tmp):
    fdir = os.path.join(tmp, "filter.d")
    os.makedirs(fdir)
    shutil.copy(os.path.join(CONTRIB, "filter.d", "postern.conf"), fdir)
    want = [ip for _, _, ip in CASES if ip]
    for fmt, line in FORMATS.items():
        log = os.path.join(tmp, "log")
        with open(log, "w") as f:
            for i, (prog, msg, _) in enumerate(CASES):
                f.write(line(i, prog, msg) + "\n")
        r = run(["fail2ban-regex", "--out", "ip", log, os.path.join(fdir, "postern.conf")])
        got = r.stdout.split()
        tap.is_(got, want, "filter finds exactly the failed clients (%s lines)" % fmt)
        if r.returncode != 0:
            tap.diag(r.stderr)


def check_jail(tmp):
    if not os.path.exists(os.path.join(F2B_ETC, "jail.conf")):
        tap.skip("the postern jail loads", "%s/jail.conf is missing" % F2B_ETC)
        return
    etc = os.path.join(tmp, "etc")
    shutil.copytree(F2B_ETC, etc)
    # Only our jail: Debian's sshd jail wants /var/log/auth.log.
    for name in os.listdir(os.path.join(etc, "jail.d")):
        os.remove(os.path.join(etc, "jail.d", name))
    for sub in ("filter.d", "jail.d"):
        shutil.copy(os.path.join(CONTRIB, sub, "postern.conf"), os.path.join(etc, sub))
    r = run(["fail2ban-client", "-c", etc, "-t"])
    tap.ok(r.returncode == 0, "fail2ban-client -t accepts the postern jail",
           r.stdout + r.stderr)
    r = run(["fail2ban-client", "-c", etc, "-d"])
    dump = r.stdout
    tap.like(dump, r"\['add', 'postern', 'systemd'\]", "the jail reads the journal")
    tap.like(dump, r"'addjournalmatch', 'SYSLOG_IDENTIFIER=pop3d', '\+', "
             r"'SYSLOG_IDENTIFIER=imapd'", "the jail matches pop3d and imapd in the journal")
    tap.like(dump, r"'port', 'pop3,pop3s,imap,imaps'", "the jail bans the four mail ports")


def main():
    if not shutil.which("fail2ban-regex"):
        print("1..0 # SKIP fail2ban is not installed (apt-get install fail2ban)")
        return
    tmp = tempfile.mkdtemp(prefix="postern-t92.")
    try:
        for fn in (check_filter, check_jail):
            d = os.path.join(tmp, fn.__name__)
            os.mkdir(d)
            with tap.section(fn.__name__):
                fn(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


main()
