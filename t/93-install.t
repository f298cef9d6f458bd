#!/usr/bin/env python3
"""93-install.t - tools/install-extras.sh and tools/postern-mkcert.

install-extras.sh runs into a scratch DESTDIR (nothing outside it is
touched). The test checks the file set, the ExecStart= rewriting for
another SBINDIR/SYSCONFDIR, that an administrator's postern.conf and PAM
file survive a reinstall, and the installed-files/config-files lists that
INSTALL's uninstall recipe relies on.

postern-mkcert: key 0600 and cert 0644, EC P-256 or RSA 3072, a
subjectAltName for the name and localhost, a certificate that verifies
for that name and matches its key, no overwriting, exit codes 1 and 2.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "t", "lib"))
import tap  # noqa: E402

EXTRAS = os.path.join(ROOT, "tools", "install-extras.sh")
MKCERT = os.path.join(ROOT, "tools", "postern-mkcert")
UNITS = ("pop3d", "pop3s", "imapd", "imaps")


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def read(path):
    with open(path) as f:
        return f.read()


def files_under(top):
    out = set()
    for d, _, names in os.walk(top):
        for n in names:
            out.add("/" + os.path.relpath(os.path.join(d, n), top))
    return out


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def extras(dest, sbindir="/usr/local/sbin", sysconfdir="/etc",
           unitdir="/lib/systemd/system", env=None):
    e = dict(os.environ)
    e.pop("PREFIX", None)
    e.update({"SYSUSERSDIR": "/usr/lib/sysusers.d",
              "TMPFILESDIR": "/usr/lib/tmpfiles.d"})
    e.update(env or {})
    return run(["sh", EXTRAS, dest, sbindir, sysconfdir, unitdir, "/usr/local/lib/postern"],
               env=e)


def check_default_install(tmp):
    dest = os.path.join(tmp, "stage")
    os.makedirs(os.path.join(dest, "etc", "fail2ban", "filter.d"))
    r = extras(dest)
    tap.ok(r.returncode == 0, "install-extras.sh into DESTDIR", r.stdout + r.stderr)
    doc = "/usr/local/share/doc/postern"
    want = {"/lib/systemd/system/%s%s" % (u, s) for u in UNITS
            for s in (".socket", "@.service")}
    want |= {"/usr/lib/sysusers.d/postern.conf", "/usr/lib/tmpfiles.d/postern.conf",
             "/etc/pam.d/postern", "/etc/postern/postern.conf",
             "/etc/fail2ban/filter.d/postern.conf", "/usr/local/sbin/postern-mkcert"}
    want |= {doc + "/" + f for f in (
        "INSTALL", "postern.conf.example", "pam.d/postern", "installed-files",
        "config-files", "fail2ban/filter.d/postern.conf", "fail2ban/jail.d/postern.conf",
        "xinetd/pop3", "xinetd/pop3s", "xinetd/imap", "xinetd/imaps")}
    got = files_under(dest)
    tap.is_(sorted(got - want), [], "no unexpected files installed")
    tap.is_(sorted(want - got), [], "every expected file installed")

    for u in UNITS:
        for s in (".socket", "@.service"):
            tap.is_(read(dest + "/lib/systemd/system/" + u + s),
                    read(os.path.join(ROOT, "units", u + s)),
                    "%s%s installed unchanged for /usr/local/sbin" % (u, s))
    tap.is_(read(dest + "/etc/postern/postern.conf"),
            read(os.path.join(ROOT, "postern.conf.example")),
            "postern.conf starts as the example")
    tap.is_(mode(dest + "/usr/local/sbin/postern-mkcert"), 0o755, "postern-mkcert is 0755")
    tap.is_(mode(dest + "/etc/postern/postern.conf"), 0o644, "postern.conf is 0644")

    listed = set(read(dest + doc + "/installed-files").split())
    conf = set(read(dest + doc + "/config-files").split())
    tap.is_(conf, {"/etc/pam.d/postern", "/etc/postern/postern.conf"},
            "config-files lists the administrator's files")
    tap.is_(sorted(listed), sorted(got - conf),
            "installed-files lists everything else, for uninstalling")

    # A reinstall keeps what the administrator changed.
    with open(dest + "/etc/postern/postern.conf", "a") as f:
        f.write("ssl = required\n")
    with open(dest + "/etc/pam.d/postern", "w") as f:
        f.write("auth required pam_deny.so\n")
    r = extras(dest)
    tap.ok(r.returncode == 0, "install-extras.sh runs again", r.stderr)
    tap.like(read(dest + "/etc/postern/postern.conf"), r"(?m)^ssl = required$",
             "a reinstall keeps the administrator's postern.conf")
    tap.is_(read(dest + "/etc/pam.d/postern"), "auth required pam_deny.so\n",
            "a reinstall keeps the administrator's PAM file")
    tap.like(r.stderr, r"postern\.conf exists; left alone", "and says so")


def check_other_paths(tmp):
    dest = os.path.join(tmp, "stage2")
    r = extras(dest, sbindir="/usr/sbin", sysconfdir="/usr/local/etc",
               unitdir="/usr/lib/systemd/system", env={"PREFIX": "/usr"})
    tap.ok(r.returncode == 0, "install-extras.sh with SBINDIR=/usr/sbin "
           "SYSCONFDIR=/usr/local/etc", r.stdout + r.stderr)
    for u in UNITS:
        svc = read(dest + "/usr/lib/systemd/system/%s@.service" % u)
        binary = "imapd" if u.startswith("imap") else "pop3d"
        tls = " --tls" if u.endswith("s") else ""
        tap.like(svc, r"(?m)^ExecStart=/usr/sbin/%s -c /usr/local/etc/postern/"
                 r"postern\.conf%s$" % (binary, tls), "%s@.service: ExecStart rewritten" % u)
    tap.ok(os.path.exists(dest + "/etc/pam.d/postern"),
           "the PAM file still goes to /etc/pam.d (PAM looks nowhere else)")
    conf = read(dest + "/usr/local/etc/postern/postern.conf")
    tap.like(conf, r"(?m)^ssl_cert = </usr/local/etc/postern/tls/cert\.pem$",
             "postern.conf names the certificate under SYSCONFDIR")
    tap.like(conf, r"(?m)^ssl_key = </usr/local/etc/postern/tls/key\.pem$",
             "postern.conf names the key under SYSCONFDIR")
    tap.like(read(dest + "/usr/sbin/postern-mkcert"),
             r"(?m)^cert=/usr/local/etc/postern/tls/cert\.pem$",
             "postern-mkcert writes under SYSCONFDIR by default")
    tap.like(read(dest + "/usr/share/doc/postern/xinetd/pop3s"),
             r"server_args\s*= -c /usr/local/etc/postern/postern\.conf --tls",
             "xinetd samples name the configuration under SYSCONFDIR")
    tap.ok(not os.path.exists(dest + "/etc/fail2ban"),
           "no fail2ban files without fail2ban")


def openssl(*args):
    return run(["openssl"] + list(args))


def check_mkcert(tmp):
    d = os.path.join(tmp, "tls")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    r = run([MKCERT, "--cert", cert, "--key", key, "--cn", "mail.example.org"])
    tap.ok(r.returncode == 0, "postern-mkcert makes a certificate", r.stderr)
    if not os.path.exists(cert):
        return
    tap.is_(mode(key), 0o600, "key is 0600")
    tap.is_(mode(cert), 0o644, "certificate is 0644")
    tap.like(r.stdout, r"SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}",
             "prints the fingerprint")
    text = openssl("x509", "-in", cert, "-noout", "-text").stdout
    tap.like(text, r"DNS:mail\.example\.org, DNS:localhost", "subjectAltName: name and localhost")
    tap.like(text, r"CA:FALSE", "not a CA certificate")
    tap.like(text, r"TLS Web Server Authentication", "extendedKeyUsage serverAuth")
    tap.like(openssl("pkey", "-in", key, "-noout", "-text").stdout,
             r"ASN1 OID: prime256v1", "EC P-256 key by default")
    pub1 = openssl("x509", "-in", cert, "-noout", "-pubkey").stdout
    pub2 = openssl("pkey", "-in", key, "-pubout").stdout
    tap.ok(pub1 and pub1 == pub2, "the certificate belongs to the key")
    for host in ("mail.example.org", "localhost"):
        v = openssl("verify", "-CAfile", cert, "-purpose", "sslserver",
                    "-verify_hostname", host, cert)
        tap.ok(v.returncode == 0, "verifies as a TLS server certificate for " + host,
               v.stdout + v.stderr)

    before = read(key)
    r = run([MKCERT, "--cert", cert, "--key", os.path.join(d, "other.pem")])
    tap.is_(r.returncode, 1, "refuses to overwrite an existing certificate (exit 1)")
    tap.like(r.stderr, r"exists; not overwriting", "and says why")
    tap.ok(not os.path.exists(os.path.join(d, "other.pem")), "and writes nothing")
    r = run([MKCERT, "--cert", os.path.join(d, "c2.pem"), "--key", key])
    tap.is_(r.returncode, 1, "refuses to overwrite an existing key (exit 1)")
    tap.is_(read(key), before, "the key is unchanged")

    rsa = os.path.join(tmp, "rsa")
    r = run([MKCERT, "--cert", rsa + "/c.pem", "--key", rsa + "/k.pem", "--rsa",
             "--days", "30", "--cn", "192.0.2.1"])
    tap.ok(r.returncode == 0, "--rsa --days 30 --cn 192.0.2.1", r.stderr)
    tap.like(openssl("pkey", "-in", rsa + "/k.pem", "-noout", "-text").stdout,
             r"Private-Key: \(3072 bit", "--rsa makes an RSA 3072 key")
    text = openssl("x509", "-in", rsa + "/c.pem", "-noout", "-text").stdout
    tap.like(text, r"IP Address:192\.0\.2\.1, DNS:localhost", "an address gets an IP SAN")
    end = openssl("x509", "-in", rsa + "/c.pem", "-noout", "-checkend", str(31 * 86400))
    tap.is_(end.returncode, 1, "--days 30: expires within 31 days")

    for args, code, why in ((["--days", "x"], 1, "a bad --days"),
                            (["--days", "0"], 1, "--days 0"),
                            (["--cn", "a/b"], 1, "a --cn that is not a host name"),
                            (["--cert"], 2, "an option without its value"),
                            (["--bogus"], 2, "an unknown option")):
        r = run([MKCERT] + args + ["--key", os.path.join(tmp, "none", "k.pem"),
                                   "--cert", os.path.join(tmp, "none", "c.pem")]
                if args != ["--cert"] else [MKCERT] + args)
        tap.is_(r.returncode, code, "%s exits %d" % (why, code))
    tap.ok(not os.path.exists(os.path.join(tmp, "none")), "failed runs create nothing")


def main():
    tmp = tempfile.mkdtemp(prefix="postern-t93.")
    try:
        with tap.section("install-extras.sh default paths"):
            check_default_install(tmp)
        with tap.section("install-extras.sh other paths"):
            check_other_paths(tmp)
        if shutil.which("openssl"):
            with tap.section("postern-mkcert"):
                check_mkcert(tmp)
        else:
            tap.skip("postern-mkcert", "openssl is not installed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


main()
