#!/usr/bin/env python3
# imapd --preauth: serve the invoking (non-root) user on stdin/stdout with
# a PREAUTH greeting and no TLS, PAM or other processes (RFC 3501 7.1.4),
# for `ssh host imapd --preauth` and mutt's tunnel: raw bytes and
# Python's imaplib.IMAP4_stream, as alice; refused as root; exit status.
import imaplib
import os
import re
import shlex
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
M1 = "From: a@example.com\nSubject: pre\n\nauthenticated\n"
M2 = "From: b@example.com\nSubject: second\n\nanother one\n"
env.deliver("alice", M1)
time.sleep(0.01)
env.deliver("alice", M2, subdir="cur", flags="S")
# the session runs as alice: its log file has to be hers
log = env.write("alice.log", "", 0o600, "alice")
conf = env.write_conf({"log_path": log})
imapd = env.binary("imapd")
UID, GID = harness.USERS["alice"][0], harness.USERS["alice"][1]


def alice_env():
    return env.nss_env(HOME=env.home("alice"), USER="alice", LOGNAME="alice")


def setpriv():
    return ["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID,
            "--clear-groups", "--"]


STDERR = []


def as_alice(args, stdin):
    r = subprocess.run(setpriv() + [imapd] + args, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=alice_env(), timeout=env.timeout, cwd="/")
    STDERR.append(r.stderr.decode("utf-8", "replace"))
    return r


def lines(out):
    return out.decode("latin-1").split("\r\n")


def maildir_flags(user):
    """{message file base name: flags} of the user's INBOX on disk."""
    md = env.maildir(user)
    out = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            base, _, flags = f.partition(":2,")
            out[base] = flags
    return out


with tap.section("greeting and capabilities"):
    r = as_alice(["--preauth", "-c", conf], b"a CAPABILITY\r\nb LOGOUT\r\n")
    out = lines(r.stdout)
    tap.like(out[0], r"^\* PREAUTH \[CAPABILITY IMAP4rev1( [^\]]*)?\] ",
             "greeting: * PREAUTH [CAPABILITY IMAP4rev1 ...] (RFC 3501 7.1.4)",
             r.stderr.decode())
    capa = [l for l in out if l.startswith("* CAPABILITY ")]
    tap.is_(len(capa), 1, "one CAPABILITY response")
    words = set(capa[0].split()[2:]) if capa else set()
    tap.ok("IMAP4rev1" in words and "IDLE" in words and "UIDPLUS" in words,
           "CAPABILITY lists IMAP4rev1, IDLE, UIDPLUS", capa)
    tap.ok(not any(w.startswith("AUTH=") or w in ("STARTTLS", "LOGINDISABLED")
                   for w in words),
           "the authenticated list: no STARTTLS, AUTH= or LOGINDISABLED", capa)
    tap.ok(any(l.startswith("a OK") for l in out), "CAPABILITY answered OK")
    tap.ok(any(l.startswith("* BYE") for l in out), "LOGOUT sends * BYE")
    tap.like(out[-2] if len(out) > 1 else "", r"^b OK",
             "LOGOUT's tagged OK is the last line", out[-4:])
    tap.is_(r.returncode, 0, "exit status 0 after LOGOUT", r.stderr.decode())

with tap.section("raw session: SELECT, FETCH, STORE, SEARCH, EXPUNGE"):
    before = maildir_flags("alice")
    r = as_alice(["--preauth", "-c", conf],
                 b"1 SELECT INBOX\r\n"
                 b"2 FETCH 1:* (UID FLAGS RFC822.SIZE)\r\n"
                 b"3 SEARCH UNSEEN\r\n"
                 b"4 FETCH 1 BODY[]\r\n"
                 b"5 STORE 2 +FLAGS (\\Flagged)\r\n"
                 b"6 LOGIN alice secret\r\n"
                 b"7 LOGOUT\r\n")
    text = r.stdout.decode("latin-1")
    out = lines(r.stdout)
    tap.like(text, r"\r\n\* 2 EXISTS\r\n", "SELECT: 2 EXISTS")
    tap.like(text, r"\r\n1 OK \[READ-WRITE\]", "SELECT: OK [READ-WRITE]")
    w1 = harness.crlf(M1)
    tap.ok(b"BODY[] {%d}\r\n" % len(w1) + w1 in r.stdout,
           "FETCH 1 BODY[] gives the message as a literal", repr(r.stdout[-600:]))
    tap.like(text, r"\r\n\* SEARCH 1\r\n3 OK", "SEARCH UNSEEN: message 1")
    tap.like(text, r"\r\n\* 2 FETCH \(FLAGS \(\\Seen \\Flagged\)\)\r\n5 OK"
             r"|\r\n\* 2 FETCH \(FLAGS \(\\Flagged \\Seen\)\)\r\n5 OK",
             "STORE +FLAGS answers the new flags")
    tap.like(text, r"\r\n6 BAD ", "LOGIN after PREAUTH is BAD (wrong state)")
    tap.like(out[-2] if len(out) > 1 else "", r"^7 OK", "LOGOUT answered")
    tap.is_(r.returncode, 0, "exit status 0", r.stderr.decode())
    after = maildir_flags("alice")
    tap.is_(sorted(after), sorted(before), "no message added or lost")
    tap.is_(sorted(after.values()), ["FS", "S"],
            "on disk: FETCH BODY[] set \\Seen on 1, STORE set \\Flagged on 2")

with tap.section("imaplib.IMAP4_stream"):
    cmd = " ".join(shlex.quote(a) for a in
                   setpriv() + ["env"] +
                   ["%s=%s" % (k, v) for k, v in sorted(alice_env().items())
                    if k in ("LD_PRELOAD", "NSS_WRAPPER_PASSWD",
                             "NSS_WRAPPER_GROUP", "HOME", "USER", "LOGNAME",
                             "ASAN_OPTIONS", "UBSAN_OPTIONS")
                    or k.endswith("DISABLE_DEEPBIND")] +
                   [imapd, "--preauth", "-c", conf])
    M = imaplib.IMAP4_stream(cmd + " 2>>" + shlex.quote(env.path("stream.err")))
    tap.is_(M.state, "AUTH", "imaplib sees PREAUTH: authenticated state")
    tap.ok("IMAP4REV1" in M.capabilities, "capabilities from the greeting",
           M.capabilities)
    typ, data = M.list()
    names = [re.sub(rb'^\(.*?\) "[./]" ', b"", d).decode() for d in data]
    tap.is_(typ, "OK", "list()")
    tap.ok("INBOX" in names, "list() has INBOX", data)
    typ, data = M.select("INBOX")
    tap.is_((typ, data), ("OK", [b"2"]), "select(): 2 messages")
    typ, data = M.uid("SEARCH", None, "FLAGGED")
    tap.is_(typ, "OK", "uid search FLAGGED")
    flagged = data[0].split()
    tap.is_(len(flagged), 1, "one flagged message", data)
    typ, data = M.append("INBOX", r"(\Seen)", None,
                         b"From: c@example.com\r\nSubject: appended\r\n\r\nvia stream\r\n")
    tap.is_(typ, "OK", "append()", data)
    tap.like(data[0].decode(), r"^\[APPENDUID \d+ \d+\]", "APPENDUID (UIDPLUS)")
    typ, data = M.noop()
    typ, data = M.search(None, "SUBJECT", "appended")
    tap.is_((typ, data), ("OK", [b"3"]), "search(SUBJECT appended) after NOOP")
    typ, data = M.fetch("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    tap.ok(typ == "OK" and b"Subject: appended" in data[0][1],
           "fetch HEADER.FIELDS", data)
    typ, data = M.store("1", "+FLAGS", r"(\Deleted)")
    tap.is_(typ, "OK", "store \\Deleted")
    typ, data = M.expunge()
    tap.is_((typ, data), ("OK", [b"1"]), "expunge(): message 1 expunged")
    typ, data = M.logout()
    tap.is_(typ, "BYE", "logout()")
    rc = M.process.wait(env.timeout)
    tap.is_(rc, 0, "exit status 0 after LOGOUT")
    on_disk = maildir_flags("alice")
    tap.is_(sorted(on_disk.values()), ["FS", "S"],
            "on disk: message 1 expunged, the appended one is \\Seen",
            on_disk)

with tap.section("EOF without LOGOUT"):
    r = as_alice(["--preauth", "-c", conf], b"1 SELECT INBOX\r\n")
    tap.like(r.stdout.decode("latin-1"), r"\r\n1 OK ", "SELECT answered")
    tap.is_(r.returncode, 0, "a client that goes away: exit status 0",
            r.stderr.decode())
    tap.is_(len(env.maildir_files("alice")), 2, "nothing lost")

with tap.section("no sanitizer reports from the --preauth runs"):
    if os.path.exists(env.path("stream.err")):
        with open(env.path("stream.err"), errors="replace") as f:
            STDERR.append(f.read())
    tap.unlike("".join(STDERR), r"AddressSanitizer|LeakSanitizer|runtime error",
               "no sanitizer report on stderr")

with tap.section("--preauth as root is refused"):
    r = subprocess.run([imapd, "--preauth", "-c", env.write_conf({"log_path": "/dev/stderr"})],
                       input=b"1 LOGOUT\r\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env.nss_env(),
                       timeout=env.timeout)
    tap.is_(r.returncode, 1, "exit status 1")
    tap.ok(b"PREAUTH" not in r.stdout and b"OK" not in r.stdout,
           "nothing served", repr(r.stdout))
    tap.like(r.stderr.decode(), r"root", "the reason mentions root")

with tap.section("usage errors"):
    r = subprocess.run([imapd, "--preauth", "--tls", "-c", conf],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=env.timeout)
    tap.is_(r.returncode, 2, "--preauth with --tls is a usage error (2)")
    tap.like(r.stderr.decode(), r"usage: imapd", "usage names imapd")

env.finish()
