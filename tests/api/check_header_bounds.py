#!/usr/bin/env python3
"""Every header comment states the range and default its bounds table has.

Usage: check_header_bounds.py SOURCE_ROOT DUMP_BOUNDS_EXE

For each record printed by dump_bounds (header, struct, field, range,
default), the comment attached to the field's declaration in the struct
(the comment block just before it, or the one after it on the same line)
must contain "valid: RANGE" and "Default D" with D equal to the table's
default (numbers compared numerically; INFINITY, SIZE_MAX and "none" mean
infinity; an enum constant is accepted for integer fields). Fields of
nested settings ("sinkhorn.tol") are checked in their own header.
"""
import math
import re
import subprocess
import sys


def struct_body(text, name):
    m = re.search(r"typedef struct %s\s*\{(.*?)\}\s*%s\s*;" % (name, name),
                  text, re.S)
    return m.group(1) if m else None


def field_comment(body, field):
    """The comments attached to the declaration of `field` in body."""
    decl = re.search(r"\b%s\s*(\[[^\]]*\])?\s*;" % re.escape(field), body)
    if decl is None:
        return None
    start, end = decl.start(), decl.end()
    # Comments between the previous declaration and this one: the last
    # ';' or '{' before it that is not inside a comment.
    masked = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), body, flags=re.S)
    prev = max(masked.rfind(";", 0, start), masked.rfind("{", 0, start))
    # A comment on the previous declaration's own line belongs to it.
    if prev >= 0 and body[prev] == ";":
        nl = body.find("\n", prev)
        prev = nl if 0 <= nl < start else prev
    head = body[prev + 1:end]
    line_end = body.find("\n", end)
    tail = body[end:line_end if line_end >= 0 else len(body)]
    return " ".join(re.findall(r"/\*(.*?)\*/", head + tail, re.S))


def default_matches(comment, value):
    m = re.search(r"Default:?\s+([^;,\s][^;]*?)(?:;|\.\s|\.$|$)", comment)
    if not m:
        return False, "no 'Default D'"
    text = m.group(1).strip().rstrip(".")
    token = text.split()[0]
    if token in ("INFINITY", "SIZE_MAX", "none", "inf"):
        return math.isinf(value), text
    try:
        d = float(token.rstrip(","))
    except ValueError:
        # An enum constant or a name (OTK_DOMAIN_AUTO, NULL): accepted.
        return re.match(r"^[A-Z][A-Z0-9_]*$", token) is not None, text
    if math.isinf(value):
        return False, text
    return math.isclose(d, value, rel_tol=1e-12, abs_tol=0.0), text


def main():
    root, exe = sys.argv[1], sys.argv[2]
    lines = subprocess.run([exe], check=True, text=True,
                           capture_output=True).stdout.splitlines()
    problems, headers = [], {}
    for line in lines:
        header, struct, field, rng, default = line.split("\t")
        if "." in field:
            continue
        if header not in headers:
            with open(f"{root}/{header}", encoding="utf-8") as fh:
                headers[header] = fh.read()
        body = struct_body(headers[header], struct)
        if body is None:
            problems.append(f"{header}: no struct {struct}")
            continue
        comment = field_comment(body, field)
        if comment is None:
            problems.append(f"{header}: {struct}.{field} not declared")
            continue
        comment = " ".join(comment.split()).replace(" *", "")
        if f"valid: {rng}" not in comment:
            problems.append(f"{header}: {struct}.{field}: comment lacks "
                            f"'valid: {rng}'")
        ok, said = default_matches(comment, float(default))
        if not ok:
            problems.append(f"{header}: {struct}.{field}: default in the "
                            f"comment ({said}) is not the table's {default}")
    for p in problems:
        print(p)
    print(f"header-bounds: {len(lines)} fields, {len(problems)} problem(s)")
    return 1 if problems or not lines else 0


if __name__ == "__main__":
    sys.exit(main())
