#!/usr/bin/env python3
"""90-units.t - the shipped systemd units, sysusers/tmpfiles entries and
xinetd samples.

- systemd-analyze verify accepts every unit. ExecStart= is pointed at the
  built binary, because verify wants an existing executable.
- systemd-analyze security --offline=yes scores every service template at
  or below EXPOSURE_MAX (SECURITY.md G4), so a change that weakens the
  sandbox fails here.
- The settings the design depends on are present: Accept=yes, the ports,
  --tls on the implicit-TLS services, StandardError=journal, the
  capability set, the trigger limit switched off, the connection limits.
- sysusers.d and tmpfiles.d entries applied to a scratch root create the
  postern user and a root-owned 0555 /run/postern/empty.
- The xinetd samples start the right binary with the right arguments.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "t", "lib"))
import tap  # noqa: E402

UNITS = os.path.join(ROOT, "units")
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(ROOT, "build"))

# "systemd-analyze security --offline=yes" on systemd 252 (Debian 12)
# gives 1.4 for each service template. The threshold is in tenths.
EXPOSURE_MAX = 14

# name: (port, binary, implicit TLS, MaxConnectionsPerSource)
SERVICES = {
    "pop3d": ("110", "pop3d", False, "16"),
    "pop3s": ("995", "pop3d", True, "16"),
    "imapd": ("143", "imapd", False, "32"),
    "imaps": ("993", "imapd", True, "32"),
}
CAPS = {"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT"}


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def settings(path):
    """The unit file as {key: [values]} (sections merged, comments dropped)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def one(s, key):
    v = s.get(key, [])
    return v[-1] if v else None


def binary_for(name):
    """An existing executable for ExecStart=, and a note if it is a stand-in."""
    want = os.path.join(BUILD, name)
    if os.access(want, os.X_OK):
        return want, ""
    for alt in (os.path.join(BUILD, "pop3d"), "/bin/true"):
        if os.access(alt, os.X_OK):
            return alt, " (%s not built: ExecStart checked with %s)" % (name, alt)
    return "/bin/true", ""


def check_static():
    for name, (port, binary, tls, per_source) in SERVICES.items():
        sock = settings(os.path.join(UNITS, name + ".socket"))
        svc = settings(os.path.join(UNITS, name + "@.service"))
        tap.is_(one(sock, "ListenStream"), port, "%s.socket listens on %s" % (name, port))
        tap.is_(one(sock, "Accept"), "yes", "%s.socket: Accept=yes" % name)
        tap.is_(one(sock, "BindIPv6Only"), "both", "%s.socket: IPv6 and IPv4" % name)
        tap.is_(one(sock, "TriggerLimitIntervalSec"), "0",
                "%s.socket: a connection burst cannot fail the socket" % name)
        tap.is_(one(sock, "MaxConnections"), "256", "%s.socket: MaxConnections" % name)
        tap.is_(one(sock, "MaxConnectionsPerSource"), per_source,
                "%s.socket: MaxConnectionsPerSource" % name)
        tap.is_(one(sock, "WantedBy"), "sockets.target", "%s.socket: [Install]" % name)

        want = "/usr/local/sbin/%s%s" % (binary, " --tls" if tls else "")
        tap.is_(one(svc, "ExecStart"), want, "%s@.service: ExecStart" % name)
        tap.is_(one(svc, "StandardInput"), "socket", "%s@.service: connection on fd 0/1" % name)
        tap.is_(one(svc, "StandardError"), "journal",
                "%s@.service: stderr goes to the journal, not the client" % name)
        tap.is_(one(svc, "SyslogIdentifier"), binary, "%s@.service: SyslogIdentifier" % name)
        caps = set((one(svc, "CapabilityBoundingSet") or "").split())
        tap.is_(caps, CAPS, "%s@.service: capability bounding set" % name)
        tap.ok("User" not in svc and "DynamicUser" not in svc,
               "%s@.service: starts as root (it drops privileges itself)" % name)
        tap.ok("RuntimeDirectory" not in svc,
               "%s@.service: no RuntimeDirectory= (an ending instance would "
               "remove /run/postern)" % name)
        for doc in (one(svc, "Documentation") or "").split():
            m = re.match(r"man:([\w.-]+)\((\d)\)$", doc)
            if not m:
                continue
            page = os.path.join(ROOT, "man", "%s.%s" % m.groups())
            tap.ok(os.path.exists(page), "%s@.service: %s exists in man/" % (name, doc))


def check_verify(tmp):
    if not shutil.which("systemd-analyze"):
        tap.skip("systemd-analyze verify", "systemd-analyze is not installed")
        return
    vdir = os.path.join(tmp, "verify")
    os.mkdir(vdir)
    notes = {}
    for name, (_, binary, _, _) in SERVICES.items():
        path, notes[name] = binary_for(binary)
        with open(os.path.join(UNITS, name + "@.service")) as f:
            text = f.read()
        text = text.replace("/usr/local/sbin/" + binary, path)
        with open(os.path.join(vdir, name + "@.service"), "w") as f:
            f.write(text)
        shutil.copy(os.path.join(UNITS, name + ".socket"), vdir)
    for name in SERVICES:
        for unit in (name + ".socket", name + "@.service"):
            r = run(["systemd-analyze", "verify", "--man=no", unit], cwd=vdir)
            tap.ok(r.returncode == 0 and r.stderr.strip() == "",
                   "systemd-analyze verify %s%s" % (unit, notes[name]),
                   "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))


def check_security():
    if not shutil.which("systemd-analyze"):
        tap.skip("systemd-analyze security", "systemd-analyze is not installed")
        return
    for name in SERVICES:
        unit = os.path.join(UNITS, name + "@.service")
        r = run(["systemd-analyze", "security", "--offline=yes",
                 "--threshold=%d" % EXPOSURE_MAX, unit])
        m = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
        score = m.group(1) if m else "?"
        tap.ok(r.returncode == 0 and m is not None,
               "%s@.service exposure %s <= %.1f" % (name, score, EXPOSURE_MAX / 10),
               "exit %d\n%s%s" % (r.returncode,
                                  "\n".join(l for l in r.stdout.splitlines()
                                            if "\u2717" in l or "Overall" in l),
                                  r.stderr))
        tap.ok("Unknown key" not in r.stderr and "Unknown" not in r.stdout,
               "%s@.service: systemd knows every key" % name, r.stderr)


def check_sysusers_tmpfiles(tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    if not shutil.which("systemd-sysusers"):
        tap.skip("sysusers.d entry", "systemd-sysusers is not installed")
    else:
        with open(os.path.join(UNITS, "postern.sysusers")) as f:
            r = run(["systemd-sysusers", "--root=" + root, "-"], input=f.read())
        passwd = ""
        if os.path.exists(os.path.join(root, "etc", "passwd")):
            with open(os.path.join(root, "etc", "passwd")) as f:
                passwd = f.read()
        tap.ok(r.returncode == 0, "systemd-sysusers accepts postern.sysusers", r.stderr)
        tap.like(passwd, r"(?m)^postern:x:\d+:\d+:[^:]*:/nonexistent:/usr/sbin/nologin$",
                 "sysusers creates postern with no home and no shell")
    if not shutil.which("systemd-tmpfiles"):
        tap.skip("tmpfiles.d entry", "systemd-tmpfiles is not installed")
        return
    with open(os.path.join(UNITS, "postern.tmpfiles")) as f:
        r = run(["systemd-tmpfiles", "--root=" + root, "--create", "-"], input=f.read())
    tap.ok(r.returncode == 0, "systemd-tmpfiles accepts postern.tmpfiles", r.stderr)
    empty = os.path.join(root, "run", "postern", "empty")
    st = os.stat(empty) if os.path.isdir(empty) else None
    tap.ok(st is not None and st.st_mode & 0o7777 == 0o555 and
           (os.geteuid() != 0 or st.st_uid == 0),
           "tmpfiles creates /run/postern/empty, mode 0555, owned by root",
           st and "mode %o uid %d" % (st.st_mode & 0o7777, st.st_uid))
    tap.is_(os.listdir(empty) if st else None, [], "/run/postern/empty is empty")


def check_xinetd():
    for name, (port, binary, tls, per_source) in SERVICES.items():
        xname = {"pop3d": "pop3", "imapd": "imap"}.get(name, name)
        path = os.path.join(UNITS, "xinetd", xname)
        with open(path) as f:
            text = f.read()
        kv = dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(.*?)\s*$", text))
        tap.like(text, r"(?m)^service %s$" % xname, "xinetd/%s: service %s" % (xname, xname))
        tap.is_((kv.get("port"), kv.get("wait"), kv.get("user"), kv.get("socket_type")),
                (port, "no", "root", "stream"), "xinetd/%s: port, wait, user" % xname)
        tap.is_(kv.get("server"), "/usr/local/sbin/" + binary, "xinetd/%s: server" % xname)
        args = "-c /etc/postern/postern.conf" + (" --tls" if tls else "")
        tap.is_(kv.get("server_args"), args, "xinetd/%s: server_args" % xname)
        tap.is_(kv.get("per_source"), per_source, "xinetd/%s: per_source" % xname)
        tap.is_(kv.get("disable"), "yes", "xinetd/%s: disabled until the admin enables it" % xname)


def check_pam():
    with open(os.path.join(UNITS, "postern.pam")) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    tap.is_(lines, ["@include common-auth", "@include common-account",
                    "@include common-session-noninteractive"],
            "postern.pam uses Debian's common stacks")


def main():
    tmp = tempfile.mkdtemp(prefix="postern-t90.")
    try:
        for fn, args in ((check_static, ()), (check_verify, (tmp,)),
                         (check_security, ()), (check_sysusers_tmpfiles, (tmp,)),
                         (check_xinetd, ()), (check_pam, ())):
            with tap.section(fn.__name__):
                fn(*args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


main()
