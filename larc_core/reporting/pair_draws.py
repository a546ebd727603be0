"""Does the table's result depend on its one draw of pairs? ``results/pair_draws.md`` / ``.json``.

The table's pairs are one draw (``eval.seed``) of the validation episodes' start/goal pairs. The
check reruns trained rows, with every training seed, on pairs drawn with other seeds
(``pair_draws.seeds``) and sets each draw's success beside the table's: each rate with its 95%
two-level bootstrap interval (pairs, then seeds, as in ``results/claims.md``) and the difference
draw - table with the interval of the difference of the two bootstraps: the pairs are resampled
independently (the draws hold different pairs), the seeds jointly (both sides run the same
checkpoints, so a resample that drops a seed drops it on both). Verdict per row: *agree* when
that interval holds zero, else *differ* (the table's draw is not typical of the validation pairs
at this size); the report states the difference such an interval can resolve (its half-width).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from larc_core.evaluation.statistics import episode_outcomes, rate_bootstrap, seed_weights
from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.methods import METHODS


def compare_draws(table_files: list[str], draw_files: list[str], seed: int = 0
                  ) -> dict[str, Any]:
    """One row at one offset: the table's evaluation files (every training seed) against one
    other draw's. Returns ``table`` / ``draw`` (``rate``, ``ci``, ``n_pairs``), ``difference``
    (points, draw - table), its ``ci`` and the ``verdict``."""
    out: dict[str, Any] = {}
    boots = {}
    if len(table_files) != len(draw_files):
        raise ArtifactError(f"the table's side has {len(table_files)} seed files and the other "
                            f"draw's {len(draw_files)}: both must run the same checkpoints")
    weights = seed_weights(len(table_files), np.random.default_rng([seed, len(table_files)]))
    for side, files in (("table", table_files), ("draw", draw_files)):
        outcomes = episode_outcomes(files)
        rate, boots[side] = rate_bootstrap(outcomes, seed=seed + (side == "draw"),
                                           weights=weights)
        lo, hi = np.percentile(boots[side], [2.5, 97.5])
        out[side] = {"rate": rate, "ci": [float(lo), float(hi)], "n_pairs": len(outcomes),
                     "episodes": sum(len(v) for v in outcomes.values())}
    diff = boots["draw"] - boots["table"]
    lo, hi = np.percentile(diff, [2.5, 97.5])
    out["difference"] = out["draw"]["rate"] - out["table"]["rate"]
    out["ci"] = [float(lo), float(hi)]
    out["verdict"] = "agree" if lo <= 0 <= hi else "differ"
    return out


def pair_draw_report(files: dict[str, dict[str, list[str]]], out_md: str, out_json: str,
                     eval_seed: int) -> dict[str, Any]:
    """``files[method][key]``: key ``h{offset}`` holds the table's evaluation files of that
    offset, ``draw{seed}_h{offset}`` another draw's. Writes the JSON and markdown reports."""
    rows = []
    for method, by_key in files.items():
        for key, table_files in sorted(by_key.items()):
            if key.startswith("draw"):
                continue
            offset = int(key[1:])
            for draw_key in sorted(k for k in by_key if k.endswith(f"_{key}")
                                   and k.startswith("draw")):
                res = compare_draws(table_files, by_key[draw_key], seed=offset)
                rows.append({"method": method, "offset": offset,
                             "draw_seed": int(draw_key[4:].split("_")[0]), **res})
    if not rows:
        raise ArtifactError("the pair-draw check has no row to compare: no method of "
                            "pair_draws.methods with both the table's files and another draw's")
    doc = {"eval_seed": eval_seed, "rows": rows,
           "all_agree": all(r["verdict"] == "agree" for r in rows)}
    atomic_write_json(out_json, doc)
    atomic_write_text(out_md, render_pair_draws(doc))
    return doc


def _rate(r: dict[str, Any]) -> str:
    return f"{r['rate']:.0f}% [{r['ci'][0]:.0f}, {r['ci'][1]:.0f}]"


def render_pair_draws(doc: dict[str, Any]) -> str:
    """``results/pair_draws.md`` from :func:`pair_draw_report`."""
    lines = [
        "# The table's pairs against other draws", "",
        f"The results table runs every row on one draw of start/goal pairs (eval.seed "
        f"{doc['eval_seed']}). Rule `pair_draws` runs these rows again, with the same "
        "checkpoints and settings, on pairs drawn from the same validation episodes with other "
        "seeds. Success with its 95% two-level bootstrap interval (pairs, then training seeds); "
        "the difference (draw - table, points) with the interval of independent bootstraps. "
        "*agree*: that interval holds zero (a difference smaller than about half its width "
        "cannot be told from chance at this size).", "",
        "| row | offset | draw seed | table's pairs | other draw | difference (points) | "
        "verdict |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {METHODS[r['method']].label} | h{r['offset']} | {r['draw_seed']} | "
            f"{_rate(r['table'])} ({r['table']['n_pairs']} pairs) | {_rate(r['draw'])} "
            f"({r['draw']['n_pairs']} pairs) | {r['difference']:+.1f} "
            f"[{r['ci'][0]:+.1f}, {r['ci'][1]:+.1f}] | **{r['verdict']}** |")
    lines += ["", "Every row agrees across draws." if doc["all_agree"] else
              "At least one row **differs** between draws: the table's draw is not typical at "
              "this size; read its column with the other draw beside it."]
    return "\n".join(lines) + "\n"
