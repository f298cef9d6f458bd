#!/usr/bin/env python3
# imapd LIST and LSUB: references and patterns, INBOX in any case, the
# separator request, CHILDREN attributes, LSUB's \Noselect parents,
# LIST-EXTENDED (selection and return options, several patterns,
# \NonExistent, \Subscribed, CHILDINFO), LIST-STATUS, special-use
# attributes and the auto-creation of the special-use folders (create,
# subscribe, no), CREATE (USE (...)) and its file, for Maildir with "/"
# and "." and for mbox, plus the errors (BAD syntax, [LIMIT]).
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

# imapd --preauth as alice for each connection: the session over a real
# socket, without the login process.
wrapper = env.write("imapd-alice", (
    "#!/bin/sh\nHOME=%s USER=alice LOGNAME=alice exec setpriv --reuid=%d "
    "--regid=%d --clear-groups -- %s \"$@\"\n"
    % (HOME, ALICE, ALICE, imapd)), 0o755)


def server(conf):
    c = {"log_path": "/dev/stderr"}
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


def fresh_mbox(name):
    root = os.path.join(HOME, name)
    shutil.rmtree(root, ignore_errors=True)
    os.mkdir(root, 0o700)
    own(root)
    spool = env.path("spool")
    os.makedirs(spool, exist_ok=True)
    os.chmod(spool, 0o1777)
    inbox = env.write_mbox(os.path.join(spool, "alice-" + name), "")
    return root, "mbox:%s:INBOX=%s" % (root, inbox)


class Imap:
    """A raw IMAP client: exact lines, tags a1, a2, ..."""

    def __init__(self, srv):
        self.c = srv.connect()
        self.n = 0
        self.greeting = self.c.readline()

    def cmd(self, text):
        """Send a command; returns (untagged lines, tagged text)."""
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

    def close(self):
        self.c.close()


def lines(*xs):
    return list(xs)


NOAUTO = {"mailbox_autocreate": "no"}

# ---------------------------------------------------------------- autocreate
with tap.section("mailbox_autocreate = subscribe (the default)"):
    root, loc = fresh_maildir("m-auto")
    srv = server({"mail_location": loc})
    c = Imap(srv)
    tap.like(c.greeting, r"^\* PREAUTH ", "session starts")
    un = c.ok('LIST "" "*"')
    tap.is_(un, [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ], "the five special-use folders exist, with their attributes")
    for d in ("Archive", "Drafts", "Junk", "Sent", "Trash"):
        tap.ok(os.path.isdir(os.path.join(root, "." + d, "cur")),
               "%s is a Maildir++ folder on disk" % d)
    un = c.ok('LSUB "" "*"')
    tap.is_(un, ['* LSUB () "/" "%s"' % d for d in
                 ("Archive", "Drafts", "Junk", "Sent", "Trash")],
            "and subscribed")
    c.ok('UNSUBSCRIBE "Junk"')
    c.ok('DELETE "Trash"')
    c.close()
    c = Imap(srv)
    un = c.ok('LSUB "" "*"')
    tap.is_(un, ['* LSUB () "/" "%s"' % d for d in
                 ("Archive", "Drafts", "Sent", "Trash")],
            "a folder the user unsubscribed stays so; a deleted one is "
            "created and subscribed again")
    tap.ok(os.path.isdir(os.path.join(root, ".Trash")), "Trash is back")
    c.close()
    srv.stop()

with tap.section("mailbox_autocreate = create"):
    root, loc = fresh_maildir("m-create")
    srv = server({"mail_location": loc, "mailbox_autocreate": "create",
                  "mailbox_junk": "Spam", "mailbox_archive": ""})
    c = Imap(srv)
    un = c.ok('LIST "" "%"')
    tap.is_(un, [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Spam"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ], "created under the configured names; an empty name is no folder")
    tap.is_(c.ok('LSUB "" "*"'), [], "none subscribed")
    c.close()
    srv.stop()

with tap.section("mailbox_autocreate = no"):
    root, loc = fresh_maildir("m-no")
    srv = server(dict(NOAUTO, mail_location=loc))
    c = Imap(srv)
    tap.is_(c.ok('LIST "" "*"'), ['* LIST (\\HasNoChildren) "/" INBOX'],
            "nothing is created")
    c.ok('CREATE "Sent"')
    c.ok('CREATE "Sent/2024"')
    tap.is_(c.ok('LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren) "/" "Sent/2024"',
    ], "a configured name the user made is still special (not its child)")
    c.close()
    srv.stop()

# ------------------------------------------------------------ plain LIST
root, loc = fresh_maildir("m-list")
srv = server(dict(NOAUTO, mail_location=loc))

with tap.section("LIST patterns and references"):
    c = Imap(srv)
    for n in ("a/b/c", "a/x", "Fruit", "Fruit/Apple", "Tofu"):
        c.ok('CREATE "%s"' % n)
    # a/b/c made only .a.b.c; a/x made .a.x: "a" and "a/b" are implied
    un, t = c.cmd('LIST "" ""')
    tap.is_((un, t), (['* LIST (\\Noselect) "/" ""'], "OK List completed."),
            'LIST "" "": the separator and an empty root')
    tap.is_(c.ok('LIST "a/b" ""'), ['* LIST (\\Noselect) "/" ""'],
            "with a reference, still the separator")
    tap.is_(c.ok('LIST "" "%"'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\Noselect \\HasChildren) "/" "a"',
    ], '"%": top level (bytewise order, INBOX first); a parent that does not exist is \\Noselect')
    tap.is_(c.ok('LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\HasNoChildren) "/" "a/b/c"',
        '* LIST (\\HasNoChildren) "/" "a/x"',
    ], '"*": every folder; implied parents add nothing')
    tap.is_(c.ok('LIST "" "a/%"'), [
        '* LIST (\\Noselect \\HasChildren) "/" "a/b"',
        '* LIST (\\HasNoChildren) "/" "a/x"',
    ], '"a/%"')
    tap.is_(c.ok('LIST "a/" "%"'), c.ok('LIST "" "a/%"'),
            "reference a/ + % is the same as a/%")
    tap.is_(c.ok('LIST "a" "/%"'), c.ok('LIST "" "a/%"'),
            "reference a + /% too")
    tap.is_(c.ok('LIST "" "%/%/%"'),
            ['* LIST (\\HasNoChildren) "/" "a/b/c"'], "%/%/%")
    tap.is_(c.ok('LIST "" "*c"'), ['* LIST (\\HasNoChildren) "/" "a/b/c"'],
            "* matches across levels")
    tap.is_(c.ok('LIST "" "%c"'), [], "% does not")
    tap.is_(c.ok('LIST "" "F%%*%e"'),
            ['* LIST (\\HasNoChildren) "/" "Fruit/Apple"'],
            "runs of wildcards")
    tap.is_(c.ok('LIST "" fruit'), [], "names other than INBOX are "
            "case-sensitive")
    tap.is_(c.ok('LIST "" nothing'), [], "no match: no lines")
    for p in ("inbox", "InBoX", '"INBOX"', "i%", "INB*", "{5}\r\ninbox"):
        if p.startswith("{"):
            c.c.send(b"x1 LIST \"\" {5}\r\n")
            tap.like(c.c.readline(), r"^\+ ", "literal pattern accepted")
            c.c.send(b"inbox\r\n")
            un = []
            while True:
                ln = c.c.readline()
                if ln.startswith("x1 "):
                    break
                un.append(ln)
            tap.like(ln, r"^x1 OK ", "LIST with a literal pattern")
        else:
            un = c.ok('LIST "" %s' % p)
        want = ['* LIST (\\HasNoChildren) "/" INBOX']
        tap.is_(un, want, "INBOX in any case: %s" % p.split("\r")[0])
    c.close()

with tap.section("LIST syntax errors"):
    c = Imap(srv)
    for bad in ('LIST', 'LIST ""', 'LIST "" "*" extra', 'LIST (', 'LIST () ""',
                'LIST "" \\Seen', 'LIST "" "*" RETURN', 'LIST "" "*" RETURN x',
                'LSUB (SUBSCRIBED) "" "*"', 'LSUB "" ("a" "b")',
                'LIST (RECURSIVEMATCH) "" "*"',
                'LIST (REMOTE RECURSIVEMATCH) "" "*"',
                'LIST (FOO) "" "*"', 'LIST "" "*" RETURN (FOO)',
                'LIST "" "*" RETURN (STATUS)',
                'LIST "" "*" RETURN (STATUS ())',
                'LIST "" "*" RETURN (STATUS (MESSAGES FOO))',
                'LIST "" ()', 'LIST "" (a (b))'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad, un)
    pats = " ".join('"p%d"' % i for i in range(101))
    un, t = c.cmd('LIST "" (%s)' % pats)
    tap.like(t, r"^NO \[LIMIT\] ", "101 patterns: NO [LIMIT]")
    # LIST_PATTERN_BYTES in list.c is 64 KiB like IMAP_MAX_CMD, so a
    # command cannot carry that much pattern text: the parser's cap on
    # line and literal bytes (SECURITY.md G8) answers first
    many = b" ".join(b"{1000+}\r\n" + (b"x%d" % i).ljust(1000, b"y")
                     for i in range(60))
    un, t = c.cmd(b'LIST "" (' + many + b")")
    tap.like(t, r"^OK ", "60 patterns of 1000 bytes (under IMAP_MAX_CMD): OK")
    many = b" ".join(b"{1000+}\r\n" + (b"x%d" % i).ljust(1000, b"y")
                     for i in range(70))
    un, t = c.cmd(b'LIST "" (' + many + b")")
    tap.like(t, r"^(BAD|NO) (\[TOOBIG\] |Command too long)",
             "70000 bytes of patterns: over IMAP_MAX_CMD, refused")
    tap.is_(c.cmd('LIST "" "INBOX"'),
            (['* LIST (\\HasNoChildren) "/" INBOX'], "OK List completed."),
            "  and the connection stays usable")
    un, t = c.cmd(b'LIST "" {60000+}\r\n' + b"%" * 60000)
    tap.is_((un, t[:3]), (['* LIST (\\HasNoChildren) "/" INBOX',
                           '* LIST (\\HasChildren) "/" "Fruit"',
                           '* LIST (\\HasNoChildren) "/" "Tofu"',
                           '* LIST (\\Noselect \\HasChildren) "/" "a"'],
                          "OK "),
            "60000 wildcards (under IMAP_MAX_CMD) are one")
    for sync in (False, True):
        if sync:
            c.n += 1
            tag = "a%d" % c.n
            c.c.send(tag.encode() + b' LIST "" {70000}\r\n')
            t = c.c.readline()
            tap.like(t, r"^%s (BAD|NO) \[TOOBIG\] " % tag,
                     "a {70000} pattern: BAD/NO [TOOBIG], no continuation "
                     "request")
        else:
            un, t = c.cmd(b'LIST "" {70000+}\r\n' + b"%" * 70000)
            tap.like(t, r"^(BAD|NO) \[TOOBIG\] ",
                     "a {70000+} pattern: BAD/NO [TOOBIG]", un)
        tap.is_(c.cmd('LIST "" "INBOX"'),
                (['* LIST (\\HasNoChildren) "/" INBOX'],
                 "OK List completed."),
                "  and the connection stays usable (in sync)")
    un, t = c.cmd(b'LIST "" {20000+}\r\n' + b"a%" * 10000)
    tap.is_((un, t[:3]), ([], "OK "), "a pattern longer than any name")
    c.close()

# ------------------------------------------------------------------ LSUB
with tap.section("LSUB"):
    c = Imap(srv)
    for n in ("a/b/c", "Fruit", "Gone/Sub"):
        c.ok('SUBSCRIBE "%s"' % n)
    tap.is_(c.ok('LSUB "" "*"'), [
        '* LSUB () "/" "Fruit"',
        '* LSUB (\\Noselect) "/" "Gone/Sub"',
        '* LSUB () "/" "a/b/c"',
    ], 'LSUB "*": the subscribed names (one that does not exist is '
       '\\Noselect)')
    tap.is_(c.ok('LSUB "" "%"'), [
        '* LSUB () "/" "Fruit"',
        '* LSUB (\\Noselect) "/" "Gone"',
        '* LSUB (\\Noselect) "/" "a"',
    ], 'LSUB "%": unsubscribed parents of subscribed names are \\Noselect')
    tap.is_(c.ok('LSUB "" "a/%"'), ['* LSUB (\\Noselect) "/" "a/b"'],
            'LSUB "a/%"')
    tap.is_(c.ok('LSUB "" ""'), ['* LSUB (\\Noselect) "/" ""'], 'LSUB "" ""')
    tap.is_(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "G%" RETURN (CHILDREN)'),
            ['* LIST (\\NonExistent \\HasNoChildren) "/" "Gone" '
             '("CHILDINFO" ("SUBSCRIBED"))'],
            "a parent of a subscribed name only: no folder below it")
    tap.is_(c.ok('LIST "" "G*"'), [], "plain LIST shows neither")
    c.ok('UNSUBSCRIBE "Gone/Sub"')
    tap.is_(c.ok('LSUB "" "G*"'), [], "UNSUBSCRIBE removes it")
    c.close()

# --------------------------------------------------------- LIST-EXTENDED
with tap.section("LIST-EXTENDED"):
    c = Imap(srv)
    tap.is_(c.ok('LIST (SUBSCRIBED) "" "*"'), [
        '* LIST (\\Subscribed) "/" "Fruit"',
        '* LIST (\\Subscribed) "/" "a/b/c"',
    ], "(SUBSCRIBED): the subscribed names, \\Subscribed")
    c.ok('SUBSCRIBE "Fruit/Peach"')
    tap.is_(c.ok('LIST (SUBSCRIBED) "" "Fruit*"'), [
        '* LIST (\\Subscribed) "/" "Fruit"',
        '* LIST (\\Subscribed \\NonExistent) "/" "Fruit/Peach"',
    ], "a subscribed name that does not exist is \\NonExistent")
    tap.is_(c.ok('LIST () "" "%"'), [
        '* LIST () "/" INBOX',
        '* LIST () "/" "Fruit"',
        '* LIST () "/" "Tofu"',
        '* LIST (\\NonExistent) "/" "a"',
    ], "LIST () without return options: no children attributes")
    tap.is_(c.ok('LIST "" "%" RETURN (CHILDREN)'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\NonExistent \\HasChildren) "/" "a"',
    ], "RETURN (CHILDREN)")
    tap.is_(c.ok('LIST (REMOTE) "" "%" RETURN (CHILDREN)'),
            c.ok('LIST "" "%" RETURN (CHILDREN)'), "(REMOTE) changes nothing")
    tap.is_(c.ok('LIST "" "%" RETURN (SUBSCRIBED CHILDREN)'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\Subscribed \\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\NonExistent \\HasChildren) "/" "a"',
    ], "RETURN (SUBSCRIBED): \\Subscribed where it is")
    tap.is_(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
        '* LIST (\\Subscribed) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\NonExistent) "/" "a" ("CHILDINFO" ("SUBSCRIBED"))',
    ], "RECURSIVEMATCH: parents of subscribed names with CHILDINFO")
    tap.is_(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"'), [
        '* LIST (\\Subscribed) "/" "Fruit"',
        '* LIST (\\Subscribed \\NonExistent) "/" "Fruit/Peach"',
        '* LIST (\\Subscribed) "/" "a/b/c"',
    ], "no redundant CHILDINFO when the pattern lists the children "
       "(RFC 5258 3.5)")
    tap.is_(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "a" RETURN (CHILDREN)'),
            ['* LIST (\\NonExistent \\HasChildren) "/" "a" '
             '("CHILDINFO" ("SUBSCRIBED"))'], "with CHILDREN")
    tap.is_(c.ok('LIST "" ("INBOX" "Fruit/%" "inbox" "Tofu")'), [
        '* LIST () "/" INBOX',
        '* LIST () "/" "Fruit/Apple"',
        '* LIST () "/" "Tofu"',
    ], "several patterns; each name once")
    tap.is_(c.ok('LIST "" ("a/b/c" "a/b")'), ['* LIST () "/" "a/b/c"'],
            "a parent the patterns show no child of is not listed")
    tap.is_(c.ok('LIST () "" ""'), [], 'extended: "" is no special case')
    tap.is_(c.ok('LIST "" ("" "Tofu")'), ['* LIST () "/" "Tofu"'],
            '"" among patterns is ignored')
    tap.is_(c.ok('list (subscribed subscribed) "" "fruit" return ()'), [],
            "options in any case, twice")
    c.ok('UNSUBSCRIBE "Fruit/Peach"')
    c.close()

with tap.section("LIST-STATUS and special use"):
    root2, loc2 = fresh_maildir("m-status")
    srv2 = server({"mail_location": loc2, "mailbox_autocreate": "create"})
    msgs = ["From: a@example.org\nSubject: one\n\nbody\n",
            "From: b@example.org\nSubject: two\n\nlonger body\nline 2\n"]
    for i, m in enumerate(msgs):
        env.deliver("alice", m)  # into ~/Maildir: moved below
    md = env.maildir("alice")
    for f in os.listdir(os.path.join(md, "new")):
        shutil.move(os.path.join(md, "new", f), os.path.join(root2, "new", f))
    size = sum(len(m.replace("\n", "\r\n")) for m in msgs)
    c = Imap(srv2)
    c.ok('CREATE "x/y"')
    un = c.ok('LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    want = [
        '* LIST () "/" INBOX',
        '* STATUS INBOX (MESSAGES 2 UNSEEN 2 SIZE %d)' % size,
        '* LIST () "/" "Archive"',
        '* STATUS "Archive" (MESSAGES 0 UNSEEN 0 SIZE 0)',
        '* LIST () "/" "Drafts"',
        '* STATUS "Drafts" (MESSAGES 0 UNSEEN 0 SIZE 0)',
        '* LIST () "/" "Junk"',
        '* STATUS "Junk" (MESSAGES 0 UNSEEN 0 SIZE 0)',
        '* LIST () "/" "Sent"',
        '* STATUS "Sent" (MESSAGES 0 UNSEEN 0 SIZE 0)',
        '* LIST () "/" "Trash"',
        '* STATUS "Trash" (MESSAGES 0 UNSEEN 0 SIZE 0)',
        '* LIST (\\NonExistent) "/" "x"',
    ]
    tap.is_(un, want, "RETURN (STATUS ...): STATUS after each selectable "
            "folder, none for \\NonExistent; SIZE is the sum of the sizes "
            "on the wire")
    tap.is_(c.ok('LIST "" "Sent" RETURN (STATUS (APPENDLIMIT UIDNEXT))'),
            ['* LIST () "/" "Sent"',
             '* STATUS "Sent" (APPENDLIMIT 52428800 UIDNEXT 1)'],
            "RETURN (STATUS (APPENDLIMIT)) (RFC 7889 3.2)")
    un = c.ok('LIST (SPECIAL-USE) "" "*"')
    tap.is_(un, ['* LIST (\\Archive) "/" "Archive"',
                 '* LIST (\\Drafts) "/" "Drafts"',
                 '* LIST (\\Junk) "/" "Junk"',
                 '* LIST (\\Sent) "/" "Sent"',
                 '* LIST (\\Trash) "/" "Trash"'],
            "(SPECIAL-USE): only those, with their attribute")
    un = c.ok('LIST "" "S*" RETURN (SPECIAL-USE CHILDREN)')
    tap.is_(un, ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"'],
            "RETURN (SPECIAL-USE)")
    un = c.ok('LIST (SPECIAL-USE RECURSIVEMATCH) "" "%" '
              'RETURN (STATUS (MESSAGES))')
    tap.ok(len(un) == 10 and un[-1].startswith('* STATUS "Trash"'),
           "(SPECIAL-USE RECURSIVEMATCH) with STATUS", un)
    c.ok('CREATE "Arch/Old" (USE (\\Archive))')
    un = c.ok('LIST (SPECIAL-USE RECURSIVEMATCH) "" "%"')
    tap.ok('* LIST (\\NonExistent) "/" "Arch" ("CHILDINFO" ("SPECIAL-USE"))'
           in un, "CHILDINFO (SPECIAL-USE) for a parent", un)
    c.close()
    srv2.stop()

with tap.section("CREATE (USE (...)): CREATE-SPECIAL-USE"):
    c = Imap(srv)
    un, t = c.cmd('CREATE "Outbox" (USE (\\Sent))')
    tap.is_(t, "OK Create completed.", "CREATE with USE (\\Sent)")
    tap.is_(c.ok('LIST "" "Outbox"'),
            ['* LIST (\\HasNoChildren \\Sent) "/" "Outbox"'],
            "LIST shows the use")
    with open(os.path.join(root, "postern-specialuse")) as f:
        tap.is_(f.read(), "Sent Outbox\n", "kept in postern-specialuse")
    c.ok('CREATE "Bin" (USE (\\Trash \\Junk))')
    tap.is_(c.ok('LIST "" "Bin"'),
            ['* LIST (\\HasNoChildren \\Junk \\Trash) "/" "Bin"'],
            "two uses")
    c.ok('CREATE "Nothing" (USE ())')
    tap.is_(c.ok('LIST "" "Nothing"'),
            ['* LIST (\\HasNoChildren) "/" "Nothing"'], "USE () is none")
    for use in ("\\All", "\\Flagged", "\\Important", "\\Sent \\All"):
        un, t = c.cmd('CREATE "U1" (USE (%s))' % use)
        tap.like(t, r"^NO \[USEATTR\] ", "USE (%s): NO [USEATTR]" % use)
    tap.is_(c.ok('LIST "" "U1"'), [], "and the folder was not created")
    for bad in ('CREATE "U2" (USE)', 'CREATE "U2" (USE \\Sent)',
                'CREATE "U2" (USE (Sent))', 'CREATE "U2" (FOO (x))',
                'CREATE "U2" ()', 'CREATE "U2" (USE (\\Sent)) x'):
        un, t = c.cmd(bad)
        tap.like(t, r"^BAD ", "BAD: %s" % bad)
    un, t = c.cmd('CREATE "Outbox" (USE (\\Drafts))')
    tap.like(t, r"^NO \[ALREADYEXISTS\] ", "existing name with USE")
    c.ok('RENAME "Outbox" "Sent Mail"')
    tap.is_(c.ok('LIST "" "Sent Mail"'),
            ['* LIST (\\HasNoChildren \\Sent) "/" "Sent Mail"'],
            "RENAME: the use follows")
    c.ok('DELETE "Sent Mail"')
    c.ok('CREATE "Sent Mail"')
    tap.is_(c.ok('LIST "" "Sent Mail"'),
            ['* LIST (\\HasNoChildren) "/" "Sent Mail"'],
            "DELETE drops it: a new folder of that name has none")
    with open(os.path.join(root, "postern-specialuse")) as f:
        tap.is_(f.read(), "Junk Bin\nTrash Bin\n", "the file after that")
    c.close()

with tap.section("a hostile postern-specialuse"):
    p = os.path.join(root, "postern-specialuse")
    junk = ("Sent Tofu\n" "Sent\n" "Drafts ../etc\n" "All Fruit\n"
            "sent Fruit\n" "Trash inbox\n" "Trash Fruit/\n" "Archive \x01x\n"
            "Junk Fruit/Apple\x00\n" + "Drafts " + "x" * 70000 + "\n"
            "Archive Fruit") 
    with open(p, "w") as f:
        f.write(junk)
    own(p)
    c = Imap(srv)
    un = c.ok('LIST "" "*"')
    tap.ok('* LIST (\\HasNoChildren \\Sent) "/" "Tofu"' in un and
           not any("\\Drafts" in x or "\\Trash" in x or "\\Archive" in x or
                   "\\Junk" in x for x in un),
           "only the valid line counts; bad, cut and huge lines are skipped",
           un)
    os.unlink(p)
    os.symlink("/etc/passwd", p)
    un, t = c.cmd('LIST "" "*"')
    tap.like(t, r"^OK ", "a symlink instead of the file: LIST still works")
    os.unlink(p)
    c.close()

srv.stop()

# ------------------------------------------------------------------- mbox
with tap.section("mbox layout"):
    root, loc = fresh_mbox("mbox78")
    srv = server({"mail_location": loc, "mailbox_autocreate": "subscribe",
                  "mailbox_archive": "", "mailbox_junk": ""})
    c = Imap(srv)
    tap.is_(c.ok('LIST "" "*"'), [
        '* LIST (\\NoInferiors) "/" INBOX',
        '* LIST (\\NoInferiors \\Drafts) "/" "Drafts"',
        '* LIST (\\NoInferiors \\Sent) "/" "Sent"',
        '* LIST (\\NoInferiors \\Trash) "/" "Trash"',
    ], "mbox: files are \\NoInferiors (no \\HasNoChildren beside it)")
    tap.ok(os.path.isfile(os.path.join(root, "Sent")), "Sent is a file")
    c.ok('CREATE "dir/"')
    c.ok('CREATE "lists/debian"')
    tap.is_(c.ok('LIST "" "%"'), [
        '* LIST (\\NoInferiors) "/" INBOX',
        '* LIST (\\NoInferiors \\Drafts) "/" "Drafts"',
        '* LIST (\\NoInferiors \\Sent) "/" "Sent"',
        '* LIST (\\NoInferiors \\Trash) "/" "Trash"',
        '* LIST (\\Noselect \\HasNoChildren) "/" "dir"',
        '* LIST (\\Noselect \\HasChildren) "/" "lists"',
    ], "directories are \\Noselect")
    tap.is_(c.ok('LIST () "" "l*" RETURN (CHILDREN)'), [
        '* LIST (\\Noselect \\HasChildren) "/" "lists"',
        '* LIST (\\NoInferiors) "/" "lists/debian"',
    ], "extended: a directory is \\Noselect, not \\NonExistent")
    un = c.ok('LIST "" "*" RETURN (STATUS (MESSAGES))')
    tap.ok('* STATUS "lists/debian" (MESSAGES 0)' in un and
           not any(x.startswith('* STATUS "lists"') or
                   x.startswith('* STATUS "dir"') for x in un),
           "LIST-STATUS skips directories", un)
    un, t = c.cmd('CREATE "d2/" (USE (\\Sent))')
    tap.like(t, r"^NO \[USEATTR\] ", "a directory cannot have a use")
    un, t = c.cmd('CREATE "Sent/sub"')
    tap.like(t, r"^NO \[CANNOT\] ", "no folder inside a mailbox file")
    c.ok('CREATE "lists/sent" (USE (\\Sent))')
    tap.is_(c.ok('LIST "" "lists/*"'), [
        '* LIST (\\NoInferiors) "/" "lists/debian"',
        '* LIST (\\NoInferiors \\Sent) "/" "lists/sent"',
    ], "mbox CREATE (USE (\\Sent))")
    with open(os.path.join(root, "postern-specialuse")) as f:
        tap.is_(f.read(), "Sent lists/sent\n", "postern-specialuse in ROOT")
    c.ok('DELETE "lists/sent"')
    c.ok('SUBSCRIBE "lists/debian"')
    tap.is_(c.ok('LSUB "" "%"'), [
        '* LSUB (\\NoInferiors) "/" "Drafts"',
        '* LSUB (\\NoInferiors) "/" "Sent"',
        '* LSUB (\\NoInferiors) "/" "Trash"',
        '* LSUB (\\Noselect) "/" "lists"',
    ], "mbox LSUB")
    c.close()
    srv.stop()

# ------------------------------------------------------------ separator "."
with tap.section('namespace_separator "."'):
    root, loc = fresh_maildir("m-dot")
    srv = server(dict(NOAUTO, mail_location=loc, namespace_separator="."))
    c = Imap(srv)
    tap.is_(c.ok('LIST "" ""'), ['* LIST (\\Noselect) "." ""'],
            "the separator is .")
    c.ok('CREATE "a.b"')
    c.ok('CREATE "INBOX.x"')
    tap.is_(c.ok('LIST "" "*"'), [
        '* LIST (\\HasChildren) "." INBOX',
        '* LIST (\\HasNoChildren) "." "INBOX.x"',
        '* LIST (\\HasNoChildren) "." "a.b"',
    ], "names with .")
    tap.is_(c.ok('LIST "" "inbox.%"'),
            ['* LIST (\\HasNoChildren) "." "INBOX.x"'],
            "inbox.% matches INBOX's children")
    tap.is_(c.ok('LIST "" "%"'), [
        '* LIST (\\HasChildren) "." INBOX',
        '* LIST (\\Noselect \\HasChildren) "." "a"',
    ], "% stops at .")
    tap.ok(os.path.isdir(os.path.join(root, ".a.b")), ".a.b on disk")
    un, t = c.cmd('CREATE "a/b"')
    tap.like(t, r"^NO \[CANNOT\] ", "'/' cannot be in a name with '.'")
    c.close()
    srv.stop()

# ------------------------------------------------------------- non-ASCII
with tap.section("modified UTF-7 names"):
    root, loc = fresh_maildir("m-utf7")
    srv = server(dict(NOAUTO, mail_location=loc))
    c = Imap(srv)
    c.ok('CREATE "Entw&APw-rfe"')
    c.ok('CREATE "&ZeVnLIqe-/&U,BTFw-"')
    tap.is_(c.ok('LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren) "/" "&ZeVnLIqe-/&U,BTFw-"',
        '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"',
    ], "names stay in modified UTF-7")
    tap.ok(os.path.isdir(os.path.join(root, ".Entw&APw-rfe")),
           "and are stored so")
    for bad in ('"&Jjo"', '"&AGE-"', '"&-x&"', '"&AOQ-&AOQ-"',
                '"x&ZeVnLIqe"'):
        un, t = c.cmd("CREATE %s" % bad)
        tap.like(t, r"^NO \[CANNOT\] ", "invalid modified UTF-7 %s" % bad)
    un, t = c.cmd(b'CREATE {4+}\r\n\xc3\xa4xy')
    tap.like(t, r"^NO \[CANNOT\] ", "8-bit UTF-8 name: NO [CANNOT]")
    un, t = c.cmd(b'LIST "" {4+}\r\n\xc3\xa4x*')
    tap.is_((un, t[:3] if t else t), ([], "OK "), "8-bit pattern matches "
            "nothing")
    c.close()
    srv.stop()

# --------------------------------------------------------------- imaplib
with tap.section("imaplib through the login process"):
    root, loc = fresh_maildir("m-lib")
    srv = env.start("imapd", conf={"mail_location": loc})
    M = imaplib.IMAP4("127.0.0.1", srv.port)
    M.login("alice", "secret")
    typ, data = M.list()
    tap.is_(typ, "OK", "imaplib list()")
    tap.ok(b'(\\HasNoChildren \\Sent) "/" "Sent"' in data, "Sent listed", data)
    typ, data = M.list('""', "%")
    tap.is_(len(data), 6, "six top-level folders")
    typ, data = M.lsub()
    tap.is_(sorted(data), sorted([b'() "/" "%s"' % d.encode() for d in
                                  ("Archive", "Drafts", "Junk", "Sent",
                                   "Trash")]), "imaplib lsub()")
    typ, data = M.create("Work/Project")
    tap.is_(typ, "OK", "create")
    typ, data = M.list("Work/", "*")
    tap.is_(data, [b'(\\HasNoChildren) "/" "Work/Project"'],
            "list with a reference")
    M.logout()
    srv.stop()

env.finish()
