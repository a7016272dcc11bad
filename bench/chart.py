"""Draws throughput and p99 per case beside the baselines (and Debit at scale) into one PNG."""

from __future__ import annotations

from pathlib import Path

from bench.cases import BY_NAME


def draw(results: list[dict], scale: list[dict], path: Path) -> Path | None:
    """Returns the PNG's path, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        return None
    measured = [r for r in results if r.get("rps")]
    cases = list(dict.fromkeys(r["case"] for r in measured))
    concurrencies = sorted({r["concurrency"] for r in measured})
    by = {(r["case"], r["concurrency"]): r for r in measured}
    fig, axes = plt.subplots(3, 1, figsize=(max(8, 1.1 * len(cases) + 3), 12), constrained_layout=True)
    width = 0.8 / max(len(concurrencies), 1)
    colors = {conc: f"C{i}" for i, conc in enumerate(concurrencies)}
    handles = [Patch(color=colors[c], label=f"{c} in flight") for c in concurrencies]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="baseline"))
    for ax, metric, label in ((axes[0], "rps", "throughput (RPS)"), (axes[1], "p99_ms", "p99 latency (ms)")):
        for i, conc in enumerate(concurrencies):
            xs, heights, lows, highs, hatches = [], [], [], [], []
            for x, case in enumerate(cases):
                if (r := by.get((case, conc))) is None:
                    continue
                spread = r[metric]
                xs.append(x + (i - (len(concurrencies) - 1) / 2) * width)
                heights.append(spread["median"])
                lows.append(spread["median"] - spread["min"])
                highs.append(spread["max"] - spread["median"])
                hatches.append("//" if BY_NAME[case].baseline else "")
            bars = ax.bar(xs, heights, width, yerr=[lows, highs], capsize=2, color=colors[conc])
            for bar, hatch in zip(bars, hatches, strict=True):
                bar.set_hatch(hatch)
        ax.set_xticks(range(len(cases)), [BY_NAME[c].title for c in cases], rotation=25, ha="right")
        ax.set_ylabel(label)
        if metric == "p99_ms":
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(handles=handles, title="median, whiskers min-max", fontsize=8)
    axes[0].set_yscale("log")
    points = [s for s in scale if s.get("rps")]
    ax = axes[2]
    if points:
        accounts = [s["accounts"] for s in points]
        ax.errorbar(
            accounts,
            [s["rps"]["median"] for s in points],
            yerr=[
                [s["rps"]["median"] - s["rps"]["min"] for s in points],
                [s["rps"]["max"] - s["rps"]["median"] for s in points],
            ],
            marker="o",
            capsize=3,
            label="Debit RPS",
        )
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        # CPU per call is steadier than throughput on a shared machine, and Redis's is what would grow.
        cpu = ax.twinx()
        for name, style in (("redis", "s--C1"), ("server", "^:C2")):
            per_call = [s["cpu_us_per_call"][name] for s in points]
            cpu.plot(accounts, per_call, style, label=f"{name} CPU us per Debit")
        cpu.set_ylim(bottom=0)
        cpu.set_ylabel("CPU us per Debit")
        lines = ax.get_legend_handles_labels()[0] + cpu.get_legend_handles_labels()[0]
        ax.legend(handles=lines, fontsize=8, loc="lower left")
    ax.set_xlabel("accounts preloaded")
    ax.set_ylabel("Debit RPS (spread)")
    ax.set_title("Debit throughput vs keyspace size")
    ax.grid(alpha=0.3)
    fig.suptitle("Hot paths beside their baselines (same run, same machine)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
