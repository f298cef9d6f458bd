#!/usr/bin/env python3
# imapd with mbsync (isync) as the client: an IMAPS far side (imapd --tls,
# the test certificate as CertificateFile, user alice) and a local Maildir
# near side, synchronised both ways.  New messages, flag changes (\Seen,
# \Flagged) and deletions must reach the other side, folders too, and a
# second run must change nothing on either side.  Both stores are
# compared after every run.
import hashlib
import imaplib
import os
import shutil
import ssl
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
if not shutil.which("mbsync"):
    tap.ok(False, "mbsync is installed (apt-get install isync)")
    env.finish()

ALICE = harness.USERS["alice"]


def msg(n, subject):
    return ("From: sender%d@example.com\nTo: alice@example.com\n"
            "Subject: %s\nMessage-ID: <m%d@example.com>\n"
            "Date: Mon, 23 Nov 2026 10:%02d:00 +0000\n\nMessage %d.\n"
            % (n, subject, n, n, n))


env.deliver("alice", msg(1, "unread"))
time.sleep(0.01)
env.deliver("alice", msg(2, "read"), subdir="cur", flags="S")
time.sleep(0.01)
env.deliver("alice", msg(3, "flagged"), subdir="cur", flags="FS")
SERVER = env.maildir("alice")
LOCAL = env.path("local")
os.mkdir(LOCAL)

srv = env.start("imapd", tls=True)
RC = env.write("mbsyncrc", """\
IMAPAccount alice
Host localhost
Port {port}
User alice
Pass secret
SSLType IMAPS
CertificateFile {cert}
SystemCertificates no
AuthMechs LOGIN
PipelineDepth 4

IMAPStore far
Account alice

MaildirStore near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel alice
Far :far:
Near :near:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
CopyArrivalDate yes
""".format(port=srv.port, cert=env.cert, local=LOCAL))


def maildirs(root, server):
    """{folder name: maildir path} under a store's root.  The server's
    INBOX is the root with Maildir++ folders .a.b; the near side has
    INBOX/ and Verbatim sub-directories."""
    out = {}
    if server:
        out["INBOX"] = root
        for d in os.listdir(root):
            if d.startswith(".") and d not in (".", "..") and \
               os.path.isdir(os.path.join(root, d, "cur")):
                out[d[1:].replace(".", "/")] = os.path.join(root, d)
        return out
    for dirpath, dirnames, _ in os.walk(root):
        if os.path.isdir(os.path.join(dirpath, "cur")):
            out[os.path.relpath(dirpath, root)] = dirpath
    return out


def store(root, server):
    """{folder: {Message-ID: flags}} of a store, and a fingerprint of its
    message files (names and contents) to detect any change."""
    view, files = {}, []
    for name, path in sorted(maildirs(root, server).items()):
        view[name] = {}
        for sub in ("new", "cur"):
            for f in sorted(os.listdir(os.path.join(path, sub))):
                with open(os.path.join(path, sub, f), "rb") as fh:
                    data = fh.read()
                files.append((name, sub, f, hashlib.sha1(data).hexdigest()))
                mid = [l for l in data.decode("latin-1").splitlines()
                       if l.lower().startswith("message-id:")]
                key = mid[0].split(":", 1)[1].strip() if mid else f
                flags = "".join(c for c in f.partition(":2,")[2] if c.isupper())
                view[name][key] = flags
    return view, files


def sync(name):
    """Run mbsync -a; one check that it succeeded (with its protocol log)."""
    log = env.path("mbsync-%s.log" % name.replace(" ", "-"))
    with open(log, "wb") as f:
        r = subprocess.run(["mbsync", "-Dn", "-c", RC, "-a"], stdout=f,
                           stderr=subprocess.STDOUT, timeout=env.timeout * 6,
                           cwd=env.T)
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    tap.ok(r.returncode == 0, "mbsync: %s (exit %d)" % (name, r.returncode),
           text[-4000:] + "\n--- server log:\n" + srv.log()[-1500:])
    return text


def both():
    sv, sf = store(SERVER, True)
    lv, lf = store(LOCAL, False)
    return sv, lv, sf, lf


def same_both_sides(what):
    sv, lv, sf, lf = both()
    tap.is_(lv, sv, "%s: the near side equals the far side" % what)
    return sv, lv, sf, lf


def second_run_changes_nothing(what):
    _, _, sf, lf = both()
    sync(what + ", again")
    _, _, sf2, lf2 = both()
    tap.is_(sf2, sf, "%s, again: the server's files did not change" % what)
    tap.is_(lf2, lf, "%s, again: the local files did not change" % what)


def imap():
    ctx = ssl.create_default_context(cafile=env.cert)
    m = imaplib.IMAP4_SSL("localhost", srv.port, ssl_context=ctx,
                          timeout=env.timeout)
    m.login("alice", "secret")
    return m


def near_file(folder, mid):
    path = maildirs(LOCAL, False)[folder]
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(path, sub)):
            with open(os.path.join(path, sub, f), "rb") as fh:
                if ("<%s>" % mid).encode() in fh.read():
                    return os.path.join(path, sub, f)
    return None


def set_near_flags(folder, mid, flags):
    p = near_file(folder, mid)
    d, f = os.path.split(p)
    base = f.partition(":2,")[0]
    os.rename(p, os.path.join(os.path.dirname(d), "cur", base + ":2," + flags))


with tap.section("first sync: far to near"):
    sync("first sync")
    sv, lv, _, _ = same_both_sides("first sync")
    tap.is_(lv.get("INBOX"), {"<m1@example.com>": "", "<m2@example.com>": "S",
                              "<m3@example.com>": "FS"},
            "local INBOX has the three messages with their flags", lv)
    tap.ok({"Drafts", "Sent", "Trash"} <= set(lv),
           "the server's special-use folders were created locally", sorted(lv))
    second_run_changes_nothing("first sync")

with tap.section("near to far: new message, flags, deletion, folder"):
    inbox = maildirs(LOCAL, False)["INBOX"]
    with open(os.path.join(inbox, "tmp", "100.local"), "w") as f:
        f.write(msg(4, "written locally"))
    os.rename(os.path.join(inbox, "tmp", "100.local"),
              os.path.join(inbox, "new", "100.local"))
    set_near_flags("INBOX", "m1@example.com", "FS")     # read and flagged
    set_near_flags("INBOX", "m3@example.com", "S")      # unflagged
    os.unlink(near_file("INBOX", "m2@example.com"))     # deleted
    proj = os.path.join(LOCAL, "Projects")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(proj, sub))
    with open(os.path.join(proj, "cur", "101.local:2,S"), "w") as f:
        f.write(msg(5, "a local folder"))
    sync("near to far")
    sv, lv, _, _ = same_both_sides("near to far")
    tap.is_(sv.get("INBOX"), {"<m1@example.com>": "FS", "<m3@example.com>": "S",
                              "<m4@example.com>": ""},
            "server INBOX: new message appended, flags changed, m2 expunged", sv)
    tap.is_(sv.get("Projects"), {"<m5@example.com>": "S"},
            "server: folder Projects created with its message", sv)
    second_run_changes_nothing("near to far")

with tap.section("far to near: new message, flags, deletion"):
    env.deliver("alice", msg(6, "delivered by the MTA"))
    m = imap()
    typ, _ = m.select("INBOX")
    typ, data = m.search(None, "HEADER", "Message-ID", "m4@example.com")
    n4 = data[0].split()[0] if typ == "OK" and data[0] else b"0"
    typ, data = m.search(None, "HEADER", "Message-ID", "m3@example.com")
    n3 = data[0].split()[0] if typ == "OK" and data[0] else b"0"
    typ, data = m.search(None, "HEADER", "Message-ID", "m1@example.com")
    n1 = data[0].split()[0] if typ == "OK" and data[0] else b"0"
    tap.is_(m.store(n4, "+FLAGS", r"(\Seen \Flagged)")[0], "OK", "server: flag m4")
    tap.is_(m.store(n1, "-FLAGS", r"(\Flagged)")[0], "OK", "server: unflag m1")
    tap.is_(m.store(n3, "+FLAGS", r"(\Deleted)")[0], "OK", "server: delete m3")
    tap.is_(m.expunge()[0], "OK", "server: expunge")
    m.logout()
    sync("far to near")
    sv, lv, _, _ = same_both_sides("far to near")
    tap.is_(lv.get("INBOX"), {"<m1@example.com>": "S", "<m4@example.com>": "FS",
                              "<m6@example.com>": ""},
            "local INBOX: m6 arrived, flags changed, m3 removed", lv)
    second_run_changes_nothing("far to near")

with tap.section("both sides at once"):
    set_near_flags("INBOX", "m6@example.com", "S")
    m = imap()
    m.select("INBOX")
    typ, data = m.search(None, "HEADER", "Message-ID", "m1@example.com")
    m.store(data[0].split()[0], "+FLAGS", r"(\Flagged)")
    typ, data = m.append("Projects", r"(\Seen)", None,
                         msg(7, "appended on the server").replace("\n", "\r\n").encode())
    tap.is_(typ, "OK", "server: APPEND to Projects", data)
    m.logout()
    sync("both sides")
    sv, lv, _, _ = same_both_sides("both sides")
    tap.is_(lv.get("INBOX"), {"<m1@example.com>": "FS", "<m4@example.com>": "FS",
                              "<m6@example.com>": "S"},
            "INBOX: each side's flag change reached the other", lv)
    tap.is_(lv.get("Projects"), {"<m5@example.com>": "S", "<m7@example.com>": "S"},
            "Projects: the server's APPEND reached the near side", lv)
    second_run_changes_nothing("both sides")

with tap.section("mbsync over Tunnel \"imapd --preauth\""):
    # what `Tunnel "ssh host imapd --preauth"` gives: imapd as alice on a pipe
    log = env.write("alice.log", "", 0o600, "alice")
    conf = env.write_conf({"log_path": log})
    e = env.nss_env(HOME=env.home("alice"), USER="alice", LOGNAME="alice")
    tunnel = " ".join(
        ["setpriv", "--reuid=%d" % ALICE[0], "--regid=%d" % ALICE[1],
         "--clear-groups", "--", "env"] +
        ["%s=%s" % (k, e[k]) for k in sorted(e)
         if k in ("LD_PRELOAD", "NSS_WRAPPER_PASSWD", "NSS_WRAPPER_GROUP",
                  "HOME", "USER", "LOGNAME", "ASAN_OPTIONS", "UBSAN_OPTIONS")
         or k.endswith("DISABLE_DEEPBIND")] +
        [env.binary("imapd"), "--preauth", "-c", conf])
    LOCAL2 = env.path("local2")
    os.mkdir(LOCAL2)
    RC = env.write("mbsyncrc-tunnel", """\
IMAPAccount tunnel
Tunnel "{tunnel}"

IMAPStore far
Account tunnel

MaildirStore near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel tunnel
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
""".format(tunnel=tunnel, local=LOCAL2))
    sync("over the tunnel")
    sv, _ = store(SERVER, True)
    lv, lf = store(LOCAL2, False)
    tap.is_(lv, sv, "over the tunnel: the near side equals the far side")
    sync("over the tunnel, again")
    tap.is_(store(LOCAL2, False)[1], lf, "over the tunnel, again: nothing changed")

env.finish()
