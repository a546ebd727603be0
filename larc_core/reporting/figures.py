"""Figures built from the evaluation files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from larc_core.io import atomic_write_text  # noqa: E402
from larc_core.methods import METHODS  # noqa: E402
from larc_core.reporting.figure_io import save_figure  # noqa: E402
from larc_core.reporting.results import load_results, summarize  # noqa: E402


def success_vs_offset(eval_files: list[str | Path], out_png: str | Path,
                      out_csv: str | Path | None = None) -> None:
    """Mean success over seeds per method against goal offset, with Wilson 95% intervals over
    the pooled episodes; with ``out_csv`` its data as one column per method (a DVC plot)."""
    df = summarize(load_results(eval_files))
    if out_csv is not None:
        wide = df.pivot(index="offset", columns="method", values="success_rate_mean")
        wide = wide[[k for k in METHODS if k in wide.columns]].reset_index()
        atomic_write_text(out_csv, wide.to_csv(index=False))
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
    methods = [k for k in METHODS if k in set(df["method"])]
    for i, m in enumerate(methods):
        dodge = 0.4 * (i - (len(methods) - 1) / 2)  # keep overlapping points readable
        sub = df[df["method"] == m].sort_values("offset")
        lo_hi = sub[["wilson_low", "wilson_high"]].to_numpy()
        rate = sub.success_rate_mean.to_numpy()
        ax.errorbar(
            sub.offset + dodge, 100 * rate, yerr=100 * np.abs(lo_hi.T - rate), marker="o", capsize=3,
            label=METHODS[m].label,
        )
    ax.set_xlabel("goal offset (env steps; budget = 2 x offset)")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(-5, 105)
    ax.set_xticks(sorted(df.offset.unique()))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Goal-conditioned PushT (Wilson 95% CI)")
    save_figure(fig, out_png)
