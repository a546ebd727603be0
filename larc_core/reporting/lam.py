"""``results/lam.md`` / ``.json``: what the latent action model learned, on held-out episodes.

Per training seed, on every window (z_t, z_t+k) of the validation episodes (k the model's
horizon; at most ``max_windows``, evenly spaced):

- codebook usage: the fraction of each slot's entries chosen at least once, each slot's
  perplexity exp(H) of its code frequencies (how many entries it effectively uses) and the
  perplexity of the joint code (all slots together);
- forward-model error: the mean squared error of the predicted z_t+k from z_t and the codes,
  against the copy baseline (predict z_t+k = z_t): the ratio says how much of the change the
  codes carry (also with the continuous latent action, no quantisation, for reference);
- a linear probe (diagnostic only; the model never reads actions): a ridge regression from the
  continuous latent action to the true action block a_t..a_t+k-1 (and to its sum, the net
  displacement), fitted on windows of the training episodes, R^2 on the validation windows;
  the same probe from the latent change z_t+k - z_t says what a linear read of the world
  model's latents gets without the latent action model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.io import atomic_write_json, atomic_write_text, sha256_file
from larc_core.objectives.base import TrainData
from larc_core.objectives.lam.model import load_latent_action_model
from larc_core.objectives.lam.objective import perplexity, window_starts
from larc_core.world_model import load_latent_cache

#: Targets the issue set for the model (codes in use; the codes carry the change).
PERPLEXITY_TARGET = 4.0
RATIO_TARGET = 0.5


def _even(rows: torch.Tensor, most: int) -> torch.Tensor:
    """At most ``most`` of ``rows``, evenly spaced (deterministic)."""
    if len(rows) <= most:
        return rows
    return rows[torch.linspace(0, len(rows) - 1, most).round().long()]


def ridge_r2(x_tr: torch.Tensor, y_tr: torch.Tensor, x_va: torch.Tensor, y_va: torch.Tensor,
             ridge: float) -> float:
    """R^2 (mean over outputs) on (x_va, y_va) of a ridge fit of y on standardised x (penalty
    ``ridge`` per training row)."""
    x_tr, x_va, y_tr, y_va = (t.double() for t in (x_tr, x_va, y_tr, y_va))
    mu, sd = x_tr.mean(0), x_tr.std(0).clamp_min(1e-8)
    x_tr, x_va = (x_tr - mu) / sd, (x_va - mu) / sd
    ym = y_tr.mean(0)
    a = x_tr.T @ x_tr + ridge * len(x_tr) * torch.eye(x_tr.shape[1], dtype=torch.float64)
    w = torch.linalg.solve(a, x_tr.T @ (y_tr - ym))
    ss_res = (y_va - (x_va @ w + ym)).pow(2).sum(0)
    ss_tot = (y_va - y_va.mean(0)).pow(2).sum(0).clamp_min(1e-12)
    return float((1 - ss_res / ss_tot).mean())


@torch.no_grad()
def _run(model: Any, latents: torch.Tensor, rows: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    out: dict[str, list[torch.Tensor]] = {"continuous": [], "indices": [], "err": [], "err_cont": [],
                                          "copy": [], "change": []}
    for chunk in rows.split(8192):
        z, zn = latents[chunk], latents[chunk + k]
        e = model.encode(z, zn)
        q, idx, _ = model.quantize(e)
        out["continuous"].append(e.flatten(1))
        out["indices"].append(idx)
        out["err"].append((model.predict(z, q) - zn).pow(2).mean(1))
        out["err_cont"].append((model.predict(z, e) - zn).pow(2).mean(1))
        out["copy"].append((z - zn).pow(2).mean(1))
        out["change"].append(zn - z)
    return {n: torch.cat(v) for n, v in out.items()}


def seed_metrics(model_path: str | Path, latents: torch.Tensor, actions: torch.Tensor,
                 data: TrainData, wm_sha256: str, ridge: float, max_windows: int
                 ) -> dict[str, Any]:
    """Every metric of one seed's model (see the module docstring)."""
    model, meta = load_latent_action_model(model_path, wm_sha256)
    k, size = int(meta["horizon"]), model.cfg.codebook_size
    va = _run(model, latents, _even(window_starts(data, data.val_episodes, k), max_windows), k)
    tr_rows = _even(window_starts(data, data.train_episodes, k), max_windows)
    tr = _run(model, latents, tr_rows, k)
    ind = va["indices"]
    joint = torch.zeros(len(ind), dtype=torch.long)
    for slot in range(ind.shape[1]):
        joint = joint * size + ind[:, slot]
    _, counts = joint.unique(return_counts=True)
    freq = counts.double() / counts.sum()
    copy = float(va["copy"].mean())

    def block(rows: torch.Tensor) -> torch.Tensor:
        return actions[rows.unsqueeze(1) + torch.arange(k)].flatten(1)

    va_rows = _even(window_starts(data, data.val_episodes, k), max_windows)
    y_tr, y_va = block(tr_rows), block(va_rows)
    sums_tr, sums_va = y_tr.view(-1, k, 2).sum(1), y_va.view(-1, k, 2).sum(1)
    return {
        "model": str(model_path), "horizon": k, "n_codes": model.cfg.n_codes,
        "codebook_size": size, "windows": len(ind), "steps": meta.get("steps"),
        "usage": [float((ind[:, s].bincount(minlength=size) > 0).double().mean())
                  for s in range(ind.shape[1])],
        "perplexity": [float(p) for p in perplexity(ind, size)],
        "joint_perplexity": float(torch.exp(-(freq * freq.log()).sum())),
        "joint_codes_used": len(counts),
        "copy_mse": copy,
        "forward_mse": float(va["err"].mean()),
        "forward_ratio": float(va["err"].mean()) / copy,
        "continuous_ratio": float(va["err_cont"].mean()) / copy,
        "probe_r2": ridge_r2(tr["continuous"], y_tr, va["continuous"], y_va, ridge),
        "probe_r2_sum": ridge_r2(tr["continuous"], sums_tr, va["continuous"], sums_va, ridge),
        "change_probe_r2": ridge_r2(tr["change"], y_tr, va["change"], y_va, ridge),
        "change_probe_r2_sum": ridge_r2(tr["change"], sums_tr, va["change"], sums_va, ridge),
    }


def render(res: dict[str, Any]) -> str:
    rows = res["seeds"]
    first = next(iter(rows.values()))
    lines = [
        "# Latent action model",
        "",
        f"Rule `lam_report` from the models of rule `train_lam` (one per seed; "
        f"`larc_core/objectives/lam`), trained on the training episodes' latents without their "
        f"actions. Horizon k = {first['horizon']} env steps, {first['n_codes']} codes of "
        f"{first['codebook_size']} entries each, {first['steps']} steps. Measured on "
        f"{first['windows']:,} windows (z_t, z_t+k) of the validation episodes; the probes are "
        f"fitted on as many windows of the training episodes.",
        "",
        "| seed | entries used per slot | perplexity per slot | joint perplexity (codes used) "
        "| forward error / copy | without quantisation | probe R^2: action block (sum) "
        "| same probe from z_t+k - z_t |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seed, m in rows.items():
        lines.append(
            f"| {seed} | {' / '.join(f'{100 * u:.0f}%' for u in m['usage'])} "
            f"| {' / '.join(f'{p:.1f}' for p in m['perplexity'])} "
            f"| {m['joint_perplexity']:.1f} ({m['joint_codes_used']}) "
            f"| {m['forward_ratio']:.3f} ({m['forward_mse']:.4f} / {m['copy_mse']:.4f}) "
            f"| {m['continuous_ratio']:.3f} "
            f"| {m['probe_r2']:.2f} ({m['probe_r2_sum']:.2f}) "
            f"| {m['change_probe_r2']:.2f} ({m['change_probe_r2_sum']:.2f}) |")
    s = res["summary"]
    lines += [
        "",
        f"Over the seeds: smallest slot perplexity {s['min_perplexity']:.1f} (target >= "
        f"{PERPLEXITY_TARGET:g}: {'met' if s['perplexity_met'] else 'NOT met'}); largest "
        f"forward error {s['max_forward_ratio']:.3f} x the copy baseline (target < "
        f"{RATIO_TARGET:g}: {'met' if s['ratio_met'] else 'NOT met'}).",
        "",
        "The forward error is what the codes explain of the change z_t -> z_t+k: the copy "
        "baseline predicts no change. The probe is a diagnostic: the model never reads actions; "
        "R^2 of the full block is bounded by what two endpoints can tell about the order of k "
        "actions, the sum (net displacement) is what they determine.",
        "",
    ]
    return "\n".join(lines)


def write_lam_report(models: dict[int, str | Path], demos: str | Path, latents: str | Path,
                     world_model: str | Path, out_md: str | Path, out_json: str | Path,
                     ridge: float, max_windows: int) -> dict[str, Any]:
    """Measure every seed's model and write the report (markdown and JSON, atomically)."""
    wm_sha = sha256_file(world_model)
    with DemoFile(demos) as demo:
        cache = load_latent_cache(latents, expected_wm_sha256=wm_sha, demo=demo,
                                  world_model_path=world_model)
        actions = torch.as_tensor(np.asarray(demo.action, dtype=np.float32))
        data = TrainData(latents=cache.latents.float(), actions=None,
                         ep_offset=np.asarray(demo.ep_offset), ep_len=np.asarray(demo.ep_len),
                         train_episodes=np.asarray(demo.train_episodes),
                         val_episodes=np.asarray(demo.val_episodes),
                         goal_offset_min=1, goal_offset_max=1)
    seeds = {int(s): seed_metrics(p, data.latents, actions, data, wm_sha, ridge, max_windows)
             for s, p in sorted(models.items())}
    ppl = min(min(m["perplexity"]) for m in seeds.values())
    ratio = max(m["forward_ratio"] for m in seeds.values())
    res = {"seeds": seeds, "summary": {
        "min_perplexity": ppl, "perplexity_met": ppl >= PERPLEXITY_TARGET,
        "max_forward_ratio": ratio, "ratio_met": ratio < RATIO_TARGET}}
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, render(res))
    return res
