"""``results/standard.md`` / ``.json``: gym-pusht's own task (rule ``standard_report``, from the
``eval_info.json`` of rule ``eval_standard``), every trained row with its seeds pooled, beside
LeRobot's published Diffusion Policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.reporting.results import wilson_interval

_SETTINGS = ("start_seed", "n_episodes", "subgoal", "subgoal_offset")


def _read_info(path: str | Path, settings: dict[str, Any]) -> dict[str, Any]:
    """One eval_info.json, checked against the run's settings and its place (row, seed)."""
    try:
        doc = json.loads(Path(path).read_text())
        larc, overall = doc["larc"], doc["overall"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ArtifactError(f"standard-task record {path} is unreadable or not an "
                            f"eval_info.json of rule eval_standard ({exc}); rerun it") from exc
    method, seed = Path(path).parent.parent.name, Path(path).parent.name
    if larc.get("method") != method or f"seed{larc.get('seed')}" != seed:
        raise ArtifactError(
            f"{path} holds method {larc.get('method')!r} seed {larc.get('seed')!r}, but its "
            f"place says {method!r} {seed!r}; rerun eval_standard for it")
    for key in _SETTINGS:
        want = settings[key]
        got = overall["n_episodes"] if key == "n_episodes" else larc.get(key)
        if got != want:
            raise ArtifactError(f"{path} was run with {key}={got!r}, the config says {want!r}; "
                                f"rerun eval_standard")
    return doc


def write_standard_report(info_files: list[str], settings: dict[str, Any],
                          out_md: str | Path, out_json: str | Path) -> dict[str, Any]:
    """Per row: pc_success over all its episodes (seeds pooled, Wilson 95% interval) and per
    seed, avg_max_reward, avg_sum_reward, seconds per episode, its videos."""
    docs = [(_read_info(f, settings), f) for f in info_files]
    rows = []
    for method, label in settings["labels"].items():
        mine = sorted(((d, f) for d, f in docs if d["larc"]["method"] == method),
                      key=lambda x: x[0]["larc"]["seed"])
        if not mine:
            continue
        episodes = [e for d, _ in mine for e in d["per_episode"]]
        k, n = sum(bool(e["success"]) for e in episodes), len(episodes)
        lo, hi = wilson_interval(k, n)
        rows.append({
            "method": method, "label": label, "successes": k, "n_episodes": n,
            "pc_success": 100.0 * k / n, "ci": [100.0 * lo, 100.0 * hi],
            "per_seed": {str(d["larc"]["seed"]): d["overall"]["pc_success"] for d, _ in mine},
            "avg_max_reward": float(np.mean([e["max_reward"] for e in episodes])),
            "avg_sum_reward": float(np.mean([e["sum_reward"] for e in episodes])),
            "median_max_coverage": float(np.median([e["max_coverage"] for e in episodes])),
            "eval_ep_s": float(np.mean([d["overall"]["eval_ep_s"] for d, _ in mine])),
            "video_paths": [v for d, _ in mine for v in d["overall"]["video_paths"]],
        })
    best = max(rows, key=lambda r: r["pc_success"], default=None)
    res = {"settings": {k: settings[k] for k in _SETTINGS}, "rows": rows,
           "references": settings["references"],
           "best": None if best is None else {k: best[k] for k in ("method", "pc_success",
                                                                   "n_episodes")}}
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, _render(res, Path(out_md)))
    return res


def _render(res: dict[str, Any], md_path: Path) -> str:
    s = res["settings"]
    lines = [
        "# gym-pusht's own task (LeRobot's PushT evaluation)",
        "",
        f"Rule `standard_report` from rule `eval_standard`: each row below, every training "
        f"seed, run from gym-pusht's random starts `reset(seed={s['start_seed']} + i)`, "
        f"i < {s['n_episodes']} per seed, up to 300 steps; success = the block covers more than 95% of the green "
        f"target T at any step (gym-pusht's own test); reward = clip(coverage / 0.95, 0, 1). "
        f"Goal: {_goal_text(s)}. Cells pool the seeds (Wilson 95% interval).",
        "",
        "| Method | pc_success | per seed | avg_max_reward | avg_sum_reward | median max coverage "
        "| s / episode | videos |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in res["rows"]:
        seeds = " / ".join(f"{v:.0f}" for v in r["per_seed"].values())
        videos = ", ".join(f"[{i}]({Path(v).relative_to(md_path.parent) if _under(v, md_path) else v})"
                           for i, v in enumerate(r["video_paths"]))
        lines.append(
            f"| {r['label']} | {r['pc_success']:.1f}% ({r['successes']}/{r['n_episodes']}, CI "
            f"{r['ci'][0]:.0f}-{r['ci'][1]:.0f}%) | {seeds} | {r['avg_max_reward']:.3f} | "
            f"{r['avg_sum_reward']:.1f} | {r['median_max_coverage']:.3f} | {r['eval_ep_s']:.2f} | "
            f"{videos} |")
    for ref in res["references"]:
        lines.append(f"| {ref['label']} (published) | {ref['pc_success']:.1f}% "
                     f"({ref['n_episodes']} episodes) | - | - | - | - | - | - |")
    best = res["best"]
    if best is not None:
        refs = "; ".join(f"{r['label']}: {r['pc_success']:.1f}% over {r['n_episodes']}"
                         for r in res["references"])
        lines += ["", f"Best row: {best['method']} at {best['pc_success']:.1f}% over "
                      f"{best['n_episodes']} episodes" + (f" ({refs})." if refs else ".")]
    return "\n".join([*lines, ""])


def _under(path: str, md_path: Path) -> bool:
    try:
        Path(path).relative_to(md_path.parent)
        return True
    except ValueError:
        return False


def _goal_text(s: dict[str, Any]) -> str:
    if s["subgoal"] == "retrieval":
        return (f"retrieved subgoals (at every policy query the nearest latent of the expert's "
                f"own training episodes, and the latent {s['subgoal_offset']} steps later in "
                f"that episode as the goal; larc_core/evaluation/standard.py)")
    return ("the simulator's image of the T resting on the target, the agent where the expert's "
            "episodes end")
