"""Gather evaluation JSON files into tidy frames: one row per file (method x seed x offset), and
one summary row per method x offset aggregated over seeds."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from larc_core.evaluation.records import read_eval_record
from larc_core.io import ArtifactError

COLUMNS = [
    "method", "label", "seed", "offset", "budget", "n_episodes", "successes", "success_rate",
    "policy_forward_median_ms", "policy_forward_mean_ms", "control_step_median_ms",
    "env_steps_per_decision", "pairs_sha256", "pair_list", "median_block_displacement",
]


def pair_list_key(path: Path, episodes: list[dict]) -> str:
    """The (start row, goal row) list an evaluation file's episodes ran, in order, as a
    string key: rows compared on it provably ran the same pairs.

    Raises:
        ArtifactError: an episode record lacks its start or goal row.
    """
    try:
        return " ".join(f"{int(e['start_row'])}-{int(e['goal_row'])}" for e in episodes)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            f"evaluation file {path}: an episode record lacks start_row/goal_row ({exc})"
        ) from exc


def load_results(paths: list[str | Path]) -> pd.DataFrame:
    """Read evaluation result files, one row each; success is recomputed from the episodes.

    ``seed`` is the policy training seed (missing for untrained methods, stored as -1).
    """
    rows = []
    for path in paths:
        path = Path(path)
        doc = read_eval_record(path)
        episodes = doc.get("episodes")
        if not episodes:
            raise ArtifactError(f"evaluation file {path} holds no episodes")
        successes = sum(bool(e["success"]) for e in episodes)
        lat = doc.get("latency") or {}
        nan = float("nan")
        rows.append(
            {
                "method": doc["method"],
                "label": doc["label"],
                "seed": -1 if doc.get("seed") is None else int(doc["seed"]),
                "offset": int(doc["offset"]),
                "budget": int(doc["budget"]),
                "n_episodes": len(episodes),
                "successes": successes,
                "success_rate": successes / len(episodes),
                "policy_forward_median_ms": lat.get("policy_forward", {}).get("median_ms", nan),
                "policy_forward_mean_ms": lat.get("policy_forward", {}).get("mean_ms", nan),
                "control_step_median_ms": lat.get("control_step", {}).get("median_ms", nan),
                # env steps one decision yields: a CEM plan many, a policy forward its
                # executed chunk (older files lack the field: their execute_chunk_size)
                "env_steps_per_decision": int(
                    lat.get("env_steps_per_decision", doc.get("execute_chunk_size", 1))
                ),
                "median_block_displacement": doc.get("median_block_displacement", nan),
                "pairs_sha256": doc["pairs_sha256"],
                "pair_list": pair_list_key(path, episodes),
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    dup = df.duplicated(["method", "seed", "offset"], keep=False)
    if dup.any():
        r = df[dup].iloc[0]
        raise ArtifactError(
            f"two evaluation files hold {r.method} seed {r.seed} at offset {r.offset}: "
            "pass each result once"
        )
    return df.sort_values(["method", "offset", "seed"]).reset_index(drop=True)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for k successes out of n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


SUMMARY_COLUMNS = [
    "method", "label", "offset", "budget", "n_seeds", "seeds", "n_episodes", "successes",
    "success_rate_mean", "success_rate_std", "success_rate_min", "success_rate_max",
    "wilson_low", "wilson_high", "policy_forward_median_ms", "policy_forward_mean_ms",
    "control_step_median_ms", "env_steps_per_decision", "pairs_sha256",
    "median_block_displacement",
]


def check_same_pairs(df: pd.DataFrame) -> None:
    """Every row of one offset must have run the identical start/goal pairs (same pairs file
    and the same episode list), so the rows of the table compare like with like. A row may run
    only the first pairs of that list (``planner.n_pairs`` for the CEM rows).

    Raises:
        ArtifactError: naming the offset and the methods whose pairs differ.
    """
    for offset, g in df.groupby("offset", sort=True):
        full = max(g["pair_list"], key=len) + " "
        prefix = g["pair_list"].map(lambda k, full=full: full if full.startswith(k + " ") else k)
        for col, what in (("pairs_sha256", "pair files"), ("pair_list", "start/goal pairs")):
            if (prefix if col == "pair_list" else g[col]).nunique() > 1:
                groups = [
                    ", ".join(f"{r.method}" + (f" seed {r.seed}" if r.seed >= 0 else "")
                              for r in sub.itertuples())
                    for _, sub in g.groupby(col, sort=False)
                ]
                raise ArtifactError(
                    f"offset {offset}: the rows were evaluated on different {what}: "
                    + " | ".join(groups) + "; evaluate every method on the same "
                    "results/eval/pairs_h<offset>.json"
                )


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method x offset: mean and spread of the per-seed success rates (sample
    standard deviation, min, max) and a Wilson 95% interval over all episodes of all seeds.

    Raises:
        ArtifactError: the seeds of one cell, or the rows of one offset, were evaluated on
            different pair files or start/goal pairs.
    """
    rows = []
    for (method, offset), g in df.groupby(["method", "offset"], sort=False):
        if g["pairs_sha256"].nunique() != 1:
            raise ArtifactError(
                f"{method} at offset {offset}: the seeds were evaluated on different pair files"
            )
    check_same_pairs(df)
    for (method, offset), g in df.groupby(["method", "offset"], sort=False):
        k, n = int(g.successes.sum()), int(g.n_episodes.sum())
        lo, hi = wilson_interval(k, n)
        rates = g.success_rate
        rows.append({
            "method": method, "label": g.label.iloc[0], "offset": int(offset),
            "budget": int(g.budget.iloc[0]), "n_seeds": len(g),
            "seeds": " ".join(str(s) for s in g.seed if s >= 0) or "-",
            "n_episodes": n, "successes": k,
            "success_rate_mean": float(rates.mean()),
            "success_rate_std": float(rates.std(ddof=1)) if len(g) > 1 else 0.0,
            "success_rate_min": float(rates.min()), "success_rate_max": float(rates.max()),
            "wilson_low": lo, "wilson_high": hi,
            "policy_forward_median_ms": float(g.policy_forward_median_ms.median()),
            "policy_forward_mean_ms": float(g.policy_forward_mean_ms.mean()),
            "control_step_median_ms": float(g.control_step_median_ms.median()),
            "env_steps_per_decision": int(g.env_steps_per_decision.iloc[0]),
            "pairs_sha256": g.pairs_sha256.iloc[0],
            "median_block_displacement": g.median_block_displacement.iloc[0],
        })
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return out.sort_values(["method", "offset"]).reset_index(drop=True)
