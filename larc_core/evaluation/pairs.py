"""Draw (and read back) the start/goal pairs every method is evaluated on.

Evaluation pairs come from validation episodes only: a start row s and the goal row s + offset of
the same episode. Tuning pairs (``split="train"``), for choosing settings without looking at the
evaluation pairs, come from training episodes with a seed of their own. Pairs whose goal already
passes the success test at the start are never drawn (they would count as free successes). The
draw is seeded, and written once per offset so every method reads the identical list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.data import DemoFile
from larc_core.envs import goal_reached
from larc_core.evaluation.protocol import BUDGET_FACTOR
from larc_core.io import ArtifactError, atomic_write_json

SPLITS = ("validation", "train")
"""Where pairs are drawn: ``validation`` (evaluation pairs) or ``train`` (tuning pairs)."""


def candidate_starts(demo: DemoFile, offset: int, split: str = "validation") -> np.ndarray:
    """Rows s of ``split`` episodes with s + offset in the same episode and a non-trivial goal."""
    if split not in SPLITS:
        raise ValueError(f"pairs split must be one of {SPLITS}; got {split!r}")
    state = np.asarray(demo.state)
    episodes = demo.val_episodes if split == "validation" else demo.train_episodes
    rows = [
        np.arange(demo.ep_offset[e], demo.ep_offset[e] + demo.ep_len[e] - offset)
        for e in episodes
        if demo.ep_len[e] > offset
    ]
    if not rows:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate(rows)
    trivial = goal_reached(state[starts], state[starts + offset])
    return starts[~np.asarray(trivial, dtype=bool)]


def draw_pairs(demo: DemoFile, offset: int, n: int, seed: int,
               split: str = "validation") -> list[dict[str, Any]]:
    """Draw ``n`` distinct start/goal pairs at ``offset`` env steps of ``split`` episodes with
    ``default_rng([seed, offset])``."""
    starts = candidate_starts(demo, offset, split)
    if len(starts) < n:
        raise ValueError(
            f"only {len(starts)} non-trivial start/goal pairs at offset {offset} in the {split} "
            f"episodes of {demo.path}; need {n}: collect more or longer episodes "
            "(data.n_episodes, data.min_len) or lower eval.n_episodes"
        )
    rng = np.random.default_rng([seed, offset])
    chosen = np.sort(rng.choice(starts, size=n, replace=False))
    state = np.asarray(demo.state)
    episode_idx = np.asarray(demo.episode_idx)
    pairs = []
    for s in chosen:
        g = int(s) + offset
        pairs.append(
            {
                "episode": int(episode_idx[s]),
                "start_row": int(s),
                "goal_row": g,
                "start_state": [float(x) for x in state[s]],
                "goal_state": [float(x) for x in state[g]],
                "block_displacement": float(np.linalg.norm(state[g, 2:4] - state[s, 2:4])),
            }
        )
    return pairs


def write_pairs(
    demo_path: str | Path, offset: int, n: int, seed: int, out_path: str | Path,
    split: str = "validation",
) -> dict[str, Any]:
    """Draw pairs and write ``{"offset", "seed", "budget", "split", "pairs": [...]}``
    atomically."""
    with DemoFile(demo_path) as demo:
        pairs = draw_pairs(demo, offset, n, seed, split)
        fingerprint = demo.fingerprint
    doc = {
        "offset": offset,
        "budget": BUDGET_FACTOR * offset,
        "seed": seed,
        "source": str(demo_path),
        "demo_fingerprint": fingerprint,
        "split": split,
        "median_block_displacement": float(np.median([p["block_displacement"] for p in pairs])),
        "pairs": pairs,
    }
    atomic_write_json(out_path, doc)
    return doc


def load_pairs(path: str | Path, demo_path: str | Path | None = None) -> dict[str, Any]:
    """Read a pairs file written by the ``eval_pairs`` rule; with ``demo_path``, check that it
    was drawn from that demo file (content fingerprint, not row counts)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"pairs file {path} could not be read: {exc}") from exc
    if not {"offset", "budget", "pairs"} <= set(doc):
        raise ArtifactError(f"pairs file {path} lacks offset/budget/pairs")
    if demo_path is not None:
        with DemoFile(demo_path) as demo:
            fingerprint = demo.fingerprint
        if doc.get("demo_fingerprint") != fingerprint:
            raise ArtifactError(
                f"pairs file {path} was drawn from {doc.get('source')} (content fingerprint "
                f"{str(doc.get('demo_fingerprint'))[:12]}), not from {demo_path} (fingerprint "
                f"{fingerprint[:12]}); rerun eval_pairs for {demo_path}")
    return doc
