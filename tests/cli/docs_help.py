"""Test 'cli-docs-help': section 6 of docs/cli.md is the tools' --help.

The section between the BEGIN and END markers holds each tool's --help
output verbatim, so the manual cannot drift from the option tables the
tools are built from. With --update it rewrites that section instead:

    python3 tests/cli/docs_help.py build/tools docs/cli.md --update

Usage: docs_help.py TOOLS_DIR DOCS_CLI_MD [--update]
"""
import os
import subprocess
import sys

TOOLS = ["otk-sinkhorn", "otk-emd", "otk-quadratic", "otk-sparse",
         "otk-mongegap", "otk-maid"]
BEGIN = "<!-- BEGIN --help (tests/cli/docs_help.py --update) -->\n"
END = "<!-- END --help -->\n"


def section(tools_dir):
    parts = [BEGIN]
    for name in TOOLS:
        out = subprocess.run([os.path.join(tools_dir, name), "--help"],
                             capture_output=True, text=True,
                             check=True).stdout
        parts.append("\n### `%s --help`\n\n```\n%s```\n" % (name, out))
    parts.append("\n" + END)
    return "".join(parts)


def main():
    tools_dir, docs = sys.argv[1], sys.argv[2]
    text = open(docs, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        print("%s: no %s...%s section" % (docs, BEGIN.strip(), END.strip()),
              file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    new = section(tools_dir)
    if "--update" in sys.argv[3:]:
        with open(docs, "w", encoding="utf-8") as f:
            f.write(head + new + tail)
        return 0
    if BEGIN + old + END != new:
        print("%s: section 6 differs from the tools' --help; run\n"
              "  python3 tests/cli/docs_help.py BUILD/tools %s --update"
              % (docs, docs), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
