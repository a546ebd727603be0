"""Sections of ``results/world_model.md`` beyond the health metrics: what the world model costs
the policies (latent rows vs their true-state ceiling on the same pairs), the world-model
settings tried (from ``benchmarks/world_model_probe.py``) and the pictures of what it sees."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError
from larc_core.reporting.results import wilson_interval

#: Latent table rows compared with their true-state ceiling: method key -> ceiling stage.
GAP_METHODS = {"larc_idm": "idm", "larc_chunk": "chunk"}
#: Largest gap (percentage points) between a latent row and its ceiling that counts as closed.
GAP_TARGET_POINTS = 10.0


def _pct(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{100 * k / n:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"


def gap_section(eval_files: list[str | Path], ceiling_path: str | Path) -> str:
    """Markdown: per offset, each LARC row on the latents (pooled over its seeds) beside the same
    policy trained on the true state, on the same pairs (checked by the pairs file's hash)."""
    ceiling = json.loads(Path(ceiling_path).read_text())
    latent: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for path in eval_files:
        doc = json.loads(Path(path).read_text())
        if doc["method"] in GAP_METHODS:
            latent.setdefault((doc["method"], int(doc["offset"])), []).append(doc)
    lines = [
        "## Latent-policy gap: what the world model costs the policies", "",
        f"The same policy classes, trainer and settings trained on the true state (agent and "
        f"block pose; seed {ceiling['seed']}) instead of the frozen latents, run on the "
        "evaluation's own pairs (rule `state_ceiling`). Latent rows pool their seeds' episodes. "
        f"Closed when the latent row is within {GAP_TARGET_POINTS:g} points of its ceiling. "
        "Success with 95% Wilson intervals.", "",
        "| policy | offset | on the latents | on the true state | gap (points) | closed |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(ceiling["rows"], key=lambda r: (r["stage"], r["offset"])):
        method = next(m for m, s in GAP_METHODS.items() if s == row["stage"])
        docs = latent.get((method, row["offset"]))
        if not docs:
            continue
        for doc in docs:
            if doc["pairs_sha256"] != row["pairs_sha256"]:
                raise ArtifactError(
                    f"{doc['pairs_file']} (evaluation of {method}) and the state ceiling's "
                    f"{row['pairs_file']} differ (sha256): rerun rule state_ceiling")
        k = sum(int(d["successes"]) for d in docs)
        n = sum(int(d["n_episodes"]) for d in docs)
        gap = 100 * (row["success_rate"] - k / n)
        lines.append(
            f"| {docs[0]['label']} | {row['offset']} | {_pct(k, n)} | "
            f"{_pct(row['successes'], row['n_episodes'])} | {gap:+.0f} | "
            f"{'yes' if gap <= GAP_TARGET_POINTS else '**no**'} |")
    return "\n".join(lines)


def settings_section(probe_log: str | Path) -> str:
    """Markdown table of the world-model settings measured by ``benchmarks/world_model_probe.py``
    (one JSON line per run: overrides, training time, ridge and MLP R^2, commit)."""
    runs = [json.loads(line) for line in Path(probe_log).read_text().splitlines() if line.strip()]
    lines = [
        "## World-model settings tried", "",
        "Each row: the default config of the commit listed with the listed `world_model.*` "
        "overrides (the default of `f486606` and `55e43b8`: a flatten-head cnn encoder, 1,500 "
        "steps at lr 3e-4, no decoder), trained by the project's trainer on state-expert "
        "demonstrations of the default data config with the episodes listed, and probed as above "
        "(`benchmarks/world_model_probe.py`, 2 cores; each run appends a line to "
        "`benchmarks/world_model_probe.jsonl`). R^2 as ridge / MLP. A commit marked `+dirty` ran "
        "uncommitted experiment code on top of it.", "",
        "| overrides | episodes | train s | block x | block y | sin | cos | agent x | agent y | "
        "commit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        if run.get("supervised"):
            setting = f"supervised CNN on pixels ({run['supervised']} steps, state labels: a bound)"
        else:
            setting = "<br>".join(f"`{s}`" for s in run["set"]) or "default"
        if run.get("note"):
            setting += f" ({run['note']})"
        cells = [f"{r:.2f} / {m:.2f}" if m is not None else f"{r:.2f}"
                 for r, m in zip(run["ridge"], run.get("mlp") or [None] * 6, strict=True)]
        lines.append(f"| {setting} | {run.get('episodes', '?')} | {run['train_s']:.0f} | "
                     f"{' | '.join(cells)} | "
                     f"`{run.get('commit', '?')[:7]}{'+dirty' if run.get('commit', '').endswith('+dirty') else ''}` |")
    return "\n".join(lines)


def views_section(views: dict[str, str | Path], md_path: str | Path) -> str:
    """Markdown linking the pictures of rule ``world_model_views`` (paths relative to the
    report)."""
    base = Path(md_path).resolve().parent

    def rel(p: str | Path) -> str:
        return Path(os.path.relpath(Path(p).resolve(), base)).as_posix()

    summary = json.loads(Path(views["json"]).read_text())
    err = " / ".join(f"{v:.4f}" for v in summary["rollout_pixel_mse_vs_encoded"])
    return "\n".join([
        "## What the world model sees (inspection decoder)", "",
        "A decoder trained on the frozen latents (rule `world_model_views`; never used by a "
        f"policy or planner; final pixel MSE {summary['decoder_final_loss']:.4f}).", "",
        f"![Decoded frames]({rel(views['decoded'])})", "",
        f"Imagined rollout from validation row {summary['rollout_start_row']}: the predictor "
        "rolled forward under the recorded action blocks, decoded (pixel MSE against the "
        f"decoded encodings of the real frames, per block: {err}); "
        f"[video]({rel(views['video'])}).", "",
        f"![Imagined rollout]({rel(views['rollout'])})", "",
        f"LARC-Chunk (`{summary['chunk_backbone']}`): its own chunk rolled through the "
        "predictor and decoded, beside what the simulator does with the same actions.", "",
        f"![LARC-Chunk imagination]({rel(views['chunk'])})",
    ])
