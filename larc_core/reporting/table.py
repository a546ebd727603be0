"""Write ``results/table.md`` from the evaluation files, with its data: ``results/table.csv``
(tidy: one row per method, training seed and offset), ``results/table_summary.csv`` (one row per
method and offset: the table's cells) and ``results/metrics.json`` (what ``dvc metrics show``
prints)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from larc_core.evaluation.protocol import SUCCESS_DEFINITION
from larc_core.io import atomic_write_text
from larc_core.methods import METHODS
from larc_core.reporting.results import load_results, summarize


def _cell(r: pd.Series) -> str:
    """``mean% ± sd (k/n, CI lo-hi%)``; single-seed rows drop the ± part."""
    mean = f"{100 * r.success_rate_mean:.0f}%"
    spread = f" ± {100 * r.success_rate_std:.0f}" if r.n_seeds > 1 else ""
    ci = f"{100 * r.wilson_low:.0f}-{100 * r.wilson_high:.0f}%"
    return f"{mean}{spread} ({r.successes}/{r.n_episodes}, CI {ci})"


def _ms(x: float) -> str:
    return f"{x:.3f} ms" if x < 10 else f"{x:.0f} ms"


def _latency_cell(sub: pd.DataFrame) -> str:
    """Median time of one decision; when a decision yields several env steps (a CEM plan),
    also its time per env step: ``2103 ms / plan of 25 steps (84.1 ms/step)``."""
    lat = sub["policy_forward_median_ms"].median()
    if pd.isna(lat):
        return "-"
    steps = int(sub["env_steps_per_decision"].iloc[0])
    if steps <= 1:
        return _ms(lat)
    what = "plan" if METHODS[sub["method"].iloc[0]].planned else "decision"
    return f"{_ms(lat)} / {what} of {steps} steps ({_ms(lat / steps)}/step)"


def apply_latency_report(summary: pd.DataFrame, latency: dict[str, Any]) -> pd.DataFrame:
    """The summary with its latency columns taken from rule latency's JSON (every method timed
    in one process with one torch thread while no other job ran) instead of from the eval jobs,
    which time beside whatever else the run schedules. Methods the report lacks keep no
    latency (NaN), never a timing from a busy machine."""
    timed = latency.get("methods") or {}
    out = summary.copy()
    out["policy_forward_median_ms"] = [
        float(timed[m]["decision"]["median_ms"]) if m in timed else float("nan")
        for m in out.method
    ]
    out["env_steps_per_decision"] = [
        int(timed[m]["env_steps_per_decision"]) if m in timed else int(steps)
        for m, steps in zip(out.method, out.env_steps_per_decision, strict=True)
    ]
    return out


def render_table(summary: pd.DataFrame, latency_source: str | None = None,
                 planners: dict[str, dict[str, Any]] | None = None) -> str:
    """Markdown table from :func:`summarize` rows: Method | seeds | h<offset>... | latency.

    ``latency_source``: the latency report the latency column comes from (see
    :func:`apply_latency_report`); None when it comes from the eval jobs' own timings.
    ``planners``: row label -> the CEM settings it ran with (named under the table)."""
    offsets = sorted(summary["offset"].unique())
    order = [m for m in METHODS if m in set(summary["method"])]
    header = ["Method", "seeds"] + [f"h{o}" for o in offsets] + ["latency (decision, median)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for m in order:
        sub = summary[summary["method"] == m].set_index("offset", drop=False)
        cells = [METHODS[m].label, str(int(sub.n_seeds.max())) if METHODS[m].learned else "-"]
        cells += [_cell(sub.loc[o]) if o in sub.index else "-" for o in offsets]
        cells.append(_latency_cell(sub))
        lines.append("| " + " | ".join(cells) + " |")
    per_seed = summary[summary.method.map(lambda k: METHODS[k].learned)]
    planned = summary.method.map(lambda k: METHODS[k].planned)
    n_pairs = (summary.n_episodes / summary.n_seeds).groupby(summary.offset).max()
    same_pairs = summary.groupby("offset")["pairs_sha256"].nunique().eq(1).all()
    notes = [
        "",
        f"Success definition: {SUCCESS_DEFINITION}.",
        "Cells: mean success over training seeds ± sample standard deviation across seeds "
        "(successes / episodes pooled over seeds, Wilson 95% interval over those episodes). "
        "Per-seed numbers: table.csv (one row per method, seed and offset); the cells' numbers:"
        " table_summary.csv.",
        "Start/goal pairs per offset: " + ", ".join(f"h{o}: {int(n_pairs[o])}" for o in offsets)
        + (" (the identical pairs for every method and seed)." if same_pairs else "."),
        *(
            [f"{METHODS[m].label}: the first {int(g.n_episodes.min())} of those pairs "
             "(planner.n_pairs: a CEM plan costs seconds on a CPU core)."
             for m, g in summary.groupby("method", sort=False)
             if (g.n_episodes / g.n_seeds).min() < n_pairs[g.offset].min()]
        ),
        "Median start-to-goal block displacement: "
        + ", ".join(
            f"h{o}: {summary[summary.offset == o].median_block_displacement.median():.0f} px"
            for o in offsets
        )
        + ".",
        "Sanity rows (no training, so no seeds): No-op holds the agent still; Replay replays the "
        "recorded demonstration open loop from the start state (velocities reset to zero) as "
        "its PD targets, recorded agent position plus action, then holds still.",
        "Latency: one decision at batch 1 after warm-up, median: a policy forward on the "
        "latent for the policies, a whole CEM plan for the planner rows (its time per env step "
        "divides the plan by the env steps executed from it). "
        + (f"From {latency_source} (rule latency: every method in one process with one torch "
           "thread, the first seed's checkpoints, no other job running)."
           if latency_source else
           "Timed by the eval jobs, over seeds, while other jobs ran."),
    ]
    if planned.any():
        rows = "; ".join(
            f"{label}: {p['samples']} samples x {p['iterations']} iterations per plan (top "
            f"{p['top_k']}, horizon {p['horizon']} blocks), executing {p['receding']} "
            f"block{'s' if p['receding'] > 1 else ''} per plan"
            for label, p in (planners or {}).items())
        notes.insert(-1, (
            "CEM rows: LeWM's planner on the same frozen world model (no training, one "
            f"evaluation seed; a block is `world_model.model.frameskip` env steps). {rows}. LeWM's PushT setting is "
            "300 x 30, top 30, executing 5 blocks."
        ))
    if per_seed.empty:
        notes.pop(2)
    return "\n".join(lines + notes) + "\n"


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``table.csv``, tidy: one row per evaluation file (method, training seed, offset). ``seed``
    is empty for a method without training (``trained`` false): evaluated once per offset."""
    out = df.drop(columns=["pair_list"], errors="ignore").copy()
    out["trained"] = [METHODS[m].learned for m in out.method]
    out["seed"] = pd.array([int(s) if t else None for s, t in zip(out.seed, out.trained,
                                                                  strict=True)], dtype="Int64")
    first = ["method", "label", "trained", "seed", "offset"]
    return out[first + [c for c in out.columns if c not in first]]


def summary_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """``table_summary.csv``: one row per method and offset, the numbers of the table's cells
    (mean over seeds, spread, pooled successes and Wilson interval, latency)."""
    first = ["method", "label", "offset", "n_seeds", "success_rate_mean"]
    return summary[first + [c for c in summary.columns if c not in first]]


def metrics(summary: pd.DataFrame) -> dict[str, Any]:
    """``metrics.json``: success rate (mean over seeds) per method and offset, and the median
    decision latency per method (ms): DVC's metrics (``dvc metrics show`` / ``diff``)."""
    success: dict[str, dict[str, float]] = {}
    latency: dict[str, float] = {}
    for r in summary.sort_values(["method", "offset"]).itertuples():
        success.setdefault(r.method, {})[f"h{int(r.offset)}"] = round(float(r.success_rate_mean), 4)
        if not pd.isna(r.policy_forward_median_ms):
            latency[r.method] = round(float(r.policy_forward_median_ms), 4)
    return {"success_rate": success, "decision_latency_ms": latency}


def planner_settings_by_row(eval_files: list[str | Path]) -> dict[str, dict[str, Any]]:
    """Row label -> the CEM settings its evaluation files recorded (the first file of each)."""
    out: dict[str, dict[str, Any]] = {}
    for path in eval_files:
        doc = json.loads(Path(path).read_text())
        if doc.get("planner") and doc["label"] not in out:
            out[doc["label"]] = doc["planner"]
    return out


def write_table(
    eval_files: list[str | Path],
    out_md: str | Path,
    out_csv: str | Path,
    figure: str | Path | None = None,
    latency_json: str | Path | None = None,
    out_summary_csv: str | Path | None = None,
    out_metrics: str | Path | None = None,
) -> pd.DataFrame:
    """Compute the table from the eval files and write Markdown + CSV (and, when given, the
    summary CSV and the metrics JSON) atomically.

    ``figure``, when given, is linked from the Markdown (path relative to the table).
    ``latency_json``, when given, is rule latency's report: the latency column comes from it
    (:func:`apply_latency_report`). Returns the per-method-and-offset summary.
    """
    df = load_results(eval_files)
    summary = summarize(df)
    source = None
    if latency_json is not None:
        summary = apply_latency_report(summary, json.loads(Path(latency_json).read_text()))
        source = os.path.relpath(Path(latency_json).with_suffix(".md"), Path(out_md).parent)
    text = "# LARC results (goal-conditioned PushT)\n\n" + render_table(
        summary, source, planner_settings_by_row(eval_files))
    if figure:
        rel = os.path.relpath(Path(figure), Path(out_md).parent)
        text += f"\n![Success rate against goal offset]({rel})\n"
    text += "\nWorld-model health (held-out prediction error, probes): see world_model.md.\n"
    atomic_write_text(out_md, text)
    atomic_write_text(out_csv, table_frame(df).to_csv(index=False))
    if out_summary_csv is not None:
        atomic_write_text(out_summary_csv, summary_frame(summary).to_csv(index=False))
    if out_metrics is not None:
        atomic_write_text(out_metrics, json.dumps(metrics(summary), indent=1) + "\n")
    return summary
