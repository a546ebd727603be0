"""``results/world_model.md``: the world-model health report and its figure (the numbers come
from :mod:`larc_core.world_model.health`), and the sections beyond the health metrics: what the
world model costs the policies (latent rows vs their true-state ceiling on the same pairs), the
world-model settings tried (from ``benchmarks/world_model_probe.py``) and the pictures of what
it sees."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.reporting.figure_io import save_figure
from larc_core.reporting.results import wilson_interval

if TYPE_CHECKING:
    import torch

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


COUNTERFACTUAL_LABELS = {
    "recorded": "the recorded actions",
    "noisy": "recorded + Gaussian noise ({noise:g} in z-scored units)",
    "random": "random z-scored blocks, N(0, 1) (what CEM samples first)",
}


def counterfactual_section(path: str | Path, world_model_path: str | Path) -> str:
    """Markdown of rule ``counterfactual``'s results (refused when they were measured on
    another world model than ``world_model_path``)."""
    from larc_core.io import sha256_file

    path = Path(path)
    res = json.loads(path.read_text())
    sha = sha256_file(world_model_path)
    if res.get("world_model_sha256") != sha:
        raise ArtifactError(
            f"{path} was measured on world model sha256 {str(res.get('world_model_sha256'))[:12]}"
            f", not on {world_model_path} ({sha[:12]}): rerun rule counterfactual")
    cf = res["counterfactual"]
    lines = [
        "## Counterfactual prediction: what other actions do", "",
        f"From {cf['n_starts']} validation start states, {cf['n_blocks']} action blocks "
        f"({cf['env_steps']} env steps) are executed in the simulator, the final frame is "
        "rendered and encoded, and the frozen predictor's rollout from the start latent under "
        "the same blocks is scored against it (latent MSE per dimension), beside the copy "
        "baseline (predict no change). A planner asks the model about actions the "
        "demonstrations never took; below 1 the model beats predicting no change "
        "(rule `counterfactual`).", "",
        "| actions | model MSE | copy MSE | model / copy | block motion, median px |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, row in cf["kinds"].items():
        label = COUNTERFACTUAL_LABELS.get(kind, kind).format(noise=cf["noise_std"])
        lines.append(f"| {label} | {_fmt(row['model_mse'])} | {_fmt(row['copy_mse'])} | "
                     f"{_fmt(row['model_over_copy'], '.3f')} | "
                     f"{row['median_block_motion_px']:.1f} |")
    d = res.get("diagnosis")
    if d:
        p = d["planner"]
        n = d["n_pairs"]
        lines += [
            "", "### Planning diagnosis", "",
            f"One CEM plan ({p['samples']} samples x {p['iterations']} iterations, top "
            f"{p['top_k']}, horizon {p['horizon']} blocks) from each of the first {n} "
            f"evaluation pairs at offset {d['offset']} toward its goal frame, against the "
            "recorded actions leaving the same start. Model cost: squared distance of the last "
            "predicted latent to the goal latent. Open loop: the plan's actions executed in the "
            "simulator, success at any of its steps. A plan that the model scores below the "
            "true actions yet misses the goal exploits the model's errors.", "",
            "| | CEM plan | recorded actions |", "|---|---:|---:|",
            f"| model cost, median | {_fmt(d['plan_cost_median'])} | "
            f"{_fmt(d['recorded_cost_median'])} |",
            f"| pairs where the plan's cost is below the recorded actions' | "
            f"{d['plan_below_recorded']} / {n} | - |",
            f"| executed open loop: reaches the goal | {d['open_loop_successes']} / {n} | "
            f"{d['recorded_open_loop_successes']} / {n} |",
        ]
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


# ------------------------------------------------------------------ health report
def _fmt(x: float | None, spec: str = ".4g") -> str:
    return "n/a" if x is None else format(x, spec)


def render_health(res: dict[str, Any], fig_link: str,
                  extra_sections: tuple[str, ...] = ()) -> str:
    """Markdown of the health results ``res`` (as measured by
    :func:`larc_core.world_model.health.measure_health`), the figure linked as ``fig_link``,
    then ``extra_sections``."""
    prov, pred, probe = res["provenance"], res["prediction"], res["probe"]
    lines = [
        "# World-model health", "",
        f"World model `{prov['world_model_path']}` (sha256 `{prov['world_model_sha256'][:12]}`), "
        f"latents `{prov['latents_path']}`, demos `{prov['demo_path']}`; "
        f"{prov['n_val_episodes']} validation / {prov['n_train_episodes']} training episodes, "
        f"frameskip {prov['frameskip']}, history {prov['history']}, seed {prov['seed']}. "
        "All errors are MSE per latent dimension on validation episodes; targets are the cached "
        f"latents (mean per-dimension variance of validation latents: "
        f"{_fmt(pred['latent_var'])}).", "",
        "## Next-latent prediction", "",
        f"Teacher-forced `predict` over {pred['n_windows']} windows of {pred['num_frames']} "
        "frames; baseline copies the last latent (z_{t+1} = z_t).", "",
        "| predictor MSE | copy-last baseline MSE | predictor / baseline |",
        "|---|---|---|",
        f"| {_fmt(pred['model_mse'])} | {_fmt(pred['copy_mse'])} | {_fmt(pred['ratio'], '.3f')} |",
        "",
        "## Multi-step rollout", "",
        f"`rollout` from one start latent with the recorded action blocks "
        f"({res['rollout']['n_starts']} starts); baseline keeps the start latent.", "",
        "| k (blocks) | env steps | model MSE | copy baseline MSE | model / baseline |",
        "|---|---|---|---|---|",
    ]
    for row in res["rollout"]["rows"]:
        lines.append(f"| {row['k']} | {row['env_steps']} | {_fmt(row['model_mse'])} | "
                     f"{_fmt(row['copy_mse'])} | {_fmt(row['ratio'], '.3f')} |")
    lines += [
        "", "## Probes: what the latents keep of the state", "",
        f"Ridge regression (standardised latents, intercept, lambda {probe['lambda']:g} per row) "
        f"and an MLP probe ({probe['mlp']}) fitted on {probe['n_train_rows']} training rows, R^2 "
        f"on {probe['n_val_rows']} validation rows. Read-only diagnostics: no state enters the "
        "world model's loss. A target is met when either probe reaches it.", "",
        "| target | ridge R^2 | MLP R^2 | target | met |", "|---|---|---|---|---|",
    ]
    for name, r2 in probe["r2"].items():
        met = "yes" if probe["r2_targets_met"][name] else "**no**"
        lines.append(f"| {name} | {_fmt(r2, '.3f')} | {_fmt(probe['mlp_r2'][name], '.3f')} | "
                     f">= {probe['r2_targets'][name]:g} | {met} |")
    verdict = "met" if probe["all_r2_targets_met"] else "NOT met"
    lines += ["", f"All probe targets: **{verdict}**.", "", f"![World-model health]({fig_link})",
              ""]
    for section in extra_sections:
        lines += [section, ""]
    return "\n".join(lines)


def plot_health(res: dict[str, Any], out_png: str | os.PathLike) -> None:
    """Two panels: rollout MSE vs k (model, copy baseline); probe R^2 bars with the target."""
    # Object-oriented Agg API: no pyplot, so the process-wide backend is left untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), dpi=120)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    rows = res["rollout"]["rows"]
    ks = [r["k"] for r in rows]
    nan = float("nan")
    ax1.plot(ks, [nan if r["model_mse"] is None else r["model_mse"] for r in rows], "o-",
             label="world model rollout")
    ax1.plot(ks, [nan if r["copy_mse"] is None else r["copy_mse"] for r in rows], "s--",
             label="copy start latent")
    ax1.set_xlabel(f"k (action blocks of {res['provenance']['frameskip']} env steps)")
    ax1.set_ylabel("latent MSE (validation)")
    ax1.set_xticks(ks)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ax1.set_title("Open-loop rollout error")
    names = list(res["probe"]["r2"])
    x = np.arange(len(names))
    finite: list[float] = []
    for shift, key, label in ((-0.2, "r2", "ridge"), (0.2, "mlp_r2", "MLP")):
        vals = [nan if v is None else v for v in res["probe"][key].values()]
        finite += [v for v in vals if math.isfinite(v)]
        ax2.bar(x + shift, vals, width=0.4, label=label)
        for i, v in enumerate(vals):
            if math.isfinite(v):
                ax2.text(i + shift, max(v, -0.95), f"{v:.2f}", ha="center", va="bottom",
                         fontsize=6)
    targets = [res["probe"]["r2_targets"][n] for n in names]
    ax2.scatter(x, targets, marker="_", s=400, color="tab:red", label="target", zorder=3)
    ax2.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax2.set_ylabel("R^2 (validation)")
    # Show moderately negative R^2 but floor the axis so the targets stay readable.
    ax2.set_ylim(max(min([0.0, *finite]), -1.0) - 0.1, 1.1)
    ax2.legend(fontsize=7, loc="lower left")
    ax2.set_title("Probes from latents")
    save_figure(fig, out_png)


def world_model_health(demo_path: str | os.PathLike, world_model_path: str | os.PathLike,
                       latents_path: str | os.PathLike, out_md: str | os.PathLike,
                       out_json: str | os.PathLike, out_png: str | os.PathLike, *,
                       max_windows: int = 512, rollout_blocks: int = 10, seed: int = 0,
                       progress: bool = True, device: str | torch.device = "cpu",
                       extra_sections: list[str] | tuple[str, ...] = (),
                       **measure: Any) -> dict[str, Any]:
    """Measure the world model's health (:func:`larc_core.world_model.health.measure_health`,
    which documents the measurement arguments and errors) and write the figure ``out_png``, the
    numbers ``out_json`` and the report ``out_md`` (all atomically; nothing is written when the
    measurement fails). ``extra_sections``: Markdown sections appended to the report (the
    latent-policy gap, the settings tried, the pictures: the ``*_section`` functions here).
    ``measure``: further arguments of ``measure_health`` (``probe_steps``).

    Returns:
        The dict written to ``out_json``.
    """
    # Deferred: the Markdown sections above are read without importing torch.
    from larc_core.world_model.health import measure_health

    res = measure_health(demo_path, world_model_path, latents_path, max_windows=max_windows,
                         rollout_blocks=rollout_blocks, seed=seed, progress=progress,
                         device=device, **measure)
    out_md, out_png = Path(out_md), Path(out_png)
    fig_link = Path(os.path.relpath(out_png.resolve(), out_md.resolve().parent)).as_posix()
    plot_health(res, out_png)
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, render_health(res, fig_link, tuple(extra_sections)))
    return res
