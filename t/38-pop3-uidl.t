#!/usr/bin/env python3
# pop3d UIDL values: pop3_uidl_format's variables (%u %v %f %%, width,
# zero, X), UIDs imported from Dovecot's dovecot-uidlist and Courier's
# courierimapuiddb so a migrated maildrop keeps its unique-ids (DESIGN.md:
# clients do not download everything again), and mbox X-UID/X-IMAPbase.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

env = harness.setup()


def uidl(c):
    r = c.cmd("UIDL")
    assert r is not None and r.startswith("+OK"), r
    return dict((int(n), u) for n, u in (l.split() for l in c.read_multi()))


def subjects(c, n):
    out = {}
    for i in range(1, n + 1):
        c.cmd("TOP %d 0" % i)
        body = c.read_body()
        out[i] = re.search(rb"Subject: (\S+)", body).group(1).decode()
    return out


def put(user, sub, name, subject):
    md = env.maildir(user)
    return env.write(os.path.join(md, sub, name),
                     "Subject: %s\n\n%s\n" % (subject, subject), 0o600, user)


with tap.section("Dovecot dovecot-uidlist (version 3) is imported"):
    put("alice", "cur", "1600000000.M1P1.old:2,S", "A")
    put("alice", "cur", "1600000001.M2P1.old:2,RS", "B")
    put("alice", "new", "1600000002.M3P1.old", "C")
    env.write(os.path.join(env.maildir("alice"), "dovecot-uidlist"),
              "3 V1234567890 N20 G0123456789abcdef0123456789abcdef\n"
              "5 W123 :1600000000.M1P1.old\n"
              "9 :1600000001.M2P1.old:2,RS\n", 0o600, "alice")
    srv = env.start()
    c = srv.session()
    u = uidl(c)
    s = subjects(c, 3)
    by = {s[i]: u[i] for i in u}
    tap.is_(by.get("A"), "00000005499602D2", "A keeps Dovecot's UID 5 and "
            "UIDVALIDITY 1234567890")
    tap.is_(by.get("B"), "00000009499602D2", "B keeps UID 9")
    m = re.fullmatch(r"([0-9A-F]{8})499602D2", by.get("C", ""))
    tap.ok(m and int(m.group(1), 16) >= 20,
           "C (not in the list) gets a new UID >= uidnext 20", repr(by))
    tap.is_([s[i] for i in sorted(s)], ["A", "B", "C"], "listed in UID order")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()
    c = srv.session()
    tap.is_(uidl(c), u, "the same UIDLs in the next session")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("pop3_uidl_format variables"):
    names = {"A": "1600000000.M1P1.old", "B": "1600000001.M2P1.old",
             "C": "1600000002.M3P1.old"}
    for fmt, want in (("%f", lambda s, uid: names[s]),
                      ("%u", lambda s, uid: "%d" % uid),
                      ("%v-%u", lambda s, uid: "1234567890-%d" % uid),
                      ("%08u", lambda s, uid: "%08d" % uid),
                      ("%08Xv%08Xu", lambda s, uid: "499602D2%08X" % uid),
                      ("100%%%u", lambda s, uid: "100%%%d" % uid)):
        s2 = env.start(conf={"pop3_uidl_format": fmt})
        c = s2.session()
        u2 = uidl(c)
        s = subjects(c, 3)
        ok = True
        got = {}
        for i in u2:
            uid = int(by[s[i]][:8], 16)
            got[s[i]] = u2[i]
            if u2[i] != want(s[i], uid):
                ok = False
        tap.ok(ok, "pop3_uidl_format = %s" % fmt, repr(got))
        c.cmd("QUIT")
        c.close()
        s2.stop()
    srv.stop()

with tap.section("Courier courierimapuiddb is imported"):
    put("bob", "cur", "1500000000.M1P2.host:2,S", "D")
    put("bob", "cur", "1500000001.M2P2.host:2,", "E")
    env.write(os.path.join(env.maildir("bob"), "courierimapuiddb"),
              "1 1111111111 30\n"
              "7 1500000000.M1P2.host:2,S\n"
              "8 1500000001.M2P2.host\n", 0o600, "bob")
    srv = env.start()
    c = srv.session("bob", "hunter2")
    u = uidl(c)
    s = subjects(c, 2)
    by = {s[i]: u[i] for i in u}
    tap.is_(by, {"D": "00000007423A35C7", "E": "00000008423A35C7"},
            "Courier's UIDs and UIDVALIDITY are kept")
    c.cmd("QUIT")
    c.close()
    srv.stop()

with tap.section("mbox X-UID and X-IMAPbase"):
    box, location = env.mbox("alice",
                             "From a@example.com Mon Jan  1 00:00:00 2024\n"
                             "X-IMAPbase: 1700000000 0000000010\n"
                             "Subject: one\nX-UID: 7\n\nbody one\n\n"
                             "From b@example.com Mon Jan  1 00:00:01 2024\n"
                             "Subject: two\n\nbody two\n")
    srv = env.start(conf={"mail_location": location})
    c = srv.session()
    u = uidl(c)
    tap.is_(u.get(1), "000000076553F100", "X-UID 7 in UIDVALIDITY 1700000000")
    m = re.fullmatch(r"([0-9A-F]{8})6553F100", u.get(2, ""))
    tap.ok(m and int(m.group(1), 16) > 10,
           "the message without X-UID gets a UID above uidlast 10", repr(u))
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()
    c = srv.session()
    tap.is_(uidl(c), u, "stable in the next session")
    c.cmd("QUIT")
    c.close()
    srv.stop()

env.finish()
