"""Write ``results/table.md`` (and ``results/table.csv``) from the evaluation files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from larc_core.evaluation.protocol import SUCCESS_DEFINITION
from larc_core.io import atomic_write_text
from larc_core.methods import METHODS
from larc_core.reporting.results import load_results


def render_table(df: pd.DataFrame) -> str:
    """Markdown table: Method | h<offset>... | latency, rows in the canonical method order."""
    offsets = sorted(df["offset"].unique())
    order = [m for m in METHODS if m in set(df["method"])]
    header = ["Method"] + [f"h{o}" for o in offsets] + ["latency (policy, median)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for m in order:
        sub = df[df["method"] == m].set_index("offset")
        cells = [METHODS[m].label]
        for o in offsets:
            if o in sub.index:
                r = sub.loc[o]
                cells.append(f"{100 * r.success_rate:.0f}% ({r.successes}/{r.n_episodes})")
            else:
                cells.append("-")
        lat = sub["policy_forward_median_ms"].median()
        cells.append("-" if pd.isna(lat) else f"{lat:.3f} ms")
        lines.append("| " + " | ".join(cells) + " |")
    n = df.groupby("offset")["n_episodes"].max()
    same_pairs = df.groupby("offset")["pairs_sha256"].nunique().eq(1).all()
    notes = [
        "",
        f"Success definition: {SUCCESS_DEFINITION}.",
        "Episodes per cell: " + ", ".join(f"h{o}: {int(n[o])}" for o in offsets)
        + (" (identical start/goal pairs for every method)." if same_pairs else "."),
        "Median start-to-goal block displacement: "
        + ", ".join(
            f"h{o}: {df[df.offset == o].median_block_displacement.median():.0f} px" for o in offsets
        )
        + ".",
        "Sanity rows: No-op holds the agent still; Replay replays the recorded actions open loop "
        "from the start state (velocities reset to zero), then holds still.",
        "Latency: batch-1 policy forward on the latent (after warm-up), median over the "
        "eval rule's timed calls; see results/eval/*.json for the full control step "
        "(encode frame + policy).",
    ]
    return "\n".join(lines + notes) + "\n"


def write_table(
    eval_files: list[str | Path],
    out_md: str | Path,
    out_csv: str | Path,
    figure: str | Path | None = None,
) -> pd.DataFrame:
    """Compute the table from the eval files and write Markdown + CSV atomically.

    ``figure``, when given, is linked from the Markdown (path relative to the table).
    """
    df = load_results(eval_files)
    text = "# LARC results (goal-conditioned PushT)\n\n" + render_table(df)
    if figure:
        rel = os.path.relpath(Path(figure), Path(out_md).parent)
        text += f"\n![Success rate against goal offset]({rel})\n"
    text += "\nWorld-model health (held-out prediction error, probes): see world_model.md.\n"
    atomic_write_text(out_md, text)
    atomic_write_text(out_csv, df.to_csv(index=False))
    return df


