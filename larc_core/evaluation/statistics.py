"""Paired statistics of evaluation outcomes: success rates and differences of methods run on
identical start/goal pairs, with two-level bootstrap intervals (pairs, and each row's training
seeds), a sign-flip permutation p-value and the power to detect a 10-point difference.

Used by the claims report (``larc_core.reporting.claims``, which explains the method), the
pair-draw check and the WM-FT sweep's selection; it reads evaluation records' episodes only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.evaluation.records import read_eval_record
from larc_core.io import ArtifactError

#: Bootstrap resamples and permutation draws (seeded: the report is deterministic).
RESAMPLES = 10_000
#: The effect size the power is computed for (percentage points).
POWER_EFFECT = 10.0
Z95 = 1.959963984540054
VERDICTS = ("holds", "not detectable at this size", "reversed")


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def add_outcomes(out: dict[tuple[int, int], list[float]], episodes: list[dict[str, Any]]) -> None:
    """Append each episode's success (0/1) to ``out[(start row, goal row)]``."""
    for e in episodes:
        out.setdefault((int(e["start_row"]), int(e["goal_row"])), []).append(
            float(bool(e["success"])))


def episode_outcomes(eval_files: list[str | Path]) -> dict[tuple[int, int], list[float]]:
    """(start row, goal row) -> the successes (0/1) of every file's episode on that pair."""
    out: dict[tuple[int, int], list[float]] = {}
    for path in eval_files:
        doc = read_eval_record(path)
        try:
            add_outcomes(out, doc["episodes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"evaluation file {path} could not be read as episodes with "
                                f"start_row, goal_row and success: {exc}") from exc
    return out


def _outcome_matrix(outcomes: dict[tuple[int, int], list[float]],
                    keys: list[tuple[int, int]]) -> np.ndarray:
    """(pairs, seed episodes) 0/1 matrix of one row on ``keys``."""
    counts = {len(outcomes[k]) for k in keys}
    if len(counts) != 1:
        raise ArtifactError(f"a row ran its pairs an unequal number of times ({sorted(counts)}): "
                            "every seed's file must hold every pair once")
    return np.array([outcomes[k] for k in keys], dtype=np.float64)


def seed_weights(k: int, rng: np.random.Generator) -> np.ndarray:
    """(RESAMPLES, k): each resample's weight of each of k seeds (drawn with replacement)."""
    draws = rng.integers(0, k, size=(RESAMPLES, k))
    weights = np.zeros((RESAMPLES, k))
    np.add.at(weights, (np.arange(RESAMPLES)[:, None], draws), 1.0 / k)
    return weights


def _seed_means(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(RESAMPLES, pairs): each resample's per-pair mean over seeds drawn with replacement."""
    return seed_weights(x.shape[1], rng) @ x.T


def rate_bootstrap(outcomes: dict[tuple[int, int], list[float]], seed: int = 0,
                   weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """One row's success (percent) on its pairs and the :data:`RESAMPLES` resampled rates of
    the same two-level bootstrap (pairs, then seeds within each pair). ``weights``
    (:func:`seed_weights`) fixes the seed resamples, so two rates of the same policies (in the
    same seed order) share them."""
    keys = sorted(outcomes)
    if not keys:
        raise ArtifactError("the row ran no start/goal pair: it has no success rate")
    x = _outcome_matrix(outcomes, keys)
    rng = np.random.default_rng([seed, len(keys)])
    pick = rng.integers(0, len(keys), size=(RESAMPLES, len(keys)))
    means = (weights @ x.T) if weights is not None else _seed_means(x, rng)
    boots = np.take_along_axis(100.0 * means, pick, axis=1).mean(axis=1)
    return float(100 * x.mean()), boots


def paired_difference(a: dict[tuple[int, int], list[float]],
                      b: dict[tuple[int, int], list[float]], seed: int = 0) -> dict[str, Any]:
    """Paired comparison of A and B over the pairs both ran (see the module docstring).

    Args:
        a, b: (start row, goal row) -> the 0/1 successes of the row's seeds on that pair.
        seed: seed of the bootstrap and permutation draws.

    Returns:
        ``n_pairs``, ``seeds_a`` / ``seeds_b`` (episodes per pair), ``a_rate`` / ``b_rate``
        (percent on those pairs), ``difference`` (points, A - B), ``ci`` (95% two-level
        bootstrap, points), ``p_value`` (sign-flip permutation), ``power_10`` (probability of
        detecting a 10-point difference), ``discordant`` (pairs where A and B differ).
    """
    keys = sorted(set(a) & set(b))
    if not keys:
        raise ArtifactError("the two rows share no start/goal pair: they cannot be compared")
    xa, xb = _outcome_matrix(a, keys), _outcome_matrix(b, keys)
    d = 100.0 * (xa.mean(axis=1) - xb.mean(axis=1))
    n = len(d)
    rng = np.random.default_rng([seed, n])
    pick = rng.integers(0, n, size=(RESAMPLES, n))
    diff = 100.0 * (_seed_means(xa, rng) - _seed_means(xb, rng))
    boots = np.take_along_axis(diff, pick, axis=1).mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    observed = abs(d.mean())
    signs = rng.choice([-1.0, 1.0], size=(RESAMPLES, n))
    flipped = np.abs((signs * d).mean(axis=1))
    p = (1 + int(np.sum(flipped >= observed - 1e-12))) / (RESAMPLES + 1)
    # The power uses the interval's own standard error (the two-level bootstrap's spread, so
    # seed-to-seed variation counts as it does in the interval), floored at the spread a true
    # 10-point difference needs at least: with k seed episodes per pair a pair's difference
    # moves in steps of 1/k, and a mean of 0.1 made of 0s and 1/k steps has variance
    # 0.1/k - 0.01 (floored at a 1-point spread: no discordant pair is no power).
    k = min(xa.shape[1], xb.shape[1])
    floor = 100.0 * math.sqrt(max(POWER_EFFECT / 100 / k - (POWER_EFFECT / 100) ** 2, 1e-4))
    se = max(float(boots.std(ddof=1)) if n > 1 else float("inf"), floor / math.sqrt(n))
    shift = POWER_EFFECT / se
    power = _normal_cdf(shift - Z95) + _normal_cdf(-shift - Z95)
    return {
        "n_pairs": n, "seeds_a": int(xa.shape[1]), "seeds_b": int(xb.shape[1]),
        "a_rate": float(100 * xa.mean()), "b_rate": float(100 * xb.mean()),
        "difference": float(d.mean()), "ci": [float(lo), float(hi)], "p_value": float(p),
        "power_10": float(power), "discordant": int(np.sum(np.abs(d) > 0)),
    }


def verdict(ci: list[float], p_value: float, direction: int) -> str:
    """``holds`` / ``reversed`` / ``not detectable at this size`` for a claimed sign of
    A - B (``direction`` +1: A above B): the interval must exclude zero and p be below 0.05."""
    lo, hi = (ci[0], ci[1]) if direction > 0 else (-ci[1], -ci[0])
    if lo > 0 and p_value < 0.05:
        return "holds"
    if hi < 0 and p_value < 0.05:
        return "reversed"
    return "not detectable at this size"
