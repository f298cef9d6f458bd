#!/usr/bin/env python3
"""91-man.t - the manual pages and the example configuration.

- Every page in man/ renders with man(1) without a single warning
  (man --warnings -E UTF-8 -l), and has a NAME line that whatis can index.
- imapd.8 and pop3d.8 exist.
- Every key in common/config.c's key table is documented in
  man/postern.conf.5 and in postern.conf.example.
- postern.conf.example shows each key's real default: its commented
  "#key = value" lines equal the table's defaults. With the binary built,
  "pop3d -n" prints nothing for the example as shipped and for the example
  with every key line uncommented, and "pop3d -a" agrees with the example.
- pop3d.8 and imapd.8 document every command-line option in
  common/daemon.c, and imapd.8 every IMAP key of the key table (imap_*,
  mailbox_*, namespace_separator) and every capability in
  imapd/capability.c.
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

MAN = os.path.join(ROOT, "man")
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(ROOT, "build"))
EXAMPLE = os.path.join(ROOT, "postern.conf.example")


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def read(path):
    with open(path) as f:
        return f.read()


def config_keys():
    """{key: default} from the key table in common/config.c.

    Entries are S(key, "def"), B(key, "def"), U(key, "def", max) or a
    literal { "key", K_TYPE, offsetof(...), "def", ... }. A default may be
    a macro from common/tls.h (string concatenation).
    """
    src = read(os.path.join(ROOT, "common", "config.c"))
    m = re.search(r"static const struct key keys\[\] = \{(.*?)\n\};", src, re.S)
    if not m:
        return None
    table = m.group(1)
    macros = {}
    tls_h = os.path.join(ROOT, "common", "tls.h")
    if os.path.exists(tls_h):
        for name, body in re.findall(r"#define (\w+) \\\n((?:.*\\\n)*.*)", read(tls_h)):
            macros[name] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))

    def value(expr):
        expr = expr.strip()
        if expr in macros:
            return macros[expr]
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', expr))

    keys = {}
    for k, d in re.findall(r"\b[SBU]\((\w+),\s*((?:\"[^\"]*\"|\w+))", table):
        keys[k] = value(d)
    for k, d in re.findall(r'\{\s*"(\w+)",\s*K_\w+,\s*offsetof\([^)]*\),\s*'
                           r'((?:"[^"]*"|\w+))', table):
        keys[k] = value(d)
    return keys


def example_defaults():
    """{key: value} from the example's '#key = value' lines."""
    out = {}
    for line in read(EXAMPLE).splitlines():
        m = re.match(r"#([a-z0-9_]+) =(?: (.*))?$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2) or "")
    return out


def check_render():
    pages = sorted(p for p in os.listdir(MAN) if re.search(r"\.\d$", p))
    tap.ok(pages, "man/ has pages", os.listdir(MAN))
    if not shutil.which("man"):
        tap.skip("man pages render without warnings", "man(1) is not installed")
        return
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    for page in pages:
        r = run(["man", "--warnings", "-E", "UTF-8", "-l", page], cwd=MAN, env=env)
        tap.ok(r.returncode == 0 and r.stderr == "",
               "%s renders without warnings" % page, r.stderr)
        tap.like(r.stdout, r"(?m)^NAME\n\s+\S+", "%s has a NAME section" % page)
        if shutil.which("lexgrog"):
            r = run(["lexgrog", page], cwd=MAN)
            tap.ok(r.returncode == 0, "%s: whatis can parse NAME" % page, r.stdout + r.stderr)


def check_pages_exist():
    tap.ok(os.path.exists(os.path.join(MAN, "pop3d.8")), "man/pop3d.8 exists")
    tap.ok(os.path.exists(os.path.join(MAN, "imapd.8")), "man/imapd.8 exists")


def check_keys():
    keys = config_keys()
    if not tap.ok(keys, "found the key table in common/config.c"):
        return
    tap.cmp_ok(len(keys), ">=", 25, "the key table parsed (%d keys)" % len(keys))
    conf5 = os.path.join(MAN, "postern.conf.5")
    if os.path.exists(conf5):
        text = read(conf5).replace("\\_", "_").replace("\\&", "")
        missing = [k for k in keys if not re.search(r"(?<![\w])%s(?![\w])" % k, text)]
        tap.is_(missing, [], "postern.conf.5 documents every key")
    else:
        tap.skip("postern.conf.5 documents every key", "man/postern.conf.5 not written yet")

    ex = example_defaults()
    tap.is_(sorted(k for k in keys if k not in ex), [],
            "postern.conf.example shows every key")
    tap.is_(sorted(k for k in ex if k not in keys), [],
            "postern.conf.example shows no unknown key")
    tap.is_(sorted(k for k, v in ex.items() if len(v) > 1), [],
            "postern.conf.example shows each key once")
    wrong = {k: (ex[k][0], d) for k, d in keys.items() if k in ex and ex[k][0] != d}
    tap.is_(wrong, {}, "postern.conf.example shows the built-in defaults "
            "(key: (example, config.c))")


def check_with_binary(tmp):
    pop3d = os.path.join(BUILD, "pop3d")
    if not os.access(pop3d, os.X_OK):
        tap.skip("pop3d -n / -a agree with postern.conf.example",
                 "%s is not built" % pop3d)
        return
    r = run([pop3d, "-c", EXAMPLE, "-n"])
    tap.ok(r.returncode == 0 and r.stdout == "",
           "pop3d -n: postern.conf.example as shipped changes nothing",
           "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))

    active = os.path.join(tmp, "active.conf")
    with open(active, "w") as f:
        f.write(re.sub(r"(?m)^#([a-z0-9_]+ =)", r"\1", read(EXAMPLE)))
    r = run([pop3d, "-c", active, "-n"])
    tap.ok(r.returncode == 0 and r.stdout == "",
           "pop3d -n: postern.conf.example with every key uncommented is "
           "valid and equals the defaults",
           "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))

    empty = os.path.join(tmp, "empty.conf")
    open(empty, "w").close()
    r = run([pop3d, "-c", empty, "-a"])
    got = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" =")
        got[k] = v[1:] if v.startswith(" ") else v
    ex = {k: v[0] for k, v in example_defaults().items()}
    tap.is_(got, ex, "pop3d -a prints exactly the example's keys and defaults")

    imapd = os.path.join(BUILD, "imapd")
    if not tap.ok(os.access(imapd, os.X_OK), "imapd is built", imapd):
        return
    r = run([imapd, "-c", active, "-n"])
    tap.ok(r.returncode == 0 and r.stdout == "",
           "imapd -n reads the same configuration as pop3d",
           "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))


def check_options():
    src = read(os.path.join(ROOT, "common", "daemon.c"))
    m = re.search(r'getopt_long\([^"]*"([^"]*)"', src)
    shorts = [c for c in (m.group(1) if m else "") if c != ":"]
    longs = re.findall(r'\{\s*"([\w-]+)",\s*\w+_argument', src)
    tap.ok(shorts, "found the short options in daemon.c")
    for name in ("pop3d.8", "imapd.8"):
        page = read(os.path.join(MAN, name)).replace("\\-", "-")
        undocumented = [o for o in ["-" + c for c in shorts] + ["--" + l for l in longs]
                        if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), page)]
        # --config and --version are aliases that daemon.c accepts quietly.
        undocumented = [o for o in undocumented if o not in ("--config", "--version")]
        tap.is_(undocumented, [], "%s documents every option of daemon.c" % name)


def check_capabilities():
    """Every capability capability.c can announce is named in imapd.8."""
    src = read(os.path.join(ROOT, "imapd", "capability.c"))
    words = set()
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', src):
        for w in lit.split():
            if re.fullmatch(r"[A-Z][A-Z0-9+.-]*(rev\d)?(=[A-Z%][A-Za-z0-9%]*)?", w):
                words.add(w.split("=")[0] + ("=" if "=" in w else ""))
    tap.cmp_ok(len(words), ">=", 20, "found the capabilities in capability.c (%d)"
               % len(words))
    page = re.sub(r"\\f[BIRP]", "", read(os.path.join(MAN, "imapd.8")))
    page = page.replace("\\-", "-").replace("\\&", "")
    missing = sorted(w for w in words
                     if not re.search(r"(?<![\w-])%s" % re.escape(w), page))
    tap.is_(missing, [], "imapd.8 names every capability imapd announces")


def check_imap_keys():
    keys = config_keys() or {}
    imap = [k for k in keys if k.startswith(("imap_", "mailbox_"))
            or k == "namespace_separator"]
    tap.cmp_ok(len(imap), ">=", 9, "the key table has the IMAP keys (%d)" % len(imap))
    page = read(os.path.join(MAN, "imapd.8")).replace("\\_", "_").replace("\\&", "")
    missing = [k for k in imap if not re.search(r"(?m)^\.B %s$" % k, page)]
    tap.is_(missing, [], "imapd.8 describes every IMAP key (a .B KEY line)")
    wrong = [k for k in imap if keys[k] and keys[k] not in page]
    tap.is_(wrong, [], "imapd.8 gives each IMAP key's default")


def main():
    tmp = tempfile.mkdtemp(prefix="postern-t91.")
    try:
        for fn, args in ((check_render, ()), (check_pages_exist, ()),
                         (check_keys, ()), (check_with_binary, (tmp,)),
                         (check_options, ()), (check_imap_keys, ()),
                         (check_capabilities, ())):
            with tap.section(fn.__name__):
                fn(*args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


main()
