#!/usr/bin/python3
"""Writes the .npy files of the CLI tests (run once with numpy; the files
are committed). Valid inputs come from the CSV data of the same cases, so
that a .npy run must print what the CSV run prints; the malformed ones
each break one rule of the subset that the tools read (docs/cli.md)."""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)


def csv(path):
    return np.loadtxt(os.path.join(DATA, path), delimiter=",", ndmin=2)


def save(name, arr, version=None):
    path = os.path.join(HERE, name)
    with open(path, "wb") as fp:
        if version is None:
            np.save(fp, arr)
        else:
            np.lib.format.write_array(fp, arr, version=version)


def raw(name, data):
    with open(os.path.join(HERE, name), "wb") as fp:
        fp.write(data)


C = csv("entropic/rect7x4_reg0.1/C.csv")
a = csv("entropic/rect7x4_reg0.1/a.csv").ravel()
b = csv("entropic/rect7x4_reg0.1/b.csv").ravel()
save("rect7x4_C.npy", C)                     # version 1.0
save("rect7x4_a_v2.npy", a, version=(2, 0))  # 1-D weights, version 2.0
save("rect7x4_b_v3.npy", b.reshape(1, -1), version=(3, 0))  # one row
# float32: a cost of small integers, exact in both widths
C32 = np.array([[0, 1, 4], [1, 0, 1], [4, 1, 0]], dtype=np.float32)
save("int3x3_f32.npy", C32)
np.savetxt(os.path.join(HERE, "int3x3.csv"), C32, fmt="%g", delimiter=",")
# the exact plan that otk-emd writes for exact/rect7x4, as numpy saves it
save("rect7x4_exact_P.npy", csv("exact/rect7x4/P.csv"))

# malformed
good = open(os.path.join(HERE, "int3x3_f32.npy"), "rb").read()
raw("bad_truncated_header.npy", good[:40])
save("bad_dtype_int.npy", np.arange(4, dtype=np.int64).reshape(2, 2))
save("bad_fortran.npy", np.asfortranarray(np.ones((2, 3))))
save("bad_big_endian.npy", np.ones((2, 2), dtype=">f8"))
save("bad_3d.npy", np.ones((2, 2, 2)))
raw("bad_short_data.npy", open(os.path.join(HERE, "rect7x4_C.npy"),
                               "rb").read()[:-8])
save("bad_nan.npy", np.array([[0.0, 1.0], [np.nan, 0.0]]))

# the entropic oracle's plan and (f, g) of rect7x4_reg0.1, as the
# expected .npy outputs of otk-sinkhorn
E = "entropic/rect7x4_reg0.1/"
save("rect7x4_reg0.1_P.npy", csv(E + "P.csv"))
save("rect7x4_reg0.1_fg.npy", np.concatenate(
    [csv(E + "f.csv").ravel(), csv(E + "g.csv").ravel()]))
