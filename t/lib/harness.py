"""harness.py - run postern's daemons the way systemd does, for one test file.

Every protocol test (t/3x-*.t, t/4x-*.t) does:

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
    import tap, harness
    env = harness.setup()                  # temp dir, users, PAM, TLS, mail
    srv = env.start("pop3d", tls=False, conf={"ssl": "required"})
    c = srv.connect()                      # a raw line client
    tap.is_(c.readline(), "+OK postern ready.", "greeting")
    ...
    env.finish()                           # stop servers, sanitizer check, plan

What setup() builds in a fresh temp dir T (kept when POSTERN_KEEP=1):
  T/passwd, T/group     nss_wrapper databases: root, pstlogin (60100, the
                        login user), alice (60101), bob (60102), sysacct
                        (uid 100, below first_valid_uid), group mail (60200)
  T/pam.d/postern       pam_wrapper service file using pam_matrix with
  T/passdb              alice:secret, bob:hunter2, sysacct:sys
  T/empty               the login chroot (root, 0555)
  T/cert.pem, key.pem   a self-signed P-256 certificate for "localhost"
  T/postern.conf        the base configuration (BASE_CONF below)
  T/home/USER/Maildir   owned by the user
Servers are started through `systemd-socket-activate --inetd -a`, so each
connection gets its own process tree with the socket on fds 0/1, as under
systemd's Accept=yes.  systemd-socket-activate does NOT pass its own
environment on (only PATH, HOME, TERM and LISTEN_*), so the wrapper
variables are handed over with -E.
"""

import atexit
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import tap

LIBDIR = "/usr/lib/x86_64-linux-gnu"
NSS_WRAPPER = LIBDIR + "/libnss_wrapper.so"
PAM_WRAPPER = LIBDIR + "/libpam_wrapper.so"
PAM_MATRIX = LIBDIR + "/pam_wrapper/pam_matrix.so"

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(REPO, "build")

# name: (uid, gid, password or None, home relative to T or absolute)
USERS = {
    "root": (0, 0, None, "/root"),
    "pstlogin": (60100, 60100, None, "/nonexistent"),
    "alice": (60101, 60101, "secret", "home/alice"),
    "bob": (60102, 60102, "hunter2", "home/bob"),
    "sysacct": (100, 100, "sys", "home/sysacct"),
}
GROUPS = {
    "root": (0, []), "pstlogin": (60100, []), "alice": (60101, []),
    "bob": (60102, []), "sysacct": (100, []), "mail": (60200, ["alice"]),
}


class SetupError(Exception):
    pass


def sanitized_binary(path):
    """True if the binary was built with ASan (make SANITIZE=1)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# --------------------------------------------------------------------------
# /proc helpers (the tests run as root, so every process is readable)

def proc_stat(pid):
    """(comm, ppid) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    return comm, int(rest[1])


def proc_children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[1] == pid:
                kids.append(int(d))
    return sorted(kids)


def proc_comm(pid):
    st = proc_stat(pid)
    return st[0] if st else None


def proc_status(pid):
    """/proc/PID/status as a dict of stripped strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it returns a true value or timeout; returns it."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def tcp_socket_inodes():
    """Inodes of all TCP sockets in this network namespace."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    inodes.add(line.split()[9])
        except OSError:
            pass
    return inodes


# --------------------------------------------------------------------------

class Timeout(Exception):
    pass


class Client:
    """A raw, line-oriented POP3/IMAP client over TCP (and TLS)."""

    def __init__(self, port, timeout, host="127.0.0.1", tls=False,
                 cafile=None, alpn=None, server_hostname="localhost"):
        self.timeout = timeout
        self.cafile = cafile
        self.buf = b""
        self.transcript = []
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self._wrap(alpn, server_hostname)

    def tls_context(self, alpn=None):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if alpn is not None:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def _wrap(self, alpn, server_hostname):
        ctx = self.tls_context(alpn)
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)

    def starttls(self, alpn=None, server_hostname="localhost"):
        """Handshake on the open connection (after +OK to STLS)."""
        if self.buf:
            raise AssertionError("server sent bytes after the STLS reply, "
                                 "before TLS: %r" % self.buf)
        self._wrap(alpn, server_hostname)

    @property
    def tls(self):
        return isinstance(self.sock, ssl.SSLSocket)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.transcript.append(("C", data))
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout("no data from the server within %.1fs; have %r"
                          % (timeout, self.buf[-200:]))
        except (ConnectionResetError, ssl.SSLEOFError):
            data = b""
        self.transcript.append(("S", data))
        return data

    def readline_bytes(self, timeout=None):
        """One line with its ending removed, or None at EOF."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise Timeout("no complete line within %.1fs; have %r"
                              % (timeout, self.buf[-200:]))
            data = self._fill(left)
            if not data:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line  # unterminated last bytes
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        return line

    def readline(self, timeout=None):
        line = self.readline_bytes(timeout)
        return None if line is None else line.decode("latin-1")

    def cmd(self, line, timeout=None):
        """Send one command line (CRLF added) and return the reply line."""
        self.send(line.encode("latin-1") + b"\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.readline(timeout)

    def read_multi_raw(self, timeout=None):
        """Lines (bytes, still dot-stuffed) up to the terminating '.'."""
        lines = []
        while True:
            line = self.readline_bytes(timeout)
            if line is None:
                raise AssertionError("connection closed inside a multi-line "
                                     "response after %d lines" % len(lines))
            if line == b".":
                return lines
            lines.append(line)

    def read_multi(self, timeout=None):
        """Lines as str, dot-unstuffed."""
        return [(l[1:] if l.startswith(b".") else l).decode("latin-1")
                for l in self.read_multi_raw(timeout)]

    def read_body(self, timeout=None):
        """A multi-line body exactly as sent, unstuffed: bytes, CRLF ends.

        Checks that every line ended with CRLF on the wire."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        out = []
        while True:
            while b"\r\n" not in self.buf:
                if b"\n" in self.buf:
                    raise AssertionError("bare LF on the wire: %r"
                                         % self.buf[:200])
                left = end - time.monotonic()
                if left <= 0:
                    raise Timeout("body not finished within %.1fs" % timeout)
                data = self._fill(left)
                if not data:
                    raise AssertionError("connection closed inside a body")
                self.buf += data
            line, _, self.buf = self.buf.partition(b"\r\n")
            if b"\n" in line:
                raise AssertionError("bare LF on the wire: %r" % line[:200])
            if line == b".":
                return b"".join(out)
            if line.startswith(b"."):
                line = line[1:]
            out.append(line + b"\r\n")

    def read_until_eof(self, timeout=None):
        """Everything until the server closes; raises Timeout if it doesn't."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Timeout("server did not close within %.1fs; got %r"
                              % (timeout, data[-300:]))
            chunk = self._fill(left)
            if not chunk:
                return data
            data += chunk

    def closed_within(self, timeout):
        """True if the server closes within timeout (ignoring data)."""
        try:
            self.read_until_eof(timeout)
            return True
        except Timeout:
            return False

    def login(self, user="alice", password="secret"):
        """USER/PASS; returns the reply to PASS (or to USER if refused)."""
        r = self.cmd("USER " + user)
        if r is None or not r.startswith("+OK"):
            return r
        return self.cmd("PASS " + password)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def dump(self):
        """The conversation so far, for diagnostics."""
        out = []
        for who, data in self.transcript[-40:]:
            out.append("%s: %r" % (who, data[:300]))
        return "\n".join(out)


class Server:
    """One systemd-socket-activate --inetd -a listener running a daemon."""

    def __init__(self, env, name, tls, conf_path, args, host="127.0.0.1",
                 port=None):
        self.env = env
        self.host = host
        self.name = name
        self.implicit_tls = tls
        self.conf_path = conf_path
        self.binary = os.path.join(BUILD, name)
        if not os.access(self.binary, os.X_OK):
            raise SetupError("%s is not built (POSTERN_BUILD=%s)"
                             % (self.binary, BUILD))
        self.stderr_lines = []
        self.log_offset = env.log_size()
        self.proc = None
        for _ in range(5):
            self.port = port or free_port(self.host)
            if self._launch(args):
                return
        raise SetupError("systemd-socket-activate did not start:\n"
                         + "".join(self.stderr_lines[-20:]))

    def _launch(self, args):
        cmd = ["systemd-socket-activate", "--inetd", "-a",
               "-l", "%s:%d" % (self.host, self.port)]
        for k, v in sorted(self.env.server_env().items()):
            cmd += ["-E", "%s=%s" % (k, v)]
        cmd += valgrind_prefix(self.env) + [self.binary, "-c", self.conf_path]
        if self.implicit_tls:
            cmd.append("--tls")
        cmd += list(args)
        self.cmdline = cmd
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        ready = threading.Event()

        def reader(pipe, lines):
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace")
                lines.append(line)
                if "Listening on" in line:
                    ready.set()
            ready.set()
        self.thread = threading.Thread(target=reader,
                                       args=(self.proc.stderr, self.stderr_lines),
                                       daemon=True)
        self.thread.start()
        ready.wait(10)
        if self.proc.poll() is None and any("Listening on" in l
                                            for l in self.stderr_lines):
            self.env.servers.append(self)
            return True
        self._kill()
        return False

    def connect(self, tls=None, alpn=None, timeout=None, host=None,
                server_hostname="localhost"):
        """A new client connection (TLS handshake first for --tls servers)."""
        if tls is None:
            tls = self.implicit_tls
        return Client(self.port, timeout or self.env.timeout,
                      host=host or self.host,
                      tls=tls, cafile=self.env.cert, alpn=alpn,
                      server_hostname=server_hostname)

    def session(self, user="alice", password="secret"):
        """A connection logged in with USER/PASS (asserts every step)."""
        c = self.connect()
        g = c.readline()
        if g is None or not g.startswith("+OK"):
            raise AssertionError("bad greeting %r" % g)
        r = c.login(user, password)
        if r is None or not r.startswith("+OK"):
            raise AssertionError("login as %s failed: %r\n%s"
                                 % (user, r, self.log()[-2000:]))
        return c

    def log(self):
        """What T/postern.log gained since this server started."""
        return self.env.read_log(self.log_offset)

    def stderr(self):
        return "".join(self.stderr_lines)

    def monitors(self):
        """Per-connection processes (what systemd-socket-activate spawned)."""
        if self.proc is None:
            return []
        return proc_children(self.proc.pid)

    def wait_idle(self, timeout=None):
        """Wait until every connection's processes have exited."""
        return wait_for(lambda: not self.monitors(),
                        timeout or self.env.timeout)

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(3)
        # children of the listener that left its process group
        self.thread.join(2)

    def stop(self):
        # let connections end by themselves first (they log on the way out)
        self.wait_idle(2)
        for pid in self.monitors():
            for kid in proc_children(pid):
                _kill_pid(kid)
            _kill_pid(pid)
        self._kill()
        if self in self.env.servers:
            self.env.servers.remove(self)


def _kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def valgrind_prefix(env):
    """With POSTERN_VALGRIND=1 every server process (monitor, login and
    session alike: they fork without exec) runs under memcheck; reports
    go to T/valgrind.PID and Env.finish() fails the test on any error."""
    if os.environ.get("POSTERN_VALGRIND") != "1":
        return []
    return ["valgrind", "--quiet", "--error-exitcode=99",
            "--leak-check=no", "--track-fds=no",
            "--log-file=" + env.path("valgrind.%p")]


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


BASE_CONF = [
    ("mail_location", "maildir:~/Maildir"),
    ("ssl_cert", "{T}/cert.pem"),
    ("ssl_key", "{T}/key.pem"),
    ("default_login_user", "pstlogin"),
    ("login_chroot", "{T}/empty"),
    ("log_path", "{T}/postern.log"),
    ("auth_failure_delay", "1"),
    ("first_valid_uid", "500"),
]


class Env:
    def __init__(self, base=None):
        """base: build the environment in this (emptied) directory and
        keep it, as make demo does; default a fresh temp dir."""
        self.keep = base is not None or os.environ.get("POSTERN_KEEP") == "1"
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
            os.makedirs(base)
            self.T = os.path.realpath(base)
        else:
            self.T = os.path.realpath(tempfile.mkdtemp(prefix="postern-t-"))
        os.chmod(self.T, 0o755)
        self.servers = []
        self.nconf = 0
        self.nmsg = 0
        self.sanitized = sanitized_binary(os.path.join(BUILD, "pop3d"))
        # under valgrind (make check VALGRIND=1) the servers' processes are
        # named after the tool and carry its memory: absolute memory
        # ceilings and process names are checked on plain runs only
        self.valgrind = os.environ.get("POSTERN_VALGRIND") == "1"
        self.instrumented = self.sanitized or self.valgrind
        # sanitizer builds are several times slower
        self.timeout = 30.0 if self.sanitized or self.valgrind else 10.0
        atexit.register(self.cleanup)
        for lib in (NSS_WRAPPER, PAM_WRAPPER, PAM_MATRIX):
            if not os.path.exists(lib):
                raise SetupError("%s is missing (apt-get install "
                                 "libnss-wrapper libpam-wrapper)" % lib)
        self._users()
        self._pam()
        self._tls()
        os.mkdir(self.path("empty"), 0o555)
        os.chmod(self.path("empty"), 0o555)
        self.conf = self.write_conf({}, "postern.conf")

    # -- paths and files
    def path(self, *parts):
        return os.path.join(self.T, *parts)

    def write(self, rel, data, mode=0o644, owner=None):
        p = rel if rel.startswith("/") else self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)
        if owner is not None:
            uid, gid = USERS[owner][0], USERS[owner][1]
            os.chown(p, uid, gid)
        return p

    def home(self, user):
        h = USERS[user][3]
        return h if h.startswith("/") else self.path(h)

    def _users(self):
        pw = []
        for name, (uid, gid, _, home) in USERS.items():
            shell = "/usr/sbin/nologin" if name == "pstlogin" else "/bin/sh"
            h = home if home.startswith("/") else self.path(home)
            pw.append("%s:x:%d:%d:%s:%s:%s" % (name, uid, gid, name, h, shell))
        self.write("passwd", "\n".join(pw) + "\n")
        gr = ["%s:x:%d:%s" % (n, gid, ",".join(m)) for n, (gid, m) in GROUPS.items()]
        self.write("group", "\n".join(gr) + "\n")
        os.makedirs(self.path("home"), 0o755)
        for name in [n for n, u in USERS.items() if not u[3].startswith("/")]:
            uid, gid, _, _ = USERS[name]
            h = self.home(name)
            os.mkdir(h, 0o700)
            os.chown(h, uid, gid)
            self.maildir(name)

    def _pam(self):
        self.write("passdb", "".join("%s:%s:postern\n" % (n, u[2])
                                     for n, u in USERS.items() if u[2]), 0o600)
        svc = "".join("%-8s required %s passdb=%s\n"
                      % (kind, PAM_MATRIX, self.path("passdb"))
                      for kind in ("auth", "account", "password", "session"))
        self.write("pam.d/postern", svc)

    def _tls(self):
        self.cert = self.path("cert.pem")
        self.key = self.path("key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
             "-out", self.cert, "-days", "3", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise SetupError("openssl req failed: %s" % r.stdout.decode())
        os.chmod(self.key, 0o600)

    def conf_text(self, extra=None):
        kv = dict(BASE_CONF)
        for k, v in (extra or {}).items():
            if v is None:
                kv.pop(k, None)
            else:
                kv[k] = v
        return "".join("%s = %s\n" % (k, str(v).replace("{T}", self.T))
                       for k, v in kv.items())

    def write_conf(self, extra=None, name=None):
        if name is None:
            self.nconf += 1
            name = "postern-%d.conf" % self.nconf
        return self.write(name, self.conf_text(extra))

    # -- mail
    def maildir(self, user):
        uid, gid = USERS[user][0], USERS[user][1]
        md = os.path.join(self.home(user), "Maildir")
        for sub in ("", "cur", "new", "tmp"):
            p = os.path.join(md, sub)
            if not os.path.isdir(p):
                os.mkdir(p, 0o700)
                os.chown(p, uid, gid)
        return md

    def deliver(self, user, data, subdir="new", flags=None, name=None):
        """Deliver a message the way an MTA does (tmp/ then rename)."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        md = self.maildir(user)
        self.nmsg += 1
        if name is None:
            now = time.time()
            name = "%d.M%06dP%dQ%d.postern-test" % (
                int(now), int((now % 1) * 1e6), os.getpid(), self.nmsg)
        full = name + (":2," + flags if flags is not None else "")
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.chown(tmp, USERS[user][0], USERS[user][1])
        dst = os.path.join(md, subdir, full)
        os.rename(tmp, dst)
        return dst

    def maildir_files(self, user):
        md = self.maildir(user)
        return sorted(os.listdir(os.path.join(md, "new")) +
                      os.listdir(os.path.join(md, "cur")))

    def write_mbox(self, path, data, owner="alice"):
        """An mbox file owned by its user, mode 0600."""
        return self.write(path, data, 0o600, owner)

    def mbox(self, user, data):
        """Make T/spool/USER (mode 0600, the user's) the user's mbox INBOX
        with ~/mail as the mail root; returns (inbox path, mail_location)
        for conf={"mail_location": ...}.  T/spool is 1777 so the user can
        dot-lock there, like /var/mail with the mail group."""
        spool = self.path("spool")
        os.makedirs(spool, exist_ok=True)
        os.chmod(spool, 0o1777)
        root = os.path.join(self.home(user), "mail")
        os.makedirs(root, exist_ok=True)
        os.chown(root, USERS[user][0], USERS[user][1])
        inbox = self.write_mbox(os.path.join(spool, user), data, user)
        return inbox, "mbox:%s:INBOX=%s" % (root, inbox)

    # -- the environment of the server processes
    def server_env(self):
        e = {
            "LD_PRELOAD": NSS_WRAPPER + ":" + PAM_WRAPPER,
            "NSS_WRAPPER_PASSWD": self.path("passwd"),
            "NSS_WRAPPER_GROUP": self.path("group"),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": self.path("pam.d"),
            "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        }
        e.update(self.deepbind_env())
        return e

    def deepbind_env(self):
        """The wrappers dlopen with RTLD_DEEPBIND, which ASan refuses.
        pam_wrapper 1.1.4 reads UID_WRAPPER_DISABLE_DEEPBIND (sic); later
        versions PAM_WRAPPER_DISABLE_DEEPBIND: set all of them."""
        if not self.sanitized:
            return {}
        return {"NSS_WRAPPER_DISABLE_DEEPBIND": "1",
                "PAM_WRAPPER_DISABLE_DEEPBIND": "1",
                "UID_WRAPPER_DISABLE_DEEPBIND": "1"}

    def nss_env(self, **extra):
        """Environment for running a binary directly (nss_wrapper only)."""
        e = dict(os.environ)
        e.update(LD_PRELOAD=NSS_WRAPPER,
                 NSS_WRAPPER_PASSWD=self.path("passwd"),
                 NSS_WRAPPER_GROUP=self.path("group"),
                 ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0",
                 UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
        e.update(self.deepbind_env())
        e.update(extra)
        return e

    def binary(self, name="pop3d"):
        p = os.path.join(BUILD, name)
        if not os.access(p, os.X_OK):
            raise SetupError("%s is not built (POSTERN_BUILD=%s)" % (p, BUILD))
        return p

    def start(self, server="pop3d", tls=False, conf=None, args=(),
              host="127.0.0.1", extra_conf=None, port=None):
        """Start a listener (on port, else a free one); conf (alias
        extra_conf) adds or overrides keys of the base configuration (a
        value of None removes one)."""
        conf = dict(conf or {}, **(extra_conf or {}))
        path = self.conf if not conf else self.write_conf(conf)
        return Server(self, server, tls, path, args, host, port)

    # -- the log
    def log_size(self):
        try:
            return os.path.getsize(self.path("postern.log"))
        except OSError:
            return 0

    def read_log(self, offset=0):
        try:
            with open(self.path("postern.log"), "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, regex, offset=0, timeout=None):
        """Wait until the log (from offset) matches regex; returns the match."""
        return wait_for(lambda: re.search(regex, self.read_log(offset), re.M),
                        timeout or self.timeout)

    # -- the end
    def finish(self):
        """Stop the servers, check for sanitizer reports, print the plan."""
        errs = []
        for s in list(self.servers):
            s.stop()
            out = s.stderr()
            if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                         r"SUMMARY: \w+Sanitizer", out):
                errs.append(out[-6000:])
        tap.ok(not errs, "no sanitizer reports on the servers' stderr",
               "\n".join(errs))
        if os.environ.get("POSTERN_VALGRIND") == "1":
            reports = [open(os.path.join(self.T, f), errors="replace").read()
                       for f in sorted(os.listdir(self.T))
                       if f.startswith("valgrind.")]
            reports = [r for r in reports if r.strip()]
            tap.ok(not reports, "no valgrind reports from the servers",
                   "\n".join(r[-4000:] for r in reports))
        self.cleanup()
        tap.done()

    def cleanup(self):
        if getattr(self, "cleaned", False):
            return
        self.cleaned = True
        for s in list(self.servers):
            try:
                s.stop()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        if os.path.isdir(self.T):
            if self.keep:
                sys.stderr.write("# POSTERN_KEEP=1: kept %s\n" % self.T)
            else:
                shutil.rmtree(self.T, ignore_errors=True)


NONLOCAL = "192.0.2.1"   # TEST-NET-1 (RFC 5737): never routed anywhere


def enter_private_netns():
    """Re-run this test file in a network namespace of its own whose lo
    also carries NONLOCAL, a non-loopback address: the server then sees a
    remote client (rip=192.0.2.1) without any traffic leaving the box."""
    if os.environ.get("POSTERN_NETNS") == "1":
        return
    script = os.path.abspath(sys.argv[0])
    shell = ('ip link set lo up && ip addr add %s/32 dev lo || '
             '{ echo "not ok 1 - set up a private network namespace with '
             '%s on lo (needs iproute2 and CAP_SYS_ADMIN)"; echo 1..1; '
             'exit 1; }; exec "$@"' % (NONLOCAL, NONLOCAL))
    env = dict(os.environ, POSTERN_NETNS="1")
    sys.stdout.flush()
    try:
        os.execvpe("unshare", ["unshare", "--net", "--", "sh", "-c", shell,
                               "sh", sys.executable, script] + sys.argv[1:],
                   env)
    except OSError as e:
        tap.ok(False, "run in a private network namespace (unshare)", str(e))
        tap.done()


def setup():
    """Build the environment, or report why it cannot be and stop."""
    try:
        if os.geteuid() != 0:
            raise SetupError("the protocol tests must run as root "
                             "(they setuid to fake users)")
        env = Env()
        env.binary("pop3d")
        return env
    except SetupError as e:
        tap.ok(False, "test environment is set up", str(e))
        tap.done()
    except Exception as e:  # noqa: BLE001
        import traceback
        tap.ok(False, "test environment is set up", traceback.format_exc())
        tap.done()
        raise e


# -- small POP3 helpers used by several tests

def parse_stat(line):
    m = re.fullmatch(r"\+OK (\d+) (\d+)", line or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def crlf(data):
    """The wire form of stored bytes (crlf.h's rule)."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    out = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if out and not out.endswith(b"\n"):
        out += b"\r\n"
    return out


def select_readable(sock, timeout):
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)
