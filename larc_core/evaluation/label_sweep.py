"""The labeled-fraction sweep: success against the share of training episodes with action labels.

For every fraction of ``label_efficiency.fractions`` and every row of
``label_efficiency.methods`` (LAPA and the few-label baselines), one job trains the row's stage
once per seed with ``lapa.labeled_fraction`` set to that fraction (the same labeled episodes for
every row: ``labeled_episodes``; LAPA fine-tunes the same seed's latent-pretrained checkpoint of
the default run) and runs it on the first ``label_efficiency.n_pairs`` evaluation pairs of every
offset, recording every episode. The report (``larc_core.reporting.label_efficiency``) sets each
row's success against the fraction and LAPA beside each baseline pair by pair. No setting is
chosen from it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from larc_core.io import atomic_write_json
from larc_core.logs import get_logger

log = get_logger("label_sweep")

def label_point(method: str, fraction: float, train_settings: dict[str, Any],
                eval_settings: dict[str, Any], seeds: list[int], demos: str, latents: str,
                world_model: str, init_dirs: dict[int, str], pairs: dict[int, str], out: str,
                train_fn: Callable[..., Any], evaluate_fn: Callable[..., dict],
                threads: int = 1) -> dict[str, Any]:
    """Train ``method``'s stage at one labeled fraction (every seed) and evaluate it.

    Args:
        train_settings: ``settings.train_policy(config, <the row's stage>)``; its
            ``labeled_fraction`` is replaced by ``fraction``.
        eval_settings: ``settings.evaluate(config, method)`` (``max_pairs``: the sweep's pairs).
        init_dirs: seed -> the checkpoint folder the stage starts from (LAPA: its pretraining),
            empty for a stage trained from scratch.
        pairs: offset -> evaluation pairs file; train_fn, evaluate_fn: ``stages.train_policy``
            and ``stages.evaluate`` (passed in so this module stays below the stages).

    Returns ``{"method", "fraction", "labeled_episodes", "runs": [{"seed", "offset",
    "successes", "n_episodes", "episodes": [{start_row, goal_row, success}]}]}``.
    """
    train = {**train_settings["train"], "labeled_fraction": float(fraction)}
    runs, labeled = [], None
    with tempfile.TemporaryDirectory(prefix=f"label_{method}_{fraction}_") as tmp:
        for seed in seeds:
            ckpt = f"{tmp}/seed{seed}"
            meta = train_fn({**train_settings, "train": train}, seed, demos, latents, world_model,
                            ckpt, init_dir=init_dirs.get(seed), state_dir=f"{tmp}/state{seed}")
            labeled = meta["train_episodes"]
            for offset, pair_file in sorted(pairs.items()):
                res = evaluate_fn(eval_settings, offset, demos, world_model, ckpt, pair_file,
                                  f"{tmp}/eval_{seed}_{offset}.json", seed=seed,
                                  threads=threads)
                runs.append({
                    "seed": seed, "offset": offset, "successes": res["successes"],
                    "n_episodes": res["n_episodes"],
                    "episodes": [{k: e[k] for k in ("start_row", "goal_row", "success")}
                                 for e in res["episodes"]]})
                log.info("label sweep %s at %.0f%% seed %d h%d: %d/%d", method, 100 * fraction,
                         seed, offset, res["successes"], res["n_episodes"])
    doc = {"method": method, "fraction": float(fraction), "labeled_episodes": labeled,
           "runs": runs}
    atomic_write_json(out, doc)
    return doc
