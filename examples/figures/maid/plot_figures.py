#!/usr/bin/python3
"""Plot the MAID figures (Salehi, Mukherjee, Roberts, Ehrhardt 2023) from
the traces, summaries and images that otk-maid wrote (make_figures.sh).
Plotting only: every loss, accuracy, step, iteration count and PSNR below
was computed by otkit.

    plot_figures.py DATA_DIR OUT_DIR

Writes OUT_DIR/fig1_loss_vs_cost.png, fig2_accuracy_step_history.png,
fig3_robustness.png, fig4_denoised.png and OUT_DIR/numbers.md, the
numbers docs/figures.md quotes (targets reached, final losses, PSNRs). Needs Debian's python3-matplotlib and python3-numpy (run with
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
    ("maid", "MAID (default)", "#1f77b4", "-"),
    ("paper", "MAID --paper", "#9467bd", "-"),
    ("paper_nodescent", "MAID --paper, no descent test", "#9467bd", ":"),
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
STARTS = [  # robustness runs on tv2d: name suffix, (eps0, delta0) label
    ("_start_1e1_1e2", "ε0 = 1e1, δ0 = 1e2"),
    ("_start_1e1_1e-2", "ε0 = 1e1, δ0 = 1e-2"),
    ("_start_1_1", "ε0 = δ0 = 1"),
    ("", "ε0 = δ0 = 1e-1"),
    ("_start_1e-3_1e-3", "ε0 = δ0 = 1e-3"),
    ("_start_1e-5_1e-5", "ε0 = δ0 = 1e-5"),
]
MODES = [("maid", "MAID (default)"), ("paper", "MAID --paper")]


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
    fig, axes = plt.subplots(2, 4, figsize=(18, 9.4),
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
        best = f_star if p == "q" else min(r[2]["upper_loss"] for r in runs)
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
            f"loss − lowest final loss of any run ({best:.6g})")
    for col in range(4):  # under the panels: inside, they hid curves
        axes[1, col].legend(loc="upper center", bbox_to_anchor=(0.5, -0.14),
                            ncol=2)
    axes[0, 3].text(0.02, 0.02, "all: ε0 = δ0 = 3e-2; α0 = "
                    "HOAG's first step", transform=axes[0, 3].transAxes,
                    fontsize=7.5)
    fig.suptitle("Upper loss vs cost (same seed and budget for every method;"
                 " × marks a run that ended before its budget). Bottom: "
                 "excess over f* or over the lowest final loss of any run",
                 fontsize=10)
    save(fig, f"{out}/fig1_loss_vs_cost.png")


# ---------------------------------------------------------------- figure 2

def figure2(data, out):
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.0),
                             constrained_layout=True)
    for row, (p, title) in enumerate((("tv", "TV-2D"),
                                      ("lr", "logistic regression"))):
        for m, name, colour, ls in METHODS[:3] + HOAG:
            t, _ = read_trace(data, f"{p}_{m}")
            summ = read_summary(data, f"{p}_{m}")
            k = t["iteration"]
            cols = ("eps", "delta", "step") if m[0] in "mp" else \
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
                            ncol=3)
    fig.suptitle("Accuracy and step-size histories (TV-2D: 3 photos 96 × 96,"
                 " budget 2e4; logistic regression: digits, budget 1e5, "
                 "ε0 = δ0 = 3e-2)", fontsize=10)
    save(fig, f"{out}/fig2_accuracy_step_history.png")


# ---------------------------------------------------------------- figure 3

def start_runs(data, mode):
    """The robustness runs of one mode: (trace, cost), summary, label."""
    return [(read_trace(data, f"tv_{mode}{n}"),
             read_summary(data, f"tv_{mode}{n}"), lab) for n, lab in STARTS]


def figure3(data, out):
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.4),
                             constrained_layout=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(STARTS)))
    for row, (mode, what) in enumerate(MODES):
        traces = start_runs(data, mode)
        # the lowest final loss: an earlier trace row of a loose solve can
        # lie below every final one (g at an inexact x is biased)
        best = min(s["upper_loss"] for _, s, _ in traces)
        drawn = []  # the excesses drawn, for the y range of the middle panel
        for ((t, cost), summ, lab), colour in zip(traces, colours):
            lab = label(lab, summ, 2e4)
            cost, loss = extend(cost, t["upper_loss"], summ)
            y = excess(loss, best)
            drawn.append(y)
            axes[row, 0].plot(cost, loss, color=colour, lw=1.3, label=lab)
            axes[row, 1].plot(cost, y, color=colour, lw=1.3, label=lab)
            axes[row, 2].plot(t["iteration"], t["eps"], color=colour,
                              lw=1.2, label=lab)
            mark_end(axes[row, 0], cost, loss, summ, colour, 2e4)
        for ax in axes[row, :2]:
            ax.set_xscale("log")
            ax.set_xlabel("lower-level + CG iterations (cumulative)")
        # the axes end at the data: matplotlib's log autoscale padded the
        # excess panel by decades that held no curve
        # (at most 8 decades: a run ending a hair above best added an
        # empty range below the others)
        high = np.nanmax(np.concatenate(drawn))
        low = max(np.nanmin(np.concatenate(drawn)), 1e-8 * high)
        axes[row, 1].set_ylim(low / 2, high * 2)
        axes[row, 0].set_ylabel("upper loss g(x)")
        axes[row, 1].set_ylabel(
            f"loss − lowest final loss ({best:.6g})")
        axes[row, 2].set_xlabel("outer iteration")
        axes[row, 2].set_ylabel("lower-level accuracy ε")
        axes[row, 0].set_title(what)
        for ax in axes[row]:
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            ax.margins(x=0.01)
        axes[row, 2].legend(loc="upper right")
    fig.suptitle("MAID on TV-2D from different starting accuracies "
                 "(ε0, δ0), budget 2e4; top: otkit's defaults, bottom: "
                 "--paper", fontsize=10)
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


def fmt(v):
    return f"{v:.0f}" if v is not None else "–"


def first_reach(cost, loss, target):
    """Cumulative LL + CG at the first trace row at or under target."""
    hit = np.nonzero(loss <= target)[0]
    return cost[hit[0]] if hit.size else None


def target_table(data, lines):
    """Figure 1's runs: LL + CG to the targets of docs/benchmarks.md."""
    names = [n for _, n, _, _ in METHODS]
    lines += ["| problem (f_best) | target | " + " | ".join(names) + " |",
              "|---|---|" + "---:|" * len(names)]
    ref = read_summary(data, "q_ref")
    for p, _ in PROBLEMS:
        runs = [read_trace(data, f"{p}_{m}") for m, _, _, _ in METHODS]
        finals = [read_summary(data, f"{p}_{m}")["upper_loss"]
                  for m, _, _, _ in METHODS]
        best = ref["upper_loss"] / (1 + ref["optimality_gap"]) \
            if p == "q" else min(finals)
        f0 = runs[0][0]["upper_loss"][0]
        for k, (what, target) in enumerate((
                ("90%", best + 0.1 * (f0 - best)), ("+1%", 1.01 * best),
                ("+0.1%", 1.001 * best))):
            head = f"{p} ({best:.8g})" if k == 0 else ""
            cells = [fmt(first_reach(c, t["upper_loss"], target))
                     for t, c in runs]
            lines.append(f"| {head} | {what} | " + " | ".join(cells) + " |")


def final_table(data, lines):
    lines += ["| run | status | outer iterations | LL + CG | upper loss |"
              " gap or PSNR |", "|---|---|---:|---:|---:|---|"]
    names = [f"{p}_{m}" for p, _ in PROBLEMS for m, _, _, _ in METHODS]
    names += [f"tv_{mode}{n}" for mode, _ in MODES for n, _ in STARTS if n]
    for n in names:
        s = read_summary(data, n)
        extra = ""
        if "optimality_gap" in s:
            extra = f"gap {s['optimality_gap']:.3g}"
        if "psnr" in s:
            extra = f"PSNR {s['psnr']:.2f} dB (noisy {s['psnr_noisy']:.2f})"
        cost = s["lower_iterations"] + s["cg_iterations"]
        lines.append(f"| {n} | {s['status']} | {s['iterations']:.0f} | "
                     f"{cost:.0f} | {s['upper_loss']:.10g} | {extra} |")


def sweep_table(data, lines):
    """Figure 3: the spread of the final losses over the starts."""
    lines += ["| mode | lowest final loss | highest | relative spread | "
              "LL + CG to +1% of the lowest (min–max) |",
              "|---|---:|---:|---:|---|"]
    for mode, what in MODES:
        traces = start_runs(data, mode)
        finals = [s["upper_loss"] for _, s, _ in traces]
        low, high = min(finals), max(finals)
        reach = [first_reach(c, t["upper_loss"], 1.01 * low)
                 for (t, c), _, _ in traces]
        got = [r for r in reach if r is not None]
        span = f"{min(got):.0f}–{max(got):.0f}" if got else "–"
        if len(got) < len(reach):
            span += f" ({len(reach) - len(got)} never)"
        lines.append(f"| {what} | {low:.8g} | {high:.8g} | "
                     f"{(high - low) / low:.2g} | {span} |")


def write_numbers(data, out):
    tv = np.loadtxt(f"{data}/tv_maid.theta", ndmin=1)
    lines = ["# MAID figures: the numbers", "",
             "Generated by examples/figures/maid/plot_figures.py from the "
             "runs of make_figures.sh; do not edit.", "",
             "## Figure 1: LL + CG to the targets", "",
             "f_best: f* for the quadratic problem, else the lowest final "
             "loss of the panel's runs; 90% = f_best + 0.1 (f0 − f_best), "
             "+1% = 1.01 f_best, +0.1% = 1.001 f_best, on the trace loss "
             "(g at the inexact lower solution; a loose solve can lie "
             "below f_best, so docs/maid_bench.md confirms each target by a "
             "tight re-solve). Final loss: the summary's upper_loss, g at "
             "the final inexact lower solution. – : not reached.", ""]
    target_table(data, lines)
    lines += ["", "## Final state of every run", ""]
    final_table(data, lines)
    lines += ["", "## Figure 3: final losses over the starts (TV-2D)", ""]
    sweep_table(data, lines)
    lines += ["", "## Figure 4", "",
              f"TV-2D, default MAID: learned λ = e^θ₀ = {np.exp(tv[0]):.3g},"
              f" ν = e^θ₁ = {np.exp(tv[1]):.3g}.", ""]
    path = f"{out}/numbers.md"
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"  {path}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_figures.py DATA_DIR OUT_DIR")
    data, out = sys.argv[1], sys.argv[2]
    figure1(data, out)
    figure2(data, out)
    figure3(data, out)
    figure4(data, out)
    write_numbers(data, out)


if __name__ == "__main__":
    main()
