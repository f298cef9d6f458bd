#!/usr/bin/env python3
# imapd CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS: the
# hierarchy, INBOX in any case and its special cases, every error code
# (NONEXISTENT, ALREADYEXISTS, CANNOT), BAD syntax, deleting and renaming
# the selected folder, STATUS items including SIZE (the sum of the
# RFC822.SIZE of the messages) and APPENDLIMIT, for Maildir and mbox,
# over raw bytes and through imaplib.
import imaplib
import os
import re
import shutil
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()
imapd = env.binary("imapd")
ALICE = harness.USERS["alice"][0]
HOME = env.home("alice")

wrapper = env.write("imapd-alice", (
    "#!/bin/sh\nHOME=%s USER=alice LOGNAME=alice exec setpriv --reuid=%d "
    "--regid=%d --clear-groups -- %s \"$@\"\n"
    % (HOME, ALICE, ALICE, imapd)), 0o755)


def server(conf):
    c = {"log_path": "/dev/stderr", "mailbox_autocreate": "no"}
    c.update(conf)
    return env.start(wrapper, conf=c, args=["--preauth"])


def own(path):
    os.chown(path, ALICE, ALICE)


def fresh_maildir(name):
    root = os.path.join(HOME, name)
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("", "cur", "new", "tmp"):
        os.mkdir(os.path.join(root, sub), 0o700)
        own(os.path.join(root, sub))
    return root, "maildir:~/" + name


def fresh_mbox(name, data=""):
    root = os.path.join(HOME, name)
    shutil.rmtree(root, ignore_errors=True)
    os.mkdir(root, 0o700)
    own(root)
    spool = env.path("spool")
    os.makedirs(spool, exist_ok=True)
    os.chmod(spool, 0o1777)
    inbox = env.write_mbox(os.path.join(spool, "alice-" + name), data)
    return root, "mbox:%s:INBOX=%s" % (root, inbox)


def put(root, folder, data, flags=""):
    """A message in a Maildir folder ("" is INBOX), written as an MTA
    would."""
    d = root if folder == "" else os.path.join(root, "." + folder)
    put.n += 1
    name = "1700000000.M%dP1.test" % put.n
    sub = "cur" if flags else "new"
    p = os.path.join(d, sub, name + (":2," + flags if flags else ""))
    with open(p, "wb") as f:
        f.write(data.encode())
    own(p)


put.n = 0


class Imap:
    """A raw IMAP client: exact lines, tags a1, a2, ..."""

    def __init__(self, srv):
        self.c = srv.connect()
        self.n = 0
        self.greeting = self.c.readline()

    def cmd(self, text):
        self.n += 1
        tag = "a%d" % self.n
        self.c.send((tag + " ").encode() + (text.encode("latin-1") if
                    isinstance(text, str) else text) + b"\r\n")
        lines = []
        while True:
            ln = self.c.readline()
            if ln is None:
                return lines, None
            if ln.startswith(tag + " "):
                return lines, ln[len(tag) + 1:]
            lines.append(ln)

    def ok(self, text, name=None):
        un, t = self.cmd(text)
        tap.like(t, r"^OK ", name or text, un)
        return un

    def no(self, text, code, name=None):
        un, t = self.cmd(text)
        tap.like(t, r"^NO \[%s\] " % code, name or "%s: NO [%s]" % (text, code),
                 un)
        return un

    def names(self, pattern="*"):
        un = self.ok('LIST "" "%s"' % pattern, "LIST %s" % pattern)
        return [re.sub(r'^\* LIST \([^)]*\) "." ', "", x) for x in un]

    def close(self):
        self.c.close()


M1 = "From: a@example.org\nSubject: one\n\nbody one\n"
M2 = "From: b@example.org\nSubject: two\n\nbody two\nsecond line\n"
M3 = "From: c@example.org\nSubject: three\n\nthree\n"


def wire(m):
    return len(m.replace("\n", "\r\n"))


# ---------------------------------------------------------------- Maildir
root, loc = fresh_maildir("m79")
srv = server({"mail_location": loc})

with tap.section("CREATE"):
    c = Imap(srv)
    un, t = c.cmd('CREATE "Work"')
    tap.is_((un, t), ([], "OK Create completed."), "CREATE")
    tap.ok(os.path.isdir(os.path.join(root, ".Work", "cur")),
           "a Maildir++ folder on disk")
    c.no('CREATE "Work"', "ALREADYEXISTS")
    c.no('CREATE "INBOX"', "ALREADYEXISTS")
    c.no('CREATE inbox', "ALREADYEXISTS", "CREATE inbox (any case)")
    c.ok('CREATE "Work/2024/Q1"')
    tap.is_(c.names(), ['INBOX', '"Work"', '"Work/2024/Q1"'],
            "CREATE of a deep name")
    c.ok('CREATE "Lists/"')
    tap.ok(os.path.isdir(os.path.join(root, ".Lists")),
           "a trailing separator is dropped for Maildir")
    c.ok('CREATE inbox/Sub')
    tap.is_(c.names("INBOX*"), ['INBOX', '"INBOX/Sub"'],
            "inbox/Sub is INBOX/Sub")
    for bad, why in (('"a//b"', "empty level"), ('"/a"', "leading /"),
                     ('"a/../b"', ".."), ('"a.b"', ". in a Maildir++ name"),
                     ('"~x"', "~"), ('"postern-x"', "reserved"),
                     ('"&Jjo"', "invalid modified UTF-7"),
                     ('""', "empty")):
        c.no("CREATE %s" % bad, "CANNOT", "CREATE %s (%s): NO [CANNOT]"
             % (bad, why))
    c.no(b'CREATE {3+}\r\n\xe4bc', "CANNOT", "CREATE with 8-bit bytes")
    for bad in ("CREATE", 'CREATE "a" "b"', "CREATE a%", "CREATE (x)",
                "CREATE \\Seen", 'CREATE "x" (USE (\\Sent)) y'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    c.close()

with tap.section("DELETE"):
    c = Imap(srv)
    c.no('DELETE "Nothing"', "NONEXISTENT")
    c.no('DELETE "INBOX"', "CANNOT")
    c.no('DELETE "iNbOx"', "CANNOT", "DELETE INBOX in any case")
    c.ok('DELETE "Lists"')
    tap.ok(not os.path.exists(os.path.join(root, ".Lists")), "gone on disk")
    c.ok('DELETE "Work"')
    tap.is_(c.names("Work*"), ['"Work/2024/Q1"'],
            "DELETE keeps the children (Dovecot's Maildir++ behaviour)")
    tap.is_(c.ok('LIST "" "%"'), [
        '* LIST (\\HasChildren) "/" INBOX',
        '* LIST (\\Noselect \\HasChildren) "/" "Work"'],
            "the deleted parent is now \\Noselect")
    c.no('DELETE "Work"', "NONEXISTENT", "DELETE a parent that is only "
         "implied")
    c.ok('SUBSCRIBE "Work/2024/Q1"')
    c.ok('DELETE "Work/2024/Q1"')
    tap.is_(c.ok('LSUB "" "*"'), ['* LSUB (\\Noselect) "/" "Work/2024/Q1"'],
            "DELETE does not unsubscribe (RFC 3501 6.3.4)")
    c.ok('UNSUBSCRIBE "Work/2024/Q1"')
    for bad in ("DELETE", 'DELETE "a" "b"', "DELETE *"):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    c.close()

with tap.section("RENAME"):
    c = Imap(srv)
    c.ok('CREATE "A/B"')
    c.ok('CREATE "A"')
    c.ok('CREATE "Other"')
    c.ok('SUBSCRIBE "A/B"')
    put(root, "A/B".replace("/", "."), M1)
    un, t = c.cmd('RENAME "A" "Z"')
    tap.is_((un, t), ([], "OK Rename completed."), "RENAME")
    tap.is_(c.names("A*") + c.names("Z*"), ['"Z"', '"Z/B"'],
            "the children move with it")
    tap.is_(c.ok('LSUB "" "*"'), ['* LSUB () "/" "Z/B"'],
            "and so does the subscription")
    un = c.ok('STATUS "Z/B" (MESSAGES)')
    tap.is_(un, ['* STATUS "Z/B" (MESSAGES 1)'], "and the messages")
    c.no('RENAME "Z" "Other"', "ALREADYEXISTS")
    c.no('RENAME "Nothing" "New"', "NONEXISTENT")
    c.no('RENAME "Z" "INBOX"', "ALREADYEXISTS", "RENAME to INBOX")
    c.no('RENAME "Z" "Z/sub"', "CANNOT", "RENAME into itself")
    c.no('RENAME "Z" "a..b"', "CANNOT", "RENAME to an invalid name")
    for bad in ("RENAME", 'RENAME "a"', 'RENAME "a" "b" "c"', 'RENAME a% b'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    put(root, "", M1)
    put(root, "", M2, "S")
    c.ok('SUBSCRIBE "INBOX"')
    un, t = c.cmd('RENAME "inbox" "Old Inbox"')
    tap.is_(t, "OK Rename completed.", "RENAME INBOX (any case)")
    tap.is_(c.ok('STATUS "Old Inbox" (MESSAGES UNSEEN)'),
            ['* STATUS "Old Inbox" (MESSAGES 2 UNSEEN 1)'],
            "the messages moved to the new folder")
    tap.is_(c.ok('STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 0)'],
            "INBOX is still there, empty (RFC 3501 6.3.5)")
    tap.is_(c.names("INBOX*"), ['INBOX', '"INBOX/Sub"'],
            "and keeps its children")
    tap.is_(c.ok('LSUB "" "*"'), ['* LSUB () "/" INBOX',
                                  '* LSUB () "/" "Z/B"'],
            "and its subscription")
    c.ok('UNSUBSCRIBE "INBOX"')
    c.close()

with tap.section("SUBSCRIBE and UNSUBSCRIBE"):
    c = Imap(srv)
    un, t = c.cmd('SUBSCRIBE "Not/There"')
    tap.is_((un, t), ([], "OK Subscribe completed."),
            "a name that does not exist can be subscribed")
    c.ok('SUBSCRIBE "Other"')
    c.ok('subscribe Other')
    tap.is_(c.ok('LSUB "" "*"'), ['* LSUB (\\Noselect) "/" "Not/There"',
                                  '* LSUB () "/" "Other"',
                                  '* LSUB () "/" "Z/B"'],
            "each name once")
    un, t = c.cmd('UNSUBSCRIBE "Not/There"')
    tap.is_(t, "OK Unsubscribe completed.", "UNSUBSCRIBE")
    c.ok('UNSUBSCRIBE "Never"', "UNSUBSCRIBE of a name not subscribed")
    c.no('SUBSCRIBE "a//b"', "CANNOT")
    c.no('SUBSCRIBE "&Jjo"', "CANNOT")
    for bad in ("SUBSCRIBE", "UNSUBSCRIBE", 'SUBSCRIBE "a" "b"'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    with open(os.path.join(root, "postern-subscriptions")) as f:
        tap.is_(f.read(), "Other\nZ/B\n", "postern-subscriptions")
    c.close()

with tap.section("STATUS"):
    c = Imap(srv)
    put(root, "", M1)
    put(root, "", M2, "S")
    put(root, "", M3, "FS")
    un, t = c.cmd('STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN '
                  'SIZE)')
    tap.is_(t, "OK Status completed.", "STATUS")
    m = re.match(r'^\* STATUS INBOX \(MESSAGES 3 RECENT (\d+) UIDNEXT (\d+) '
                 r'UIDVALIDITY (\d+) UNSEEN 1 SIZE (\d+)\)$',
                 un[0] if un else "")
    tap.ok(m is not None and len(un) == 1, "every item, in order", un)
    total = wire(M1) + wire(M2) + wire(M3)
    tap.is_(int(m.group(4)) if m else None, total,
            "SIZE is the sum of the sizes with CRLF line ends")
    tap.is_(int(m.group(1)) if m else None, 3, "RECENT 3 (nobody has "
            "selected INBOX since)")
    un2 = c.ok("STATUS inbox (uidvalidity uidnext)")
    tap.is_(un2, ['* STATUS INBOX (UIDVALIDITY %s UIDNEXT %s)'
                  % (m.group(3), m.group(2)) if m else "?"],
            "items in the client's order and case")
    c.ok("SELECT INBOX")
    un, t = c.cmd("FETCH 1:* (RFC822.SIZE)")
    sizes = [int(x) for x in re.findall(r"RFC822\.SIZE (\d+)", " ".join(un))]
    tap.is_((len(sizes), sum(sizes), t), (3, total, "OK Fetch completed."),
            "SIZE == the sum of FETCH RFC822.SIZE")
    c.ok("CLOSE")
    tap.is_(c.ok("STATUS INBOX (MESSAGES MESSAGES SIZE)"),
            ["* STATUS INBOX (MESSAGES 3 SIZE %d)" % total],
            "an item asked twice is answered once")
    tap.is_(c.ok("STATUS INBOX (APPENDLIMIT)"),
            ["* STATUS INBOX (APPENDLIMIT 52428800)"],
            "APPENDLIMIT (RFC 7889 3.1)")
    tap.is_(c.ok('STATUS "Other" (MESSAGES UNSEEN SIZE UIDNEXT)'),
            ['* STATUS "Other" (MESSAGES 0 UNSEEN 0 SIZE 0 UIDNEXT 1)'],
            "an empty folder")
    c.no('STATUS "Nothing" (MESSAGES)', "NONEXISTENT")
    c.no('STATUS "Z/nothing" (MESSAGES)', "NONEXISTENT")
    un, t = c.cmd('STATUS "Work" (MESSAGES)')
    tap.like(t, r"^NO ", "STATUS of a \\Noselect parent: NO")
    c.no('STATUS "a//b" (MESSAGES)', "CANNOT")
    for bad in ("STATUS", "STATUS INBOX", "STATUS INBOX ()",
                "STATUS INBOX (MESSAGES FOO)", "STATUS INBOX MESSAGES",
                "STATUS INBOX (HIGHESTMODSEQ)", "STATUS INBOX (DELETED)",
                "STATUS INBOX (MESSAGES) x", "STATUS INBOX ((MESSAGES))",
                'STATUS INBOX ("MESSAGES")'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    c.close()

with tap.section("DELETE and RENAME of the selected folder"):
    c = Imap(srv)
    c.ok('CREATE "Sel"')
    put(root, "Sel", M1)
    un, t = c.cmd('SELECT "Sel"')
    tap.like(t, r"^OK ", "SELECT")
    un, t = c.cmd('DELETE "Sel"')
    tap.is_((un, t), (["* OK [CLOSED] Previous mailbox closed."],
                      "OK Delete completed."),
            "DELETE of the selected folder closes it first")
    un, t = c.cmd("UNSELECT")
    tap.like(t, r"^BAD ", "back in the authenticated state")
    c.ok('CREATE "Sel2/child"')
    c.ok('CREATE "Sel2"')
    c.ok('SELECT "Sel2/child"')
    un, t = c.cmd('RENAME "Sel2" "Sel3"')
    tap.is_((un, t), (["* OK [CLOSED] Previous mailbox closed."],
                      "OK Rename completed."),
            "RENAME of the selected folder's parent closes it")
    c.ok('SELECT "Sel3"')
    c.ok('CREATE "Busy"')
    un, t = c.cmd('RENAME "Sel3" "Busy"')
    tap.is_((un, t[:19] if t else t), ([], "NO [ALREADYEXISTS] "),
            "a RENAME that fails leaves the selection alone")
    un, t = c.cmd('DELETE "Busy"')
    tap.is_((un, t), ([], "OK Delete completed."),
            "DELETE of another folder leaves it too")
    c.ok("UNSELECT")
    c.close()

srv.stop()

# ------------------------------------------------------------------- mbox
with tap.section("mbox"):
    root, loc = fresh_mbox("mbox79", "From a@example.org Mon Jan  1 "
                           "00:00:00 2024\n" + M1 + "\n")
    srv = server({"mail_location": loc})
    c = Imap(srv)
    c.ok('CREATE "box"')
    tap.ok(os.path.isfile(os.path.join(root, "box")), "a file")
    c.ok('CREATE "dir/"')
    tap.ok(os.path.isdir(os.path.join(root, "dir")), "name/ is a directory")
    c.ok('CREATE "dir/in"')
    c.no('CREATE "box/x"', "CANNOT", "no folder in a mailbox file")
    c.no('CREATE "INBOX/x"', "CANNOT", "INBOX has no children in mbox")
    c.no('CREATE "a.lock"', "CANNOT", "dot-lock names are refused")
    un, t = c.cmd('DELETE "dir"')
    tap.like(t, r"^NO ", "a directory with folders in it is not deleted")
    c.ok('DELETE "dir/in"')
    c.ok('DELETE "dir"')
    tap.ok(not os.path.exists(os.path.join(root, "dir")), "now it is")
    un, t = c.cmd('RENAME "INBOX" "x"')
    tap.like(t, r"^NO ", "mbox INBOX cannot be renamed")
    c.ok('RENAME "box" "sub/box2"')
    tap.ok(os.path.isfile(os.path.join(root, "sub", "box2")),
           "RENAME into a new directory")
    tap.is_(c.ok("STATUS INBOX (MESSAGES SIZE)"),
            ["* STATUS INBOX (MESSAGES 1 SIZE %d)" % wire(M1)],
            "STATUS SIZE of an mbox message: without the From_ line")
    c.close()
    srv.stop()

# --------------------------------------------------------------- imaplib
with tap.section("imaplib"):
    root, loc = fresh_maildir("m79lib")
    put(root, "", M1)
    srv = env.start("imapd", conf={"mail_location": loc,
                                   "mailbox_autocreate": "no"})
    M = imaplib.IMAP4("127.0.0.1", srv.port)
    M.login("alice", "secret")
    tap.is_(M.create("Projects")[0], "OK", "create")
    tap.is_(M.rename("Projects", "Done")[0], "OK", "rename")
    tap.is_(M.subscribe("Done")[0], "OK", "subscribe")
    tap.is_(M.lsub()[1], [b'() "/" "Done"'], "lsub")
    tap.is_(M.unsubscribe("Done")[0], "OK", "unsubscribe")
    tap.is_(M.status("INBOX", "(MESSAGES SIZE)"),
            ("OK", [b"INBOX (MESSAGES 1 SIZE %d)" % wire(M1)]), "status")
    tap.is_(M.delete("Done")[0], "OK", "delete")
    typ, data = M.delete("Done")
    tap.is_(typ, "NO", "delete again: NO")
    tap.like(data[0].decode(), r"^\[NONEXISTENT\]", "[NONEXISTENT]")
    M.logout()
    srv.stop()

with tap.section("names with LIST wildcards; STATUS RECENT of the selected folder"):
    root, loc = fresh_maildir("Wild")
    srv = server({"mail_location": loc})
    c = Imap(srv)
    c.no('CREATE "a*b"', "CANNOT", "CREATE a name with * : NO [CANNOT]")
    c.no('CREATE "a%b"', "CANNOT", "CREATE a name with % : NO [CANNOT]")
    c.ok("CREATE plain")
    c.no('RENAME plain "p*"', "CANNOT", "RENAME to a name with * : NO [CANNOT]")
    tap.is_(c.names("*"), ["INBOX", '"plain"'], "nothing was created")
    put(root, "", M1)
    put(root, "", M2)
    un = c.ok("SELECT INBOX")
    tap.ok("* 2 RECENT" in un, "this session holds both \\Recent", un)
    un = c.ok("STATUS inbox (RECENT MESSAGES)")
    tap.is_(un, ["* STATUS INBOX (RECENT 2 MESSAGES 2)"],
            "STATUS of the selected folder counts this session's \\Recent")
    c.close()
    srv.stop()

env.finish()
