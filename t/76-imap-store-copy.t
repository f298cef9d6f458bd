#!/usr/bin/env python3
# imapd: STORE / UID STORE (RFC 3501 6.4.6, 6.4.8; RFC 2180 4.2) and
# COPY / UID COPY / MOVE / UID MOVE (RFC 3501 6.4.7, RFC 4315 COPYUID,
# RFC 6851), on Maildir and on mbox: every STORE form, .SILENT,
# keywords (FLAGS/PERMANENTFLAGS before the FETCH), the flag grammar,
# read-only refusals, expunged messages, COPYUID against what a fresh
# SELECT of the target shows, TRYCREATE, MOVE's EXPUNGE order, a copy
# into the selected folder (EXISTS) and a copy larger than one store
# transaction.
import imaplib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()


class Imap:
    """A raw IMAP client over harness.Client: exact bytes, tagged replies."""

    def __init__(self, srv, user="alice", password="secret"):
        self.c = srv.connect()
        self.n = 0
        g = self.c.readline()
        if g is None or not g.startswith("* OK"):
            raise AssertionError("greeting %r" % g)
        _, t = self.run("LOGIN %s %s" % (user, password))
        if not t.startswith("OK"):
            raise AssertionError("LOGIN -> %r" % t)

    def run(self, cmd, timeout=None):
        """Send one command; (untagged lines, tagged text after the tag)."""
        self.n += 1
        tag = "t%d" % self.n
        self.c.send(tag + " " + cmd + "\r\n")
        return self.collect(tag, timeout)

    def collect(self, tag, timeout=None):
        lines = []
        while True:
            line = self.c.readline(timeout)
            if line is None:
                raise AssertionError("connection closed; got %r" % lines)
            if line.startswith(tag + " "):
                return lines, line[len(tag) + 1:]
            lines.append(line)

    def close(self):
        try:
            self.run("LOGOUT")
        except Exception:  # noqa: BLE001 - best effort
            pass
        self.c.close()


def fetch_flags(lines):
    """{seq: (uid or None, [flags])} from '* n FETCH (... FLAGS (...))'."""
    out = {}
    for ln in lines:
        m = re.match(r"\* (\d+) FETCH \((.*)\)$", ln)
        if not m:
            continue
        uid = re.search(r"UID (\d+)", m.group(2))
        fl = re.search(r"FLAGS \(([^)]*)\)", m.group(2))
        out[int(m.group(1))] = (int(uid.group(1)) if uid else None,
                                fl.group(1).split() if fl else None)
    return out


def select_info(im, name, examine=False, timeout=None):
    u, t = im.run("%s %s" % ("EXAMINE" if examine else "SELECT", name),
                  timeout)
    info = {"tagged": t, "lines": u}
    for ln in u:
        m = re.match(r"\* (\d+) EXISTS", ln)
        if m:
            info["exists"] = int(m.group(1))
        m = re.search(r"\[UIDVALIDITY (\d+)\]", ln)
        if m:
            info["uidvalidity"] = int(m.group(1))
        m = re.search(r"\[UIDNEXT (\d+)\]", ln)
        if m:
            info["uidnext"] = int(m.group(1))
    return info


def all_uids(im, timeout=None):
    """UID -> flags of the selected folder (UID STORE 1:* +FLAGS ())."""
    u, t = im.run("UID STORE 1:* +FLAGS ()", timeout)
    if not t.startswith("OK"):
        raise AssertionError("UID STORE 1:* +FLAGS () -> %r" % t)
    return {uid: [f for f in fl if f != "\\Recent"]
            for uid, fl in fetch_flags(u).values()}


def fetch_msg(srv, folder, uid):
    """(INTERNALDATE, flags without \\Recent, BODY[]) by imaplib."""
    cl = imaplib.IMAP4("127.0.0.1", srv.port)
    cl.login("alice", "secret")
    cl.select(folder, readonly=True)
    typ, data = cl.uid("FETCH", str(uid), "(INTERNALDATE FLAGS BODY.PEEK[])")
    cl.logout()
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        raise AssertionError("UID FETCH %s -> %r %r" % (uid, typ, data))
    head, body = data[0]
    d = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1)
    f = re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split()
    return (d, sorted(x for x in f if x != "\\Recent"), body)


def msg(i):
    return "From: m%d@example.com\nSubject: message %d\n\nbody %d\n" % (i, i, i)


def md_folder(name):
    """Create Maildir++ folder .name for alice."""
    d = os.path.join(env.maildir("alice"), "." + name)
    for sub in ("", "cur", "new", "tmp"):
        p = os.path.join(d, sub)
        os.makedirs(p, exist_ok=True)
        os.chown(p, 60101, 60101)
    return d


def claim_recent(srv):
    """A first SELECT takes \\Recent, so later sessions see plain flags."""
    im = Imap(srv)
    im.run("SELECT INBOX")
    im.close()


# ---------------------------------------------------------------------------

def store_tests(srv, kind):
    im = Imap(srv)
    info = select_info(im, "INBOX")
    tap.is_(info.get("exists"), 5, "%s: INBOX has 5 messages" % kind)

    u, t = im.run("STORE 1 +FLAGS (\\Seen)")
    tap.is_(u, ["* 1 FETCH (FLAGS (\\Seen))"], "%s: +FLAGS answers FETCH" % kind)
    tap.ok(t.startswith("OK"), "%s: +FLAGS tagged OK" % kind, t)

    u, t = im.run("STORE 1 FLAGS (\\Flagged \\Draft)")
    tap.is_(u, ["* 1 FETCH (FLAGS (\\Flagged \\Draft))"],
            "%s: FLAGS replaces" % kind)

    u, t = im.run("STORE 1 -FLAGS \\Draft")
    tap.is_(u, ["* 1 FETCH (FLAGS (\\Flagged))"],
            "%s: -FLAGS with a bare flag" % kind)

    u, t = im.run("store 2 +flags \\Seen \\Answered")
    tap.is_(u, ["* 2 FETCH (FLAGS (\\Answered \\Seen))"],
            "%s: several bare flags, lower case item" % kind)

    u, t = im.run("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    tap.is_((u, t[:2]), ([], "OK"), "%s: .SILENT sends no FETCH" % kind)
    u, t = im.run("STORE 3 +FLAGS ()")
    tap.is_(u, ["* 3 FETCH (FLAGS (\\Deleted))"],
            "%s: the .SILENT change took effect" % kind)
    u, t = im.run("STORE 2:3 -FLAGS.SILENT (\\Deleted)")
    tap.is_((u, t[:2]), ([], "OK"), "%s: -FLAGS.SILENT" % kind)
    u, t = im.run("STORE 3 FLAGS.SILENT ()")
    tap.is_((u, t[:2]), ([], "OK"), "%s: FLAGS.SILENT ()" % kind)

    u, t = im.run("UID STORE 1:* +FLAGS ()")
    got = fetch_flags(u)
    tap.is_(sorted(got), [1, 2, 3, 4, 5], "%s: UID STORE 1:* answers all" % kind)
    uids = [got[s][0] for s in sorted(got)]
    tap.ok(all(x is not None for x in uids) and uids == sorted(uids),
           "%s: UID STORE FETCH responses carry ascending UIDs" % kind, u)
    u, t = im.run("UID STORE %d +FLAGS (\\Seen)" % uids[3])
    tap.is_(u, ["* 4 FETCH (UID %d FLAGS (\\Seen))" % uids[3]],
            "%s: UID STORE names the UID" % kind)
    u, t = im.run("UID STORE 4000000000 +FLAGS (\\Seen)")
    tap.is_((u, t[:2]), ([], "OK"),
            "%s: UID STORE of a UID that does not exist: OK, nothing" % kind)
    u, t = im.run("UID STORE %d:4000000000 +FLAGS.SILENT (\\Seen)" % (uids[4] + 1))
    tap.is_((u, t[:2]), ([], "OK"), "%s: UID range above every UID" % kind)

    u, t = im.run("STORE 6 +FLAGS (\\Seen)")
    tap.ok(t.startswith("BAD"), "%s: sequence number beyond EXISTS: BAD" % kind, t)

    # keywords: announced with FLAGS and PERMANENTFLAGS before the FETCH
    u, t = im.run("STORE 1 +FLAGS ($Label1 Junk)")
    fl = [i for i, ln in enumerate(u) if ln.startswith("* FLAGS ")]
    pf = [i for i, ln in enumerate(u) if "[PERMANENTFLAGS " in ln]
    fe = [i for i, ln in enumerate(u) if "FETCH" in ln]
    tap.ok(fl and pf and fe and fl[0] < fe[0] and pf[0] < fe[0],
           "%s: new keywords: FLAGS and PERMANENTFLAGS before FETCH" % kind, u)
    tap.ok(fl and "$Label1" in u[fl[0]] and "Junk" in u[fl[0]],
           "%s: FLAGS lists the new keywords" % kind, u)
    tap.ok(pf and "$Label1" in u[pf[0]] and "\\*" in u[pf[0]],
           "%s: PERMANENTFLAGS lists them and \\*" % kind, u)
    tap.is_(fetch_flags(u).get(1), (None, ["\\Flagged", "$Label1", "Junk"]),
            "%s: FETCH shows the keywords" % kind, u)
    u, t = im.run("STORE 2 +FLAGS (junk)")
    tap.is_(u, ["* 2 FETCH (FLAGS (\\Answered \\Seen Junk))"],
            "%s: a known keyword (any case): no new FLAGS" % kind)
    u, t = im.run("STORE 2 -FLAGS (Junk NotThere)")
    tap.is_(u, ["* 2 FETCH (FLAGS (\\Answered \\Seen))"],
            "%s: -FLAGS with an unknown keyword" % kind)
    tap.ok(not any(ln.startswith("* FLAGS") for ln in u),
           "%s: -FLAGS does not create keywords" % kind, u)

    # the flag grammar: BAD, and nothing changes
    for bad in ("STORE 1 +FLAGS (\\Recent)", "STORE 1 FLAGS \\Recent",
                "STORE 1 +FLAGS (\\Foo)", "STORE 1 +FLAGS (\\*)",
                "STORE 1 +FLAGS (a]b)", "STORE 1 +FLAGS (a%b)",
                "STORE 1 +FLAGS (\"quoted\")", "STORE 1 +FLAGS ((nested))",
                "STORE 1 +FLAGS", "STORE 1 FROBS (\\Seen)",
                "STORE 1 +FLAGS.LOUD (\\Seen)", "STORE 1 +FLAGS (\\Seen) x",
                "STORE 1", "STORE", "STORE x +FLAGS (\\Seen)",
                "STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)",
                "STORE 1 +FLAGS (" + "k" * 300 + ")"):
        u, t = im.run(bad)
        tap.ok(t.startswith("BAD") and not any("FETCH" in x for x in u),
               "%s: %s -> BAD" % (kind, bad[:60]), (u, t))
    u, t = im.run("STORE 1 +FLAGS ()")
    tap.is_(fetch_flags(u).get(1), (None, ["\\Flagged", "$Label1", "Junk"]),
            "%s: the refused STOREs changed nothing" % kind, u)

    # keyword limits
    many = " ".join("kw%d" % i for i in range(65))
    u, t = im.run("STORE 1 +FLAGS (%s)" % many)
    tap.ok(t.startswith("NO [LIMIT]"), "%s: 65 keywords in one STORE: NO [LIMIT]"
           % kind, t)
    fill = " ".join("kw%d" % i for i in range(24))
    u, t = im.run("STORE 5 +FLAGS (%s)" % fill)
    tap.ok(t.startswith("OK"), "%s: 26 keywords fill the table" % kind, t)
    pf = [ln for ln in u if "[PERMANENTFLAGS " in ln]
    tap.ok(pf and "\\*" not in pf[0],
           "%s: a full table: PERMANENTFLAGS without \\*" % kind, pf)
    u, t = im.run("STORE 5 +FLAGS (onemore)")
    tap.ok(t.startswith("NO [LIMIT]"), "%s: keyword 27: NO [LIMIT]" % kind, t)
    u, t = im.run("STORE 5 FLAGS (\\Seen)")
    tap.is_(u, ["* 5 FETCH (FLAGS (\\Seen))"], "%s: FLAGS drops keywords" % kind)

    # another session sees what this one stored
    im2 = Imap(srv)
    im2.run("SELECT INBOX")
    u, t = im2.run("STORE 1:2 +FLAGS ()")
    tap.is_(fetch_flags(u), {1: (None, ["\\Flagged", "$Label1", "Junk"]),
                             2: (None, ["\\Answered", "\\Seen"])},
            "%s: the flags are stored for other sessions" % kind, u)
    im2.close()

    # .SILENT: no FETCH for our change, but one for another session's
    im2 = Imap(srv)
    im2.run("SELECT INBOX")
    im2.run("STORE 4 +FLAGS.SILENT (\\Flagged)")
    im2.close()
    u, t = im.run("STORE 3 +FLAGS.SILENT (\\Answered)")
    tap.ok(t.startswith("OK") and not any(x.startswith("* 3 FETCH") for x in u),
           "%s: .SILENT: nothing about our own change" % kind, u)
    tap.ok(any(re.match(r"\* 4 FETCH \(.*FLAGS \([^)]*\\Flagged", x)
               for x in u),
           "%s: .SILENT: another session's change is reported" % kind, u)

    # read-only
    u, t = im.run("EXAMINE INBOX")
    for cmd in ("STORE 1 +FLAGS (\\Seen)", "UID STORE 1:* -FLAGS (\\Seen)",
                "STORE 1 +FLAGS.SILENT (newkw)"):
        u, t = im.run(cmd)
        tap.ok(t.startswith("NO [READ-ONLY]") and not u,
               "%s: EXAMINE: %s -> NO [READ-ONLY]" % (kind, cmd), (u, t))
    im.close()


def store_gone_tests(srv):
    """RFC 2180 4.2: messages removed by someone else (Maildir)."""
    im = Imap(srv)
    select_info(im, "INBOX")
    cur = os.path.join(env.maildir("alice"), "cur")
    new = os.path.join(env.maildir("alice"), "new")
    files = sorted(os.listdir(cur) + os.listdir(new))
    # the newest (last) message: remove its file behind the session's back
    last = max(files, key=lambda f: f.split(":")[0])
    for d in (cur, new):
        if os.path.exists(os.path.join(d, last)):
            os.unlink(os.path.join(d, last))
    u, t = im.run("STORE 5 +FLAGS (\\Flagged)")
    tap.ok(t.startswith("NO") and not any("FETCH" in x for x in u),
           "expunged: STORE of only that message: NO", (u, t))
    tap.ok("EXPUNGE" not in " ".join(u),
           "expunged: no EXPUNGE during STORE (RFC 3501 7.4.1)", u)
    u, t = im.run("STORE 4:5 +FLAGS (\\Answered)")
    tap.ok(t.startswith("OK") and list(fetch_flags(u)) == [4],
           "expunged: the others are stored and answered", (u, t))
    u, t = im.run("STORE 5 +FLAGS.SILENT (\\Seen)")
    tap.is_(t[:2], "OK", "expunged: .SILENT: OK (RFC 2180 4.2.1)")
    u, t = im.run("NOOP")
    tap.ok("* 5 EXPUNGE" in u, "expunged: NOOP reports the EXPUNGE", u)
    im.close()


# ---------------------------------------------------------------------------

def copy_tests(srv, kind, mkfolder):
    mkfolder("Target")
    im = Imap(srv)
    select_info(im, "INBOX")
    inbox = all_uids(im)
    src = sorted(inbox)

    u, t = im.run("COPY 1:2 Target")
    m = re.match(r"OK \[COPYUID (\d+) (\S+) (\S+)\]", t)
    tap.ok(m, "%s: COPY: tagged OK [COPYUID ...]" % kind, t)
    im2 = Imap(srv)
    tinfo = select_info(im2, "Target")
    tuids = all_uids(im2)
    tap.is_(tinfo.get("exists"), 2, "%s: the target holds 2 messages" % kind)
    if m:
        tap.is_(int(m.group(1)), tinfo.get("uidvalidity"),
                "%s: COPYUID's UIDVALIDITY is the target's" % kind)
        tap.is_(m.group(2), "%d:%d" % (src[0], src[1]),
                "%s: COPYUID source set" % kind)
        tap.is_(m.group(3), "%d:%d" % tuple(sorted(tuids)),
                "%s: COPYUID target set = the UIDs SELECT shows" % kind)
    tap.is_(sorted(tuple(sorted(f)) for f in tuids.values()),
            sorted(tuple(sorted(inbox[x])) for x in src[:2]),
            "%s: flags and keywords were copied" % kind)
    im2.close()
    if m and re.match(r"\d+:\d+$", m.group(3)):
        lo = int(m.group(3).split(":")[0])
        for k in range(2):
            tap.is_(fetch_msg(srv, "Target", lo + k),
                    fetch_msg(srv, "INBOX", src[k]),
                    "%s: copy %d has the source's INTERNALDATE, flags and "
                    "body" % (kind, k + 1))

    u, t = im.run("UID COPY %d,%d Target" % (src[2], src[4]))
    m = re.match(r"OK \[COPYUID (\d+) (\S+) (\S+)\]", t)
    tap.ok(m and m.group(2) == "%d,%d" % (src[2], src[4]),
           "%s: UID COPY: COPYUID lists the source UIDs" % kind, t)
    im2 = Imap(srv)
    tinfo = select_info(im2, "Target")
    tuids = sorted(all_uids(im2))
    tap.is_(tinfo.get("exists"), 4, "%s: the target holds 4 now" % kind)
    if m:
        tap.is_(m.group(3), "%d:%d" % (tuids[2], tuids[3]),
                "%s: UID COPY: COPYUID target range" % kind)
    im2.close()

    u, t = im.run("UID COPY 4000000000 Target")
    tap.ok(t.startswith("OK") and "COPYUID" not in t,
           "%s: UID COPY of no message: OK without COPYUID" % kind, t)
    u, t = im.run("COPY 1 Nonexistent")
    tap.ok(t.startswith("NO [TRYCREATE]"), "%s: COPY to a missing mailbox: "
           "NO [TRYCREATE]" % kind, t)
    u, t = im.run("MOVE 1 Nonexistent")
    tap.ok(t.startswith("NO [TRYCREATE]"), "%s: MOVE to a missing mailbox: "
           "NO [TRYCREATE]" % kind, t)
    for bad in ("COPY 9 Target", "COPY 1", "COPY", "COPY 1 Target extra",
                "COPY 1 (Target)", "COPY x Target", "MOVE 0 Target"):
        u, t = im.run(bad)
        tap.ok(t.startswith("BAD"), "%s: %s -> BAD" % (kind, bad), t)
    u, t = im.run("NOOP")
    tap.ok(not any("EXPUNGE" in x for x in u), "%s: the failed MOVE removed "
           "nothing" % kind, u)

    # copy into the selected folder: the new message comes as EXISTS
    u, t = im.run("COPY 1 INBOX")
    tap.ok(t.startswith("OK [COPYUID"), "%s: COPY into the selected folder" % kind, t)
    tap.ok("* 6 EXISTS" in u, "%s: ... and EXISTS before the tagged OK" % kind, u)
    m = re.match(r"OK \[COPYUID \d+ \S+ (\d+)\]", t)
    now = all_uids(im)
    tap.ok(m and int(m.group(1)) in now, "%s: the COPYUID UID is in the "
           "selected view" % kind, (t, sorted(now)))

    # MOVE: COPYUID untagged, then the EXPUNGEs, highest first
    u, t = im.run("MOVE 2:3 Target")
    cu = [i for i, x in enumerate(u) if x.startswith("* OK [COPYUID ")]
    ex = [x for x in u if x.endswith(" EXPUNGE")]
    tap.ok(t.startswith("OK"), "%s: MOVE tagged OK" % kind, t)
    tap.ok(cu and cu[0] == 0, "%s: MOVE: untagged COPYUID first" % kind, u)
    tap.is_(ex, ["* 3 EXPUNGE", "* 2 EXPUNGE"],
            "%s: MOVE: EXPUNGE per message, highest first" % kind)
    tap.ok(cu and re.search(r"COPYUID \d+ %d:%d " % (src[1], src[2]), u[cu[0]]),
           "%s: MOVE: COPYUID names the moved UIDs" % kind, u)
    left = all_uids(im)
    tap.ok(src[1] not in left and src[2] not in left and len(left) == 4,
           "%s: the moved messages left the source" % kind, sorted(left))
    seqs = sorted(left)
    u, t = im.run("UID MOVE %d Target" % seqs[-1])
    tap.ok(t.startswith("OK") and "* 4 EXPUNGE" in u and
           any(x.startswith("* OK [COPYUID ") for x in u),
           "%s: UID MOVE of the last message: * 4 EXPUNGE" % kind, (u, t))
    im2 = Imap(srv)
    tap.is_(select_info(im2, "Target").get("exists"), 7,
            "%s: the target got the moved messages" % kind)
    tap.is_(select_info(im2, "INBOX").get("exists"), 3,
            "%s: a fresh SELECT of the source agrees" % kind)
    im2.close()

    # read-only source: COPY allowed, MOVE refused
    u, t = im.run("EXAMINE INBOX")
    u, t = im.run("MOVE 1 Target")
    tap.ok(t.startswith("NO [READ-ONLY]"), "%s: MOVE from EXAMINE: NO "
           "[READ-ONLY]" % kind, t)
    u, t = im.run("COPY 1 Target")
    tap.ok(t.startswith("OK [COPYUID"), "%s: COPY from EXAMINE works" % kind, t)
    u, t = im.run("COPY 1 INBOX")
    tap.ok(t.startswith("OK [COPYUID"), "%s: COPY into the EXAMINEd folder "
           "itself" % kind, t)
    im.close()
    im2 = Imap(srv)
    tap.is_(select_info(im2, "INBOX").get("exists"), 4,
            "%s: ... the copy is there" % kind)
    im2.close()

    # imaplib, as a client library sees it
    cl = imaplib.IMAP4("127.0.0.1", srv.port)
    cl.login("alice", "secret")
    cl.select("INBOX")
    typ, data = cl.copy("1", "Target")
    tap.is_(typ, "OK", "%s: imaplib COPY" % kind)
    typ, data = cl.uid("MOVE", "1:*", "Target")
    tap.is_(typ, "OK", "%s: imaplib UID MOVE 1:*" % kind)
    typ, data = cl.select("INBOX")
    tap.is_(data, [b"0"], "%s: imaplib: INBOX empty after MOVE 1:*" % kind)
    typ, data = cl.select("Target")
    tap.is_(data, [b"13"], "%s: imaplib: Target has everything" % kind)
    cl.logout()


def copy_gone_tests(srv):
    """RFC 2180 4.4.1: COPY naming a message someone expunged copies
    nothing (Maildir)."""
    md_folder("Gone")
    for i in range(3):
        env.deliver("alice", msg(100 + i))
    im = Imap(srv)
    n = select_info(im, "INBOX").get("exists")
    files = [f for d in ("cur", "new")
             for f in os.listdir(os.path.join(env.maildir("alice"), d))]
    last = max(files, key=lambda f: f.split(":")[0])
    for d in ("cur", "new"):
        p = os.path.join(env.maildir("alice"), d, last)
        if os.path.exists(p):
            os.unlink(p)
    u, t = im.run("COPY 1:%d Gone" % n)
    tap.ok(t.startswith("NO"), "expunged: COPY fails", t)
    im2 = Imap(srv)
    tap.is_(select_info(im2, "Gone").get("exists"), 0,
            "expunged: nothing was copied (all or nothing)")
    im2.close()
    tap.ok("* %d EXPUNGE" % n in u,
           "expunged: the failed COPY reports the EXPUNGE (RFC 2180 4.4)", u)
    u, t = im.run("MOVE 1:%d Gone" % (n - 1))
    tap.ok(t.startswith("OK") and len([x for x in u if "EXPUNGE" in x]) == n - 1,
           "expunged: MOVE of the rest then works", (u, t))
    im.close()


def big_copy_tests(srv):
    """A COPY and MOVE of more than a thousand messages, in one transaction."""
    md_folder("Big")
    md_folder("BigDst")
    d = os.path.join(env.maildir("alice"), ".Big", "cur")
    now = int(time.time())
    for i in range(1205):
        p = os.path.join(d, "%d.M%06dP1Q%d.big:2,S" % (now, i, i))
        with open(p, "w") as f:
            f.write("Subject: big %d\n\nbody\n" % i)
        os.chown(p, 60101, 60101)
    im = Imap(srv)
    tap.is_(select_info(im, "Big", timeout=300).get("exists"), 1205, "big: 1205 messages")
    u, t = im.run("COPY 1:* BigDst", 300)
    m = re.match(r"OK \[COPYUID \d+ (\S+) (\S+)\]", t)
    tap.ok(m, "big: COPY of 1205 messages: OK [COPYUID]", t[:200])
    im2 = Imap(srv)
    tap.is_(select_info(im2, "BigDst", timeout=300).get("exists"), 1205,
            "big: all 1205 are in the target")
    dst = sorted(all_uids(im2, 300))
    if m:
        tap.is_(m.group(2), "%d:%d" % (dst[0], dst[-1]),
                "big: COPYUID covers every target UID")
    im2.close()
    u, t = im.run("MOVE 1:* BigDst", 300)
    ex = [x for x in u if x.endswith(" EXPUNGE")]
    tap.ok(t.startswith("OK") and len(ex) == 1205 and ex[0] == "* 1205 EXPUNGE",
           "big: MOVE of 1205: 1205 EXPUNGEs, highest first", (len(ex), t))
    im.close()


# ---------------------------------------------------------------------------

for i in range(5):
    env.deliver("alice", msg(i))
    time.sleep(0.01)
srv = env.start("imapd")
claim_recent(srv)
with tap.section("Maildir: STORE"):
    store_tests(srv, "maildir")
with tap.section("Maildir: STORE on expunged messages"):
    store_gone_tests(srv)
srv.stop()

# fresh mail for the copies
md = env.maildir("alice")
for d in ("cur", "new"):
    for f in os.listdir(os.path.join(md, d)):
        os.unlink(os.path.join(md, d, f))
for i in range(5):
    env.deliver("alice", msg(10 + i), flags="S" if i == 0 else None)
    time.sleep(0.01)
srv = env.start("imapd")
claim_recent(srv)
with tap.section("Maildir: COPY and MOVE"):
    copy_tests(srv, "maildir", md_folder)
with tap.section("Maildir: COPY of expunged messages"):
    copy_gone_tests(srv)
with tap.section("Maildir: COPY and MOVE beyond one transaction"):
    big_copy_tests(srv)
srv.stop()

# mbox
mbox_data = "".join("From m%d@example.com Mon Nov 23 10:00:0%d 2026\n%s\n"
                    % (i, i, msg(i)) for i in range(5))
inbox, loc = env.mbox("alice", mbox_data)
srv = env.start("imapd", conf={"mail_location": loc})
claim_recent(srv)
with tap.section("mbox: STORE"):
    store_tests(srv, "mbox")
srv.stop()


def mbox_folder(name):
    p = os.path.join(env.home("alice"), "mail", name)
    env.write_mbox(p, "")


env.write_mbox(inbox, "".join(
    "From m%d@example.com Mon Nov 23 11:00:0%d 2026\n%s\n"
    % (i, i, msg(20 + i)) for i in range(5)))
srv = env.start("imapd", conf={"mail_location": loc})
claim_recent(srv)
with tap.section("mbox: COPY and MOVE"):
    copy_tests(srv, "mbox", mbox_folder)

env.finish()
