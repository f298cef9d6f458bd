#!/usr/bin/env python3
# pop3d: hostile pre-auth input (SECURITY.md G6, G7, G10): the line limit
# at 510/511 bytes, NUL bytes, the bad-command limit, an HTTP request
# (ALPACA reflection), a 1 MiB line with bounded memory, endless input
# without a newline, and the pre-auth idle timeout.
import os
import socket
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap      # noqa: E402
import harness  # noqa: E402

TOO_LONG = "-ERR Line too long."
MIB = 1024 * 1024

env = harness.setup()
env.deliver("alice", "Subject: x\n\ny\n")
srv = env.start(conf={"login_timeout": "3"})


def conn(s=srv):
    c = s.connect()
    g = c.readline()
    assert g == "+OK postern ready.", g
    return c


def login_pid(s, timeout=5):
    """The login process of the (only) current connection."""
    def find():
        for m in s.monitors():
            for k in harness.proc_children(m):
                if harness.proc_comm(k) == "login":
                    return k
        return None
    return harness.wait_for(find, timeout)


def session_pid(s, timeout=5):
    def find():
        for m in s.monitors():
            for k in harness.proc_children(m):
                if harness.proc_comm(k) == "session":
                    return k
        return None
    return harness.wait_for(find, timeout)


def vm_kib(pid, key):
    v = harness.proc_status(pid).get(key, "0 kB")
    return int(v.split()[0])


def send_big(c, data):
    """Send data while the server may close; returns bytes sent."""
    sent = 0
    try:
        view = memoryview(data)
        while sent < len(data):
            sent += c.sock.send(view[sent:sent + 65536])
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


with tap.section("line length limit"):
    c = conn()
    r = c.cmd("X" * 510)
    tap.ok(r is not None and r.startswith("-ERR") and r != TOO_LONG,
           "a 510-byte line is read whole (an ordinary -ERR)", repr(r))
    c.close()
    c = conn()
    tap.is_(c.cmd("X" * 511), TOO_LONG, "a 511-byte line -> -ERR Line too long.")
    c.close()
    c = conn()
    tap.is_(c.cmd("USER " + "a" * 506), TOO_LONG, "USER line of 511 bytes")
    c.close()
    c = conn()
    c.send(b"Y" * 511 + b"\n")
    tap.is_(c.readline(), TOO_LONG, "511 bytes ended by a bare LF")
    tap.like(c.cmd("CAPA"), r"^\+OK", "the next line is read normally")
    c.read_multi()
    c.close()
    c = conn()
    # 510 bytes plus the CR: the CR belongs to the line ending
    c.send(b"Z" * 510 + b"\r\n")
    r = c.readline()
    tap.ok(r is not None and r != TOO_LONG, "510 bytes + CRLF is not too long",
           repr(r))
    c.close()

with tap.section("NUL bytes"):
    for raw, what in ((b"USER a\x00b\r\n", "USER a\\0b"),
                      (b"CAPA\x00\r\n", "CAPA\\0"),
                      (b"\x00\r\n", "a lone NUL"),
                      (b"AUTH PLAIN\x00 AGFsaWNlAHNlY3JldA==\r\n", "AUTH PLAIN\\0")):
        c = conn()
        c.send(raw)
        try:
            r = c.readline()
        except harness.Timeout:
            r = "(timeout)"
        tap.ok(r is None or r.startswith("-ERR"), "%s -> -ERR or close" % what,
               repr(r))
        c.close()
    c = conn()
    c.send(b"USER al\x00ice\r\n")
    c.readline()
    r = c.cmd("PASS secret")
    tap.ok(r is None or r.startswith("-ERR"),
           "USER with a NUL never leads to a login", repr(r))
    c.close()

with tap.section("three bad commands"):
    c = conn()
    tap.like(c.cmd("FOO"), r"^-ERR", "bad command 1")
    tap.like(c.cmd("BAR %s%n%x"), r"^-ERR", "bad command 2 (format specifiers)")
    r = c.cmd("CAPA")
    tap.like(r, r"^\+OK", "still served after two")
    c.read_multi()
    try:
        r = c.cmd("BAZ")
    except harness.Timeout:
        r = "(timeout)"
    tap.ok(r is None or r.startswith("-ERR"), "bad command 3 -> -ERR or close",
           repr(r))
    tap.ok(c.closed_within(env.timeout), "closed after the third bad command")
    c.close()

with tap.section("HTTP request as the first line (ALPACA reflection)"):
    c = conn()
    c.send(b"GET / HTTP/1.1\r\n")
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout as e:
        data, closed = str(e).encode(), False
    tap.ok(closed, "the server closes after one HTTP request line")
    tap.ok(b"GET" not in data and b"HTTP" not in data and b"/" not in data,
           "and echoes none of it", repr(data))
    c.close()
    c = conn()
    c.send(b"POST /<script>alert(1)</script> HTTP/1.1\r\nHost: evil.example\r\n"
           b"Content-Length: 5\r\n\r\nhello")
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        data, closed = b"", False
    tap.ok(closed, "a full HTTP POST is closed")
    tap.ok(b"<" not in data and b"script" not in data and b"evil" not in data
           and b"+OK" not in data, "nothing of it is reflected", repr(data))
    c.close()

with tap.section("1 MiB line: one -ERR, bounded memory"):
    c = conn()
    pid = login_pid(srv)
    tap.ok(pid, "found the login process")
    before = vm_kib(pid, "VmHWM") if pid else 0
    n = send_big(c, b"A" * (MIB - 2) + b"\r\n")
    tap.is_(n, MIB, "the server took the whole line")
    r = c.readline()
    tap.like(r, r"^-ERR", "one -ERR for it")
    try:
        extra = c.readline(1.0)
    except harness.Timeout:
        extra = "(nothing)"
    tap.ok(extra in ("(nothing)", None), "and only one line", repr(extra))
    if pid and harness.proc_stat(pid):
        after = vm_kib(pid, "VmHWM")
        tap.diag("login VmHWM before %d KiB, after %d KiB" % (before, after))
        if not env.instrumented:
            tap.cmp_ok(after, "<", 16 * 1024, "login process VmHWM < 16 MiB")
        tap.cmp_ok(after - before, "<", 2 * 1024,
                   "the line did not grow its memory (< 2 MiB)")
    else:
        tap.ok(False, "login process still there to measure")
    c.close()

with tap.section("endless input without a newline"):
    c = conn()
    pid = login_pid(srv)
    before = vm_kib(pid, "VmHWM") if pid else 0
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set() and pid and harness.proc_stat(pid):
            try:
                peak[0] = max(peak[0], vm_kib(pid, "VmHWM"))
            except (OSError, ValueError):
                break
            time.sleep(0.02)
    th = threading.Thread(target=sample)
    th.start()
    t0 = time.monotonic()
    n = send_big(c, b"B" * (16 * MIB))
    closed = c.closed_within(env.timeout)
    stop.set()
    th.join()
    tap.ok(closed, "the server gives up on 16 MiB without a newline")
    tap.cmp_ok(n, "<", 16 * MIB, "before taking all of it (%d bytes taken)" % n)
    tap.cmp_ok(peak[0] - before, "<", 2 * 1024,
               "memory stayed flat (peak %d KiB, start %d KiB)" % (peak[0], before))
    c.close()

with tap.section("pre-auth idle timeout"):
    c = conn()
    t0 = time.monotonic()
    closed = c.closed_within(3 + 5)
    dt = time.monotonic() - t0
    tap.ok(closed, "an idle client is dropped (login_timeout = 3)")
    tap.cmp_ok(dt, ">=", 2.5, "not before the timeout (%.1fs)" % dt)
    c.close()
    c = conn()
    c.send(b"CAP")   # half a command, then nothing
    tap.ok(c.closed_within(3 + 5), "a half line does not hold the connection")
    c.close()
    # a busy client: a command every second never hits the idle timeout,
    # but the whole pre-auth phase ends at 3 x login_timeout = 9 s
    c = conn()
    t0 = time.monotonic()
    alive = True
    while alive and time.monotonic() - t0 < 20:
        r = c.cmd("CAPA")
        alive = r is not None and r.startswith("+OK")
        if alive:
            c.read_multi()
            time.sleep(1)
    dt = time.monotonic() - t0
    tap.ok(not alive, "a busy client is dropped before login anyway")
    tap.ok(8 <= dt <= 14, "after 3 x login_timeout (%.1fs)" % dt)
    c.close()

with tap.section("post-auth: 1 MiB line, bounded memory"):
    c = srv.session()
    pid = session_pid(srv)
    tap.ok(pid, "found the session process")
    before = vm_kib(pid, "VmHWM") if pid else 0
    send_big(c, b"C" * (MIB - 2) + b"\r\n")
    try:
        r = c.readline()
    except harness.Timeout:
        r = "(timeout)"
    tap.ok(r is None or r.startswith("-ERR"), "-ERR (or close) for a 1 MiB "
           "command after login", repr(r))
    if pid and harness.proc_stat(pid):
        after = vm_kib(pid, "VmHWM")
        tap.cmp_ok(after - before, "<", 2 * 1024,
                   "session memory did not grow (%d -> %d KiB)" % (before, after))
    c.close()

with tap.section("implicit TLS: HTTP inside TLS"):
    ts = env.start(tls=True)
    c = ts.connect(alpn=None)
    c.readline()
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = c.read_until_eof(env.timeout)
        closed = True
    except harness.Timeout:
        data, closed = b"", False
    tap.ok(closed and b"GET" not in data and b"HTTP" not in data,
           "HTTP over TLS: closed, nothing echoed", repr(data))
    c.close()
    ts.stop()

env.finish()
