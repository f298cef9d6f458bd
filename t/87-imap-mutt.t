#!/usr/bin/env python3
# imapd with mutt as the client, driven in a tmux pane: once through
# `set tunnel="imapd --preauth"` with mutt running as alice (what
# `ssh host imapd --preauth` gives a remote mutt), once over imaps:// with
# the test certificate.  The test reads mutt's index from the screen (a
# fixed index_format and status_format) and checks the messages and flags
# it shows, then flags, deletes, syncs and reads, and checks the Maildir.
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
for prog, pkg in (("mutt", "mutt"), ("tmux", "tmux")):
    if not shutil.which(prog):
        tap.ok(False, "%s is installed (apt-get install %s)" % (prog, pkg))
        env.finish()

ALICE = harness.USERS["alice"]


def msg(n, subject):
    return ("From: Sender %d <s%d@example.com>\nTo: alice@example.com\n"
            "Subject: %s\nMessage-ID: <mutt%d@example.com>\n"
            "Date: Mon, 23 Nov 2026 10:%02d:00 +0000\n\nBody of message %d.\n"
            % (n, n, subject, n, n, n))


env.deliver("alice", msg(1, "one unread"))
time.sleep(0.01)
env.deliver("alice", msg(2, "two read"), subdir="cur", flags="S")
time.sleep(0.01)
env.deliver("alice", msg(3, "three flagged"), subdir="cur", flags="FS")
time.sleep(0.01)
env.deliver("alice", msg(4, "four answered"), subdir="cur", flags="RS")

imapd = env.binary("imapd")
os.makedirs(env.path("mutt-folder"), 0o755)
TMUX = env.path("tmux.sock")
# mutt's index as "IDX <n> [<3 status chars>] <subject>"; %Z is new/old/
# replied, deleted, flagged (to_chars emptied so the third is only "!")
RC_COMMON = """\
set folder="{T}/mutt-folder"
set spoolfile=""
set sort=mailbox-order
set mark_old=no
set to_chars=""
set index_format="IDX %4C [%Z] %s"
set status_format="STATUS msgs=%m new=%n flagged=%F deleted=%d"
set help=no
set quit=yes
set delete=yes
set move=no
set confirmappend=no
set wait_key=no
set resolve=no
set imap_check_subscribed=no
set imap_passive=yes
set header_cache=""
set message_cachedir=""
set timeout=1
set mail_check=1
"""


def rc_file(name, extra, owner=None):
    text = RC_COMMON.format(T=env.T) + extra
    p = env.write(name, text, 0o644)
    if owner:
        os.chown(p, ALICE[0], ALICE[1])
    return p


def tmux(*args):
    return subprocess.run(["tmux", "-S", TMUX] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=10)


def screen():
    r = tmux("capture-pane", "-p", "-t", "mutt")
    return r.stdout


def index(text):
    """[(number, status, subject)] and the status line's counters."""
    rows = [(int(m.group(1)), m.group(2), m.group(3).rstrip())
            for m in re.finditer(r"(?m)^IDX +(\d+) \[(...)\] (.*)$", text)]
    m = re.search(r"STATUS msgs=(\d+) new=(\d+) flagged=(\d+) deleted=(\d+)", text)
    counts = tuple(int(x) for x in m.groups()) if m else None
    return rows, counts


def wait_screen(pred, timeout=None):
    end = time.monotonic() + (timeout or env.timeout)
    text = ""
    while time.monotonic() < end:
        text = screen()
        if pred(text):
            return text
        time.sleep(0.2)
    return None


class Mutt:
    """mutt in a detached tmux session, its debug log (-d 2: the IMAP
    protocol) in home/.muttdebug0."""

    def __init__(self, argv, home, log):
        self.home = home
        self.log = log
        tmux("kill-server")
        r = tmux("new-session", "-d", "-s", "mutt", "-x", "150", "-y", "40",
                 " ".join(shlex.quote(a) for a in argv) + "; sleep 30")
        if r.returncode != 0:
            raise AssertionError("tmux new-session: " + r.stderr)

    def keys(self, *keys):
        tmux("send-keys", "-t", "mutt", *keys)

    def debug(self):
        out = []
        for f in sorted(os.listdir(self.home)):
            if f.startswith(".muttdebug"):
                with open(os.path.join(self.home, f), errors="replace") as fh:
                    out.append(fh.read()[-4000:])
        return "\n".join(out) + "\n--- screen:\n" + screen() + \
            "\n--- server log:\n" + self.log()[-1500:]

    def close(self):
        tmux("kill-server")


def maildir_flags():
    """{Message-ID number: flags} of alice's INBOX on disk."""
    md = env.maildir("alice")
    out = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            with open(os.path.join(md, sub, f), "rb") as fh:
                m = re.search(rb"<mutt(\d+)@", fh.read())
            out[int(m.group(1)) if m else f] = f.partition(":2,")[2]
    return out


def shown(rows):
    return [(status, subject) for _, status, subject in rows]


def has_index(n):
    return lambda t: len(index(t)[0]) >= n and index(t)[1] is not None


def quiet(n):
    """The index shows n rows and mutt waits for a key (no prompt)."""
    return lambda t: has_index(n)(t) and not re.search(r"\?\s*$|\(yes/no\)", t)


with tap.section("mutt over tunnel=\"imapd --preauth\", as alice"):
    log = env.write("alice.log", "", 0o600, "alice")
    conf = env.write_conf({"log_path": log})
    home = env.home("alice")
    tunnel_err = env.write("tunnel.err", "", 0o600, "alice")
    rc = rc_file("muttrc-tunnel", 'set tunnel="%s --preauth -c %s 2>>%s"\n'
                 % (imapd, conf, tunnel_err), owner="alice")
    e = env.nss_env(HOME=home, USER="alice", LOGNAME="alice", TERM="screen")
    argv = (["setpriv", "--reuid=%d" % ALICE[0], "--regid=%d" % ALICE[1],
             "--clear-groups", "--", "env"] +
            ["%s=%s" % (k, e[k]) for k in sorted(e)
             if k in ("LD_PRELOAD", "NSS_WRAPPER_PASSWD", "NSS_WRAPPER_GROUP",
                      "HOME", "USER", "LOGNAME", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                      "PATH", "TERM") or k.endswith("DISABLE_DEEPBIND")] +
            ["mutt", "-n", "-d", "2", "-F", rc, "-f", "imap://localhost/INBOX"])

    def alice_log():
        with open(log, errors="replace") as f:
            return f.read()
    mutt = Mutt(argv, home, alice_log)
    try:
        text = wait_screen(quiet(4))
        rows, counts = index(text or "")
        tap.is_(shown(rows), [("N  ", "one unread"), ("   ", "two read"),
                              ("  !", "three flagged"), ("r  ", "four answered")],
                "the index shows the four messages with new, flagged and "
                "replied marks", mutt.debug())
        tap.is_(counts, (4, 1, 1, 0), "status line: 4 messages, 1 new, 1 flagged")
        # flag message 1, delete message 2, sync ($): STORE and EXPUNGE
        mutt.keys("F")
        text = wait_screen(lambda t: ("N !", "one unread") in shown(index(t)[0]))
        tap.ok(text, "F flags message 1", mutt.debug())
        mutt.keys("j", "d")
        text = wait_screen(lambda t: any(s[1] == "D" and subj == "two read"
                                         for s, subj in shown(index(t)[0])))
        tap.ok(text, "d marks message 2 deleted", mutt.debug())
        mutt.keys("$")
        text = wait_screen(lambda t: index(t)[1] == (3, 1, 2, 0))
        tap.ok(text, "$ syncs: 3 messages left, 2 flagged", mutt.debug())
        rows, counts = index(text or screen())
        tap.is_([s for _, s in shown(rows)], ["one unread", "three flagged",
                                              "four answered"],
                "the index after the expunge")
        mutt.keys("q")
        tap.ok(wait_screen(lambda t: "IDX" not in t), "q quits mutt", mutt.debug())
    finally:
        mutt.close()
    want = {1: "F", 3: "FS", 4: "RS"}
    on_disk = harness.wait_for(lambda: maildir_flags() == want and want,
                               env.timeout) or maildir_flags()
    tap.is_(on_disk, want,
            "on disk: message 1 flagged (not seen), message 2 expunged")
    with open(tunnel_err, errors="replace") as f:
        tap.unlike(f.read(), r"AddressSanitizer|LeakSanitizer|runtime error",
                   "no sanitizer report from the tunnel's imapd")

with tap.section("mutt over imaps:// with the test certificate"):
    srv = env.start("imapd", tls=True)
    home = env.path("mutthome")
    os.makedirs(home, exist_ok=True)
    rc = rc_file("muttrc-imaps", """\
set imap_user=alice
set imap_pass=secret
set imap_authenticators="login"
set ssl_ca_certificates_file="{cert}"
set certificate_file="{home}/certificates"
set ssl_force_tls=yes
set ssl_starttls=no
""".format(cert=env.cert, home=home))
    argv = ["env", "HOME=" + home, "TERM=screen", "mutt", "-n", "-d", "2",
            "-F", rc, "-f", "imaps://alice@localhost:%d/INBOX" % srv.port]
    mutt = Mutt(argv, home, srv.log)
    try:
        text = wait_screen(quiet(3))
        rows, counts = index(text or "")
        tap.is_(shown(rows), [("N !", "one unread"), ("  !", "three flagged"),
                              ("r  ", "four answered")],
                "the index shows what the tunnel session left", mutt.debug())
        tap.is_(counts, (3, 1, 2, 0), "status line: 3 messages, 1 new, 2 flagged")
        # read message 1 in the pager; back in the index it is no longer new
        mutt.keys("Enter")
        text = wait_screen(lambda t: "Body of message 1." in t)
        tap.ok(text, "the pager shows message 1's body", mutt.debug())
        mutt.keys("i")
        text = wait_screen(lambda t: ("  !", "one unread") in shown(index(t)[0]))
        tap.ok(text, "message 1 is read in the index", mutt.debug())
        # unflag message 3 and leave: mutt writes the flags on quit
        mutt.keys("j", "F")
        wait_screen(lambda t: ("   ", "three flagged") in shown(index(t)[0]))
        mutt.keys("q")
        tap.ok(wait_screen(lambda t: "IDX" not in t), "q quits mutt", mutt.debug())
    finally:
        mutt.close()
    srv.wait_idle()
    want = {1: "FS", 3: "S", 4: "RS"}
    on_disk = harness.wait_for(lambda: maildir_flags() == want and want,
                               env.timeout) or maildir_flags()
    tap.is_(on_disk, want,
            "on disk: message 1 seen, message 3 unflagged")
    tap.like(srv.log(), r"login: user=<alice> .*tls=yes", "logged in over TLS")

env.finish()
