"""The ctypes Structures match the library's otk_layout, and a wrong
declaration is refused at import with the field named."""
import ctypes
import os
import re
import subprocess
import sys

import pytest

from otkit import _lib


def test_every_struct_matches_the_library():
    layout = _lib.library_layout(_lib.lib)
    _lib.check_layout(layout)  # what the import ran, explicitly
    assert set(s._otk_name_ for s in _lib.STRUCTS) <= set(layout)
    assert layout["otk_sinkhorn_info"]["outcome"] == (0, ctypes.sizeof(
        _lib.Outcome))


def declared(fields, name="otk_outcome"):
    return type("Bad", (_lib.LayoutStructure,),
                {"_otk_name_": name, "_fields_": fields})


def test_a_wrong_field_type_is_named():
    fields = list(_lib.Outcome._fields_)
    fields[2] = ("bad_index", ctypes.c_uint)  # size_t declared as 32 bits
    with pytest.raises(ImportError, match=r"otk_outcome\.bad_index"):
        _lib.check_layout(_lib.library_layout(_lib.lib), [declared(fields)])


def test_swapped_fields_are_named():
    f = list(_lib.Cost._fields_)
    f[2], f[3] = f[3], f[2]  # C and x: same size, swapped offsets
    with pytest.raises(ImportError, match=r"otk_cost\.x is at offset"):
        _lib.check_layout(_lib.library_layout(_lib.lib),
                          [declared(f, "otk_cost")])


def test_a_missing_field_is_named():
    fields = _lib.ExactInfo._fields_[:-1]
    with pytest.raises(ImportError, match=r"sizeof\(otk_exact_info\)|"
                       r"otk_exact_info\.warm_started"):
        _lib.check_layout(_lib.library_layout(_lib.lib),
                          [declared(fields, "otk_exact_info")])


def test_the_import_itself_fails_on_a_mismatch():
    # The module run again with one field declared wrongly: its import-time
    # check raises ImportError naming the field.
    script = (
        "import sys, pathlib\n"
        "import otkit\n"
        "src = pathlib.Path(otkit._lib.__file__).read_text()\n"
        "src = src.replace('(\"iteration\", ctypes.c_size_t)',"
        " '(\"iteration\", ctypes.c_int)')\n"
        "mod = type(sys)('otkit._lib_bad'); mod.__package__ = 'otkit'\n"
        "try:\n"
        "    exec(compile(src, 'bad', 'exec'), mod.__dict__)\n"
        "except ImportError as e:\n"
        "    print(e); sys.exit(0)\n"
        "sys.exit(1)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "otk_progress.iteration" in r.stdout


def test_the_library_is_located_by_otkit_library(monkeypatch):
    monkeypatch.setenv("OTKIT_LIBRARY", "/nonexistent/libotkit.so")
    with pytest.raises(ImportError, match="OTKIT_LIBRARY"):
        _lib.load()


HEADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "include", "otkit")


def header_fields():
    """{struct: [fields]} of every `typedef struct NAME {...} NAME;` in the
    public headers (function pointers and `size_t i, j;` lists included)."""
    text = ""
    for name in sorted(os.listdir(HEADERS)):
        if name.endswith(".h"):
            with open(os.path.join(HEADERS, name), encoding="utf-8") as fh:
                text += fh.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", text,
                                 re.S):
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if fn:
                fields.append(fn.group(1))
                continue
            decl = re.sub(r"\[[^]]*\]", "", decl)
            head, *rest = decl.split(",")
            fields.append(head.split()[-1].lstrip("*"))
            fields += [r.strip().lstrip("*") for r in rest]
        out[name] = fields
    return out


def test_the_layout_lists_every_field_of_the_headers():
    # A field added to a header but not to lib/api/layout.c fails here.
    layout = _lib.library_layout(_lib.lib)
    headers = header_fields()
    for name, fields in layout.items():
        assert name in headers, name
        assert [f for f in fields if f is not None] == headers[name], name
