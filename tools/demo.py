#!/usr/bin/env python3
"""demo.py - `make demo`: serve a demo mailbox on localhost.

Builds ./demo/ with everything the server needs and nothing outside it:
the account "demo" (password "demo") exists only for the server, through
nss_wrapper and pam_wrapper, exactly as in the test suite (t/lib/harness.py);
a self-signed certificate for "localhost"; a Maildir with a few messages;
an mbsync configuration for the IMAPS port.  Then imapd (IMAP with
STARTTLS, and IMAPS) and pop3d (POP3 with STLS, and POP3S) listen on
loopback ports, the way systemd's socket units would, until Ctrl-C.  Needs root: each connection's processes switch to the
login and demo users' ids, as they do in production.
"""
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "t", "lib"))
import harness  # noqa: E402

POP3_PORT, POP3S_PORT = 10110, 10995
IMAP_PORT, IMAPS_PORT = 10143, 10993

MESSAGES = [
    ("Welcome to postern", "This message was delivered to the demo Maildir.\n"
     "Read it with curl, mutt, mbsync, imaplib, poplib or fetchmail.\n"),
    ("How postern works", "Each connection is its own process tree: a root\n"
     "monitor for PAM, a chrooted unprivileged login process for TLS and\n"
     "everything before login, and a session running as the mail user.\n"),
    ("A line that starts with a dot", ".this line is dot-stuffed by RETR\n"),
]


def make_env():
    # the demo has one mail account; the login user stays as in the tests
    harness.USERS = {
        "root": harness.USERS["root"],
        "pstlogin": harness.USERS["pstlogin"],
        "demo": (60101, 60101, "demo", "home/demo"),
    }
    harness.GROUPS = {"root": (0, []), "pstlogin": (60100, []),
                      "demo": (60101, [])}
    env = harness.Env(base=os.path.join(REPO, "demo"))
    for i, (subject, body) in enumerate(MESSAGES):
        env.deliver("demo", "From: postern <postern@localhost>\n"
                    "To: demo@localhost\nSubject: %s\n"
                    "Date: %s\nMessage-ID: <demo%d@localhost>\n\n%s"
                    % (subject, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                              time.gmtime()), i, body))
    return env


def usage_text(env):
    c = env.path("cert.pem")
    return """
postern demo is running (Ctrl-C stops it). Account: demo, password: demo.

  IMAP + STARTTLS  127.0.0.1:{i}      IMAP over TLS  127.0.0.1:{ist}
  POP3 + STLS      127.0.0.1:{p}      POP3 over TLS  127.0.0.1:{ps}

Try IMAP:
  curl -u demo:demo imap://127.0.0.1:{i}/                      (list the folders)
  curl -u demo:demo 'imap://127.0.0.1:{i}/INBOX;UID=1'         (read message 1)
  curl -u demo:demo imap://127.0.0.1:{i}/INBOX -X 'SEARCH UNSEEN'
  curl --cacert {c} --resolve localhost:{ist}:127.0.0.1 -u demo:demo 'imaps://localhost:{ist}/INBOX;UID=2'
  openssl s_client -quiet -connect 127.0.0.1:{ist} -alpn imap  (then: a LOGIN demo demo / b SELECT INBOX / c FETCH 1:* FLAGS)
  mutt -f 'imaps://demo@localhost:{ist}/INBOX' -e 'set ssl_ca_certificates_file={c}'
  mbsync -c {rc} -a                          (syncs into {near}/)

Try POP3:
  curl --cacert {c} --resolve localhost:{ps}:127.0.0.1 -u demo:demo pop3s://localhost:{ps}/
  curl --cacert {c} --resolve localhost:{ps}:127.0.0.1 -u demo:demo pop3s://localhost:{ps}/1
  curl --ssl-reqd --cacert {c} --resolve localhost:{p}:127.0.0.1 -u demo:demo pop3://localhost:{p}/2
  openssl s_client -quiet -connect 127.0.0.1:{ps} -alpn pop3      (then: USER demo / PASS demo / LIST)
  mutt -f 'pops://demo@localhost:{ps}/' -e 'set ssl_ca_certificates_file={c}'

(mutt and mbsync need "localhost" in /etc/hosts, as Debian has it.)
Logs: {log}
""".format(i=IMAP_PORT, ist=IMAPS_PORT, p=POP3_PORT, ps=POP3S_PORT, c=c,
           rc=env.path("mbsyncrc"), near=env.path("mbsync"),
           log=env.path("postern.log"))


def write_mbsyncrc(env):
    """An mbsync (isync) configuration for the IMAPS listener that syncs
    the demo account into ./demo/mbsync/."""
    env.write("mbsyncrc", """\
IMAPAccount demo
Host localhost
Port {port}
User demo
Pass demo
SSLType IMAPS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore demo-far
Account demo

MaildirStore demo-near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel demo
Far :demo-far:
Near :demo-near:
Patterns *
Create Both
Expunge Both
SyncState *
""".format(port=IMAPS_PORT, cert=env.path("cert.pem"), near=env.path("mbsync")))
    os.makedirs(env.path("mbsync"), exist_ok=True)


def main():
    if os.geteuid() != 0:
        sys.exit("make demo needs root: each connection switches to the demo "
                 "user's id (try: sudo make demo)")
    try:
        env = make_env()
        env.start("imapd", port=IMAP_PORT)
        env.start("imapd", tls=True, port=IMAPS_PORT)
        env.start("pop3d", port=POP3_PORT)
        env.start("pop3d", tls=True, port=POP3S_PORT)
        write_mbsyncrc(env)
    except harness.SetupError as e:
        sys.exit("demo: %s" % e)
    print(usage_text(env), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        env.cleanup()
        print("demo stopped")


if __name__ == "__main__":
    main()
