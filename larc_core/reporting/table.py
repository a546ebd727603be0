"""Write ``results/table.md`` (and ``results/table.csv``) from the evaluation files."""

from __future__ import annotations

import os
from pathlib import Path

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


def render_table(summary: pd.DataFrame) -> str:
    """Markdown table from :func:`summarize` rows: Method | seeds | h<offset>... | latency."""
    offsets = sorted(summary["offset"].unique())
    order = [m for m in METHODS if m in set(summary["method"])]
    header = ["Method", "seeds"] + [f"h{o}" for o in offsets] + ["latency (policy, median)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for m in order:
        sub = summary[summary["method"] == m].set_index("offset")
        cells = [METHODS[m].label, str(int(sub.n_seeds.max())) if METHODS[m].learned else "-"]
        cells += [_cell(sub.loc[o]) if o in sub.index else "-" for o in offsets]
        lat = sub["policy_forward_median_ms"].median()
        cells.append("-" if pd.isna(lat) else f"{lat:.3f} ms")
        lines.append("| " + " | ".join(cells) + " |")
    per_seed = summary[summary.method.map(lambda k: METHODS[k].learned)]
    n_pairs = (summary.n_episodes / summary.n_seeds).groupby(summary.offset).max()
    same_pairs = summary.groupby("offset")["pairs_sha256"].nunique().eq(1).all()
    notes = [
        "",
        f"Success definition: {SUCCESS_DEFINITION}.",
        "Cells: mean success over training seeds ± sample standard deviation across seeds "
        "(successes / episodes pooled over seeds, Wilson 95% interval over those episodes). "
        "Per-seed numbers: table.csv.",
        "Start/goal pairs per offset: " + ", ".join(f"h{o}: {int(n_pairs[o])}" for o in offsets)
        + (" (the identical pairs for every method and seed)." if same_pairs else "."),
        "Median start-to-goal block displacement: "
        + ", ".join(
            f"h{o}: {summary[summary.offset == o].median_block_displacement.median():.0f} px"
            for o in offsets
        )
        + ".",
        "Sanity rows (no training, so no seeds): No-op holds the agent still; Replay replays the "
        "recorded actions open loop from the start state (velocities reset to zero), then holds "
        "still.",
        "Latency: batch-1 policy forward on the latent (after warm-up), median over the "
        "eval rule's timed calls and seeds; see results/eval/<method>/*.json for the full control "
        "step (encode frame + policy).",
    ]
    if per_seed.empty:
        notes.pop(2)
    return "\n".join(lines + notes) + "\n"


def table_frame(df: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """``table.csv``: one ``row=seed`` line per evaluation file and one ``row=mean`` line per
    method x offset (seed -1: an untrained method)."""
    seeds = df.assign(row="seed")
    means = summary.rename(columns={"success_rate_mean": "success_rate"}).assign(row="mean")
    return pd.concat([seeds, means], ignore_index=True)[
        ["row"] + [c for c in dict.fromkeys(list(seeds.columns) + list(means.columns)) if c != "row"]
    ]


def write_table(
    eval_files: list[str | Path],
    out_md: str | Path,
    out_csv: str | Path,
    figure: str | Path | None = None,
) -> pd.DataFrame:
    """Compute the table from the eval files and write Markdown + CSV atomically.

    ``figure``, when given, is linked from the Markdown (path relative to the table).
    Returns the per-method-and-offset summary.
    """
    df = load_results(eval_files)
    summary = summarize(df)
    text = "# LARC results (goal-conditioned PushT)\n\n" + render_table(summary)
    if figure:
        rel = os.path.relpath(Path(figure), Path(out_md).parent)
        text += f"\n![Success rate against goal offset]({rel})\n"
    text += "\nWorld-model health (held-out prediction error, probes): see world_model.md.\n"
    atomic_write_text(out_md, text)
    atomic_write_text(out_csv, table_frame(df, summary).to_csv(index=False))
    return summary
