#!/usr/bin/env python3
# imapd with curl as the client: imap:// (plaintext on loopback, and
# STARTTLS with --ssl-reqd) and imaps:// (implicit TLS, the test
# certificate as --cacert).  Listing folders, fetching by UID, by
# sequence number and by section, SEARCH (URL query and -X), STORE with
# -X, APPEND with -T, and what each did to the Maildir on disk.
import os
import re
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import crlf  # noqa: E402

env = harness.setup()
M1 = "From: a@example.com\nSubject: first\nMessage-ID: <1@example.com>\n\nHello Alice.\n"
M2 = ("From: b@example.com\nSubject: second\nMessage-ID: <2@example.com>\n\n"
      "Second message.\n.leading dot\n")
M3 = "From: c@example.com\nSubject: in a folder\n\nProjects mail.\n"
M4 = "From: d@example.com\nSubject: spaced\n\nA folder name with a space.\n"
env.deliver("alice", M1)
time.sleep(0.01)
env.deliver("alice", M2, subdir="cur", flags="S")
ALICE = harness.USERS["alice"]


def folder(name):
    """An empty Maildir++ folder of alice's (name as on disk, after the dot)."""
    p = os.path.join(env.maildir("alice"), "." + name)
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(p, sub), 0o700, exist_ok=True)
        os.chown(os.path.join(p, sub), ALICE[0], ALICE[1])
    return p


def deliver_to(fpath, data, name):
    tmp = os.path.join(fpath, "tmp", name)
    with open(tmp, "w") as f:
        f.write(data)
    os.chown(tmp, ALICE[0], ALICE[1])
    os.rename(tmp, os.path.join(fpath, "new", name))


def messages(fpath):
    """{normalised content: flags} of the messages of a Maildir folder."""
    out = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(fpath, sub)):
            with open(os.path.join(fpath, sub, f), "rb") as fh:
                body = fh.read().replace(b"\r\n", b"\n")
            out[body] = f.partition(":2,")[2]
    return out


PROJECTS = folder("Projects")
deliver_to(PROJECTS, M3, "1000000000.M1P1.test")
folder("Projects.2026")
SPACED = folder("My Folder")
deliver_to(SPACED, M4, "1000000001.M1P1.test")


def curl(args, upload=None):
    """Run curl -v; returns (exit code, stdout bytes, stderr text)."""
    cmd = ["curl", "-sS", "-v", "--max-time", str(int(env.timeout * 2))]
    if upload is not None:
        path = env.write("upload-%d.eml" % time.monotonic_ns(), upload)
        cmd += ["-T", path]
    r = subprocess.run(cmd + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=env.timeout * 3)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def protocol(err):
    """The IMAP lines of curl -v's log, for diagnostics."""
    return "\n".join(l for l in err.splitlines() if l[:2] in ("> ", "< "))[-3000:]


def list_names(out):
    names = {}
    for line in out.decode("latin-1").splitlines():
        m = re.match(r'\* LIST \(([^)]*)\) (?:"(.)"|NIL) (.*)$', line)
        if m:
            name = m.group(3)
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            names[name] = (m.group(1), m.group(2))
    return names


srv = env.start("imapd")
P = srv.port
URL = "imap://127.0.0.1:%d" % P
AUTH = ["-u", "alice:secret"]

with tap.section("imap:// list folders"):
    rc, out, err = curl([URL + "/"] + AUTH)
    tap.is_(rc, 0, "curl imap://127.0.0.1/ exits 0", protocol(err))
    names = list_names(out)
    tap.ok("INBOX" in names, "LIST shows INBOX", out)
    for n in ("Projects", "Projects/2026", "My Folder"):
        tap.ok(n in names, "LIST shows %s" % n, sorted(names))
    tap.is_(names.get("Projects", ("", None))[1], "/", "hierarchy separator /")
    tap.like(names.get("Projects", ("",))[0], r"\\HasChildren",
             "Projects \\HasChildren (CHILDREN)")
    tap.like(names.get("Projects/2026", ("",))[0], r"\\HasNoChildren",
             "Projects/2026 \\HasNoChildren")
    tap.ok("Sent" in names and "Trash" in names,
           "special-use folders were created (mailbox_autocreate)", sorted(names))
    tap.like(err, r"> A\d+ (AUTHENTICATE PLAIN|LOGIN)", "curl logged in", protocol(err))

with tap.section("imap:// login mechanisms"):
    for opt, want in (("AUTH=PLAIN", r"> A\d+ AUTHENTICATE PLAIN \S+"),
                      ("AUTH=LOGIN", r"> A\d+ AUTHENTICATE LOGIN")):
        rc, out, err = curl([URL + "/", "--login-options", opt] + AUTH)
        tap.ok(rc == 0 and "INBOX" in list_names(out),
               "--login-options %s: logged in and listed" % opt, protocol(err))
        tap.like(err, want, "--login-options %s: the command curl sent" % opt,
                 protocol(err))

with tap.section("imap:// fetch"):
    rc, out, err = curl([URL + "/INBOX;UID=2"] + AUTH)
    tap.is_(rc, 0, "INBOX;UID=2 exits 0", protocol(err))
    tap.is_(out, crlf(M2), "INBOX;UID=2 is message 2, exactly", protocol(err))
    tap.like(err, r"> A\d+ UID FETCH 2 BODY\[\]", "curl sent UID FETCH 2 BODY[]")
    rc, out, err = curl([URL + "/INBOX;MAILINDEX=1"] + AUTH)
    tap.is_((rc, out), (0, crlf(M1)), "INBOX;MAILINDEX=1 is message 1", protocol(err))
    rc, out, err = curl([URL + "/INBOX;UID=2;SECTION=TEXT"] + AUTH)
    tap.is_((rc, out), (0, crlf("Second message.\n.leading dot\n")),
            "SECTION=TEXT is the body", protocol(err))
    rc, out, err = curl([URL + "/INBOX;UID=1;SECTION=HEADER"] + AUTH)
    tap.is_((rc, out), (0, crlf(M1.split("\n\n")[0] + "\n\n")),
            "SECTION=HEADER is the header with its blank line", protocol(err))
    rc, out, err = curl([URL + "/Projects;UID=1"] + AUTH)
    tap.is_((rc, out), (0, crlf(M3)), "Projects;UID=1", protocol(err))
    rc, out, err = curl([URL + "/My%20Folder;UID=1"] + AUTH)
    tap.is_((rc, out), (0, crlf(M4)), "My%20Folder;UID=1 (a quoted mailbox name)",
            protocol(err))
    inbox = messages(env.maildir("alice"))
    tap.is_(inbox.get(M1.encode()), "S", "fetching BODY[] set \\Seen on disk", inbox)

with tap.section("imap:// fetch errors"):
    rc, out, err = curl([URL + "/INBOX;UID=99"] + AUTH)
    tap.ok(rc != 0 and out == b"", "a UID that does not exist: curl fails, no data",
           "exit %d\n%s" % (rc, protocol(err)))
    rc, out, err = curl([URL + "/NoSuchFolder;UID=1"] + AUTH)
    tap.ok(rc != 0 and out == b"", "a folder that does not exist: curl fails",
           "exit %d\n%s" % (rc, protocol(err)))
    tap.like(err, r"< A\d+ NO ", "SELECT answered NO", protocol(err))
    rc, out, err = curl([URL + "/", "-u", "alice:wrong"])
    tap.is_(rc, 67, "wrong password: curl exit 67 (login denied)", protocol(err))

with tap.section("imap:// search"):
    rc, out, err = curl([URL + "/INBOX", "-X", "SEARCH SUBJECT second"] + AUTH)
    tap.is_(rc, 0, "-X 'SEARCH SUBJECT second' exits 0", protocol(err))
    tap.like(out.decode("latin-1"), r"(?m)^\* SEARCH 2\r?$", "* SEARCH 2", out)
    rc, out, err = curl([URL + "/INBOX?SUBJECT%20first"] + AUTH)
    tap.is_(rc, 0, "URL query ?SUBJECT%20first exits 0", protocol(err))
    tap.like(out.decode("latin-1"), r"(?m)^\* SEARCH 1\r?$", "* SEARCH 1", out)
    rc, out, err = curl([URL + "/INBOX", "-X", "UID SEARCH ALL"] + AUTH)
    tap.like(out.decode("latin-1"), r"(?m)^\* SEARCH 1 2\r?$", "UID SEARCH ALL", out)
    rc, out, err = curl([URL + "/INBOX", "-X", "SEARCH NOSUCHKEY"] + AUTH)
    tap.ok(rc != 0, "SEARCH with an unknown key fails", "exit %d" % rc)
    tap.like(err, r"< A\d+ BAD ", "the server answered BAD", protocol(err))

with tap.section("imap:// store"):
    rc, out, err = curl([URL + "/INBOX", "-X", "UID STORE 2 +FLAGS (\\Flagged)"] + AUTH)
    tap.is_(rc, 0, "-X 'UID STORE 2 +FLAGS (\\Flagged)' exits 0", protocol(err))
    tap.like(out.decode("latin-1"), r"(?m)^\* 2 FETCH \(.*FLAGS \(.*\\Flagged", "the new flags",
             out)
    inbox = messages(env.maildir("alice"))
    tap.is_(inbox.get(M2.encode()), "FS", "\\Flagged on disk", inbox)

with tap.section("imap:// append"):
    new = ("From: curl@example.com\r\nSubject: uploaded\r\n"
           "Message-ID: <up1@example.com>\r\n\r\nSent with curl -T.\r\n")
    rc, out, err = curl([URL + "/INBOX"] + AUTH, upload=new)
    tap.is_(rc, 0, "curl -T imap://.../INBOX exits 0", protocol(err))
    tap.like(err, r"> A\d+ APPEND INBOX", "curl sent APPEND", protocol(err))
    inbox = messages(env.maildir("alice"))
    want = new.replace("\r\n", "\n").encode()
    tap.ok(want in inbox, "the message is in the INBOX Maildir", list(inbox))
    tap.is_(inbox.get(want), "S", "with the \\Seen flag curl asks for")
    rc, out, err = curl([URL + "/INBOX", "-X", "SEARCH HEADER Message-ID up1"] + AUTH)
    tap.like(out.decode("latin-1"), r"(?m)^\* SEARCH 3\r?$", "SEARCH finds it as 3", out)
    rc, out, err = curl([URL + "/INBOX;UID=3"] + AUTH)
    tap.is_(out, new.encode(), "and fetches it back byte for byte", protocol(err))
    rc, out, err = curl([URL + "/Projects/2026"] + AUTH, upload=new)
    tap.is_(rc, 0, "append to Projects/2026", protocol(err))
    sub = os.path.join(env.maildir("alice"), ".Projects.2026")
    tap.is_(list(messages(sub)), [want], "in Maildir/.Projects.2026 on disk")
    rc, out, err = curl([URL + "/NoSuchFolder"] + AUTH, upload=new)
    tap.ok(rc != 0, "append to a folder that does not exist fails", "exit %d" % rc)
    tap.like(err, r"< A\d+ NO \[TRYCREATE\]", "NO [TRYCREATE]", protocol(err))
    tap.ok(not os.path.exists(os.path.join(env.maildir("alice"), ".NoSuchFolder")),
           "no folder created")

with tap.section("imap:// with STARTTLS (--ssl-reqd)"):
    rc, out, err = curl(["--ssl-reqd", "--cacert", env.cert, "--resolve",
                         "localhost:%d:127.0.0.1" % P,
                         "imap://localhost:%d/INBOX;UID=1" % P] + AUTH)
    tap.is_((rc, out), (0, crlf(M1)), "UID=1 after STARTTLS", protocol(err))
    tap.like(err, r"> A\d+ STARTTLS", "curl sent STARTTLS")

tls = env.start("imapd", tls=True)
TP = tls.port
TURL = "imaps://localhost:%d" % TP
TLSARGS = ["--cacert", env.cert, "--resolve", "localhost:%d:127.0.0.1" % TP]

with tap.section("imaps://"):
    rc, out, err = curl([TURL + "/"] + TLSARGS + AUTH)
    tap.is_(rc, 0, "imaps:// list with the test certificate", protocol(err))
    tap.ok("INBOX" in list_names(out), "LIST shows INBOX", out)
    rc, out, err = curl([TURL + "/INBOX;UID=2"] + TLSARGS + AUTH)
    tap.is_((rc, out), (0, crlf(M2)), "imaps:// INBOX;UID=2", protocol(err))
    rc, out, err = curl([TURL + "/INBOX", "-X", "SEARCH FLAGGED"] + TLSARGS + AUTH)
    tap.like(out.decode("latin-1"), r"(?m)^\* SEARCH 2\r?$", "imaps:// SEARCH FLAGGED",
             protocol(err))
    new2 = "From: tls@example.com\r\nSubject: over tls\r\n\r\nimaps upload\r\n"
    rc, out, err = curl([TURL + "/My%20Folder"] + TLSARGS + AUTH, upload=new2)
    tap.is_(rc, 0, "imaps:// append to My Folder", protocol(err))
    tap.ok(new2.replace("\r\n", "\n").encode() in messages(SPACED),
           "on disk in Maildir/.My Folder")
    rc, out, err = curl([TURL + "/"] + AUTH + ["--resolve", "localhost:%d:127.0.0.1" % TP])
    tap.is_(rc, 60, "without --cacert the self-signed certificate is refused (60)")

env.finish()
