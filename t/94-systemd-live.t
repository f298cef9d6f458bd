#!/usr/bin/env python3
"""94-systemd-live.t - the shipped units under a real systemd.

90-units.t checks the units' text and their offline exposure score, but only
a running systemd shows whether the sandbox still lets pop3d do its work:
PAM reading /etc/shadow, chroot, setuid, the mail session writing into a
0700 home directory, logging to the journal.

The test boots this machine's own Debian in a systemd-nspawn container on a
throw-away overlay of / (tmpfs upper layer, private network namespace, so
ports and files of the host are not touched). It installs the units with
tools/install-extras.sh and the built pop3d, makes a user "posternt94" and a
certificate, and enables pop3s.socket and pop3d.socket. Then, inside the
container:
  - a POP3S session (poplib over TLS) logs in, lists and retrieves a message,
    over IPv4 and IPv6; STLS on port 110 works too;
  - while a client waits at the greeting, the login process is uid postern
    with no capabilities, chrooted to /run/postern/empty, with no_new_privs;
    after login, the session runs as posternt94 in her home and the monitor has
    only CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT;
  - 400 connections in well under a second leave pop3d.socket active (the
    trigger limit is off), and a 17th connection from one address is
    dropped (MaxConnectionsPerSource=16);
  - the journal has the "login:" line under SYSLOG_IDENTIFIER=pop3d.

Needs root, systemd-nspawn (Debian package systemd-container), overlayfs
and a built pop3d; otherwise it is skipped with the reason.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "t", "lib"))
import tap  # noqa: E402

BUILD = os.environ.get("POSTERN_BUILD", os.path.join(ROOT, "build"))
POP3D = os.path.join(BUILD, "pop3d")

# Runs inside the container with the system's python3; prints one JSON
# object with everything the test asserts on.
CLIENT = r'''
import json, os, poplib, socket, ssl, subprocess, time
R = {}
def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout
def procs(unit_glob):
    out = []
    for unit in sh("systemctl list-units --plain --no-legend '%s'" % unit_glob).split():
        if not unit.endswith(".service"):
            continue
        cg = sh("systemctl show -p ControlGroup --value %s" % unit).strip()
        try:
            pids = open("/sys/fs/cgroup/systemd%s/cgroup.procs" % cg).read().split()
        except OSError:
            try:
                pids = open("/sys/fs/cgroup%s/cgroup.procs" % cg).read().split()
            except OSError:
                pids = []
        for pid in pids:
            st = dict(l.split(":\t", 1) for l in open("/proc/%s/status" % pid).read().splitlines()
                      if ":\t" in l)
            out.append({"comm": st["Name"], "uid": st["Uid"].split()[0],
                        "capeff": st["CapEff"], "nnp": st.get("NoNewPrivs"),
                        "root": os.readlink("/proc/%s/root" % pid),
                        "cwd": os.readlink("/proc/%s/cwd" % pid)})
    return out
ctx = ssl.create_default_context(cafile="/etc/postern/tls/cert.pem")
ctx.check_hostname = False
for host in ("127.0.0.1", "::1"):
    try:
        p = poplib.POP3_SSL(host, 995, context=ctx, timeout=20)
        R["greet_" + host] = p.getwelcome().decode()
        p.user("posternt94"); R["pass_" + host] = p.pass_("secret").decode()
        R["stat_" + host] = list(p.stat())
        R["retr_" + host] = [l.decode() for l in p.retr(1)[1]]
        p.quit()
    except Exception as e:
        R["error_" + host] = repr(e)
try:
    p = poplib.POP3("127.0.0.1", 110, timeout=20)
    R["stls"] = p.stls(context=ctx).decode()
    p.user("posternt94"); R["stls_pass"] = p.pass_("secret").decode()
    p.quit()
except Exception as e:
    R["error_stls"] = repr(e)
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 995), timeout=20))
    s.recv(100); time.sleep(0.5)
    R["procs_greeting"] = procs("pop3s@*")
    s.sendall(b"USER posternt94\r\n"); s.recv(100)
    s.sendall(b"PASS secret\r\n"); s.recv(100); time.sleep(0.5)
    R["procs_session"] = procs("pop3s@*")
    unit = sh("systemctl list-units --plain --no-legend 'pop3s@*'").split()[0]
    pid = sh("systemctl show -p MainPID --value %s" % unit).strip()
    R["writable"] = {}
    for path in ("/home/posternt94/t94", "/var/mail/t94", "/root/t94", "/etc/t94",
                 "/usr/t94", "/var/lib/t94", "/var/log/postern/t94"):
        r = subprocess.run(["nsenter", "-t", pid, "-m", "touch", path], capture_output=True)
        R["writable"][path] = r.returncode == 0
    s.sendall(b"QUIT\r\n"); s.recv(100); s.close()
except Exception as e:
    R["error_procs"] = repr(e)
try:
    t = time.time()
    for i in range(400):
        c = socket.create_connection(("127.0.0.1", 110), timeout=5); c.close()
    R["burst_seconds"] = time.time() - t
except Exception as e:
    R["error_burst"] = repr(e)
time.sleep(2)
R["socket_after_burst"] = sh("systemctl is-active pop3d.socket").strip()
try:
    socks = [socket.create_connection(("127.0.0.1", 110), timeout=5) for i in range(17)]
    time.sleep(1)
    greeted = 0
    for c in socks:
        c.settimeout(3)
        try:
            greeted += c.recv(100).startswith(b"+OK")
        except OSError:
            pass
        c.close()
    R["greeted_of_17"] = greeted
except Exception as e:
    R["error_per_source"] = repr(e)
time.sleep(1)
R["failed_units"] = sh("systemctl list-units --failed --plain --no-legend 'pop3*'").strip()
R["journal"] = sh("journalctl --no-pager -o json SYSLOG_IDENTIFIER=pop3d")
print(json.dumps(R))
'''


def run(argv, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def skip_all(why):
    print("1..0 # SKIP " + why)
    sys.exit(0)


def prepare(merged):
    """Install into the overlay as "make install" would, plus test data."""
    r = run(["sh", os.path.join(ROOT, "tools", "install-extras.sh"), merged,
             "/usr/local/sbin", "/etc", "/lib/systemd/system", "/usr/local/lib/postern"])
    if r.returncode != 0:
        raise RuntimeError("install-extras.sh: " + r.stderr)
    shutil.copy(POP3D, merged + "/usr/local/sbin/pop3d")
    r = run([os.path.join(ROOT, "tools", "postern-mkcert"), "--cn", "localhost",
             "--cert", merged + "/etc/postern/tls/cert.pem",
             "--key", merged + "/etc/postern/tls/key.pem"])
    if r.returncode != 0:
        raise RuntimeError("postern-mkcert: " + r.stderr)
    for cmd in (["useradd", "-m", "-s", "/bin/sh", "posternt94"],
                ["chpasswd"]):
        r = run(["chroot", merged] + cmd, input="posternt94:secret\n")
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (cmd, r.stderr))
    home = merged + "/home/posternt94"
    for sub in ("new", "cur", "tmp"):
        os.makedirs(home + "/Maildir/" + sub)
    with open(home + "/Maildir/new/1.msg", "w") as f:
        f.write("From: a@example.org\nSubject: hi\n\nhello\n")
    run(["chroot", merged, "chown", "-R", "posternt94:posternt94", "/home/posternt94"])
    os.chmod(home, 0o700)
    wants = merged + "/etc/systemd/system/sockets.target.wants"
    os.makedirs(wants, exist_ok=True)
    for s in ("pop3s.socket", "pop3d.socket"):
        os.symlink("/lib/systemd/system/" + s, os.path.join(wants, s))
    # Nothing else may take the ports or try the network.
    for u in ("xinetd.service", "fail2ban.service", "dovecot.service"):
        p = merged + "/etc/systemd/system/" + u
        if not os.path.lexists(p):
            os.symlink("/dev/null", p)
    if os.path.exists(merged + "/etc/machine-id"):
        os.remove(merged + "/etc/machine-id")
    with open(merged + "/root/t94-client.py", "w") as f:
        f.write(CLIENT)


def leader_of(nspawn_pid):
    """The container's PID 1, as seen from here."""
    r = run(["pgrep", "-P", str(nspawn_pid)])
    pids = r.stdout.split()
    return pids[0] if pids else None


def boot_and_test(tmp):
    ovl = os.path.join(tmp, "ovl")
    os.makedirs(ovl)
    if run(["mount", "-t", "tmpfs", "-o", "size=2g", "tmpfs", ovl]).returncode != 0:
        return "cannot mount a tmpfs"
    merged = os.path.join(ovl, "merged")
    try:
        for d in ("upper", "work", "merged"):
            os.makedirs(os.path.join(ovl, d))
        r = run(["mount", "-t", "overlay", "overlay", "-o",
                 "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (ovl, ovl), merged])
        if r.returncode != 0:
            return "cannot mount an overlay of /: " + r.stderr.strip()
        try:
            prepare(merged)
            return run_container(tmp, merged)
        finally:
            run(["umount", merged]).returncode == 0 or run(["umount", "-l", merged])
    finally:
        run(["umount", ovl]).returncode == 0 or run(["umount", "-l", ovl])


def run_container(tmp, merged):
    log = open(os.path.join(tmp, "nspawn.log"), "w")
    proc = subprocess.Popen(
        ["systemd-nspawn", "-D", merged, "--private-network", "--register=no",
         "--keep-unit", "--machine=postern-t94-%d" % os.getpid(), "--console=passive", "-b"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        # Wait for the container's systemd to take its control socket.
        leader = None
        for _ in range(300):
            leader = leader_of(proc.pid)
            if proc.poll() is not None or (leader and os.path.exists(
                    "/proc/%s/root/run/systemd/private" % leader)):
                break
            time.sleep(0.2)
        if not leader or proc.poll() is not None:
            log.flush()
            tap.ok(False, "the container boots", read_log(tmp))
            return None
        enter = ["nsenter", "-t", leader, "-a"]
        r = run(enter + ["systemctl", "is-system-running", "--wait"], timeout=90)
        tap.ok(r.stdout.strip() in ("running", "degraded"), "the container boots (%s)"
               % r.stdout.strip(), r.stderr)
        r = run(enter + ["systemctl", "is-active", "pop3s.socket", "pop3d.socket"])
        tap.is_(r.stdout.split(), ["active", "active"], "pop3s.socket and pop3d.socket listen")
        r = run(enter + ["/usr/bin/python3", "/root/t94-client.py"], timeout=120)
        try:
            res = json.loads(r.stdout)
        except ValueError:
            tap.ok(False, "the client ran inside the container", r.stdout + r.stderr)
            return None
        check(res)
        run(enter + ["systemctl", "poweroff"], timeout=30)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        tap.diag("the container did not stop in time; killing it")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return None


def read_log(tmp):
    with open(os.path.join(tmp, "nspawn.log")) as f:
        return f.read()[-3000:]


def check(res):
    for host in ("127.0.0.1", "::1"):
        tap.is_(res.get("pass_" + host), "+OK Logged in.",
                "POP3S login over %s through pop3s@.service" % host)
        if "error_" + host in res:
            tap.diag(res["error_" + host])
        tap.is_(res.get("stat_" + host, [None])[0], 1, "STAT sees the message (%s)" % host)
        tap.is_(res.get("retr_" + host, [""])[-1:], ["hello"], "RETR returns it (%s)" % host)
    tap.is_(res.get("stls_pass"), "+OK Logged in.", "STLS, then login, on port 110",
            res.get("error_stls"))

    pg = {p["comm"]: p for p in res.get("procs_greeting", [])}
    login = pg.get("login", {})
    tap.is_((login.get("uid") != "0", login.get("capeff"), login.get("root"), login.get("nnp")),
            (True, "0000000000000000", "/run/postern/empty", "1"),
            "at the greeting, login is unprivileged, capability-free and chrooted")
    ps = {p["comm"]: p for p in res.get("procs_session", [])}
    sess, mon = ps.get("session", {}), ps.get("pop3d", {})
    posternt94_uid = None
    for p in res.get("procs_session", []):
        if p["comm"] == "session":
            posternt94_uid = p["uid"]
    tap.ok(posternt94_uid not in (None, "0") and sess.get("capeff") == "0000000000000000" and
           sess.get("cwd") == "/home/posternt94",
           "after login, the session runs as posternt94 in /home/posternt94 with no capabilities",
           sess)
    # CAP_SETGID (6), CAP_SETUID (7), CAP_SYS_CHROOT (18)
    tap.is_((mon.get("uid"), mon.get("capeff")), ("0", "00000000000400c0"),
            "the monitor holds only CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT")

    tap.is_(res.get("writable"), {
        "/home/posternt94/t94": True, "/var/mail/t94": True, "/var/log/postern/t94": True,
        "/root/t94": False, "/etc/t94": False, "/usr/t94": False, "/var/lib/t94": False},
        "the service can write to homes, /var/mail and /var/log/postern only")
    tap.cmp_ok(res.get("burst_seconds", 99), "<", 2, "400 connections within 2 s")
    if "error_burst" in res:
        tap.diag(res["error_burst"])
    tap.is_(res.get("socket_after_burst"), "active",
            "pop3d.socket survives the burst (TriggerLimitIntervalSec=0)")
    tap.is_(res.get("greeted_of_17"), 16, "MaxConnectionsPerSource=16 drops the 17th")
    tap.is_(res.get("failed_units"), "", "no pop3 unit is left failed")

    msgs = []
    for line in res.get("journal", "").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        msgs.append((e.get("MESSAGE"), e.get("_SYSTEMD_UNIT", "")))
    tap.ok(any(m and m.startswith("login: user=<posternt94> rip=127.0.0.1 ") and
               u.startswith("pop3s@") for m, u in msgs),
           "the journal has pop3d's login line from a pop3s@ instance",
           "\n".join("%s  [%s]" % mu for mu in msgs[-10:]))


def main():
    if os.geteuid() != 0:
        skip_all("needs root (it boots a container)")
    for tool in ("systemd-nspawn", "nsenter", "chroot", "useradd"):
        if not shutil.which(tool):
            skip_all("%s is not installed%s" % (
                tool, " (apt-get install systemd-container)" if tool == "systemd-nspawn" else ""))
    if not os.access(POP3D, os.X_OK):
        skip_all("%s is not built" % POP3D)
    tmp = tempfile.mkdtemp(prefix="postern-t94.")
    why = None
    try:
        with tap.section("boot and test"):
            why = boot_and_test(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if why and tap._count == 0:
        skip_all(why)
    tap.done()


main()
