#!/usr/bin/python3
"""Plot the figures of Liu, Puigcerver, Blondel (ICLR 2023) from the data
that sparse_figures (a C program linking otkit) wrote. Plotting only: every
plan, cost and error below was computed by otkit.

    plot_figures.py DATA_DIR OUT_DIR

Writes OUT_DIR/fig1_1d_plans.png, fig2_2d_five_methods.png,
fig3_colour_transfer.png, fig3_colour_metrics.png, fig4_convergence.png,
fig5_routing.png and numbers.md (the tables docs/figures.md quotes).
Needs Debian's python3-matplotlib and python3-numpy (run with
/usr/bin/python3); python3-pil, if present, shrinks the photo figure.
"""
import csv
import io
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

SRC_COLOUR = "#999999"  # the notebooks' source histogram / points
TGT_COLOUR = "#fc8d59"  # target
# Plans are drawn and counted by their exact nonzeros (P > 0): otkit's
# quadratic and sparse plans hold exact zeros, and an entropic plan has
# none, which is the point of the comparison. The colour-transfer density
# uses the notebook's threshold 1e-10 (computed in sparse_figures.c).
THRESHOLD = 0.0
DPI = 110

plt.rcParams.update({"font.size": 9, "axes.titlesize": 9})


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_matrix(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)  # P6, width, height, maxval, pixels
    w, h = int(parts[1]), int(parts[2])
    pixels = parts[4] if len(parts[4]) == 3 * w * h else data[-3 * w * h:]
    return np.frombuffer(pixels, dtype=np.uint8).reshape(h, w, 3)


def summary_index(rows):
    """(figure, case, method, k) -> summary row."""
    return {(r["figure"], r["case"], r["method"], int(r["k"])): r for r in rows}


def status_note(row):
    """A short note when a solve did not converge."""
    if row["status"] == "converged":
        return ""
    return f" ({row['status']})"


def cert_note(row):
    """The measured L1 marginal error and, for the quadratic and sparse
    solves, the certified relative gap of the dual (from the info)."""
    note = f"marg. err {float(row['marginal_error']):.1e}"
    gap = float(row.get("relative_gap", "nan"))
    if gap == gap:
        note += f", gap {gap:.0e}"
    return note


def draw_blocks(ax, P, colour=SRC_COLOUR, lw=0.8):
    """Grey outlines around contiguous runs of nonzeros in each row."""
    nz = P > THRESHOLD
    for i in range(P.shape[0]):
        j = 0
        while j < P.shape[1]:
            if nz[i, j]:
                j0 = j
                while j < P.shape[1] and nz[i, j]:
                    j += 1
                ax.add_patch(Rectangle((j0 - 0.5, i - 0.5), j - j0, 1,
                                       fill=False, edgecolor=colour, lw=lw))
            else:
                j += 1


def plan_heatmap(ax, P):
    ax.imshow(P, cmap="Reds", vmin=0, interpolation="nearest", aspect="auto")
    draw_blocks(ax, P)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_edgecolor(SRC_COLOUR)


def zeros_percent(P):
    """Percentage of entries that are exactly zero."""
    return 100.0 * np.mean(~(P > THRESHOLD))


def save(fig, path, palette=False):
    if palette:
        try:
            from PIL import Image
        except ImportError:
            palette = False
    if palette:
        buf = io.BytesIO()
        fig.savefig(buf, dpi=DPI, format="png")
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True)
    else:
        fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"  {path} ({os.path.getsize(path) // 1024} KB)")


# ---------------------------------------------------------------- figure 1

def figure1(data, out, summ):
    cases = [("gaussian", "a = h(10, 4), b = h(16, 5)"),
             ("bigaussian", "a = h(16, 5), b = bimodal (8, 24)")]
    methods = [("exact", "exact", 0, "Unregularized (exact)"),
               ("entropic", "entropic", 0, "Entropic (KL), reg 2e-3"),
               ("quadratic", "quadratic-dual", 0, "Squared L2, γ = 0.1"),
               ("k2", "sparse", 2, "Col-2-sparse, γ = 1")]
    fig = plt.figure(figsize=(11.2, 7.0))
    outer = fig.add_gridspec(len(cases), len(methods), wspace=0.18,
                             hspace=0.4, left=0.05, right=0.99, top=0.87,
                             bottom=0.02)
    for r, (case, label) in enumerate(cases):
        ab = read_matrix(f"{data}/fig1_{case}_ab.csv")
        a, b = ab[:, 0], ab[:, 1]
        n = len(a)
        for c, (fname, method, k, title) in enumerate(methods):
            P = read_matrix(f"{data}/fig1_{case}_{fname}.csv")
            row = summ[("fig1", case, method, k)]
            g = outer[r, c].subgridspec(2, 2, width_ratios=[1, 4],
                                        height_ratios=[1, 4], wspace=0.02,
                                        hspace=0.02)
            ax = fig.add_subplot(g[1, 1])
            plan_heatmap(ax, P)
            axl = fig.add_subplot(g[1, 0], sharey=ax)
            axl.plot(-a, np.arange(n), color=SRC_COLOUR, lw=2.5)
            axl.set_xlim(-1.1 * a.max(), 0)
            axl.axis("off")
            axt = fig.add_subplot(g[0, 1], sharex=ax)
            axt.plot(np.arange(n), b, color=TGT_COLOUR, lw=2.5)
            axt.set_ylim(0, 1.1 * b.max())
            axt.axis("off")
            axt.set_title(f"{title}{status_note(row)}\nzeros "
                          f"{zeros_percent(P):.1f}%\n{cert_note(row)}",
                          fontsize=8.5)
            if c == 0:
                fig.text(0.005, 0.47 - 0.5 * r + 0.25, label, rotation=90,
                         va="center", fontsize=8.5)
    fig.suptitle("1-D plans (n = 32 bins, C = (x_i - x_j)² / max): "
                 "source a left (grey), target b on top (orange)",
                 fontsize=10)
    save(fig, f"{out}/fig1_1d_plans.png")


# ---------------------------------------------------------------- figure 2

def figure2(data, out, summ):
    pts = read_rows(f"{data}/fig2_points.csv")
    xs = np.array([[float(p["x0"]), float(p["x1"])] for p in pts
                   if p["set"] == "source"])
    ys = np.array([[float(p["x0"]), float(p["x1"])] for p in pts
                   if p["set"] == "target"])
    methods = [("exact", "exact", 0, "Unregularized"),
               ("entropic", "entropic", 0, "KL (reg 0.1)"),
               ("quadratic", "quadratic-dual", 0, "Squared L2 (γ = 10)"),
               ("k2", "sparse", 2, "Col-2-sparse (γ = 1)"),
               ("k1", "sparse", 1, "Col-1-sparse (γ = 1)")]
    fig, axes = plt.subplots(2, 5, figsize=(13.5, 5.8),
                             gridspec_kw=dict(wspace=0.12, hspace=0.28,
                                              left=0.04, right=0.99,
                                              top=0.86, bottom=0.03))
    for c, (fname, method, k, title) in enumerate(methods):
        P = read_matrix(f"{data}/fig2_{fname}.csv")
        row = summ[("fig2", "2d", method, k)]
        ax = axes[0, c]
        pmax = P.max()
        for i in range(P.shape[0]):
            for j in range(P.shape[1]):
                if P[i, j] > THRESHOLD:
                    ax.plot([xs[i, 0], ys[j, 0]], [xs[i, 1], ys[j, 1]],
                            color=[0.5, 0.5, 1],
                            alpha=min(P[i, j] / pmax + 0.2, 1.0), lw=1)
        ax.plot(xs[:, 0], xs[:, 1], "+", color=SRC_COLOUR, ms=10, mew=1.5)
        ax.plot(ys[:, 0], ys[:, 1], ".", color=TGT_COLOUR, ms=8)
        both = np.vstack([xs, ys])  # every point inside, with a margin
        lo, hi = both.min(axis=0), both.max(axis=0)
        pad = 0.06 * (hi - lo).max()
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{title}{status_note(row)}\nnnz {int(row['nnz'])}, "
                     f"zeros {zeros_percent(P):.0f}%\n{cert_note(row)}",
                     fontsize=8.5)
        plan_heatmap(axes[1, c], P)
        axes[1, c].set_aspect("equal")
    axes[0, 0].set_ylabel("Mappings")
    axes[1, 0].set_ylabel("Plans")
    fig.suptitle("2-D point clouds, 20 + 20 points, squared Euclidean cost "
                 "(source '+', target '.')", fontsize=10)
    save(fig, f"{out}/fig2_2d_five_methods.png")


# ---------------------------------------------------------------- figure 3

def figure3(data, out, metrics):
    by = {(m["method"], int(m["k"])): m for m in metrics}
    n = max(int(m["k"]) for m in metrics)
    cols = [("orig", None, "Original"), ("emd", ("exact", 0), "Exact (EMD)"),
            ("k1", ("sparse", 1), "k = 1"), ("k2", ("sparse", 2), "k = 2"),
            ("k4", ("sparse", 4), "k = 4"), ("k8", ("sparse", 8), "k = 8"),
            ("quadratic", ("quadratic", n), f"quadratic (k = {n})")]
    rows = [("chelsea", "cat → cup colours"),
            ("coffee", "cup → cat colours")]
    fig, axes = plt.subplots(2, len(cols), figsize=(1.6 * len(cols), 3.3),
                             gridspec_kw=dict(wspace=0.04, hspace=0.12,
                                              left=0.035, right=0.995,
                                              top=0.76, bottom=0.01))
    for r, (img, label) in enumerate(rows):
        for c, (tag, key, title) in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(read_ppm(f"{data}/fig3_{img}_{tag}.ppm"),
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                t = title
                if key is not None:
                    t += f"\ndensity {100 * float(by[key]['density']):.2f}%"
                    empty = int(by[key]["empty_rows"])
                    if empty:  # such colours keep their own colour
                        t += (f"\n{empty} colour{'s' if empty > 1 else ''}"
                              " unmatched")
                ax.set_title(t, fontsize=7.5)
            if c == 0:
                ax.set_ylabel(label, fontsize=7.5)
    fig.suptitle(f"Colour transfer, {n} + {n} palette colours, "
                 "barycentric map of each plan (γ = 1)", fontsize=9)
    save(fig, f"{out}/fig3_colour_transfer.png", palette=True)

    ks = sorted(int(m["k"]) for m in metrics if m["method"] == "sparse")
    sp = [by[("sparse", k)] for k in ks]
    f = lambda key: np.array([float(m[key]) for m in sp])  # noqa: E731
    emd = float(by[("exact", 0)]["transport_cost"])
    quad = by[("quadratic", n)]
    conv = np.array([m["status"] == "converged" for m in sp])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3),
                             gridspec_kw=dict(wspace=0.32, left=0.06,
                                              right=0.99, top=0.84,
                                              bottom=0.16))
    ax = axes[0]
    ax.loglog(ks, f("density"), "o-", color="C3", label="k-sparse")
    ax.axhline(float(quad["density"]), color="C0", ls="--",
               label="quadratic (k = n)")
    ax.axhline(float(by[("exact", 0)]["density"]), color="k", ls=":",
               label="exact")
    ax.loglog(ks, np.array(ks) / n, color="0.6", lw=0.8, label="k / n bound")
    ax.set_ylim(1e-3, 3e-2)
    ax.set_xlabel("k (nonzeros per column at most)")
    ax.set_title("density nnz / (n m)  (entries > 1e-10)")
    ax.legend(fontsize=7.5)
    ax = axes[1]
    ax.loglog(ks, f("l1_err"), "o-", color="C3",
              label="‖a − T1‖₁")
    ax.loglog(ks, f("sq_err_a"), "s-", color="C1", ms=4,
              label="‖a − T1‖₂² (notebooks)")
    ax.loglog(ks, f("relative_gap"), "^--", color="C2", ms=4,
              label="certified relative gap")
    ax.loglog(np.array(ks)[~conv], f("l1_err")[~conv], "x", color="k",
              ms=8, label="not converged")
    ax.set_xlabel("k")
    ax.set_title("marginal error (‖b − Tᵀ1‖ ≈ 1e-15: semi-dual)")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    ax.semilogx(ks, 1e3 * (f("transport_cost") - emd), "o-", color="C3",
                label="k-sparse")
    ax.axhline(1e3 * (float(quad["transport_cost"]) - emd), color="C0",
               ls="--", label="quadratic (k = n)")
    ax.axhline(0, color="k", ls=":", lw=0.8, label="exact")
    ax.set_xlabel("k")
    ax.set_title("⟨T, C⟩ − ⟨T_EMD, C⟩  (× 1e-3)")
    ax.legend(fontsize=7.5)
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(f"Colour transfer chelsea → coffee ({n} × {n}, γ = 1, "
                 "semi-dual, certified finish, tol 1e-9, default max_iter)",
                 fontsize=10)
    save(fig, f"{out}/fig3_colour_metrics.png")


# ---------------------------------------------------------------- figure 4

def figure4(data, out, metrics, summ):
    rows = read_rows(f"{data}/fig4_trace.csv")
    ks = sorted({int(r["k"]) for r in rows})
    n = max(ks)
    by = {(m["method"], int(m["k"])): m for m in metrics}
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 4, figsize=(14, 4.0),
                             gridspec_kw=dict(wspace=0.3, left=0.045,
                                              right=0.99, top=0.86,
                                              bottom=0.21))
    levels = [1e-2, 1e-4, 1e-6, 1e-8]
    reach = {lv: [] for lv in levels}  # first iteration with error <= level
    traces = {}
    for k in ks:
        tr = [r for r in rows if int(r["k"]) == k]
        traces[k] = (np.array([int(r["iteration"]) for r in tr]),
                     np.array([float(r["marginal_error"]) for r in tr]),
                     np.array([float(r["time_s"]) for r in tr]))
    # k at or above the quadratic plan's largest column give the same
    # iterates: one curve for each group of identical traces
    groups = []
    for k in ks:
        if groups and np.array_equal(traces[groups[-1][0]][1], traces[k][1]):
            groups[-1].append(k)
        else:
            groups.append([k])
    for q, grp in enumerate(groups):
        k = grp[0]
        it, err, t = traces[k]
        m = by[("sparse", k)]
        st = m["status"]
        label = (f"k = {k}" if len(grp) == 1 else
                 f"k = {k}…{grp[-1]} (identical)")
        label += "" if st == "converged" else f" ({st})"
        colour = cmap(q / max(len(groups) - 1, 1))
        axes[0].semilogy(it, err, color=colour, lw=1, label=label)
        axes[1].semilogy(t, err, color=colour, lw=1, label=label)
        # the returned plan, after the finish (Newton steps, tie solve)
        final = max(float(m["l1_err"]), 1e-16)
        axes[0].semilogy([int(m["iterations"])], [final], "o", ms=4,
                         color=colour, mec="k", mew=0.5)
        axes[1].semilogy([float(m["time_s"])], [final], "o", ms=4,
                         color=colour, mec="k", mew=0.5)
    for k in ks:
        it, err, _ = traces[k]
        for lv in levels:
            hit = np.nonzero(err <= lv)[0]
            reach[lv].append(it[hit[0]] if len(hit) else np.nan)
    axes[0].set_xlabel("L-BFGS iteration")
    axes[0].set_ylabel("marginal error ‖a − T1‖₁")
    axes[0].set_title("L-BFGS progress; dot: the returned plan")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(groups),
               fontsize=7.5, frameon=False)
    axes[1].set_xlabel("wall time (s, one thread)")
    axes[1].set_title("convergence vs time")
    ax = axes[2]
    summ_k = [summ[("fig3", "colour", "sparse", k)] for k in ks]
    nnz = np.array([int(r["nnz"]) for r in summ_k])
    ax.loglog(ks, nnz, "o-", color="C3", label="nnz(T), k-sparse")
    ax.loglog(ks, np.array(ks) * n, color="0.6", lw=0.8, label="k · m bound")
    quad = summ[("fig3", "colour", "quadratic", 0)]
    ax.axhline(int(quad["nnz"]), color="C0", ls="--",
               label=f"quadratic (largest column {quad['max_col_nnz']})")
    ax.axhline(int(summ[("fig3", "colour", "exact", 0)]["nnz"]), color="k",
               ls=":", label="exact (n + m − 1)")
    ax.set_ylim(nnz.min() / 1.5, nnz.max() * 2.5)
    ax.set_xlabel("k")
    ax.set_title("nonzeros of the plan")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[3]
    for q, lv in enumerate(levels):
        ax.semilogx(ks, reach[lv], "o-", ms=4, color=plt.get_cmap("plasma")(
            q / len(levels)), label=f"error ≤ {lv:.0e}")
    ax.set_xlim(0.8, 1.5 * n)
    ax.set_xlabel("k")
    ax.set_ylabel("L-BFGS iterations")
    ax.set_title("iterations to reach an error (missing: never)")
    ax.legend(fontsize=7)
    for a in axes:
        a.grid(True, which="major", alpha=0.3)
    fig.suptitle(f"Smoothness/sparsity trade-off: colour problem {n} × {n}, "
                 "γ = 1, semi-dual from α = 0, certified finish, tol 1e-9",
                 fontsize=10)
    save(fig, f"{out}/fig4_convergence.png")


# ---------------------------------------------------------------- figure 5

def figure5(data, out):
    summ = read_rows(f"{data}/fig5_routing.csv")
    loads = read_rows(f"{data}/fig5_loads.csv")
    capacity = 16
    names = {"top1": "top-1", "top1-capacity": "top-1, capacity 16",
             "sinkhorn-capacity": "Sinkhorn (entropic OT) top-1, "
                                  "capacity 16",
             "sparse": "k-sparse OT, k = {k}"}
    fig, axes = plt.subplots(2, 3, figsize=(12, 5.6), sharey=True,
                             gridspec_kw=dict(wspace=0.08, hspace=0.55,
                                              left=0.05, right=0.99,
                                              top=0.86, bottom=0.08))
    top = max(int(r["load"]) for r in loads) + 2
    for ax, r in zip(axes.flat, summ):
        k = int(r["k"])
        ld = np.array([int(q["load"]) for q in loads
                       if q["method"] == r["method"] and int(q["k"]) == k])
        over = ld > capacity
        ax.bar(np.arange(len(ld)), ld, color=np.where(over, "C3", "C0"))
        ax.axhline(capacity, color="k", ls="--", lw=0.8)
        ax.set_ylim(0, top)
        ax.set_xticks(range(0, len(ld), 3))
        t = names[r["method"]].format(k=k)
        t += f"\n{int(r['dropped'])} tokens dropped, largest load " \
             f"{r['max_load']}"
        if r["method"] == "sparse":
            t += (f"\n{r['status']}, gap {float(r['relative_gap']):.0e}, "
                  f"marg. err {float(r['marginal_error']):.1e}")
        ax.set_title(t, fontsize=8.5)
    for ax in axes[1]:
        ax.set_xlabel("expert")
    for ax in axes[:, 0]:
        ax.set_ylabel("tokens processed")
    fig.suptitle("Routing 256 tokens to 16 experts (random features, cost = "
                 "−score), capacity 16 (dashed); red: over capacity",
                 fontsize=10)
    save(fig, f"{out}/fig5_routing.png")


# ------------------------------------------------------------- numbers.md

def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out + [""]


def g3(v):
    """A CSV number shortened for the tables ("nan" kept as "-")."""
    x = float(v)
    return "-" if x != x else f"{x:.3g}"


def write_numbers(data, out, metrics):
    """numbers.md: every number docs/figures.md quotes, from the CSVs."""
    summ = read_rows(f"{data}/summary.csv")
    lines = ["# Sparsity-constrained OT figures: the numbers", "",
             "Generated by `plot_figures.py` from the CSV files of "
             "`sparse_figures` (`make_figures.sh`); never edited by hand. "
             "Run times are left out: they vary between runs (see "
             "`summary.csv`).", "", "## Every solve (`summary.csv`)", ""]
    lines += md_table(
        ["figure", "case", "method", "k", "reg", "status", "iterations",
         "L1 marginal error", "<P,C>", "primal", "dual", "certified rel. gap",
         "nnz", "largest column"],
        [[r["figure"], r["case"], r["method"], r["k"], r["reg"], r["status"],
          r["iterations"], g3(r["marginal_error"]),
          f"{float(r['transport_cost']):.7g}", f"{float(r['objective']):.7g}",
          "-" if r["dual_objective"] == "nan" else
          f"{float(r['dual_objective']):.7g}", g3(r["relative_gap"]),
          r["nnz"], r["max_col_nnz"]] for r in summ])
    lines += ["## Colour transfer (`fig3_metrics.csv`)", ""]
    lines += md_table(
        ["method", "k", "status", "density", "‖a−T1‖²", "‖a−T1‖₁",
         "<T,C> − EMD", "certified rel. gap", "unmatched colours"],
        [[m["method"], m["k"], m["status"], g3(m["density"]),
          g3(m["sq_err_a"]), g3(m["l1_err"]),
          f"{float(m['transport_cost']) - float(m['emd_cost']):+.2e}",
          g3(m["relative_gap"]), m["empty_rows"]] for m in metrics])
    lines += ["## Routing (`fig5_routing.csv`)", ""]
    lines += md_table(
        ["method", "k", "status", "certified rel. gap", "L1 marginal error",
         "dropped tokens", "largest load"],
        [[r["method"], r["k"] if r["method"] == "sparse" else "-",
          r["status"] if r["method"] == "sparse" else "-",
          g3(r["relative_gap"]), g3(r["marginal_error"]), r["dropped"],
          r["max_load"]] for r in read_rows(f"{data}/fig5_routing.csv")])
    with open(f"{out}/numbers.md", "w") as f:
        f.write("\n".join(lines))
    print(f"  {out}/numbers.md")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_figures.py DATA_DIR OUT_DIR")
    data, out = sys.argv[1], sys.argv[2]
    summ = summary_index(read_rows(f"{data}/summary.csv"))
    metrics = read_rows(f"{data}/fig3_metrics.csv")
    figure1(data, out, summ)
    figure2(data, out, summ)
    figure3(data, out, metrics)
    figure4(data, out, metrics, summ)
    figure5(data, out)
    write_numbers(data, out, metrics)


if __name__ == "__main__":
    main()
