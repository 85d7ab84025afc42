#!/usr/bin/env python3
"""Numeric-aware comparisons for the CLI tests (standard library only).

    numcmp.py text EXPECTED ACTUAL [--rel R] [--abs A]
        Compare two text files line by line and token by token. Tokens are
        runs of characters split at blanks and at the punctuation , : { } [ ]
        (which are tokens themselves); "quoted strings" are single tokens.
        Blanks are not significant, line breaks are (a trailing CR and
        trailing empty lines are ignored). Two numbers match when
        |e - a| <= R * max(|e|, |a|) + A (defaults 1e-6 and 1e-12). In
        EXPECTED, the token `*` matches any one token and `<=X` matches any
        number not above X (for residuals, which depend on the stopping
        point). Other tokens must be equal.

    numcmp.py potentials ACTUAL F.csv G.csv [--exact] [--rel R] [--abs A]
        ACTUAL is a potentials file `potential,index,value` (n rows of f,
        then m rows of g, indices from 0). F.csv and G.csv hold one value
        per line. Balanced potentials are unique only up to f + t, g - t:
        t is fitted (mean of F - f) unless --exact. Every entry must match
        to R * max|F, G| + A.

    numcmp.py npy EXPECTED.npy ACTUAL.npy [--header-only] [--rel R] [--abs A]
        Two .npy files (float64): the headers (magic, version, the
        dictionary and its padding) must be the same bytes, and the values
        match as in `text` (with --header-only only their count).

Exit status: 0 match, 1 mismatch (reason and a diff on stderr), 2 bad use.
"""
import difflib
import math
import re
import struct
import sys

TOKEN = re.compile(r'"[^"]*"|[,:{}\[\]]|[^\s,:{}\[\]"]+')


def die(msg):
    sys.stderr.write("numcmp: %s\n" % msg)
    sys.exit(2)


def read_lines(path):
    try:
        with open(path, "rb") as fp:
            text = fp.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise SystemExit("numcmp: %s: %s" % (path, e.strerror)) from None
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    while lines and lines[-1].strip() == "":
        lines.pop()
    return lines


def as_number(tok):
    try:
        v = float(tok)
    except ValueError:
        return None
    return v


def numbers_match(e, a, rel, abs_):
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    if math.isinf(e) or math.isinf(a):
        return e == a
    return abs(e - a) <= rel * max(abs(e), abs(a)) + abs_


def token_mismatch(e, a, rel, abs_):
    """None if expected token e matches actual token a, else a reason."""
    if e == "*":
        return None
    if e.startswith("<="):
        bound, v = as_number(e[2:]), as_number(a)
        if bound is None:
            die("bad bound token %r" % e)
        if v is None or not v <= bound:
            return "%r is not a number <= %r" % (a, e[2:])
        return None
    if e == a:
        return None
    ve, va = as_number(e), as_number(a)
    if ve is not None and va is not None:
        if numbers_match(ve, va, rel, abs_):
            return None
        d = abs(ve - va)
        scale = max(abs(ve), abs(va))
        return "%s != %s (abs diff %.3g, rel diff %.3g)" % (
            e, a, d, d / scale if scale > 0 else float("inf"))
    return "%r != %r" % (e, a)


def cmd_text(expected, actual, rel, abs_):
    el, al = read_lines(expected), read_lines(actual)
    problem = None
    if len(el) != len(al):
        problem = "%d lines expected, %d found" % (len(el), len(al))
    else:
        for k, (e, a) in enumerate(zip(el, al), 1):
            et, at = TOKEN.findall(e), TOKEN.findall(a)
            if len(et) != len(at):
                problem = "line %d: %d tokens expected, %d found" % (
                    k, len(et), len(at))
                break
            for i, (x, y) in enumerate(zip(et, at), 1):
                why = token_mismatch(x, y, rel, abs_)
                if why:
                    problem = "line %d, token %d: %s" % (k, i, why)
                    break
            if problem:
                break
    if problem is None:
        return 0
    sys.stderr.write("numcmp: %s differs from %s: %s\n" % (
        actual, expected, problem))
    sys.stderr.writelines(difflib.unified_diff(
        [ln + "\n" for ln in el], [ln + "\n" for ln in al],
        "expected (%s)" % expected, "actual (%s)" % actual))
    return 1


def read_column(path):
    vals = []
    for k, ln in enumerate(read_lines(path), 1):
        if ln.strip() == "":
            continue
        v = as_number(ln.strip())
        if v is None:
            die("%s:%d: not a number" % (path, k))
        vals.append(v)
    return vals


def fail(msg):
    sys.stderr.write("numcmp: %s\n" % msg)
    return 1


def cmd_potentials(actual, fpath, gpath, exact, rel, abs_):
    fo, go = read_column(fpath), read_column(gpath)
    lines = read_lines(actual)
    if not lines or lines[0].strip() != "potential,index,value":
        return fail("%s: first line is not 'potential,index,value'" % actual)
    got = {"f": [], "g": []}
    for k, ln in enumerate(lines[1:], 2):
        parts = ln.split(",")
        if len(parts) != 3 or parts[0] not in got:
            return fail("%s:%d: expected 'f|g,index,value': %r" % (
                actual, k, ln))
        name, idx, val = parts
        if idx != str(len(got[name])):
            return fail("%s:%d: index %s, expected %d" % (
                actual, k, idx, len(got[name])))
        if name == "f" and got["g"]:
            return fail("%s:%d: f row after the g rows" % (actual, k))
        v = as_number(val)
        if v is None or not math.isfinite(v):
            return fail("%s:%d: bad value %r" % (actual, k, val))
        got[name].append(v)
    f, g = got["f"], got["g"]
    if len(f) != len(fo) or len(g) != len(go):
        return fail("%s: %d f and %d g values, expected %d and %d" % (
            actual, len(f), len(g), len(fo), len(go)))
    t = 0.0 if exact else sum(x - y for x, y in zip(fo, f)) / len(f)
    tol = rel * max(abs(v) for v in fo + go) + abs_
    worst = 0.0
    for name, mine, ref, shift in (("f", f, fo, t), ("g", g, go, -t)):
        for i, (x, y) in enumerate(zip(mine, ref)):
            d = abs(x + shift - y)
            worst = max(worst, d)
            if not d <= tol:
                return fail("%s: %s[%d] = %.17g, oracle %.17g (shift t = "
                            "%.17g): diff %.3g > tol %.3g" % (
                                actual, name, i, x, y, t, d, tol))
    return 0


def read_npy(path):
    """The header bytes and the float64 values of a version 1.0 .npy."""
    try:
        with open(path, "rb") as fp:
            raw = fp.read()
    except OSError as e:
        raise SystemExit("numcmp: %s: %s" % (path, e.strerror)) from None
    if raw[:8] != b"\x93NUMPY\x01\x00" or len(raw) < 10:
        raise SystemExit("numcmp: %s: not a version 1.0 .npy file" % path)
    end = 10 + struct.unpack("<H", raw[8:10])[0]
    data = raw[end:]
    if len(data) % 8:
        raise SystemExit("numcmp: %s: %d bytes of data" % (path, len(data)))
    return raw[:end], struct.unpack("<%dd" % (len(data) // 8), data)


def cmd_npy(expected, actual, header_only, rel, abs_):
    eh, ev = read_npy(expected)
    ah, av = read_npy(actual)
    if eh != ah:
        return fail("%s: header %r, expected %r" % (actual, ah, eh))
    if len(ev) != len(av):
        return fail("%s: %d values, expected %d" % (actual, len(av), len(ev)))
    for k, (e, a) in enumerate(zip(ev, av)):
        if not math.isfinite(a) or (not header_only and
                                    not numbers_match(e, a, rel, abs_)):
            return fail("%s: value %d is %.17g, expected %.17g" % (
                actual, k, a, e))
    return 0


def main(argv):
    rel, abs_, exact, header_only, pos = 1e-6, 1e-12, False, False, []
    it = iter(argv[1:])
    for arg in it:
        if arg in ("--rel", "--abs"):
            v = as_number(next(it, ""))
            if v is None:
                die("%s needs a number" % arg)
            if arg == "--rel":
                rel = v
            else:
                abs_ = v
        elif arg == "--exact":
            exact = True
        elif arg == "--header-only":
            header_only = True
        else:
            pos.append(arg)
    if len(pos) == 3 and pos[0] == "text":
        return cmd_text(pos[1], pos[2], rel, abs_)
    if len(pos) == 4 and pos[0] == "potentials":
        return cmd_potentials(pos[1], pos[2], pos[3], exact, rel, abs_)
    if len(pos) == 3 and pos[0] == "npy":
        return cmd_npy(pos[1], pos[2], header_only, rel, abs_)
    die("usage: numcmp.py text EXPECTED ACTUAL | "
        "potentials ACTUAL F.csv G.csv [--exact] | "
        "npy EXPECTED ACTUAL [--header-only]  [--rel R] [--abs A]")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
