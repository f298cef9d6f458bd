#!/usr/bin/env python3
# pop3d: the historical mail-server vulnerabilities of SECURITY.md section 3
# that apply to POP3, each replayed against the real server with its exact
# input and a pinned expected reply (SECURITY.md G16), plus the measured
# goals G5 (per-connection isolation), G7 (NUL bytes) and G12 (failure
# delay, attempt limit, timing parity).  IMAP-only entries are left out.
#
# Every test name starts with the CVE id (or the goal) it stands for.
# Where another file already asserts the same thing, this one keeps a
# named test of its own for the CVE and points at the other file:
#   t/31-pop3-user-pass.t  failure delay (2 s), attempt limit, log escaping
#   t/32-pop3-sasl.t       bad base64, cancel, malformed PLAIN, authzid
#   t/33-pop3-tls.t        STLS injection (detailed), STLS handshake
#                          timeout, ALPN accept/refuse lists
#   t/36-pop3-badinput.t   line limit 510/511, 1 MiB line and 16 MiB without
#                          newline with memory ceilings, HTTP reflection
#   t/40-proc-model.t      G5 with A logged in and B at the greeting
#
# Run it with POSTERN_BUILD=build-san too: env.finish() fails on any ASan or
# UBSan report from any server process (CVE-2017-15132, CVE-2016-8652,
# CVE-2019-11500 and CVE-2020-12673/12674 are memory-safety bugs).
# The slow parts (failure delays, TLS handshake timeouts) run in threads
# so the file stays well under a minute.
import base64
import os
import re
import signal
import socket
import ssl
import statistics
import sys
import threading
import time
import traceback
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402
from harness import proc_children, proc_comm, wait_for  # noqa: E402

GREETING = "+OK postern ready."
AUTH_FAILED = "-ERR [AUTH] Authentication failed."
TOO_MANY_ATTEMPTS = "-ERR [AUTH] Authentication failed; too many attempts."
BAD_B64 = "-ERR [AUTH] Invalid base64 data."
CREDS_TOO_LONG = "-ERR [AUTH] Credentials too long."
ABORTED = "-ERR Authentication aborted."
INVALID_CHARS = "-ERR Invalid characters in command."
UNKNOWN = "-ERR Unknown command."
TOO_LONG = "-ERR Line too long."
TOO_MANY_BAD = "-ERR Too many bad commands."
BAD_USER = "-ERR Invalid user name."
NO_USER = "-ERR No username given."
NO_MECH = "-ERR [AUTH] Unsupported authentication mechanism."
BEGIN_TLS = "+OK Begin TLS negotiation now."
LOGGED_IN = "+OK Logged in."
CAPA_OK = "+OK Capability list follows"
USER_PROMPT = "+ VXNlcm5hbWU6"      # "Username:"
PASS_PROMPT = "+ UGFzc3dvcmQ6"      # "Password:"

# A user at the exact limits of SECURITY.md G3 / proc.h: a 255-byte name
# and a 1024-byte password (CVE-2004-1067 class: limit accepted, limit+1
# refused).  The harness builds the users from this table.
U255 = "m" * 255
# (no ':' in it: pam_matrix's passdb is colon-separated)
P1024 = "".join("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "!$%&()*+,-./;=?@[]^_{|}~"[i % 86] for i in range(1024))
harness.USERS[U255] = (60103, 60103, P1024, "home/" + U255)
harness.GROUPS[U255] = (60103, [])

MSG = "Subject: cve\n\nbody\n"
TS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d pop3d\[\d+\]: "
# What a log line about an authentication may look like, entirely: one
# user=<...> field without raw '<', '>', blanks or control bytes.
FAILED_LINE = (TS + r"login failed: user=<[^<>\s\\]*(?:\\x[0-9a-f]{2}[^<>\s\\]*)*>"
               r" rip=127\.0\.0\.1 lip=127\.0\.0\.1 mech=(?:USER|PLAIN|LOGIN)"
               r" tls=(?:yes|no) reason=[a-z-]+$")
OK_LINE = (TS + r"login: user=<(?:alice|bob|%s)> rip=127\.0\.0\.1 "
           r"lip=127\.0\.0\.1 mech=(?:USER|PLAIN|LOGIN) tls=(?:yes|no)$" % U255)

env = harness.setup()
for u in ("alice", "bob"):
    env.deliver(u, MSG)
SAN = env.sanitized
# valgrind runs every server process ~20x slower: its start-up alone can
# take seconds before the 2 s handshake timer starts (12 s measured with
# nothing else running; over 17 s beside the IMAP tests under prove -j2)
SLACK = 30.0 if env.valgrind else 6.0 if env.sanitized else 2.0

# fast: no failure delay, for the many input cases that only check replies
fast = env.start(conf={"auth_failure_delay": "0", "ssl_handshake_timeout": "2"})
# slow: the harness's auth_failure_delay = 1, for G12
slow = env.start(conf={"auth_failure_delay": "1"})
# implicit TLS (995-style), handshake timeout 2 s (CVE-2014-3430)
tlss = env.start(tls=True, conf={"auth_failure_delay": "0",
                                 "ssl_handshake_timeout": "2"})


def b64(s):
    if isinstance(s, str):
        s = s.encode("latin-1")
    return base64.b64encode(s).decode()


def conn(s=fast, tls=None):
    c = s.connect(tls=tls)
    g = c.readline()
    assert g == GREETING, "greeting %r" % g
    return c


def rd(c, timeout=None):
    """A reply line, None at EOF, "(timeout)" if nothing came."""
    try:
        return c.readline(timeout)
    except harness.Timeout:
        return "(timeout)"


def cmd(c, line, timeout=None):
    c.send(line.encode("latin-1") + b"\r\n" if isinstance(line, str)
           else line + b"\r\n")
    return rd(c, timeout)


def alive(c):
    """The connection is still served: CAPA answers in full."""
    r = cmd(c, "CAPA")
    if r != CAPA_OK:
        return False
    c.read_multi()
    return True


def log_bytes(offset=0):
    with open(env.path("postern.log"), "rb") as f:
        f.seek(offset)
        return f.read()


def quit_and_wait(c, s=fast):
    """QUIT a session and wait until its processes are gone (the maildrop
    lock with them)."""
    try:
        cmd(c, "QUIT")
    except OSError:
        pass
    c.close()
    s.wait_idle()


def check_log_shape(offset, name):
    """Every authentication line since offset has exactly its fields, and
    no raw control byte (other than the line ends) made it into the log."""
    raw = log_bytes(offset)
    bad_bytes = sorted({b for b in raw if (b < 0x20 and b != 0x0a) or b == 0x7f})
    tap.is_(bad_bytes, [], "%s: no raw control byte in the log" % name)
    text = raw.decode("latin-1")
    forged = [l for l in text.splitlines()
              if re.search(r"\blogin( failed)?:", l)
              and not re.match(FAILED_LINE, l) and not re.match(OK_LINE, l)]
    tap.ok(not forged, "%s: every login line has exactly its fields" % name,
           "\n".join("%d bytes: %r ... %r" % (len(l), l[:70], l[-60:])
                     for l in forged))
    lines = text.splitlines()
    tap.ok(all(re.match(TS, l) for l in lines),
           "%s: every log line starts with a time stamp and pop3d[pid]" % name,
           "\n".join(l for l in lines if not re.match(TS, l))[:2000])
    errors = [l for l in lines if " error: " in l]
    tap.is_(errors, [], "%s: no error in the log (no monitor or channel "
            "failure)" % name)


class Rec:
    """Collects tap calls in a worker thread; replayed in order later."""

    def __init__(self, name):
        self.name = name
        self.calls = []

    def __getattr__(self, fn):
        return lambda *a, **k: self.calls.append((fn, a, k))


def parallel(*fns):
    """Run fns(rec) concurrently; emit their TAP lines in the given order."""
    recs = [Rec(getattr(f, "__name__", "block")) for f in fns]

    def run(f, r):
        try:
            f(r)
        except Exception:  # noqa: BLE001 - reported as a failure
            r.ok(False, "%s: no exception" % r.name, traceback.format_exc())
    ths = [threading.Thread(target=run, args=(f, r)) for f, r in zip(fns, recs)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for r in recs:
        for fn, a, k in r.calls:
            getattr(tap, fn)(*a, **k)


# -- processes of one connection ---------------------------------------------

def server_socket_inode(s, c):
    lport = c.sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fld = line.split()
            if (int(fld[1].split(":")[1], 16) == s.port and
                    int(fld[2].split(":")[1], 16) == lport):
                return fld[9]
    return None


def conn_procs(s, c, want=("login",), timeout=5):
    """{"monitor": pid, "login": pid, "session": pid} for client c,
    found through the login process's socket (fd 0)."""
    def find():
        ino = server_socket_inode(s, c)
        if ino is None:
            return None
        for m in s.monitors():
            kids = {proc_comm(k): k for k in proc_children(m)}
            lp = kids.get("login")
            try:
                if lp and os.readlink("/proc/%d/fd/0" % lp) == "socket:[%s]" % ino:
                    out = dict(kids, monitor=m)
                    if all(w in out for w in want):
                        return out
            except OSError:
                pass
        return None
    return wait_for(find, timeout)


def gone(pid):
    """The process has exited (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return True
    return st[st.rindex(")") + 2] in "ZX"


# -- TLS records by hand -------------------------------------------------------

def client_hello(alpn=None):
    """The bytes of a real TLS ClientHello (Python's OpenSSL)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def raw_conn(s, timeout=None):
    sock = socket.create_connection(("127.0.0.1", s.port),
                                    timeout=timeout or env.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_to_eof(sock, timeout):
    """(bytes, closed): everything until EOF or timeout."""
    end = time.monotonic() + timeout
    data = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


# ============================================================================
# CVE-2008-1218: TAB (and CR, LF, NUL) injection into the internal auth
# protocol.  Our monitor reads length-prefixed fields (chan.h) and refuses
# control bytes in the user and NUL in the password (monitor.c
# check_shape).  Each byte, in the user and in the password, through
# USER/PASS, AUTH PLAIN and AUTH LOGIN.  The user cases carry alice's
# right password: the tainted name must not become "alice".  After each
# case the same connection logs in correctly, so the monitor that saw the
# hostile request is still answering.

INJ = "master_user=root"
EXPLOIT_PW = "\tmaster_user=root\tskip_password_check=1"   # the public one


def byte_name(b):
    return {"\t": "TAB", "\r": "CR", "\n": "LF", "\0": "NUL"}[b]


def inj_userpass_user(b):
    """USER alice<b>master_user=root / PASS secret."""
    c = conn()
    out = []
    if b == "\n":
        # LF ends the line: "USER alice" and a second line "master_user=root"
        c.send(("USER alice\n%s\r\n" % INJ).encode())
        out += [rd(c), rd(c)]
        want = ["+OK", UNKNOWN]
        # the USER that did arrive is plain "alice"; the right password
        # for it is not what we test here, so give a wrong one
        out.append(cmd(c, "PASS wrong"))
        want.append(AUTH_FAILED)
    elif b == "\0":
        out += [cmd(c, "USER alice\0" + INJ), cmd(c, "PASS secret")]
        want = [INVALID_CHARS, NO_USER]
    else:
        out += [cmd(c, "USER alice" + b + INJ), cmd(c, "PASS secret")]
        want = ["+OK", AUTH_FAILED]
    return c, out, want


def inj_userpass_pass(b):
    """USER alice / PASS <b>master_user=root<b>skip_password_check=1."""
    c = conn()
    pw = EXPLOIT_PW.replace("\t", b)
    if b == "\n":
        # "PASS " (empty password: refused), then two unknown commands
        out = [cmd(c, "USER alice")]
        c.send(("PASS " + pw + "\r\n").encode())
        out += [rd(c), rd(c), rd(c)]
        return c, out, ["+OK", AUTH_FAILED, UNKNOWN, UNKNOWN]
    if b == "\0":
        # the right password followed by NUL and the injection
        out = [cmd(c, "USER alice"), cmd(c, "PASS secret\0" + pw[1:])]
        return c, out, ["+OK", INVALID_CHARS]
    out = [cmd(c, "USER alice"), cmd(c, "PASS " + pw)]
    return c, out, ["+OK", AUTH_FAILED]


def inj_plain_user(b):
    c = conn()
    r = cmd(c, "AUTH PLAIN " + b64("\0alice" + b + INJ + "\0secret"))
    return c, [r], [AUTH_FAILED]


def inj_plain_pass(b):
    c = conn()
    # NUL: the right password, then NUL and more (a C-string cut would
    # log in); the others: the public exploit password
    pw = "secret\0" + INJ if b == "\0" else EXPLOIT_PW.replace("\t", b)
    r = cmd(c, "AUTH PLAIN " + b64("\0alice\0" + pw))
    return c, [r], [AUTH_FAILED]


def inj_login_user(b):
    c = conn()
    out = [cmd(c, "AUTH LOGIN"), cmd(c, b64("alice" + b + INJ)),
           cmd(c, b64("secret"))]
    return c, out, [USER_PROMPT, PASS_PROMPT, AUTH_FAILED]


def inj_login_pass(b):
    c = conn()
    pw = "secret\0" + INJ if b == "\0" else EXPLOIT_PW.replace("\t", b)
    out = [cmd(c, "AUTH LOGIN"), cmd(c, b64("alice")), cmd(c, b64(pw))]
    return c, out, [USER_PROMPT, PASS_PROMPT, AUTH_FAILED]


with tap.section("CVE-2008-1218"):
    off = env.log_size()
    for b in ("\t", "\r", "\n", "\0"):
        for field, mech, fn in (
                ("user", "USER/PASS", inj_userpass_user),
                ("password", "USER/PASS", inj_userpass_pass),
                ("user", "AUTH PLAIN", inj_plain_user),
                ("password", "AUTH PLAIN", inj_plain_pass),
                ("user", "AUTH LOGIN", inj_login_user),
                ("password", "AUTH LOGIN", inj_login_pass)):
            name = "CVE-2008-1218: %s in the %s via %s" % (byte_name(b), field,
                                                           mech)
            c, got, want = fn(b)
            tap.is_(got, want, "%s cannot inject a field (replies %s)"
                    % (name, " / ".join(want)), c.dump())
            # the same connection's monitor still answers: a right login
            tap.is_(cmd(c, "AUTH PLAIN " + b64("\0alice\0secret")), LOGGED_IN,
                    "%s: the monitor survives, the same connection then logs "
                    "in as alice" % name)
            quit_and_wait(c)
    c = conn()
    tap.is_(c.login(), LOGGED_IN, "CVE-2008-1218: a correct login on a new "
            "connection works after all the injections")
    quit_and_wait(c)
    text = env.read_log(off)
    check_log_shape(off, "CVE-2008-1218")
    tap.unlike(text, r"skip_password_check",
               "CVE-2008-1218: no password (or part of one) is ever logged")
    for b, esc in (("\t", r"\\x09"), ("\r", r"\\x0d"), ("\0", r"\\x00")):
        tap.like(text, r"login failed: user=<alice%s%s> .* reason=bad-user$"
                 % (esc, INJ), "CVE-2008-1218: the %s user is logged escaped "
                 "as user=<alice%s%s> with reason=bad-user"
                 % (byte_name(b), esc.replace("\\\\", "\\"), INJ))
    n_ok = len(re.findall(r"login: user=<alice> ", text))
    tap.is_(n_ok, 25, "CVE-2008-1218: the only successful logins are the 25 "
            "correct ones (no injected request logged in)")
    tap.unlike(text, r"login: user=<(?!alice>)", "CVE-2008-1218: nobody but "
               "alice ever logged in")

# ============================================================================
# CVE-2022-30550: master-user separators.  We have no master users, so
# "alice*bob" is one literal (unknown) user name.

with tap.section("CVE-2022-30550"):
    off = env.log_size()
    for user, pw in (("alice*bob", "secret"), ("alice*bob", "hunter2"),
                     ("bob*alice", "secret"), ("bob*alice", "hunter2"),
                     ("alice*", "secret"), ("*alice", "secret")):
        c = conn()
        got = [cmd(c, "USER " + user), cmd(c, "PASS " + pw)]
        tap.is_(got, ["+OK", AUTH_FAILED], "CVE-2022-30550: USER %s / PASS of "
                "%s -> auth failure, no impersonation"
                % (user, "alice" if pw == "secret" else "bob"))
        c.close()
    for msg, what in (("\0alice*bob\0secret", "alice*bob"),
                      ("\0bob*alice\0secret", "bob*alice"),
                      ("bob\0alice\0secret", "authzid bob, authcid alice"),
                      ("alice*bob\0alice*bob\0secret",
                       "authzid = authcid = alice*bob")):
        c = conn()
        tap.is_(cmd(c, "AUTH PLAIN " + b64(msg)), AUTH_FAILED,
                "CVE-2022-30550: AUTH PLAIN %s -> auth failure" % what)
        c.close()
    fast.wait_idle()
    text = env.read_log(off)
    tap.unlike(text, r"login: ", "CVE-2022-30550: no session was started")
    tap.like(text, r"login failed: user=<alice\*bob> .*mech=USER .*"
             r"reason=password$", "CVE-2022-30550: alice*bob is checked as a "
             "literal user name (reason=password)")

# ============================================================================
# CVE-2019-10691: invalid UTF-8 in the user name (crashed Dovecot's auth
# through its JSON encoder).  Also CVE-2020-7046: a truncated multibyte
# sequence at the end of the line.  See t/32 for the AUTH PLAIN prefix test.

with tap.section("CVE-2019-10691"):
    off = env.log_size()
    for user, esc, what in ((b"\xff\xfe", r"\\xff\\xfe", "CVE-2019-10691: "
                             "invalid UTF-8 user \\xff\\xfe"),
                            (b"alice\xc3", r"alice\\xc3", "CVE-2020-7046: "
                             "truncated UTF-8 at the end of the user"),
                            (b"\xe2\x82", r"\\xe2\\x82", "CVE-2020-7046: a "
                             "user that is only a cut 3-byte sequence")):
        c = conn()
        got = [cmd(c, b"USER " + user), cmd(c, "PASS secret")]
        tap.is_(got, ["+OK", AUTH_FAILED], what + " via USER/PASS -> auth "
                "failure")
        tap.ok(alive(c), what + ": the login process survives (CAPA answered)")
        tap.is_(cmd(c, "AUTH PLAIN " + b64(b"\0" + user + b"\0secret")),
                AUTH_FAILED, what + " via AUTH PLAIN -> auth failure")
        got = [cmd(c, "AUTH LOGIN " + b64(user)), cmd(c, b64("secret"))]
        tap.is_(got, [PASS_PROMPT, TOO_MANY_ATTEMPTS], what + " via AUTH "
                "LOGIN -> the third failure, too many attempts")
        tap.ok(c.closed_within(env.timeout), what + ": then closed")
        c.close()
        fast.wait_idle()
        text = env.read_log(off)
        n = len(re.findall(r"login failed: user=<%s> " % esc, text))
        tap.is_(n, 3, what + ": logged escaped, user=<%s>, once per attempt"
                % esc.replace("\\\\", "\\"))
    check_log_shape(off, "CVE-2019-10691")
    c = conn()
    tap.is_(c.login(), LOGGED_IN, "CVE-2019-10691: a correct login afterwards")
    quit_and_wait(c)

# ============================================================================
# CVE-2025-59028: invalid base64 in a SASL continuation is a failure for
# that client, never an internal-channel error that aborts others' logins.
# Here: five clients send "!!!!" at the moment a sixth sends its password.

with tap.section("CVE-2025-59028"):
    off = env.log_size()
    bad = []
    for i in range(5):
        c = conn()
        tap.is_(cmd(c, "AUTH PLAIN"), "+ ", "CVE-2025-59028: client %d: AUTH "
                "PLAIN -> '+ '" % (i + 1))
        bad.append(c)
    good = conn()
    tap.is_(cmd(good, "AUTH LOGIN"), USER_PROMPT, "CVE-2025-59028: a concurrent "
            "client starts AUTH LOGIN")
    tap.is_(cmd(good, b64("alice")), PASS_PROMPT, "CVE-2025-59028: and sends "
            "its user name")
    go = threading.Barrier(len(bad) + 1)
    results = {}

    def send_bad(i, c):
        go.wait()
        c.send(b"!!!!\r\n")
        results[i] = rd(c)

    def send_good():
        go.wait()
        good.send((b64("secret") + "\r\n").encode())
        results["good"] = rd(good)
    ths = [threading.Thread(target=send_bad, args=(i, c))
           for i, c in enumerate(bad)] + [threading.Thread(target=send_good)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    tap.is_([results.get(i) for i in range(len(bad))], [BAD_B64] * len(bad),
            "CVE-2025-59028: AUTH PLAIN + '!!!!' -> %s for each of 5 clients"
            % BAD_B64)
    tap.is_(results.get("good"), LOGGED_IN, "CVE-2025-59028: the concurrent "
            "client's login succeeds at the same time")
    tap.like(cmd(good, "STAT"), r"^\+OK 1 \d+$", "CVE-2025-59028: and its "
             "session works")
    tap.ok(all(alive(c) for c in bad), "CVE-2025-59028: the '!!!!' clients' "
           "connections are still served (CAPA)")
    c = bad[0]
    tap.is_([cmd(c, "AUTH PLAIN"), cmd(c, "!!!!")], ["+ ", BAD_B64],
            "CVE-2025-59028: a second '!!!!' on the same connection, same answer")
    tap.is_(cmd(c, "AUTH PLAIN AGFsaWNlAHNlY3JldA==!!!!"), BAD_B64,
            "CVE-2025-59028: '!!!!' after valid base64 in an initial response")
    tap.is_(rd(c), TOO_MANY_BAD, "CVE-2025-59028: (that was bad command 3: "
            "%s)" % TOO_MANY_BAD)
    for c in bad:
        c.close()
    quit_and_wait(good)
    c = conn()
    tap.is_(c.login("bob", "hunter2"), LOGGED_IN, "CVE-2025-59028: logins on "
            "new connections still work")
    quit_and_wait(c)
    tap.unlike(env.read_log(off), r"error: |malformed|lost the monitor",
               "CVE-2025-59028: no channel error in the log")

# ============================================================================
# CVE-2017-15132 (memory leak on an aborted AUTHENTICATE) and CVE-2016-8652
# (NULL deref when aborted before a user was set): "*" at every SASL step.
# Leak checking at exit cannot apply (the processes _exit); the cancel path
# allocates nothing, and ASan/UBSan watch every step on build-san.

with tap.section("CVE-2017-15132 / CVE-2016-8652"):
    off = env.log_size()
    steps = (
        ("AUTH PLAIN, '*' at the first continuation",
         ["AUTH PLAIN", "*"], ["+ ", ABORTED]),
        ("AUTH LOGIN, '*' at the Username: prompt",
         ["AUTH LOGIN", "*"], [USER_PROMPT, ABORTED]),
        ("AUTH LOGIN, '*' at the Password: prompt",
         ["AUTH LOGIN", b64("alice"), "*"], [USER_PROMPT, PASS_PROMPT, ABORTED]),
        ("AUTH LOGIN <user>, '*' at the Password: prompt",
         ["AUTH LOGIN " + b64("alice"), "*"], [PASS_PROMPT, ABORTED]),
        ("AUTH PLAIN after USER, '*' at the continuation",
         ["USER alice", "AUTH PLAIN", "*"], ["+OK", "+ ", ABORTED]),
    )
    for cve in ("CVE-2017-15132", "CVE-2016-8652"):
        for what, lines, want in steps:
            c = conn()
            tap.is_([cmd(c, l) for l in lines], want, "%s: %s -> %s"
                    % (cve, what, ABORTED))
            tap.ok(alive(c), "%s: %s: the connection is usable afterwards"
                   % (cve, what))
            c.close()
    c = conn()
    got = [cmd(c, "AUTH PLAIN"), cmd(c, "*"), cmd(c, "AUTH LOGIN"), cmd(c, "*"),
           cmd(c, "AUTH PLAIN " + b64("\0alice\0secret"))]
    tap.is_(got, ["+ ", ABORTED, USER_PROMPT, ABORTED, LOGGED_IN],
            "CVE-2016-8652: two aborts then a login on the same connection")
    quit_and_wait(c)
    c = conn()
    got = [cmd(c, "AUTH PLAIN *"), cmd(c, "AUTH LOGIN *")]
    tap.is_(got, [BAD_B64, BAD_B64], "CVE-2016-8652: '*' as an initial "
            "response is not base64 -> %s" % BAD_B64)
    c.close()
    text = env.read_log(off)
    tap.unlike(text, r"login failed|error: ", "CVE-2016-8652: aborts never "
               "reach the monitor (no failure, no error logged)")

# ============================================================================
# CVE-2020-12673 / CVE-2020-12674: zero-length and short SASL messages for
# every mechanism we offer (PLAIN, LOGIN).  t/32 has bad base64 and
# malformed PLAIN; here are the empty and 1..3-byte messages.

with tap.section("CVE-2020-12673/12674"):
    cases = (
        ("PLAIN, '=' (empty initial response)", ["AUTH PLAIN ="], [AUTH_FAILED]),
        ("PLAIN, empty continuation line", ["AUTH PLAIN", ""],
         ["+ ", AUTH_FAILED]),
        ("PLAIN, '=' as a continuation (only for initial responses)",
         ["AUTH PLAIN", "="], ["+ ", BAD_B64]),
        ("PLAIN, AA== (one NUL)", ["AUTH PLAIN AA=="], [AUTH_FAILED]),
        ("PLAIN, AAA= (two NULs)", ["AUTH PLAIN AAA="], [AUTH_FAILED]),
        ("PLAIN, AAAA (three NULs)", ["AUTH PLAIN AAAA"], [AUTH_FAILED]),
        ("PLAIN, 'A' (one base64 char)", ["AUTH PLAIN A"], [BAD_B64]),
        ("PLAIN, 'AA' (unpadded)", ["AUTH PLAIN AA"], [BAD_B64]),
        ("PLAIN, '==' (padding only)", ["AUTH PLAIN =="], [BAD_B64]),
        ("PLAIN, YQ== ('a', no NUL)", ["AUTH PLAIN YQ=="], [AUTH_FAILED]),
        ("PLAIN, AGE= (NUL a: no password part)", ["AUTH PLAIN AGE="],
         [AUTH_FAILED]),
        ("LOGIN, '=' user then empty password",
         ["AUTH LOGIN =", ""], [PASS_PROMPT, AUTH_FAILED]),
        ("LOGIN, empty user line then empty password",
         ["AUTH LOGIN", "", ""], [USER_PROMPT, PASS_PROMPT, AUTH_FAILED]),
        ("LOGIN, AA== user (one NUL)", ["AUTH LOGIN AA==", b64("secret")],
         [PASS_PROMPT, AUTH_FAILED]),
        ("LOGIN, right user, AA== password",
         ["AUTH LOGIN " + b64("alice"), "AA=="], [PASS_PROMPT, AUTH_FAILED]),
        ("LOGIN, 'A' as the user", ["AUTH LOGIN", "A"], [USER_PROMPT, BAD_B64]),
        ("LOGIN, 'A' as the password", ["AUTH LOGIN", b64("alice"), "A"],
         [USER_PROMPT, PASS_PROMPT, BAD_B64]),
        ("PLAIN, 'AUTH PLAIN ' (an empty initial response without '=')",
         ["AUTH PLAIN "], [AUTH_FAILED]),
    )
    for what, lines, want in cases:
        for cve in ("CVE-2020-12673", "CVE-2020-12674"):
            c = conn()
            tap.is_([cmd(c, l) for l in lines], want, "%s: %s -> %s"
                    % (cve, what, want[-1]))
            tap.ok(alive(c), "%s: %s: no crash, still served" % (cve, what))
            c.close()

# ============================================================================
# CVE-2014-3430: incomplete TLS handshakes must not hold connections.
# ssl_handshake_timeout = 2 on the implicit-TLS server.  (t/33 has the
# same after STLS.)  The waits run in parallel.

HELLO = client_hello()


def hs_case(data, what):
    def run(r):
        sock = raw_conn(tlss)
        t0 = time.monotonic()
        if data:
            sock.sendall(data)
        got, closed = read_to_eof(sock, 2 + SLACK)
        dt = time.monotonic() - t0
        sock.close()
        r.ok(closed, "CVE-2014-3430: %s then silence -> closed within "
             "ssl_handshake_timeout (2 s; took %.2f s)" % (what, dt))
        r.ok(1.5 <= dt, "CVE-2014-3430: %s: not before the timeout (%.2f s)"
             % (what, dt))
        r.ok(b"+OK" not in got, "CVE-2014-3430: %s: no greeting in the clear"
             % what, repr(got[:100]))
    run.__name__ = "CVE-2014-3430 " + what
    return run


def hs_drip(r):
    """A ClientHello dripped one byte every 0.4 s: the handshake timeout
    must be a deadline for the whole handshake, not an idle timer."""
    sock = raw_conn(tlss)
    t0 = time.monotonic()
    closed, sent = False, 0
    while time.monotonic() - t0 < 2 + SLACK and sent < len(HELLO):
        try:
            sock.sendall(HELLO[sent:sent + 1])
            sent += 1
        except OSError:
            closed = True
            break
        if harness.select_readable(sock, 0.4):
            try:
                closed = sock.recv(4096) == b""
            except OSError:
                closed = True
            if closed:
                break
    dt = time.monotonic() - t0
    sock.close()
    r.ok(closed, "CVE-2014-3430: a ClientHello dripped one byte every 0.4 s "
         "is closed within ssl_handshake_timeout (took %.2f s, %d bytes)"
         % (dt, sent))


def hs_many(r):
    """Ten stalled handshakes at once; a real client is served meanwhile."""
    socks = [raw_conn(tlss) for _ in range(10)]
    for s_ in socks:
        s_.sendall(HELLO[:len(HELLO) // 2])
    time.sleep(0.3)
    c = tlss.connect()
    r.is_(c.readline(), GREETING, "CVE-2014-3430: with 10 stalled handshakes "
          "open, a real TLS client is greeted")
    r.is_(c.login(), LOGGED_IN, "CVE-2014-3430: and logs in")
    c.cmd("QUIT")
    c.close()
    t0 = time.monotonic()
    closed = [read_to_eof(s_, 2 + SLACK)[1] for s_ in socks]
    for s_ in socks:
        s_.close()
    r.is_(closed, [True] * 10, "CVE-2014-3430: all 10 stalled handshakes "
          "are closed (%.1f s after the real client)" % (time.monotonic() - t0))


tap.ok(len(HELLO) > 100 and HELLO[0] == 0x16, "CVE-2014-3430: built a real "
       "ClientHello (%d bytes)" % len(HELLO))
parallel(hs_case(HELLO[:len(HELLO) // 2], "half a ClientHello"),
         hs_case(HELLO[:5], "only the record header of a ClientHello"),
         hs_case(b"", "a TCP connection without a byte"),
         hs_drip,
         hs_many)
tlss.wait_idle()

# ============================================================================
# CVE-2011-0411 class (CVE-2021-38084 Courier POP3, CVE-2021-33515,
# CVE-2011-1926): the EAST payload "STLS\r\nCAPA\r\n" in one segment.
# SECURITY.md 3.4 / G11 and io.h: the server answers STLS, then closes
# without a handshake and without executing the pipelined bytes.  (t/33
# checks the details; this is the named regression test.)

with tap.section("CVE-2011-0411"):
    for cve, payload in (
            ("CVE-2011-0411", b"STLS\r\nCAPA\r\n"),
            ("CVE-2021-38084", b"STLS\r\nCAPA\r\n"),
            ("CVE-2021-33515", b"STLS\r\nUSER alice\r\nPASS secret\r\n"),
            ("CVE-2011-1926", b"STLS\r\nQUIT\r\n")):
        off = env.log_size()
        c = conn()
        c.send(payload)
        first = rd(c)
        try:
            rest = c.read_until_eof(env.timeout)
            closed = True
        except harness.Timeout:
            rest, closed = c.buf, False
        tap.is_(first, BEGIN_TLS, "%s: %r in one segment -> %s"
                % (cve, payload.decode(), BEGIN_TLS))
        tap.ok(closed and rest == b"", "%s: then closed with no further byte "
               "(the pipelined commands never run)" % cve, repr(rest[:200]))
        c.close()
        fast.wait_idle()
        tap.unlike(env.read_log(off), r"login", "%s: no authentication "
                   "attempt came of it" % cve)

# ============================================================================
# ALPACA (Brinkmann et al. 2021, SECURITY.md 3.5 / G10): ALPN http/1.1 gets
# alert 120 (no_application_protocol); an HTTP request line as the first
# command is closed without a single byte echoed.  t/33 has the ALPN lists.

with tap.section("ALPACA"):
    for alpn in (["http/1.1"], ["h2", "http/1.1"]):
        sock = raw_conn(tlss)
        sock.sendall(client_hello(alpn))
        got, closed = read_to_eof(sock, env.timeout)
        sock.close()
        # TLS record: type 21 (alert), version, length 2, level 2, desc 120
        tap.ok(len(got) >= 7 and got[0] == 0x15 and got[5] == 2 and
               got[6] == 120, "ALPACA: ALPN %s -> fatal alert 120 "
               "(no_application_protocol) as the first record" % alpn,
               repr(got[:40]))
        tap.ok(closed, "ALPACA: ALPN %s: then closed" % alpn)
    for label, tls in (("cleartext", False), ("implicit TLS", True)):
        s = tlss if tls else fast
        for req in (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
                    b"GET /<script>alert(1)</script> HTTP/1.1\r\n"
                    b"Host: evil.example\r\n\r\n"):
            c = conn(s)
            c.send(req)
            try:
                data = c.read_until_eof(env.timeout)
                closed = True
            except harness.Timeout:
                data, closed = c.buf, False
            tap.ok(closed and data == b"", "ALPACA (%s): %r as the first line "
                   "-> closed, not one byte sent back"
                   % (label, req.split(b"\r\n")[0].decode()), repr(data[:200]))
            c.close()
    c = conn()
    got = [cmd(c, "<script>alert(1)</script>"), cmd(c, "<b>x</b> y")]
    tap.is_(got, [UNKNOWN, UNKNOWN], "ALPACA: an HTML tag as a command is not "
            "reflected (-ERR Unknown command.)")
    c.close()

# ============================================================================
# CVE-2019-11500 (NUL before a backslash escape: out-of-bounds heap write)
# for POP3: NUL bytes at many positions of USER and PASS lines, up to the
# 510-byte line limit.  Each is refused; two per connection, then the
# connection must still be served; the third closes it (t/36 has one NUL
# per command kind).

with tap.section("CVE-2019-11500"):
    lines = []
    for total in (6, 7, 64, 260, 509, 510):
        body = ("USER " + "x" * 300 + "\\z" + "y" * 300)[:total]
        for pos in sorted({0, 1, 4, 5, 6, total // 2, total - 3, total - 1,
                           304, 305, 306}):
            if 0 <= pos < total:
                lines.append(body[:pos] + "\0" + body[pos + 1:])
    lines += ["USER x\0yyyy\\\\z", "USER \"x\0yyyy\\z\"", "USER\0",
              "USER \0", "USER alice\0"]
    pw_lines = ["PASS \0secret", "PASS sec\0ret", "PASS secret\0",
                "PASS " + "p" * 504 + "\0", "PASS \\\0\\"]
    n, failed = 0, []
    for i in range(0, len(lines), 2):
        c = conn()
        got = [cmd(c, l) for l in lines[i:i + 2]]
        n += len(got)
        if got != [INVALID_CHARS] * len(got) or not alive(c):
            failed.append(c.dump())
        c.close()
    tap.ok(not failed, "CVE-2019-11500: %d USER lines with a NUL at positions "
           "0..509 of lines of 6..510 bytes -> each %s, connection still "
           "served" % (n, INVALID_CHARS), "\n".join(failed))
    for l in pw_lines:
        c = conn()
        got = [cmd(c, "USER alice"), cmd(c, l)]
        tap.is_(got, ["+OK", INVALID_CHARS], "CVE-2019-11500: %r after USER "
                "alice -> %s" % (l[:30] + ("..." if len(l) > 30 else ""),
                                 INVALID_CHARS))
        tap.is_(cmd(c, "PASS secret"), LOGGED_IN, "CVE-2019-11500: %r: the "
                "USER survives, the right PASS then logs in" % l[:30])
        quit_and_wait(c)
    c = conn()
    got = [cmd(c, "USER a\0"), cmd(c, "PASS \0"), cmd(c, "\0")]
    tap.is_(got, [INVALID_CHARS] * 3, "CVE-2019-11500: three NUL lines -> "
            "three -ERR")
    tap.is_(rd(c), TOO_MANY_BAD, "CVE-2019-11500: then %s" % TOO_MANY_BAD)
    tap.ok(c.closed_within(env.timeout), "CVE-2019-11500: and closed")
    c.close()

# ============================================================================
# G7: a NUL anywhere in a POP3 command line, before and after login, is
# -ERR (never executed: QUIT\0 does not quit, STLS\0 starts no TLS).

with tap.section("G7"):
    c = conn()
    got = [cmd(c, "QUIT\0"), cmd(c, "STLS\0")]
    tap.is_(got, [INVALID_CHARS] * 2, "G7: pre-auth QUIT\\0 and STLS\\0 -> %s"
            % INVALID_CHARS)
    tap.ok(alive(c), "G7: QUIT\\0 did not quit, STLS\\0 started no TLS")
    c.close()
    c = conn()
    got = [cmd(c, "CAPA\0"), cmd(c, "AUTH\0PLAIN")]
    tap.is_(got, [INVALID_CHARS] * 2, "G7: pre-auth CAPA\\0 and AUTH\\0PLAIN "
            "-> %s" % INVALID_CHARS)
    c.close()
    c = conn()
    tap.is_(cmd(c, "AUTH PLAIN"), "+ ", "G7: AUTH PLAIN")
    tap.is_(cmd(c, "AGFsaWNl\0HNlY3JldA=="), BAD_B64, "G7: a NUL in a SASL "
            "continuation line -> %s" % BAD_B64)
    c.close()
    c = fast.session()
    for l in ("STAT\0", "\0", "RETR\0 1", "RETR 1\0", "NOOP \0", "DELE 1\0",
              "QUIT\0", "UIDL\0", "TOP 1 0\0", "LIST\0"):
        tap.is_(cmd(c, l), INVALID_CHARS, "G7: after login, %r -> %s"
                % (l, INVALID_CHARS))
    tap.like(cmd(c, "STAT"), r"^\+OK 1 \d+$", "G7: the session goes on "
             "(QUIT\\0 did not quit, DELE 1\\0 deleted nothing)")
    got = cmd(c, "QUIT")
    tap.like(got, r"^\+OK Logging out", "G7: QUIT")
    c.close()
    fast.wait_idle()
    tap.is_(len(env.maildir_files("alice")), 1, "G7: alice's message is still "
            "there")

# ============================================================================
# CVE-2007-5740 (Perdition: NUL then a format string) and Courier
# CVE-2004-0777 (format string in the user name): format specifiers are
# never interpreted, never echoed, and logged literally.

FMT = "%s%s%n%x"

with tap.section("CVE-2007-5740"):
    off = env.log_size()
    seen = []
    c = conn()
    seen.append(c)
    got = [cmd(c, "USER " + FMT), cmd(c, "PASS %n%n%n%n")]
    tap.is_(got, ["+OK", AUTH_FAILED], "CVE-2004-0777: USER %s / PASS %%n%%n%%n"
            "%%n -> auth failure, no crash" % FMT)
    got = [cmd(c, FMT), cmd(c, "AUTH %s%n%1$n%hn")]
    tap.is_(got, [UNKNOWN, NO_MECH], "CVE-2007-5740: %s as a command and as "
            "a SASL mechanism -> fixed -ERR texts, nothing echoed" % FMT)
    tap.ok(alive(c), "CVE-2007-5740: still served")
    c.close()
    c = conn()
    seen.append(c)
    got = [cmd(c, "US\0" + FMT), cmd(c, "USER a\0%n%s%n")]
    tap.is_(got, [INVALID_CHARS] * 2, "CVE-2007-5740: NUL then a format "
            "string (the Perdition bypass) -> %s" % INVALID_CHARS)
    c.close()
    c = conn()
    seen.append(c)
    tap.is_(cmd(c, "AUTH PLAIN " + b64("\0%1$n%hn%s\0%s%s%n")), AUTH_FAILED,
            "CVE-2004-0777: %1$n%hn%s as the SASL PLAIN user -> auth failure")
    c.close()
    c = fast.session()
    seen.append(c)
    got = [cmd(c, l) for l in ("RETR %s%n", "TOP %n %s", "UIDL %x%n",
                               "LIST %s", "DELE %n", FMT)]
    tap.is_(got, ["-ERR Invalid message number.", "-ERR Usage: TOP <message> "
                  "<lines>", "-ERR Invalid message number.",
                  "-ERR Invalid message number.", "-ERR Invalid message "
                  "number.", UNKNOWN],
            "CVE-2005-2878 class: format specifiers as arguments after login "
            "-> fixed -ERR texts")
    tap.like(cmd(c, "STAT"), r"^\+OK 1 \d+$", "CVE-2005-2878 class: the "
             "session survives")
    quit_and_wait(c)
    transcript = b"".join(d for x in seen for w, d in x.transcript
                         if w == "S")
    tap.ok(b"%" not in transcript, "CVE-2007-5740: no '%' in anything the "
           "server sent", repr(transcript[:300]))
    text = env.read_log(off)
    tap.like(text, r"login failed: user=<%s%s%n%x> .*mech=USER",
             "CVE-2004-0777: the user name is logged literally: user=<%s>" % FMT)
    tap.like(text, r"login failed: user=<%1\$n%hn%s> .*mech=PLAIN",
             "CVE-2004-0777: and %1$n%hn%s via PLAIN")
    tap.unlike(text, r"\(null\)|0x[0-9a-f]{6,}", "CVE-2007-5740: no sign of "
               "a format string being expanded in the log")

# ============================================================================
# CVE-2005-1513 (qmail: unbounded line reading, integer overflow) class:
# a very long line gives one -ERR and the session goes on; a line that
# never ends is given up on; memory stays flat.  t/36 has 1 MiB / 16 MiB
# with memory ceilings; here the SASL continuation reader too.

def login_vmhwm(s, c):
    p = conn_procs(s, c)
    if not p:
        return None, None
    pid = p["login"]
    return pid, int(harness.proc_status(pid)["VmHWM"].split()[0])


def send_big(c, data):
    sent = 0
    view = memoryview(data)
    try:
        while sent < len(data):
            sent += c.sock.send(view[sent:sent + 65536])
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


with tap.section("CVE-2005-1513"):
    c = conn()
    pid, before = login_vmhwm(fast, c)
    send_big(c, b"USER " + b"A" * 65536 + b"\r\n")
    tap.is_(rd(c), TOO_LONG, "CVE-2005-1513: a 64 KiB USER line -> one %s"
            % TOO_LONG)
    tap.ok(alive(c), "CVE-2005-1513: the next command is read normally")
    c.send(b"AUTH PLAIN\r\n")
    tap.is_(rd(c), "+ ", "CVE-2005-1513: AUTH PLAIN")
    send_big(c, b"A" * 300000 + b"\r\n")
    tap.is_(rd(c), TOO_LONG, "CVE-2005-1513: a 300 KB SASL continuation line "
            "-> one %s" % TOO_LONG)
    _, after = login_vmhwm(fast, c)
    if before and after:
        tap.cmp_ok(after - before, "<", 1024, "CVE-2005-1513: the login "
                   "process's memory did not grow (%d -> %d KiB)"
                   % (before, after))
    else:
        tap.ok(False, "CVE-2005-1513: the login process is still there to "
               "measure")
    c.close()
    c = conn()
    tap.is_(cmd(c, "AUTH PLAIN"), "+ ", "CVE-2005-1513: AUTH PLAIN")
    # the SASL line limit, POP3_SASL_LINE_MAX = 4096: 4096 base64 chars are
    # read (and decode to more than any credentials), 4100 are too long
    tap.is_(cmd(c, "A" * 4096), CREDS_TOO_LONG, "CVE-2005-1513: a 4096-char "
            "SASL line is read whole (too big to decode -> %s)" % CREDS_TOO_LONG)
    tap.is_([cmd(c, "AUTH PLAIN"), cmd(c, "A" * 4100)], ["+ ", TOO_LONG],
            "CVE-2005-1513: a 4100-char SASL line -> %s" % TOO_LONG)
    c.close()
    c = conn()
    pid, _ = login_vmhwm(fast, c)
    send_big(c, b"B" * (4 * 1024 * 1024))
    tap.ok(c.closed_within(env.timeout), "CVE-2005-1513: 4 MiB without a "
           "newline -> the server gives up and closes (t/36: 16 MiB, memory)")
    tap.ok(pid and wait_for(lambda: gone(pid), env.timeout),
           "CVE-2005-1513: and its login process is gone")
    c.close()

# ============================================================================
# CVE-2004-1067 (Cyrus: off-by-one with a user name of exactly the buffer
# size) class: user names of 254/255/256 bytes, passwords of 1024/1025,
# authzid of 255/256, through every way in.  The 255-byte user with the
# 1024-byte password exists, so "limit accepted" means a real login.

with tap.section("CVE-2004-1067"):
    off = env.log_size()
    for n_, want in ((254, "+OK"), (255, "+OK"), (256, BAD_USER),
                     (300, BAD_USER)):
        c = conn()
        tap.is_(cmd(c, "USER " + "m" * n_), want, "CVE-2004-1067: USER of %d "
                "bytes -> %s" % (n_, want))
        if want == "+OK":
            tap.is_(cmd(c, "PASS wrong"), AUTH_FAILED, "CVE-2004-1067: %d-byte "
                    "user, wrong password -> an ordinary auth failure" % n_)
        else:
            tap.is_(cmd(c, "PASS wrong"), NO_USER, "CVE-2004-1067: %d-byte "
                    "user was not kept" % n_)
        c.close()
    c = conn()
    tap.is_([cmd(c, "USER " + U255), cmd(c, "PASS " + P1024)], ["+OK", TOO_LONG],
            "CVE-2004-1067: PASS with 1024 bytes does not fit the 510-byte "
            "command line -> %s" % TOO_LONG)
    c.close()
    plain = (
        ("\0" + U255 + "\0" + P1024, LOGGED_IN, "user 255, password 1024"),
        (U255 + "\0" + U255 + "\0" + P1024, LOGGED_IN,
         "authzid 255 = user 255, password 1024"),
        ("\0" + U255 + "\0" + P1024 + "x", AUTH_FAILED, "password 1025"),
        ("\0" + U255 + "m\0" + P1024, AUTH_FAILED, "user 256"),
        (U255 + "m\0" + U255 + "\0" + P1024, AUTH_FAILED, "authzid 256"),
        ("\0" + U255 + "\0" + P1024[:-1], AUTH_FAILED,
         "password 1023 (a prefix of the right one)"),
    )
    for msg, want, what in plain:
        c = conn()
        got = [cmd(c, "AUTH PLAIN"), cmd(c, b64(msg))]
        tap.is_(got, ["+ ", want], "CVE-2004-1067: AUTH PLAIN, %s -> %s"
                % (what, want))
        quit_and_wait(c)
    login = (
        (U255, P1024, [USER_PROMPT, PASS_PROMPT, LOGGED_IN],
         "user 255, password 1024"),
        (U255 + "m", P1024, [USER_PROMPT, CREDS_TOO_LONG], "user 256"),
        (U255, P1024 + "x", [USER_PROMPT, PASS_PROMPT, CREDS_TOO_LONG],
         "password 1025"),
    )
    for user, pw, want, what in login:
        c = conn()
        got = [cmd(c, "AUTH LOGIN")]
        for part in (user, pw):
            if got[-1] in (USER_PROMPT, PASS_PROMPT):
                got.append(cmd(c, b64(part)))
        tap.is_(got, want, "CVE-2004-1067: AUTH LOGIN, %s -> %s"
                % (what, want[-1]))
        quit_and_wait(c)
    text = env.read_log(off)
    tap.is_(len(re.findall(r"login: user=<%s> " % U255, text)), 3,
            "CVE-2004-1067: the 255-byte user logged in 3 times, logged in "
            "full")
    tap.like(text, r"login failed: user=<%s> .*mech=USER .*reason=password$"
             % ("m" * 255), "CVE-2004-1067: the 255-byte user's failure is "
             "logged in full")
    tap.unlike(text, r"user=<m{256,}>", "CVE-2004-1067: no 256-byte user "
               "reached the monitor")
    # A 255-byte name whose every byte is logged as \xHH is 1020 bytes in
    # the log; the failure line must still carry all its fields (fail2ban's
    # failregex needs rip=, and reason= tells a PAM outage apart).
    for user, what in ((b"\xff" * 255, "\\xff x 255 (invalid UTF-8, "
                        "CVE-2019-10691 at the limit)"),
                       (b"<" * 255, "'<' x 255"),
                       (b"\x01" * 255, "\\x01 x 255 (CVE-2008-1218 at the "
                        "limit)")):
        o2 = env.log_size()
        c = conn()
        got = [cmd(c, b"USER " + user), cmd(c, "PASS wrong")]
        tap.is_(got, ["+OK", AUTH_FAILED], "CVE-2004-1067: USER of 255 bytes "
                "%s -> auth failure" % what)
        c.close()
        fast.wait_idle()
        lines = [l for l in env.read_log(o2).splitlines() if "login failed" in l]
        tap.ok(len(lines) == 1 and re.match(FAILED_LINE, lines[0]),
               "CVE-2004-1067: its log line is whole, with rip=, lip=, mech=, "
               "tls= and reason= (%s)" % what,
               "\n".join("%d bytes, ends %r" % (len(l), l[-80:]) for l in lines))
    check_log_shape(off, "CVE-2004-1067")

# ============================================================================
# G12: the failure delay (auth_failure_delay = 1 on `slow`; t/31 measures
# 2 s), the per-connection attempt limit (3), counted across mechanisms,
# and timing parity between an existing and an unknown user.

def g12_delay(r):
    c = conn(slow)
    for what, lines, want in (
            ("USER/PASS, wrong password", ["USER alice", "PASS wrong"],
             ["+OK", AUTH_FAILED]),
            ("AUTH PLAIN, unknown user", ["AUTH PLAIN " + b64("\0nosuch\0x")],
             [AUTH_FAILED]),
            ("AUTH LOGIN, a user refused before PAM (TAB)",
             ["AUTH LOGIN", b64("alice\tx"), b64("secret")],
             [USER_PROMPT, PASS_PROMPT, TOO_MANY_ATTEMPTS])):
        got = [cmd(c, l) for l in lines[:-1]]
        t0 = time.monotonic()
        got.append(cmd(c, lines[-1], timeout=env.timeout))
        dt = time.monotonic() - t0
        r.is_(got, want, "G12: %s -> %s" % (what, want[-1]))
        r.cmp_ok(dt, ">=", 1.0, "G12: %s: answered no sooner than "
                 "auth_failure_delay = 1 s (%.3f s)" % (what, dt))
        r.cmp_ok(dt, "<", 1.0 + SLACK, "G12: %s: nor much later" % what)
    r.ok(c.closed_within(env.timeout), "G12: the 3rd failure (across "
         "USER, PLAIN and LOGIN) disconnects")
    c.close()


def g12_limit(r):
    c = conn(slow)
    got = []
    for i in range(3):
        got += [cmd(c, "USER bob"), cmd(c, "PASS bad%d" % i)]
    r.is_(got, ["+OK", AUTH_FAILED, "+OK", AUTH_FAILED, "+OK",
                TOO_MANY_ATTEMPTS],
          "G12: three wrong passwords -> the third is '%s'" % TOO_MANY_ATTEMPTS)
    try:
        rest = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        rest, closed = c.buf, False
    r.ok(closed and rest == b"", "G12: then closed, nothing more said",
         repr(rest))
    c.close()


def g12_success_not_delayed(r):
    c = conn(slow)
    c.cmd("USER alice")
    t0 = time.monotonic()
    got = c.cmd("PASS wrong")
    t1 = time.monotonic()
    c.cmd("USER alice")
    t2 = time.monotonic()
    ok_ = c.cmd("PASS secret")
    dt = time.monotonic() - t2
    r.is_([got, ok_], [AUTH_FAILED, LOGGED_IN], "G12: a failure then the "
          "right password on the same connection")
    r.cmp_ok(t1 - t0, ">=", 1.0, "G12: the failure waited %.3f s" % (t1 - t0))
    r.cmp_ok(dt, "<", 1.0, "G12: the success did not (%.3f s)" % dt)
    c.cmd("QUIT")
    c.close()
    slow.wait_idle()


PARITY_N = 10


def g12_parity(r):
    times = {"existing": [], "unknown": []}
    errors = []

    def one(i):
        try:
            c = conn(slow)
            order = (("existing", "bob"), ("unknown", "nosuchuser%d" % i))
            if i % 2:
                order = order[::-1]
            for kind, user in order:
                c.cmd("USER " + user)
                t0 = time.monotonic()
                rep = c.cmd("PASS wrongpassword", timeout=env.timeout)
                dt = time.monotonic() - t0
                if rep != AUTH_FAILED:
                    errors.append("%s: %r" % (user, rep))
                times[kind].append(dt)
            c.close()
        except Exception:  # noqa: BLE001
            errors.append(traceback.format_exc())
    ths = [threading.Thread(target=one, args=(i,)) for i in range(PARITY_N)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    r.is_(errors, [], "G12 timing parity: every try answered %s" % AUTH_FAILED)
    ex, un = times["existing"], times["unknown"]
    if len(ex) == PARITY_N and len(un) == PARITY_N:
        me, mu = statistics.median(ex), statistics.median(un)
        r.cmp_ok(abs(me - mu), "<", 0.050, "G12 timing parity (10 tries each, "
                 "not 30, to keep the run short): median failed-login time "
                 "for an existing user (%.3f s) and an unknown one (%.3f s) "
                 "differ by < 50 ms" % (me, mu))
        r.cmp_ok(min(ex + un), ">=", 1.0, "G12 timing parity: no failure "
                 "answered before 1 s (min %.3f s)" % min(ex + un))
    else:
        r.ok(False, "G12 timing parity (10 tries each): got %d/%d timings"
             % (len(ex), len(un)))


with tap.section("G12"):
    parallel(g12_delay, g12_limit, g12_success_not_delayed)
    # alone, so the other blocks' load does not blur the measurement
    parallel(g12_parity)

# ============================================================================
# G5: a fault in connection A leaves a concurrent connection B working.
# t/40 kills A's login after A logged in; here A is killed mid-SASL, while
# its root monitor sleeps in the failure delay, and A's monitor itself.

with tap.section("G5"):
    b = fast.session()
    tap.like(cmd(b, "STAT"), r"^\+OK 1 \d+$", "G5: B is logged in (alice)")
    # 1. A's login process is killed in the middle of AUTH PLAIN
    a = conn()
    tap.is_(cmd(a, "AUTH PLAIN"), "+ ", "G5: A waits in an AUTH PLAIN "
            "continuation")
    pa = conn_procs(fast, a)
    tap.ok(pa, "G5: found A's monitor and login process")
    os.kill(pa["login"], signal.SIGKILL)
    tap.ok(a.closed_within(env.timeout), "G5: kill -9 of A's login process "
           "closes A")
    tap.ok(wait_for(lambda: gone(pa["monitor"]), env.timeout),
           "G5: A's monitor exits")
    a.close()
    got = [cmd(b, "NOOP"), cmd(b, "RETR 1")]
    tap.is_(got[0], "+OK", "G5: B's session still works (NOOP)")
    tap.like(got[1], r"^\+OK", "G5: B can RETR")
    tap.is_(b.read_body(), harness.crlf(MSG), "G5: and gets the message")
    # 2. A's login is killed while its monitor waits out the failure delay;
    #    C logs in on the same server at that moment
    a = conn(slow)
    c = conn(slow)
    cmd(a, "USER bob")
    cmd(c, "USER bob")
    pa = conn_procs(slow, a)
    a.send(b"PASS wrong\r\n")
    time.sleep(0.3)
    c.send(b"PASS hunter2\r\n")
    os.kill(pa["login"], signal.SIGKILL)
    tap.is_(rd(c), LOGGED_IN, "G5: C logs in while A's login process is "
            "killed during A's failure delay")
    tap.ok(a.closed_within(env.timeout), "G5: A is closed")
    tap.ok(wait_for(lambda: gone(pa["monitor"]), env.timeout),
           "G5: A's monitor exits after its failure delay (no hang)")
    a.close()
    tap.like(cmd(c, "STAT"), r"^\+OK 1 \d+$", "G5: C's session works")
    quit_and_wait(c, slow)
    # 3. A's root monitor itself is killed before A authenticates
    a = conn()
    tap.is_(cmd(a, "USER bob"), "+OK", "G5: A at USER")
    pa = conn_procs(fast, a)
    os.kill(pa["monitor"], signal.SIGKILL)
    r = cmd(a, "PASS hunter2")
    tap.ok(r is None or r.startswith("-ERR"), "G5: with its monitor killed, "
           "A cannot log in (%r)" % (r,))
    tap.ok(a.closed_within(env.timeout), "G5: and A is closed")
    tap.ok(wait_for(lambda: gone(pa["login"]), env.timeout),
           "G5: A's orphaned login process exits")
    a.close()
    tap.like(cmd(b, "STAT"), r"^\+OK 1 \d+$", "G5: B is still served after "
             "all three faults")
    quit_and_wait(b)
    c = conn()
    tap.is_(c.login("bob", "hunter2"), LOGGED_IN, "G5: a new connection logs "
            "in")
    quit_and_wait(c)

env.finish()
