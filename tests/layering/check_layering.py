#!/usr/bin/env python3
"""The library's layering, checked on its sources and its objects.

1. Private headers: a file in lib/MODULE/ includes private headers only of
   its own module, of the layers below it (core, linalg) or of a private
   folder its module is allowed to share (ALLOWED below); other modules are
   reached through their public headers <otkit/...>.
2. Calls: from the symbols each object of the static library defines and
   needs (nm), no two source files call each other in a cycle, and the
   modules' call graph is acyclic and points downward.

Usage: check_layering.py SOURCE_ROOT LIBOTKIT_A [NM]
Prints each violation and exits 1 if there is any.
"""
import collections
import os
import re
import subprocess
import sys

# What each folder of lib/ may use privately (besides itself).
BELOW = {
    "core": set(),
    "linalg": {"core"},
    "smooth": {"core", "linalg"},
    "entropic": {"core", "linalg"},
    "exact": {"core", "linalg"},
    "quadratic": {"core", "linalg", "smooth"},
    "sparse": {"core", "linalg", "smooth"},
    "mongegap": {"core", "linalg"},
    "bilevel": {"core", "linalg"},
    # libotkit_mpi (a separate library) drives the entropic sweeps
    "mpi": {"core", "linalg", "entropic"},
}
# Public-API use between solver modules (through <otkit/...> and the
# exported functions): the only edges between modules allowed in the call
# graph besides BELOW.
PUBLIC_USES = {
    "mongegap": {"entropic", "exact"},
    "smooth": {"exact"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    parts = path.split(os.sep)
    return parts[parts.index("lib") + 1] if "lib" in parts else None


def check_includes(root, problems):
    lib = os.path.join(root, "lib")
    for folder, _, files in os.walk(lib):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            mod = module_of(os.path.relpath(path, root))
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            for inc in INCLUDE.findall(text):
                parts = [c for c in inc.split("/") if c not in ("..", ".")]
                target = parts[0] if len(parts) > 1 else mod
                if target != mod and target not in BELOW.get(mod, set()):
                    problems.append(
                        f"{os.path.relpath(path, root)}: includes the private "
                        f'header "{inc}" of module {target}')


def symbols(nm, archive):
    """Map object name -> (defined symbols, undefined symbols)."""
    out = subprocess.run([nm, "-A", archive], check=True, text=True,
                         capture_output=True).stdout
    defined = collections.defaultdict(set)
    needed = collections.defaultdict(set)
    for line in out.splitlines():
        # archive.a:object.o:  (address) TYPE symbol
        head, _, rest = line.rpartition(":")
        obj = head.split(":")[-1]
        fields = rest.split()
        if len(fields) == 2:
            kind, sym = fields
        elif len(fields) == 3:
            kind, sym = fields[1], fields[2]
        else:
            continue
        if kind == "U":
            needed[obj].add(sym)
        elif kind.upper() in "TDBRV" and kind.isupper():
            defined[obj].add(sym)
    return defined, needed


def object_module(obj):
    # meson names objects like "entropic_sinkhorn.c.o"
    return obj.split("_")[0]


def sccs(graph):
    """Tarjan's strongly connected components of {node: set(nodes)}."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def check_calls(nm, archive, problems):
    defined, needed = symbols(nm, archive)
    owner = {}
    for obj, syms in defined.items():
        for s in syms:
            owner[s] = obj
    files = collections.defaultdict(set)
    for obj, syms in needed.items():
        for s in syms:
            if s in owner and owner[s] != obj:
                files[obj].add(owner[s])
    for comp in sccs(files):
        if len(comp) > 1:
            problems.append("source files call each other in a cycle: " +
                            " <-> ".join(sorted(comp)))
    modules = collections.defaultdict(set)
    for obj, targets in files.items():
        for t in targets:
            a, b = object_module(obj), object_module(t)
            if a != b:
                modules[a].add(b)
    for a, targets in sorted(modules.items()):
        for b in sorted(targets):
            if b not in BELOW.get(a, set()) | PUBLIC_USES.get(a, set()):
                problems.append(f"module {a} calls into module {b}, "
                                "which it may not use")
    for comp in sccs(modules):
        if len(comp) > 1:
            problems.append("modules call each other in a cycle: " +
                            " <-> ".join(sorted(comp)))
    return len(files)


def main():
    root, archive = sys.argv[1], sys.argv[2]
    nm = sys.argv[3] if len(sys.argv) > 3 else "nm"
    problems = []
    check_includes(root, problems)
    edges = check_calls(nm, archive, problems)
    if edges == 0:
        problems.append(f"{archive}: no calls between objects found (nm?)")
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
