"""``results/latency.md`` and the success-against-time figure from one latency benchmark run
(:func:`larc_core.evaluation.latency.benchmark_methods`) and the evaluation files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text  # noqa: E402
from larc_core.methods import METHODS  # noqa: E402
from larc_core.reporting.figure_io import save_figure  # noqa: E402
from larc_core.reporting.results import load_results, summarize  # noqa: E402

LARC_REFERENCE_ORDER = ("larc_chunk_wm_ft", "larc_chunk", "larc_idm")
"""The LARC row the planner is compared with: the full method when it was benchmarked."""


def per_env_step_ms(entry: dict[str, Any]) -> float:
    """Amortised controller time per env step (ms): the median over closed-loop decision
    periods of the period's time divided by its env steps."""
    return float(entry["per_env_step"]["median_ms"])


def _label(key: str) -> str:
    return METHODS[key].label if key in METHODS else key


def _order(keys: list[str]) -> list[str]:
    return [k for k in METHODS if k in keys] + [k for k in keys if k not in METHODS]


def ratios(bench: dict[str, Any]) -> list[dict[str, Any]]:
    """CEM-to-LARC time ratios, one per planner row: per decision (a plan against a policy
    forward, medians) and per env step (amortised closed loop, medians). Empty without both."""
    methods = bench["methods"]
    ref = next((k for k in LARC_REFERENCE_ORDER if k in methods), None)
    if ref is None:
        return []
    out = []
    for key, m in methods.items():
        if m.get("kind") != "planner":
            continue
        out.append({
            "planner": key, "reference": ref,
            "per_decision": m["decision"]["median_ms"] / methods[ref]["decision"]["median_ms"],
            "per_env_step": per_env_step_ms(m) / per_env_step_ms(methods[ref]),
        })
    return out


def success_summary(eval_files: list[str | Path]) -> pd.DataFrame:
    """Mean success over seeds per method and offset (``summarize`` rows)."""
    return summarize(load_results(eval_files))


def _ms(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _times(x: float) -> str:
    return f"{x:,.0f}x" if x >= 10 else f"{x:.2g}x"


def render_latency(bench: dict[str, Any], summary: pd.DataFrame | None = None) -> str:
    """Markdown: the timing table, the CEM-to-LARC ratios and success against time."""
    methods = bench["methods"]
    mach, before, after = bench.get("machine", {}), bench["load_before"], bench["load_after"]
    lines = [
        "# Latency (batch 1, CPU)",
        "",
        f"One process, {mach.get('torch_threads', 1)} torch thread, CPU {mach.get('cpu', '?')} "
        f"({bench.get('cpu_count', '?')} cores); load average {before['load_1min']:.1f} before "
        f"and {after['load_1min']:.1f} after (a busy machine inflates every number). "
        + (f"Start frame and goal image of pair 0 of {bench['pairs_file']}."
           if bench.get("pairs_file") else "Random start state and goal image."),
        "",
        "| Method | decision | median ms | p95 ms | calls | env steps / decision "
        "| control step median ms | p95 ms | per env step median ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in _order(list(methods)):
        m = methods[key]
        d, c = m["decision"], m["control_step"]
        what = "CEM plan" if m.get("kind") == "planner" else "policy forward"
        lines.append(
            f"| {_label(key)} | {what} | {_ms(d['median_ms'])} | {_ms(d['p95_ms'])} | "
            f"{d['calls']} | {m['env_steps_per_decision']} | {_ms(c['median_ms'])} | "
            f"{_ms(c['p95_ms'])} | {_ms(per_env_step_ms(m))} | {_ms(m['per_env_step']['p95_ms'])} |"
        )
    calls = sorted({m["decision"]["calls"] for m in methods.values()})
    lines += [
        "",
        "- *decision*: a policy forward on the current and goal latents, or one whole CEM plan "
        "(all iterations) from a one-latent history; median and p95 over the timed calls after "
        "warm-up (calls column: " + ", ".join(str(c) for c in calls) + "; a plan costs seconds "
        "on a CPU, so the planner rows time fewer calls, set by latency.plan_calls).",
        "- *control step*: render the env frame, encode it with the world model's encoder, "
        "decide.",
        "- *per env step*: the controller's own closed loop (render, encodes, decisions, action "
        "queue) timed per decision period (one decision and the env steps it yields) and divided "
        "by its env steps: the decision cost amortised over the env steps it yields (the physics "
        "step itself is excluded); median and p95 over the periods.",
    ]
    rs = ratios(bench)
    if rs:
        lines += ["", "## CEM against LARC", ""]
        for r in rs:
            lines.append(
                f"- {_label(r['planner'])} takes {_times(r['per_decision'])} the time of "
                f"{_label(r['reference'])} per decision (one plan against one policy forward, "
                f"medians) and {_times(r['per_env_step'])} per env step (amortised closed loop, "
                "medians)."
            )
    if summary is not None and not summary.empty:
        offsets = sorted(summary["offset"].unique())
        lines += ["", "## Success against time per env step", "",
                  "| Method | per env step ms | " + " | ".join(f"h{o}" for o in offsets) + " |",
                  "|---|---:|" + "---:|" * len(offsets)]
        for key in _order(list(methods)):
            sub = summary[summary.method == key].set_index("offset")
            cells = [f"{100 * sub.loc[o].success_rate_mean:.0f}%" if o in sub.index else "-"
                     for o in offsets]
            lines.append(f"| {_label(key)} | {_ms(per_env_step_ms(methods[key]))} | "
                         + " | ".join(cells) + " |")
        lines += ["", "Success: mean over training seeds on the shared start/goal pairs "
                  "(results/table.md); figure: figures/latency_vs_success.png."]
    return "\n".join(lines) + "\n"


def latency_vs_success(
    bench: dict[str, Any], summary: pd.DataFrame, out_png: str | Path
) -> None:
    """Success (%) against time per env step (log scale), one point per method and offset."""
    methods = bench["methods"]
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = ["o", "s", "^", "D", "v", "P"]
    offsets = sorted(summary["offset"].unique())
    plotted = 0
    for i, key in enumerate(_order(list(methods))):
        sub = summary[summary.method == key].set_index("offset")
        x = per_env_step_ms(methods[key])
        labelled = False
        for j, o in enumerate(offsets):
            if o not in sub.index:
                continue
            ax.scatter(x, 100 * sub.loc[o].success_rate_mean, color=colors[i % len(colors)],
                       marker=markers[j % len(markers)], s=36,
                       label=None if labelled else _label(key))
            labelled = True
            plotted += 1
    if not plotted:
        plt.close(fig)
        raise ArtifactError("no benchmarked method has evaluation results to plot")
    for j, o in enumerate(offsets):  # marker legend for the offsets
        ax.scatter([], [], color="grey", marker=markers[j % len(markers)], label=f"h{o}")
    ax.set_xscale("log")
    ax.set_xlabel("controller time per env step (ms, amortised, batch 1, CPU)")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(-5, 105)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Success against decision cost")
    save_figure(fig, out_png)


def write_latency_report(
    bench: dict[str, Any],
    eval_files: list[str | Path],
    out_md: str | Path,
    out_json: str | Path | None = None,
    out_png: str | Path | None = None,
) -> str:
    """Write the Markdown (and the raw timings as JSON, and the figure) atomically."""
    summary = success_summary(eval_files) if eval_files else None
    text = render_latency(bench, summary)
    if out_png is not None:
        if summary is None:
            raise ValueError("the latency figure needs evaluation files for the success axis")
        latency_vs_success(bench, summary, out_png)
    if out_json is not None:
        atomic_write_json(out_json, {**bench, "ratios": ratios(bench)})
    atomic_write_text(out_md, text)
    return text
