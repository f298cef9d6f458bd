"""tap.py - a minimal TAP producer for the protocol tests (prove reads it).

    import tap
    tap.ok(cond, "name")                 # -> cond
    tap.is_(got, want, "name")           # equality, with got/want as diagnostics
    tap.like(text, r"regex", "name")     # re.search, MULTILINE
    with tap.section("name"):            # an exception inside is one failure,
        ...                              # and the script carries on
    tap.done()                           # prints the plan, exits 1 if any failed

A skip (tap.skip) is counted as a pass by prove; the suite treats skips as
failures to explain, so use it only with a real reason.
"""

import contextlib
import sys
import traceback

_count = 0
_failed = 0
_failed_names = []


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        _out("# " + line)


def ok(cond, name, diagnostic=None):
    global _count, _failed
    _count += 1
    name = str(name).replace("#", "\\#").replace("\n", " ")
    if cond:
        _out("ok %d - %s" % (_count, name))
    else:
        _failed += 1
        _failed_names.append(name)
        _out("not ok %d - %s" % (_count, name))
        if diagnostic is not None:
            diag(diagnostic)
    return bool(cond)


def _d(text, extra):
    return text if extra is None else text + "\n" + str(extra)


def is_(got, want, name, extra=None):
    """got == want; extra is printed with the diagnostics on failure."""
    return ok(got == want, name, _d("     got: %r\nexpected: %r" % (got, want),
                                   extra))


def isnt(got, dont, name, extra=None):
    return ok(got != dont, name, _d("     got: %r\nexpected anything else"
                                    % (got,), extra))


def like(got, regex, name, extra=None):
    import re
    m = got is not None and re.search(regex, got, re.M) is not None
    return ok(m, name, _d("     got: %r\n    like: %r" % (got, regex), extra))


def unlike(got, regex, name, extra=None):
    import re
    m = got is not None and re.search(regex, got, re.M) is None
    return ok(m, name, _d("     got: %r\n  unlike: %r" % (got, regex), extra))


def cmp_ok(got, op, want, name, extra=None):
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
           ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
           "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
    try:
        res = ops[op](got, want)
    except TypeError:
        res = False
    return ok(res, name, _d("    %r\n        %s\n    %r" % (got, op, want),
                            extra))


def skip(name, why):
    global _count
    _count += 1
    _out("ok %d - %s # SKIP %s" % (_count, name, why))


@contextlib.contextmanager
def section(name):
    """Run a block; an exception in it is reported as one failed test."""
    try:
        yield
    except Exception:  # noqa: BLE001 - any failure is a test failure
        ok(False, "%s: no exception" % name, traceback.format_exc())


def failed():
    return _failed


def done():
    _out("1..%d" % _count)
    if _count == 0:
        diag("no tests ran")
        sys.exit(255)
    if _failed:
        diag("failed %d of %d: %s" % (_failed, _count, ", ".join(_failed_names[:20])))
    sys.stdout.flush()
    sys.exit(1 if _failed else 0)
