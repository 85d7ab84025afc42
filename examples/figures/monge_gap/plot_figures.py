#!/usr/bin/python3
"""Plot the Monge-gap figures (Uscidda and Cuturi, ICML 2023; ott-jax's
Monge-gap tutorial) from the data that monge_gap_figures (a C program
linking otkit) wrote. Plotting only: every map, gap, divergence and error
below was computed by otkit.

    plot_figures.py DATA_DIR OUT_DIR

Writes OUT_DIR/fig1_moons_arrows.png, fig1_moons_curves.png,
fig1_lambda_sweep.png, fig2_rotation_gap.png, fig3_gaussian_uvp.png (each
only when its data is present). Needs Debian's python3-matplotlib and
python3-numpy (run with /usr/bin/python3); python3-pil, if present, shrinks
the arrow figures.
"""
import csv
import io
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100
SRC = "#4c72b0"  # source points
TGT = "#dd8452"  # target points
MAP = "#55a868"  # mapped points
TGT_LIGHT = "#f3c7a8"  # background clouds (solid colours, no alpha)
MAP_LIGHT = "#a9d4b4"
COST_LABEL = {"sqeuclidean": r"$\ell_2^2$", "euclidean": r"$\ell_2$"}
COST_LABEL_TXT = {"sqeuclidean": "l2^2", "euclidean": "l2"}
COST_COLOUR = {"sqeuclidean": "#c44e52", "euclidean": "#4c72b0"}

plt.rcParams.update({"font.size": 10, "axes.titlesize": 10,
                     "legend.fontsize": 8.5})


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save(fig, out_dir, name, palette=False):
    """Write a PNG; with palette (and python3-pil present), as a 256-colour
    palette image, which keeps the scatter-heavy figures small."""
    path = os.path.join(out_dir, name)
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
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KB)")


def run_title(r):
    lam = float(r["lambda"])
    if lam == 0:
        return "no Monge gap"
    return f"{COST_LABEL[r['cost']]} Monge gap, $\\lambda$ = {lam:g}"


def set_limits(ax, arrays, pad=0.15):
    """The window holding all the given point arrays, padded."""
    allp = np.vstack(arrays)
    lo, hi = allp.min(axis=0) - pad, allp.max(axis=0) + pad
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])


def draw_arrows(ax, data_dir, r, points, with_legend):
    m = np.loadtxt(os.path.join(data_dir, f"fig1_map_{r['run']}.csv"),
                   delimiter=",", skiprows=1, ndmin=2)
    src = points["source"]
    tgt = points["target"]
    ax.scatter(tgt[:, 0], tgt[:, 1], s=5, c=TGT_LIGHT, lw=0,
               label="target (held out)")
    ax.scatter(m[:, 2], m[:, 3], s=5, c=MAP_LIGHT, lw=0,
               label=r"$T_\theta$(source)")
    shown = m[:, 4] > 0
    x, y = m[shown, :2], m[shown, 2:4]
    ax.quiver(x[:, 0], x[:, 1], y[:, 0] - x[:, 0], y[:, 1] - x[:, 1],
              angles="xy", scale_units="xy", scale=1.0, width=0.004,
              headwidth=4, headlength=5, color="0.25", alpha=0.8, zorder=3)
    ax.scatter(x[:, 0], x[:, 1], s=22, c=SRC, edgecolors="k", lw=0.4,
               zorder=4, label="source")
    ax.scatter(y[:, 0], y[:, 1], s=22, c=MAP, marker="X", edgecolors="k",
               lw=0.4, zorder=4)
    ax.set_aspect("equal")
    set_limits(ax, [src, tgt, m[:, 2:4]])
    ax.tick_params(labelsize=8)
    status = "" if r["status"] == "converged" else f" [{r['status']}]"
    ax.set_title(f"{run_title(r)}{status}\n"
                 f"crossings {int(r['crossings'])}/{int(r['pairs'])} pairs "
                 f"({int(r['crossings_shown'])} among the 30 drawn)\n"
                 f"exact gap: $\\ell_2^2$ {float(r['exact_gap_sq']):.3f}, "
                 f"$\\ell_2$ {float(r['exact_gap_l2']):.4f}; "
                 f"$S_\\varepsilon$ {float(r['divergence']):.3f}",
                 fontsize=9)
    if with_legend:
        ax.legend(loc="lower left", markerscale=1.5, framealpha=0.9)


def figure1(data_dir, out_dir):
    runs_path = os.path.join(data_dir, "fig1_runs.csv")
    if not os.path.exists(runs_path):
        return
    runs = {r["run"]: r for r in read_rows(runs_path)}
    pts = read_rows(os.path.join(data_dir, "fig1_points.csv"))
    points = {s: np.array([[float(p["x"]), float(p["y"])] for p in pts
                           if p["set"] == s]) for s in ("source", "target")}
    main = [k for k in ("none", "l2_2", "sq_0.1") if k in runs]

    # arrows of the three tutorial runs
    fig, axes = plt.subplots(1, len(main), figsize=(3.9 * len(main), 6.4))
    axes = np.atleast_1d(axes)
    for i, (ax, k) in enumerate(zip(axes, main)):
        draw_arrows(ax, data_dir, runs[k], points, i == 0)
    r0 = runs[main[0]]
    fig.suptitle("Moons $\\to$ S-curve: fitted maps on held-out points "
                 f"({r0['steps']} Adam steps, batch {r0['batch']}, "
                 "MLP [32, 64, 32] GELU)", fontsize=11)
    fig.tight_layout()
    save(fig, out_dir, "fig1_moons_arrows.png", palette=True)

    # validation curves
    valid = read_rows(os.path.join(data_dir, "fig1_valid.csv"))
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.9))
    colours = {"none": "0.3", "l2_2": COST_COLOUR["euclidean"],
               "sq_0.1": COST_COLOUR["sqeuclidean"]}
    for k in main:
        rows = [v for v in valid if v["run"] == k]
        step = np.array([int(v["step"]) for v in rows])
        for ax, key in zip(axes, ("divergence", "gap_exact_sq",
                                  "gap_exact_l2")):
            val = np.array([float(v[key]) for v in rows])
            ax.plot(step, val, "-o", ms=3, c=colours[k],
                    label=run_title(runs[k]))
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_yscale("log")
    for ax in axes[1:]:  # exact gaps can be 0
        ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel(r"$S_\varepsilon(T_\theta\sharp\hat\mu, \hat\nu)$")
    axes[0].set_title("Sinkhorn divergence, held-out batches (256)")
    axes[1].set_ylabel(r"exact Monge gap, $\ell_2^2$ cost")
    axes[1].set_title(r"exact $\ell_2^2$ Monge gap, held-out batch")
    axes[2].set_ylabel(r"exact Monge gap, $\ell_2$ cost")
    axes[2].set_title(r"exact $\ell_2$ Monge gap, held-out batch")
    fig.tight_layout()
    save(fig, out_dir, "fig1_moons_curves.png")

    # lambda sweep: arrows (2 rows) and metrics
    sweep = {c: sorted([r for r in runs.values()
                        if r["cost"] == c and float(r["lambda"]) > 0],
                       key=lambda r: float(r["lambda"]))
             for c in ("euclidean", "sqeuclidean")}
    ncol = max(len(v) for v in sweep.values())
    if ncol >= 2:
        # one window for every panel: the data and every mapped point
        lims = [points["source"], points["target"]]
        for c in sweep:
            for r in sweep[c]:
                lims.append(np.loadtxt(
                    os.path.join(data_dir, f"fig1_map_{r['run']}.csv"),
                    delimiter=",", skiprows=1, ndmin=2)[:, 2:4])
        fig, axes = plt.subplots(2, ncol, figsize=(2.45 * ncol, 7.9),
                                 squeeze=False)
        for i, c in enumerate(("euclidean", "sqeuclidean")):
            for j in range(ncol):
                ax = axes[i, j]
                if j >= len(sweep[c]):
                    ax.axis("off")
                    continue
                r = sweep[c][j]
                m = np.loadtxt(os.path.join(data_dir,
                                            f"fig1_map_{r['run']}.csv"),
                               delimiter=",", skiprows=1, ndmin=2)
                ax.scatter(points["target"][:, 0], points["target"][:, 1],
                           s=3, c=TGT_LIGHT, lw=0)
                ax.scatter(m[:, 2], m[:, 3], s=3, c=MAP_LIGHT, lw=0)
                sh = m[:, 4] > 0
                ax.quiver(m[sh, 0], m[sh, 1], m[sh, 2] - m[sh, 0],
                          m[sh, 3] - m[sh, 1], angles="xy",
                          scale_units="xy", scale=1.0, width=0.006,
                          headwidth=3.5, headlength=4, color="0.25",
                          alpha=0.8)
                ax.scatter(m[sh, 0], m[sh, 1], s=10, c=SRC, lw=0)
                ax.set_aspect("equal")
                set_limits(ax, lims)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"{COST_LABEL[c]}, $\\lambda$ = "
                             f"{float(r['lambda']):g}: "
                             f"{int(r['crossings'])} crossings\n"
                             f"exact gap {float(r['exact_gap_sq' if c == 'sqeuclidean' else 'exact_gap_l2']):.4f}, "
                             f"$S_\\varepsilon$ {float(r['divergence']):.3f}",
                             fontsize=8.5)
        fig.suptitle("$\\lambda$ sweep: 30 displacements of each fitted map "
                     "(crossings among 256 held-out points)", fontsize=10)
        fig.tight_layout()
        save(fig, out_dir, "fig1_sweep_arrows.png", palette=True)

        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        none = runs.get("none")
        for c in ("euclidean", "sqeuclidean"):
            lam = np.array([float(r["lambda"]) for r in sweep[c]])
            key = "exact_gap_sq" if c == "sqeuclidean" else "exact_gap_l2"
            gap = np.array([float(r[key]) for r in sweep[c]])
            cr = np.array([int(r["crossings"]) for r in sweep[c]])
            div = np.array([float(r["divergence"]) for r in sweep[c]])
            kw = dict(c=COST_COLOUR[c], marker="o", ms=4)
            lbl = f"{COST_LABEL[c]} Monge gap"
            axes[0].plot(lam, div, label=lbl, **kw)
            axes[1].plot(lam, gap, label=lbl + f" (exact, {COST_LABEL[c]})",
                         **kw)
            axes[2].plot(lam, cr, label=lbl, **kw)
            if none is not None:
                axes[1].axhline(float(none[key]), c=COST_COLOUR[c], ls=":",
                                lw=1)
        if none is not None:
            axes[0].axhline(float(none["divergence"]), c="0.3", ls=":",
                            lw=1, label=r"no Monge gap ($\lambda$ = 0)")
            axes[2].axhline(int(none["crossings"]), c="0.3", ls=":", lw=1,
                            label=r"no Monge gap ($\lambda$ = 0)")
        axes[0].set_ylabel(r"$S_\varepsilon$ on held-out points")
        axes[1].set_ylabel("exact Monge gap of the fitted map")
        # symlog: a gap can be exactly 0 (pairs cyclically monotone)
        axes[1].set_yscale("symlog", linthresh=1e-5)
        axes[1].set_ylim(bottom=0)
        axes[2].set_ylabel("crossing displacement pairs (of 32640)")
        axes[0].set_title("fit to the target")
        axes[1].set_title("optimality on 512 held-out points "
                          "(dotted: $\\lambda$ = 0)")
        axes[2].set_title("crossings among 256 held-out points")
        lams = sorted({float(r["lambda"]) for c in sweep for r in sweep[c]})
        for ax in axes:
            ax.set_xscale("log")
            # the swept values only: log-axis minor labels overlapped them
            ax.set_xticks(lams, [f"{v:g}" for v in lams])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(r"$\lambda$")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7.5)
        fig.tight_layout()
        save(fig, out_dir, "fig1_lambda_sweep.png")


def figure2(data_dir, out_dir):
    path = os.path.join(data_dir, "fig2_rotation.csv")
    if not os.path.exists(path):
        return
    rows = read_rows(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    for ax, c in zip(axes, ("sqeuclidean", "euclidean")):
        rr = [r for r in rows if r["cost"] == c]
        ang = np.array([float(r["angle_deg"]) for r in rr])
        col = lambda k: np.array([float(r[k]) for r in rr])  # noqa: E731
        logn = float(rr[0]["log_n"])
        ax.plot(ang, col("population"), "k-", lw=1.2,
                label="population value $E\\,c(x, Rx)$")
        ax.plot(ang, col("disp"), "-.", c="0.55", lw=1,
                label="sample displacement cost (upper bound)")
        ax.plot(ang, col("exact_gap"), "o", c=COST_COLOUR[c], ms=4,
                label="exact gap (network simplex)")
        regs = []
        for k, ls, rel in (("1", "--", "0.01"), ("2", ":", "0.1")):
            reg = float(rr[0]["reg" + k])
            regs.append(f"{reg:.3g}")
            e = col("entropic" + k)
            ax.plot(ang, e, ls, c="0.35", lw=1.3,
                    label=f"entropic, $\\varepsilon$ = {rel} mean $c$")
            ax.plot(ang, e - reg * logn, ls, c="#8172b2", lw=1.3,
                    label=f"entropic $-\\ \\varepsilon\\log n$, "
                          f"$\\varepsilon$ = {rel} mean $c$")
        bad = [r for r in rr if r["status1"] != "converged"
               or r["status2"] != "converged"]
        ax.set_title(f"{COST_LABEL[c]} cost ($\\varepsilon$ = "
                     + " and ".join(regs) + ")"
                     + (f" ({len(bad)} solves not converged)" if bad else ""))
        ax.set_xlabel("rotation angle (degrees)")
        ax.set_ylabel("Monge gap of the rotation")
        ax.set_xticks(np.arange(0, 181, 30))
        ax.grid(True, alpha=0.3)
    # below the panels: inside, the legend hid the markers of small angles
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle("Monge gap of rotations $x \\mapsto R_\\theta x$ on "
                 "n = 256 points from N(0, I$_2$)", fontsize=11)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    save(fig, out_dir, "fig2_rotation_gap.png")


def figure3(data_dir, out_dir):
    path = os.path.join(data_dir, "fig3_gauss.csv")
    if not os.path.exists(path):
        return
    rows = read_rows(path)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    dims = sorted({int(r["d"]) for r in rows})
    swept = max(dims, key=lambda d: sum(int(r["d"]) == d for r in rows))
    lam = sorted([r for r in rows if int(r["d"]) == swept],
                 key=lambda r: float(r["lambda"]))
    x = np.arange(len(lam))
    uvp = [float(r["uvp"]) for r in lam]
    axes[0].bar(x, uvp, color="#4c72b0")
    for xi, u in zip(x, uvp):
        axes[0].text(xi, u, f"{u:.2f}%", ha="center", va="bottom",
                     fontsize=8.5)
    axes[0].axhline(float(lam[0]["uvp_moments"]), c="k", lw=0.8, ls=":",
                    label="moment map")
    axes[0].set_xticks(x, [f"{float(r['lambda']):g}" for r in lam])
    axes[0].set_xlabel(r"$\lambda$ ($\ell_2^2$ Monge gap)")
    axes[0].set_ylabel("L2-UVP (%)")
    axes[0].set_title(f"d = {swept}, default fit ({lam[0]['steps']} steps)")
    axes[0].margins(y=0.15)
    axes[0].legend(loc="center right")  # above the short bars, off the labels
    for lv, c in ((0.0, "0.3"), (1.0, COST_COLOUR["sqeuclidean"])):
        rr = sorted([r for r in rows if float(r["lambda"]) == lv],
                    key=lambda r: int(r["d"]))
        dd = np.array([int(r["d"]) for r in rr])
        axes[1].plot(dd, [float(r["uvp"]) for r in rr], "-o", c=c, ms=4,
                     label=f"$\\lambda$ = {lv:g}")
        axes[2].plot(dd, [float(r["divergence"]) /
                          float(r["divergence_true_map"]) for r in rr],
                     "-o", c=c, ms=4, label=f"$\\lambda$ = {lv:g}")
    mom = sorted({(int(r["d"]), float(r["uvp_moments"])) for r in rows})
    axes[1].plot([m[0] for m in mom], [m[1] for m in mom], ":s", c="k",
                 ms=3, lw=0.8, label="moment map")
    for ax in axes[1:]:
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("dimension d")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[1].set_title("L2-UVP vs dimension (default fits, seed 0)",
                      fontsize=9)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("L2-UVP (%)")
    axes[2].axhline(1.0, c="k", lw=0.8, ls=":")
    axes[2].set_ylabel(r"$S_\varepsilon(T_\theta\sharp\hat\mu, \hat\nu)\ /\ "
                       r"S_\varepsilon(T^\star\sharp\hat\mu, \hat\nu)$")
    axes[2].set_title("fitting loss of the fitted map relative to the true "
                      "map's\n(512 held-out points; below 1: the loss "
                      "prefers a wrong map)", fontsize=9)
    fig.suptitle("Gaussian $\\to$ Gaussian, known affine OT map: "
                 "L2-UVP = 100 $\\|T_\\theta - T^\\star\\|^2_{L^2(\\mu)}$ / "
                 "Var($\\nu$)", fontsize=11)
    fig.tight_layout()
    save(fig, out_dir, "fig3_gaussian_uvp.png")


def table4(data_dir, out_dir):
    """table4_gauss.md from table4_gauss.csv: per d and lambda, the mean
    L2-UVP over the seeds and its spread (min-max), beside the moment map
    and the identity, and the gap's share of the gradient."""
    path = os.path.join(data_dir, "table4_gauss.csv")
    if not os.path.exists(path):
        return
    rows = read_rows(path)
    dims = sorted({int(r["d"]) for r in rows})
    lams = sorted({float(r["lambda"]) for r in rows})

    def cell(vals, digits=3):
        if not vals:
            return "-"
        m = sum(vals) / len(vals)
        if len(vals) == 1:
            return f"{m:.{digits}g}"
        lo, hi = min(vals), max(vals)
        return f"{m:.{digits}g} ({lo:.{digits}g}-{hi:.{digits}g})"

    def better(rd):
        """In how many seeds the best lambda > 0 beats lambda = 0."""
        wins, seeds = 0, sorted({r["seed"] for r in rd})
        for sd in seeds:
            u = {float(r["lambda"]): float(r["uvp"]) for r in rd
                 if r["seed"] == sd}
            pos = [v for k, v in u.items() if k > 0]
            wins += 0.0 in u and bool(pos) and min(pos) < u[0.0]
        return f"{wins}/{len(seeds)}"

    head = (["d", "seeds"] + [f"L2-UVP %, lambda = {v:g}" for v in lams]
            + ["best lambda", "moment map %", "identity %",
               "gradient norm, gap / divergence (lambda = 1)",
               "exact gap (512 held-out pts, lambda = 1)",
               "steps not converged", "lambda > 0 better than 0 (seeds)",
               "Sinkhorn iterations per fit (mean)"])
    out = io.StringIO()
    out.write("<!-- generated by plot_figures.py from table4_gauss.csv; "
              "do not edit -->\n\n")
    out.write("Mean over the seeds, (min-max) in parentheses; every fit "
              "uses otk_mg_fit's defaults but lambda.\n\n")
    out.write("| " + " | ".join(head) + " |\n")
    out.write("|" + "---:|" * len(head) + "\n")
    for d in dims:
        rd = [r for r in rows if int(r["d"]) == d]
        seeds = sorted({int(r["seed"]) for r in rd})
        by = {v: [float(r["uvp"]) for r in rd if float(r["lambda"]) == v]
              for v in lams}
        means = {v: sum(u) / len(u) for v, u in by.items() if u}
        best = min(means, key=means.get) if means else None
        r1 = [r for r in rd if float(r["lambda"]) == 1.0]
        share = [float(r["gap_grad_norm"]) / float(r["div_grad_norm"])
                 for r in r1]
        one = {int(r["seed"]): r for r in rd}
        cells = ([str(d), str(len(seeds))] + [cell(by[v]) for v in lams]
                 + [f"{best:g}" if best is not None else "-",
                    cell([float(r["uvp_moments"]) for r in one.values()]),
                    cell([float(r["uvp_identity"]) for r in one.values()]),
                    cell(share, 2),
                    cell([float(r["exact_gap"]) for r in r1], 2),
                    str(sum(int(r["inner_not_converged"]) for r in rd)),
                    better(rd),
                    f"{sum(int(r['sinkhorn_iterations']) for r in rd) / len(rd):.3g}"])
        out.write("| " + " | ".join(cells) + " |\n")
    with open(os.path.join(out_dir, "table4_gauss.md"), "w") as f:
        f.write(out.getvalue())
    print("wrote", os.path.join(out_dir, "table4_gauss.md"))


def fmt(v, digits=3):
    """A CSV number for a table: digits significant, '-' when missing."""
    if v in (None, ""):
        return "-"
    x = float(v)
    return "0" if x == 0 else f"{x:.{digits}g}"


def table(out, head, rows):
    out.write("| " + " | ".join(head) + " |\n")
    out.write("|" + "---|" * len(head) + "\n")
    for r in rows:
        out.write("| " + " | ".join(str(c) for c in r) + " |\n")
    out.write("\n")


def numbers_fig1(data_dir, out):
    path = os.path.join(data_dir, "fig1_runs.csv")
    if not os.path.exists(path):
        return
    runs = read_rows(path)
    out.write("## Figure 1: moons to S-curve (`fig1_runs.csv`)\n\n")
    out.write(f"Held-out metrics of every fit; regs: fit "
              f"{fmt(runs[0]['fit_reg'])}, gap "
              + ", ".join(sorted({f"{COST_LABEL_TXT[r['cost']]} "
                                  f"{fmt(r['gap_reg'])}" for r in runs
                                  if float(r["lambda"]) > 0}))
              + ".\n\n")
    table(out, ["run", "cost", "lambda", "status", "steps",
                "exact l2^2 gap", "exact l2 gap", "S_eps",
                "crossings", "of pairs", "among the 30 drawn"],
          [[r["run"], COST_LABEL_TXT[r["cost"]], fmt(r["lambda"]),
            r["status"], r["steps"], fmt(r["exact_gap_sq"]),
            fmt(r["exact_gap_l2"]), fmt(r["divergence"]), r["crossings"],
            r["pairs"], r["crossings_shown"]] for r in runs])
    vpath = os.path.join(data_dir, "fig1_valid.csv")
    if os.path.exists(vpath):
        valid = read_rows(vpath)
        rows = []
        for name in dict.fromkeys(v["run"] for v in valid):
            vr = [v for v in valid if v["run"] == name]
            ent = [float(v["gap_entropic"]) for v in vr]
            rows.append([name, f"{vr[0]['step']}-{vr[-1]['step']}",
                         fmt(vr[0]["gap_exact_sq"]),
                         fmt(max(float(v["gap_exact_sq"]) for v in vr)),
                         fmt(vr[-1]["gap_exact_sq"]), fmt(min(ent)),
                         fmt(max(ent)), fmt(vr[-1]["divergence"])])
        out.write("Validation curves (`fig1_valid.csv`): the exact l2^2 gap "
                  "on held-out batches at the first validation, its largest "
                  "value and the last one; the entropic gap at the run's own "
                  "cost and reg over the run.\n\n")
        table(out, ["run", "steps", "exact l2^2 gap, first", "largest",
                    "last", "entropic gap, min", "max", "last S_eps"], rows)


def numbers_fig2(data_dir, out):
    path = os.path.join(data_dir, "fig2_rotation.csv")
    if not os.path.exists(path):
        return
    rows = read_rows(path)
    out.write("## Figure 2: the Monge gap of rotations "
              "(`fig2_rotation.csv`)\n\n")
    picks = (0, 5, 30, 90, 180)
    body = []
    for r in rows:
        if float(r["angle_deg"]) in picks:
            body.append([COST_LABEL_TXT[r["cost"]], fmt(r["angle_deg"]),
                         fmt(r["exact_gap"], 4), fmt(r["population"], 4),
                         fmt(r["disp"], 4),
                         fmt(float(r["disp"]) - float(r["exact_gap"])),
                         fmt(r["entropic1"], 4), fmt(r["entropic2"], 4)])
    table(out, ["cost", "angle", "exact gap", "population value",
                "displacement cost", "displacement - exact gap",
                "entropic, eps = 0.01 mean c", "entropic, eps = 0.1 mean c"],
          body)
    body = []
    for cost in dict.fromkeys(r["cost"] for r in rows):
        rr = [r for r in rows if r["cost"] == cost]
        logn = float(rr[0]["log_n"])
        for k, rel in (("1", "0.01"), ("2", "0.1")):
            reg = float(rr[0]["reg" + k])
            inside = sum(float(r["exact_gap"]) + reg * logn - 1e-9
                         <= float(r["entropic" + k])
                         <= float(r["exact_gap"]) + 2 * reg * logn + 1e-9
                         for r in rr)
            off = [float(r["entropic" + k]) - reg * logn
                   - float(r["exact_gap"]) for r in rr]
            its = [int(r["iters" + k]) for r in rr]
            conv = sum(r["status" + k] == "converged" for r in rr)
            body.append([COST_LABEL_TXT[cost], rel, fmt(reg),
                         f"{inside}/{len(rr)}", fmt(min(off)),
                         fmt(max(off)), f"{min(its)}-{max(its)}",
                         f"{conv}/{len(rr)}"])
    out.write("Entropic gaps against the bounds [M0 + eps log n, M0 + "
              "2 eps log n] (M0 the exact gap, n = "
              f"{round(math.exp(float(rows[0]['log_n'])))}):\n\n")
    table(out, ["cost", "eps / mean c", "eps", "inside the bounds",
                "entropic - eps log n - exact, min", "max", "iterations",
                "converged"], body)


def numbers_fig3(data_dir, out):
    path = os.path.join(data_dir, "fig3_gauss.csv")
    if not os.path.exists(path):
        return
    rows = sorted(read_rows(path),
                  key=lambda r: (int(r["d"]), float(r["lambda"])))
    out.write("## Figure 3: Gaussian to Gaussian, default fits, seed 0 "
              "(`fig3_gauss.csv`)\n\n")
    table(out, ["d", "lambda", "status", "steps", "inner solves not "
                "converged", "L2-UVP %", "moment map %", "identity %",
                "cosine", "S_eps ratio to the true map", "exact gap",
                "exact gap of the true map", "gap reg", "fit reg",
                "Sinkhorn iterations"],
          [[r["d"], fmt(r["lambda"]), r["status"], r["steps"],
            r["inner_not_converged"], fmt(r["uvp"]), fmt(r["uvp_moments"]),
            fmt(r["uvp_identity"]), fmt(r["cosine"], 4),
            fmt(float(r["divergence"]) / float(r["divergence_true_map"])),
            fmt(r["exact_gap"]), fmt(r["exact_gap_true_map"]),
            fmt(r["gap_reg"]), fmt(r["fit_reg"]), r["sinkhorn_iterations"]]
           for r in rows])


def numbers(data_dir, out_dir):
    """numbers.md: every number docs/figures.md's Monge-gap section
    quotes, from the CSV files (run times left out: they vary)."""
    out = io.StringIO()
    out.write("# Monge-gap figures: the numbers\n\n"
              "Generated by `plot_figures.py` from the CSV files of "
              "`monge_gap_figures` (`make_figures.sh`); never edited by "
              "hand. Table 4 is in `table4_gauss.md`.\n\n")
    numbers_fig1(data_dir, out)
    numbers_fig2(data_dir, out)
    numbers_fig3(data_dir, out)
    path = os.path.join(out_dir, "numbers.md")
    with open(path, "w") as f:
        f.write(out.getvalue())
    print("wrote", path)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_figures.py DATA_DIR OUT_DIR")
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    figure1(data_dir, out_dir)
    figure2(data_dir, out_dir)
    figure3(data_dir, out_dir)
    table4(data_dir, out_dir)
    numbers(data_dir, out_dir)


if __name__ == "__main__":
    main()
