#!/usr/bin/env python3
# The process model (DESIGN.md, SECURITY.md G1, G2, G5): per connection a
# root monitor that never touches the socket, an unprivileged chrooted
# login process with no capabilities and no_new_privs, and a mail session
# running as the user.  The TLS key is only in the login process.  One
# connection's failure does not touch another's.
import os
import re
import signal
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import proc_status, proc_children, proc_comm, wait_for  # noqa: E402

env = harness.setup()
env.deliver("alice", "Subject: x\n\ny\n")
srv = env.start()
ZERO_CAPS = "0000000000000000"


def tree(s):
    """{monitor: pid, login: pid, session: pid} of the one connection."""
    mons = s.monitors()
    if len(mons) != 1:
        return None
    out = {"monitor": mons[0]}
    for k in proc_children(mons[0]):
        out[proc_comm(k)] = k
    return out


def ids(st, key):
    return st.get(key, "").split()


def fd_links(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def tcp_fds(pid):
    tcp = harness.tcp_socket_inodes()
    return [fd for fd, l in fd_links(pid).items()
            if (m := re.fullmatch(r"socket:\[(\d+)\]", l)) and m.group(1) in tcp]


def not_dumpable(pid):
    # the kernel shows a non-dumpable process's /proc files as root's
    st = os.stat("/proc/%d/status" % pid)
    return st.st_uid == 0 and st.st_gid == 0


def key_patterns():
    out = subprocess.run(["openssl", "ec", "-in", env.key, "-text", "-noout"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True).stdout.decode()
    m = re.search(r"priv:\s*([0-9a-f:\s]+?)\s*pub:", out)
    hexs = re.sub(r"[^0-9a-f]", "", m.group(1))
    priv = bytes.fromhex(hexs)[-32:].rjust(32, b"\0")
    with open(env.key) as f:
        pem_lines = [l.strip() for l in f if l.strip() and "-----" not in l]
    # big-endian (DER, PEM-decoded) and BIGNUM little-endian words
    return [priv, priv[::-1]] + [l.encode() for l in pem_lines if len(l) >= 40]


def memory_has(pid, patterns):
    """Which patterns occur in pid's readable private memory."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if not parts[1].startswith("r") or hi - lo > 64 * 1024 * 1024:
                continue
            if len(parts) >= 6 and parts[5].startswith("/") and "w" not in parts[1]:
                continue   # read-only file mappings: code, not secrets
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for i, p in enumerate(patterns):
                if p in data:
                    found.add(i)
    return found


with tap.section("before login"):
    c = srv.connect()
    tap.is_(c.readline(), "+OK postern ready.", "greeting")
    t = wait_for(lambda: (lambda x: x if x and "login" in x else None)(tree(srv)),
                 5)
    tap.ok(t and "login" in t, "monitor with a child named 'login'", repr(t))
    mon, login = t["monitor"], t["login"]

    st = proc_status(mon)
    tap.is_(ids(st, "Uid"), ["0"] * 4, "monitor runs as root")
    if not env.valgrind:
        tap.is_(proc_comm(mon), "pop3d", "monitor is the pop3d process")
    links = wait_for(lambda: (lambda l: l if l.get(0) == "/dev/null" and
                              l.get(1) == "/dev/null" else None)(fd_links(mon)), 3)
    links = fd_links(mon)
    tap.is_((links.get(0), links.get(1)), ("/dev/null", "/dev/null"),
            "monitor's fds 0 and 1 are /dev/null")
    tap.is_(tcp_fds(mon), [], "monitor holds no TCP socket at all")

    st = proc_status(login)
    tap.is_(ids(st, "Uid"), ["60100"] * 4, "login: every uid is pstlogin (60100)")
    tap.is_(ids(st, "Gid"), ["60100"] * 4, "login: every gid is 60100")
    tap.is_(st.get("Groups"), "", "login: no supplementary groups")
    tap.is_(st.get("CapEff"), ZERO_CAPS, "login: CapEff 0")
    tap.is_(st.get("CapPrm"), ZERO_CAPS, "login: CapPrm 0")
    tap.is_(st.get("NoNewPrivs"), "1", "login: NoNewPrivs 1")
    tap.is_(os.readlink("/proc/%d/root" % login), env.path("empty"),
            "login: chrooted to login_chroot")
    tap.is_(os.readlink("/proc/%d/cwd" % login), env.path("empty"),
            "login: cwd is the chroot")
    tap.ok(not_dumpable(login), "login: not dumpable")
    tap.ok(tcp_fds(login), "login holds the client socket")
    tap.ok(set(k for k in tree(srv) if k != "monitor") == {"login"},
           "no session before login", repr(tree(srv)))

with tap.section("after login"):
    tap.is_(c.login(), "+OK Logged in.", "login as alice")
    t = wait_for(lambda: (lambda x: x if x and "session" in x else None)(tree(srv)),
                 5)
    tap.ok(t and "session" in t, "a child named 'session' appeared", repr(t))
    sess = t["session"]
    st = proc_status(sess)
    tap.is_(ids(st, "Uid"), ["60101"] * 4, "session: every uid is alice's")
    tap.is_(ids(st, "Gid"), ["60101"] * 4, "session: every gid is alice's")
    groups = st.get("Groups", "").split()
    tap.ok("60101" in groups and "0" not in groups,
           "session: alice's groups, not root's", repr(groups))
    tap.is_(st.get("CapEff"), ZERO_CAPS, "session: CapEff 0")
    tap.is_(st.get("CapPrm"), ZERO_CAPS, "session: CapPrm 0")
    tap.is_(st.get("NoNewPrivs"), "1", "session: NoNewPrivs 1")
    tap.ok(not_dumpable(sess), "session: not dumpable")
    tap.is_(os.readlink("/proc/%d/cwd" % sess), env.home("alice"),
            "session: cwd is the home directory")
    tap.is_(tcp_fds(sess), [], "session does not hold the client socket "
            "(login relays)")
    tap.is_(t.get("login"), login, "the same login process relays")
    st = proc_status(login)
    tap.is_(ids(st, "Uid"), ["60100"] * 4, "login still pstlogin after login")
    st = proc_status(mon)
    tap.is_(ids(st, "Uid"), ["0"] * 4, "monitor still root")
    tap.is_(tcp_fds(mon), [], "monitor still holds no TCP socket")
    tap.like(c.cmd("STAT"), r"^\+OK 1 ", "STAT through the relay")
    tap.like(c.cmd("QUIT"), r"^\+OK", "QUIT")
    tap.ok(c.closed_within(env.timeout), "closed")
    tap.ok(srv.wait_idle(), "all three processes exit after QUIT")
    tap.ok(wait_for(lambda: re.search(r"Child %d died with code 0" % mon,
                                      srv.stderr()), 5),
           "the monitor exits with status 0", srv.stderr()[-1000:])

with tap.section("the TLS key is only in the login process"):
    c = srv.connect()
    c.readline()
    c.cmd("STLS")
    c.starttls()
    tap.is_(c.login(), "+OK Logged in.", "login over STLS")
    c.cmd("STAT")
    t = wait_for(lambda: (lambda x: x if x and "session" in x else None)(tree(srv)),
                 5)
    pats = key_patterns()
    found_login = memory_has(t["login"], pats)
    tap.ok(found_login & {0, 1}, "control: the private key is found in the "
           "login process's memory", repr(found_login))
    found = memory_has(t["session"], pats)
    tap.is_(found, set(), "the mail session's memory has no trace of the key")
    found = memory_has(t["monitor"], pats)
    tap.is_(found, set(), "the monitor's memory has no trace of the key")
    c.cmd("QUIT")
    c.close()
    srv.wait_idle()

with tap.section("one connection's failure leaves another alone (G5)"):
    a = srv.session()
    b = srv.connect()
    b.readline()
    time.sleep(0.2)
    mons = srv.monitors()
    tap.is_(len(mons), 2, "two connections, two monitors")
    a_tree = None
    for m in mons:
        kids = {proc_comm(k): k for k in proc_children(m)}
        if "session" in kids:
            a_tree = (m, kids)
    tap.ok(a_tree, "found the logged-in connection's tree")
    os.kill(a_tree[1]["login"], signal.SIGKILL)
    tap.ok(a.closed_within(env.timeout), "killing A's login process closes A")
    tap.ok(wait_for(lambda: harness.proc_stat(a_tree[0]) is None and
                    harness.proc_stat(a_tree[1]["session"]) is None, 10),
           "A's monitor and session exit too")
    tap.like(b.cmd("CAPA"), r"^\+OK", "B is still served")
    b.read_multi()
    tap.is_(b.login(), "+OK Logged in.", "B logs in (A's lock was released)")
    b.cmd("QUIT")
    b.close()
    srv.wait_idle()

with tap.section("killing the session ends the connection"):
    a = srv.session()
    t = wait_for(lambda: (lambda x: x if x and "session" in x else None)(tree(srv)),
                 5)
    os.kill(t["session"], signal.SIGKILL)
    tap.ok(a.closed_within(env.timeout), "client sees the close")
    tap.ok(srv.wait_idle(), "login and monitor exit")
    tap.like(srv.log(), r"session.*(signal|killed)", "the monitor logs it")

env.finish()
