#!/usr/bin/env python3
"""Test 'sinkhorn-mpi-docs-help': docs/distributed.md ends with
otk-sinkhorn-mpi's --help, verbatim. With --update it rewrites that block:

    python3 tests/mpi/docs_help.py build/tools/sinkhorn-mpi/otk-sinkhorn-mpi \\
        docs/distributed.md --update

Usage: docs_help.py TOOL DOCS_MD [--update]
"""
import subprocess
import sys

BEGIN = ("<!-- BEGIN otk-sinkhorn-mpi --help "
         "(tests/mpi/docs_help.py --update) -->\n")
END = "<!-- END otk-sinkhorn-mpi --help -->\n"


def main():
    tool, docs = sys.argv[1], sys.argv[2]
    text = open(docs, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        print("%s: no --help block" % docs, file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    out = subprocess.run([tool, "--help"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    new = "\n```\n%s```\n\n" % out
    if "--update" in sys.argv[3:]:
        with open(docs, "w", encoding="utf-8") as fh:
            fh.write(head + BEGIN + new + END + tail)
        return 0
    if old != new:
        print("%s: the --help block differs from the tool's; run\n"
              "  python3 tests/mpi/docs_help.py TOOL %s --update"
              % (docs, docs), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
