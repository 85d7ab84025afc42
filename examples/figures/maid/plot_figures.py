#!/usr/bin/python3
"""Plot the MAID figures (Salehi, Mukherjee, Roberts, Ehrhardt 2023) from
the traces, summaries and images that otk-maid wrote (make_figures.sh).
Plotting only: every loss, accuracy, step, iteration count and PSNR below
was computed by otkit.

    plot_figures.py DATA_DIR OUT_DIR

Writes OUT_DIR/fig1_loss_vs_cost.png, fig2_accuracy_step_history.png,
fig3_robustness.png, fig4_denoised.png and prints the final numbers of
every run. Needs Debian's python3-matplotlib and python3-numpy (run with
/usr/bin/python3).
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 110
plt.rcParams.update({"font.size": 9, "axes.titlesize": 9,
                     "legend.fontsize": 7.5})

# run-name suffix -> label, colour, line style
METHODS = [
    ("maid", "MAID", "#1f77b4", "-"),
    ("maid_nodescent", "MAID, no descent test", "#1f77b4", ":"),
    ("fixed_loose", "fixed ε = δ = ε0", "#aaaaaa", "-"),
    ("fixed_tight", "fixed ε = δ = 1e-5", "#555555", "-"),
    ("hoag_geometric", "HOAG geometric", "#ff7f0e", "-"),
    ("hoag_quadratic", "HOAG quadratic", "#2ca02c", "-"),
    ("hoag_cubic", "HOAG cubic", "#d62728", "-"),
]
HOAG = [m for m in METHODS if m[0].startswith("hoag")]
# per problem: eps0 = delta0 and the budget of lower-level + CG iterations
EPS0 = {"q": "1e-1", "tv": "1e-1", "foe": "1e-1", "lr": "3e-2"}
BUDGET = {"q": 1e5, "tv": 2e4, "foe": 2e4, "lr": 1e5}
PROBLEMS = [
    ("q", "quadratic 50 × 4 (seed 29)"),
    ("tv", "TV-2D, 3 photos 96 × 96, noise 0.1"),
    ("foe", "Field of Experts, 4 filters 5 × 5, 3 photos 48 × 48"),
    ("lr", "logistic regression, digits (898 train / 899 val.)"),
]
STARTS = [  # robustness runs on tv2d: name, (eps0, delta0) label
    ("tv_start_1e1_1e2", "ε0 = 1e1, δ0 = 1e2"),
    ("tv_start_1e1_1e-2", "ε0 = 1e1, δ0 = 1e-2"),
    ("tv_start_1_1", "ε0 = δ0 = 1"),
    ("tv_maid", "ε0 = δ0 = 1e-1"),
    ("tv_start_1e-3_1e-3", "ε0 = δ0 = 1e-3"),
    ("tv_start_1e-5_1e-5", "ε0 = δ0 = 1e-5"),
]


def read_trace(data, name):
    t = np.genfromtxt(f"{data}/{name}.trace.csv", delimiter=",", names=True)
    t = np.atleast_1d(t)
    cost = t["lower_iterations"] + t["cg_iterations"]
    return t, np.maximum(cost, 1)  # log axis: a free first solve is 1


def extend(cost, loss, summ):
    """The trace has a row per finished outer iteration; a run whose
    budget ran out inside an iteration spent more (the summary's count)
    without a new accepted point: draw that as a flat end."""
    total = summ["lower_iterations"] + summ["cg_iterations"]
    if total > cost[-1]:
        return np.append(cost, total), np.append(loss, loss[-1])
    return cost, loss


def read_summary(data, name):
    with open(f"{data}/{name}.summary.csv", newline="") as f:
        row = next(csv.DictReader(f))
    return {k: (v if k == "status" else float(v)) for k, v in row.items()}


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(data[-w * h:], dtype=np.uint8).reshape(h, w)


def save(fig, path):
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"  {path} ({os.path.getsize(path) // 1024} KB)")


def early(summ, budget):
    """Why a run ended before its budget ('' when it did not)."""
    if summ["status"] != "max_iter":
        return summ["status"]
    cost = summ["lower_iterations"] + summ["cg_iterations"]
    if budget and cost < 0.99 * budget:
        return f"max-iter at cost {cost:.0f}"
    return ""


def label(base, summ, budget=None):
    why = early(summ, budget)
    return f"{base} ({why})" if why else base


def mark_end(ax, x, y, summ, colour, budget=None):
    """A cross where a run ended before its budget."""
    ok = np.isfinite(y)
    if early(summ, budget) and ok.any():
        ax.plot(x[ok][-1], y[ok][-1], "x", color=colour, ms=7, mew=1.5)


def excess(loss, best):
    """loss - best for a log axis: not drawn where the run is at (or,
    through its inexact lower solution, below) best."""
    y = loss - best
    return np.where(y > 0, y, np.nan)


# ---------------------------------------------------------------- figure 1

def figure1(data, out):
    fig, axes = plt.subplots(2, 4, figsize=(18, 7.6),
                             constrained_layout=True)
    ref = read_summary(data, "q_ref")
    # f* from the reference run: f(theta) / (1 + gap), gap = (f - f*) / f*
    # (otk-maid's optimality_gap, from a tight re-solve at theta)
    f_star = ref["upper_loss"] / (1 + ref["optimality_gap"])
    print(f"quadratic: f* = {f_star:.17g} (reference run: gap "
          f"{ref['optimality_gap']:.3g}, status {ref['status']})")
    for col, (p, title) in enumerate(PROBLEMS):
        runs = []
        for m, name, colour, ls in METHODS:
            t, cost = read_trace(data, f"{p}_{m}")
            name = name.replace("ε0", EPS0[p])
            runs.append((t, cost, read_summary(data, f"{p}_{m}"), name,
                         colour, ls))
        best = f_star if p == "q" else \
            min(np.min(r[0]["upper_loss"]) for r in runs)
        for t, cost, summ, name, colour, ls in runs:
            cost, loss = extend(cost, t["upper_loss"], summ)
            for row, y in ((0, loss), (1, excess(loss, best))):
                ax = axes[row, col]
                ax.plot(cost, y, ls, color=colour, lw=1.3,
                        label=label(name, summ, BUDGET[p]))
                mark_end(ax, cost, y, summ, colour, BUDGET[p])
        for row in (0, 1):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            ax.set_xlabel("lower-level + CG iterations (cumulative)")
        axes[0, col].set_title(f"{title}\nbudget {BUDGET[p]:.0e}")
        axes[0, col].set_ylabel("upper loss g(x)")
        axes[1, col].set_ylabel(
            "f − f*  (analytic optimum)" if p == "q" else
            f"loss − lowest loss of any run ({best:.6g})")
    for col in range(4):
        axes[0, col].legend(loc="upper right")
    axes[0, 3].text(0.02, 0.02, "all: ε0 = δ0 = 3e-2; MAID and fixed: α0 = "
                    "HOAG's first step", transform=axes[0, 3].transAxes,
                    fontsize=7.5)
    fig.suptitle("Upper loss vs cost (same seed and budget for every method;"
                 " × marks a run that ended before its budget). Bottom: "
                 "excess over f* or over the lowest loss of any run",
                 fontsize=10)
    save(fig, f"{out}/fig1_loss_vs_cost.png")


# ---------------------------------------------------------------- figure 2

def figure2(data, out):
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.2),
                             constrained_layout=True)
    for row, (p, title) in enumerate((("tv", "TV-2D"),
                                      ("lr", "logistic regression"))):
        for m, name, colour, ls in [METHODS[0], METHODS[1]] + HOAG:
            t, _ = read_trace(data, f"{p}_{m}")
            summ = read_summary(data, f"{p}_{m}")
            k = t["iteration"]
            cols = ("eps", "delta", "step") if m.startswith("maid") else \
                ("eps", None, "step")
            for col, field in enumerate(cols):
                if field is None:  # a proxy, for the legend under δ
                    axes[row, col].plot([], [], ls, color=colour, lw=1.2,
                                        label=label(name, summ))
                    continue
                y = t[field]
                ok = np.isfinite(y)
                # HOAG uses eps for the CG residual too; MAID's step is
                # the accepted one (held over rejected iterations)
                axes[row, col].plot(k[ok], y[ok], ls, color=colour, lw=1.2,
                                    label=label(name, summ))
        for col, what in enumerate(("lower-level accuracy ε",
                                    "CG residual δ (HOAG: δ = ε)",
                                    "step size α")):
            ax = axes[row, col]
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            ax.set_xlabel("outer iteration")
            ax.set_title(f"{title}: {what}")
        axes[row, 1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16),
                            ncol=5)
    fig.suptitle("Accuracy and step-size histories (TV-2D: 3 photos 96 × 96,"
                 " budget 2e4; logistic regression: digits, budget 1e5, "
                 "ε0 = δ0 = 3e-2)", fontsize=10)
    save(fig, f"{out}/fig2_accuracy_step_history.png")


# ---------------------------------------------------------------- figure 3

def figure3(data, out):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0),
                             constrained_layout=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(STARTS)))
    traces = [(read_trace(data, n), read_summary(data, n), lab)
              for n, lab in STARTS]
    best = min(np.min(tc[0]["upper_loss"]) for tc, _, _ in traces)
    for ((t, cost), summ, lab), colour in zip(traces, colours):
        lab = label(lab, summ, 2e4)
        cost, loss = extend(cost, t["upper_loss"], summ)
        axes[0].plot(cost, loss, color=colour, lw=1.3, label=lab)
        axes[1].plot(cost, excess(loss, best), color=colour, lw=1.3,
                     label=lab)
        axes[2].plot(t["iteration"], t["eps"], color=colour, lw=1.2,
                     label=lab)
        mark_end(axes[0], cost, loss, summ, colour, 2e4)
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_xlabel("lower-level + CG iterations (cumulative)")
    axes[0].set_ylabel("upper loss g(x)")
    axes[1].set_ylabel(f"loss − lowest loss of these runs ({best:.6g})")
    axes[2].set_xlabel("outer iteration")
    axes[2].set_ylabel("lower-level accuracy ε")
    for ax in axes:
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    axes[2].legend(loc="upper right")
    fig.suptitle("MAID on TV-2D from different starting accuracies "
                 "(ε0, δ0), budget 2e4", fontsize=10)
    save(fig, f"{out}/fig3_robustness.png")


# ---------------------------------------------------------------- figure 4

def figure4(data, out):
    groups = []  # (problem, title, summary, images)
    for p, what in (("tv", "TV-2D"), ("foe", "FoE")):
        summ = read_summary(data, f"{p}_maid")
        stacks = [read_pgm(f"{data}/{p}_{n}.pgm")
                  for n in ("clean", "noisy", "maid")]
        size = stacks[0].shape[1]
        titles = [f"{what}: clean {size} × {size}",
                  f"noisy: PSNR {summ['psnr_noisy']:.2f} dB",
                  f"{what} by MAID: PSNR {summ['psnr']:.2f} dB"]
        groups.append((stacks, size, titles))
    count = groups[0][0][0].shape[0] // groups[0][1]
    fig, axes = plt.subplots(count, 6, figsize=(13.5, 2.35 * count + 0.6),
                             constrained_layout=True)
    axes = np.atleast_2d(axes)
    for g, (stacks, size, titles) in enumerate(groups):
        for i in range(count):
            for j, img in enumerate(stacks):
                ax = axes[i, 3 * g + j]
                ax.imshow(img[i * size:(i + 1) * size], cmap="gray", vmin=0,
                          vmax=255, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(titles[j])
    tv = np.loadtxt(f"{data}/tv_maid.theta", ndmin=1)
    hoag = read_summary(data, "tv_hoag_geometric")
    foe_hoag = read_summary(data, "foe_hoag_geometric")
    fig.suptitle(
        "Denoising, noise 0.1 (PSNR over the three images, clipped to "
        "[0, 1]). TV-2D 96 × 96: learned "
        f"λ = {np.exp(tv[0]):.3g}, ν = {np.exp(tv[1]):.3g}; HOAG geometric "
        f"{hoag['psnr']:.2f} dB.\nFoE 48 × 48, other noise draw (seed 31), "
        f"4 filters 5 × 5; HOAG geometric {foe_hoag['psnr']:.2f} dB. "
        "Both at the budget of figure 1 (2e4).", fontsize=9)
    save(fig, f"{out}/fig4_denoised.png")


def print_table(data):
    print(f"{'run':24s} {'status':9s} {'iter':>6s} {'cost':>8s} "
          f"{'upper_loss':>20s}  extra")
    for p, _ in PROBLEMS:
        for m, _, _, _ in METHODS:
            s = read_summary(data, f"{p}_{m}")
            extra = ""
            if "optimality_gap" in s:
                extra = f"gap {s['optimality_gap']:.3g}"
            if "psnr" in s:
                extra = f"psnr {s['psnr']:.3f}"
            cost = s["lower_iterations"] + s["cg_iterations"]
            print(f"{p + '_' + m:24s} {s['status']:9s} "
                  f"{int(s['iterations']):6d} {int(cost):8d} "
                  f"{s['upper_loss']:20.12g}  {extra}")
    for n, _ in STARTS:
        s = read_summary(data, n)
        cost = s["lower_iterations"] + s["cg_iterations"]
        print(f"{n:24s} {s['status']:9s} {int(s['iterations']):6d} "
              f"{int(cost):8d} {s['upper_loss']:20.12g}  "
              f"psnr {s['psnr']:.3f}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_figures.py DATA_DIR OUT_DIR")
    data, out = sys.argv[1], sys.argv[2]
    figure1(data, out)
    figure2(data, out)
    figure3(data, out)
    figure4(data, out)
    print_table(data)


if __name__ == "__main__":
    main()
