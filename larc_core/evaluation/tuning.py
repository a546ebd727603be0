"""Choosing a setting without the test pairs: the WM-FT sweep on tuning pairs.

A setting chosen by its score on the results table's own pairs is tuned on the test set. The
sweep instead evaluates every WM-FT setting (a point of ``wm_ft_sweep.grid``: overrides of the
sweep's fixed ``wm_ft_sweep.base`` block) on *tuning pairs*: start/goal pairs drawn from training episodes with a seed
of their own (``larc_core.evaluation.pairs``, ``split="train"``). Each point fine-tunes the
default run's Chunk checkpoints (one per sweep seed), runs them on the tuning pairs of every
offset, and records every episode; the report sets each point beside the Chunk policy it
starts from (a paired difference on the same tuning pairs) and selects by
:func:`select_point`: the config's current setting stays unless a point beats it pair by pair.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.logs import get_logger

log = get_logger("tuning")

#: The grid point that evaluates the Chunk checkpoints themselves (no fine-tuning).
NO_FINE_TUNING = "chunk"
#: Family-wise error rate of the selection: a point replaces the incumbent at p < this / k.
SELECT_ALPHA = 0.05


def wm_ft_point(point: str, overrides: dict[str, Any], base: dict[str, Any],
                train_settings: dict[str, Any], eval_settings: dict[str, Any], seeds: list[int],
                demos: str, latents: str, world_model: str, chunk_dirs: dict[int, str],
                pairs: dict[int, str], out: str, train_fn: Callable[..., Any],
                evaluate_fn: Callable[..., dict], threads: int = 1) -> dict[str, Any]:
    """Fine-tune (unless ``point`` is :data:`NO_FINE_TUNING`) and evaluate one grid point.

    Args:
        point: the grid point's name; overrides: its overrides of ``base``, the sweep's WM-FT
            block (the point trains with ``policy.wm_ft | base | overrides``).
        train_settings: ``settings.train_policy(config, "wm_ft")`` (its ``train`` block is
            replaced).
        eval_settings: ``settings.evaluate(config, "larc_chunk_wm_ft")``.
        seeds: sweep seeds; chunk_dirs: seed -> the Chunk checkpoint folder it starts from.
        pairs: offset -> tuning pairs file; out: the point's JSON.
        train_fn, evaluate_fn: the training and evaluation stages (``stages.train_policy``,
            ``stages.evaluate``), passed in so this module stays below the stages.
        threads: evaluation worker processes.

    Returns:
        ``{"point", "overrides", "train", "runs": [{"seed", "offset", "successes",
        "n_episodes", "episodes": [{start_row, goal_row, success}]}]}``.
    """
    # Keys the sweep leaves alone (batch size, ...) keep the config's policy.wm_ft values.
    train = {**train_settings["train"], **base, **overrides}
    runs = []
    with tempfile.TemporaryDirectory(prefix=f"wm_ft_{point}_") as tmp:
        for seed in seeds:
            if point == NO_FINE_TUNING:
                method, ckpt = "larc_chunk", chunk_dirs[seed]
                ev = {**eval_settings, "method": method}
            else:
                method, ckpt = "larc_chunk_wm_ft", f"{tmp}/seed{seed}"
                train_fn({**train_settings, "train": train}, seed, demos, latents,
                         world_model, ckpt, init_dir=chunk_dirs[seed],
                         state_dir=f"{tmp}/state{seed}")
                ev = eval_settings
            for offset, pair_file in sorted(pairs.items()):
                res = evaluate_fn(ev, offset, demos, world_model, ckpt, pair_file,
                                      f"{tmp}/eval_{seed}_{offset}.json", seed=seed,
                                      threads=threads)
                runs.append({
                    "seed": seed, "offset": offset, "successes": res["successes"],
                    "n_episodes": res["n_episodes"], "pairs_file": pair_file,
                    "episodes": [{k: e[k] for k in ("start_row", "goal_row", "success")}
                                 for e in res["episodes"]]})
                log.info("wm_ft sweep %s seed %d h%d: %d/%d", point, seed, offset,
                         res["successes"], res["n_episodes"])
    doc = {"point": point, "overrides": overrides,
           "train": train if point != NO_FINE_TUNING else None, "runs": runs}
    atomic_write_json(out, doc)
    return doc


def _outcomes(doc: dict[str, Any], offset: int | None = None
              ) -> dict[tuple[int, ...], list[float]]:
    """A point's pair -> successes of its seeds: ``(start row, goal row)`` at ``offset``, or
    ``(offset, start row, goal row)`` over every offset when ``offset`` is None (pooled)."""
    from larc_core.evaluation.statistics import add_outcomes

    out: dict[tuple[int, ...], list[float]] = {}
    for run in doc["runs"]:
        if offset is None:
            one: dict[tuple[int, int], list[float]] = {}
            add_outcomes(one, run["episodes"])
            for key, wins in one.items():
                out.setdefault((run["offset"], *key), []).extend(wins)
        elif run["offset"] == offset:
            add_outcomes(out, run["episodes"])
    return out


def select_point(docs: dict[str, dict[str, Any]], incumbent: str
                 ) -> tuple[str, dict[str, dict[str, Any]]]:
    """The selection rule: every tuned point is compared with the ``incumbent`` (the setting
    the config holds) pair by pair, pooled over offsets and seeds; a point is selected only
    when that interval lies above zero and its p-value is below :data:`SELECT_ALPHA` over the
    number of points compared (Bonferroni; the highest pooled difference among such points),
    else the incumbent stays. Returns the selected name and each point's pooled comparison."""
    from larc_core.evaluation.statistics import paired_difference

    if incumbent not in docs or incumbent == NO_FINE_TUNING:
        raise ArtifactError(f"wm_ft_sweep.incumbent {incumbent!r} is not a fine-tuned point of "
                            f"the sweep; its points are {sorted(docs)}")
    ref = _outcomes(docs[incumbent])
    pooled = {name: paired_difference(_outcomes(d), ref, seed=len(name))
              for name, d in docs.items() if name not in (NO_FINE_TUNING, incumbent)}
    # Bonferroni over the challengers: with k points tried, one of them clears a 5% test by
    # chance far more often than 5% of the time.
    alpha = SELECT_ALPHA / max(len(pooled), 1)
    better = [n for n, c in pooled.items() if c["ci"][0] > 0 and c["p_value"] < alpha]
    return (max(better, key=lambda n: pooled[n]["difference"]) if better else incumbent), pooled


def wm_ft_report(point_files: list[str], out_md: str, out_json: str,
                 current: dict[str, Any], incumbent: str) -> dict[str, Any]:
    """Gather the points' JSONs: mean success per offset, the paired difference to the Chunk
    policy (:data:`NO_FINE_TUNING`) per offset and to the ``incumbent`` pooled, and the point
    :func:`select_point` selects. ``current`` is the config's ``policy.wm_ft`` block, so the
    report says whether the default is the selection."""
    from larc_core.evaluation.statistics import paired_difference

    docs = [json.loads(Path(p).read_text()) for p in point_files]
    by_name = {d["point"]: d for d in docs}
    if NO_FINE_TUNING not in by_name:
        raise ArtifactError(f"the WM-FT sweep needs its {NO_FINE_TUNING!r} point (the Chunk "
                            "policy it starts from) to compare against")
    selected, pooled = select_point(by_name, incumbent)
    base = by_name[NO_FINE_TUNING]
    offsets = sorted({r["offset"] for r in base["runs"]})
    rows = []
    for d in docs:
        rates, diffs = {}, {}
        for o in offsets:
            runs = [r for r in d["runs"] if r["offset"] == o]
            rates[o] = 100.0 * sum(r["successes"] for r in runs) / sum(r["n_episodes"]
                                                                      for r in runs)
            if d["point"] != NO_FINE_TUNING:
                diffs[o] = paired_difference(_outcomes(d, o), _outcomes(base, o), seed=o)
        rows.append({"point": d["point"], "overrides": d["overrides"], "train": d["train"],
                     "rates": rates, "mean": sum(rates.values()) / len(rates),
                     "vs_chunk": diffs, "vs_incumbent": pooled.get(d["point"])})
    chosen = by_name[selected]["train"]
    res = {"offsets": offsets, "rows": rows, "incumbent": incumbent, "selected": selected,
           "selected_train": chosen,
           "default_is_selected": all(current.get(k) == v for k, v in chosen.items()),
           "n_pairs": {o: len(_outcomes(base, o)) for o in offsets},
           "seeds": sorted({r["seed"] for r in base["runs"]})}
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, render_wm_ft(res))
    return res


def _ci(d: dict[str, Any]) -> str:
    return f"{d['difference']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}]"


def render_wm_ft(res: dict[str, Any]) -> str:
    """``results/wm_ft.md`` from :func:`wm_ft_report`."""
    offsets, inc = res["offsets"], res["incumbent"]
    n = ", ".join(f"h{o}: {res['n_pairs'][o]}" for o in offsets)
    lines = [
        "# WM-FT settings, chosen on tuning pairs", "",
        "Every point fine-tunes the default run's LARC-Chunk checkpoints (seeds "
        f"{', '.join(map(str, res['seeds']))}) with its overrides of `policy.wm_ft` and runs "
        f"them on *tuning pairs* ({n}), drawn from training episodes with a seed of their own: "
        "never the results table's pairs. Success in percent per offset; the difference to "
        "LARC-Chunk (the `chunk` point: the checkpoints it starts from) is paired on the same "
        "pairs and seeds, with its 95% bootstrap interval.", "",
        f"Selection (rule `wm_ft_sweep`): the incumbent `{inc}` holds the setting the config "
        "had before the sweep; each other point is compared with it pair by pair, pooled over "
        "offsets and seeds (points, 95% interval). A point replaces the incumbent only when "
        "that interval lies above zero and its permutation p-value is below 0.05 / (points "
        "compared) (Bonferroni: with many points one clears a 5% test by chance); a higher "
        "mean alone is noise at this size.", "",
        "| point | overrides of policy.wm_ft | " + " | ".join(f"h{o}" for o in offsets)
        + f" | mean | vs LARC-Chunk (points) | vs `{inc}`, pooled (points) |",
        "|---|---|" + "---:|" * len(offsets) + "---:|---|---|",
    ]
    for r in res["rows"]:
        over = ", ".join(f"{k}={v}" for k, v in r["overrides"].items()) or "-"
        mark = " **(selected)**" if r["point"] == res["selected"] else ""
        vs = "; ".join(f"h{o} {d['difference']:+.0f} [{d['ci'][0]:+.0f}, {d['ci'][1]:+.0f}]"
                       for o, d in r["vs_chunk"].items()) or "-"
        vi = ("incumbent" if r["point"] == inc else
              _ci(r["vs_incumbent"]) if r.get("vs_incumbent") else "-")
        lines.append(f"| `{r['point']}`{mark} | {over} | "
                     + " | ".join(f"{r['rates'][o]:.0f}" for o in offsets)
                     + f" | {r['mean']:.1f} | {vs} | {vi} |")
    chosen = ", ".join(f"{k}: {v}" for k, v in (res["selected_train"] or {}).items())
    why = ("no point is above the incumbent" if res["selected"] == inc
           else "its pooled interval lies above the incumbent's")
    lines += ["", f"Selected: `{res['selected']}` ({why}; {chosen}). The config's "
              "`policy.wm_ft` " + ("**is** this setting." if res["default_is_selected"] else
                                   "is **not** this setting: copy it there and rerun the "
                                   "default target.")]
    return "\n".join(lines) + "\n"
