"""What the frozen world model sees and imagines, as pictures (the ``world_model_views`` rule).

1. An inspection decoder (:mod:`larc_core.world_model.latent_decoder`) is fitted on the cached
   latents of training-episode frames; it never feeds a policy or planner.
2. ``decoded``: validation frames beside their decodings (what one latent keeps).
3. ``rollout``: from a validation start, the predictor rolled forward under the recorded action
   blocks; real frames, decodings of their encoded latents and decodings of the imagined latents
   in three rows (figure), real beside imagined over time (GIF).
4. ``chunk``: for validation pairs of the evaluation, LARC-Chunk's own chunk from the start
   towards the goal, rolled through the predictor and decoded, beside the frames the simulator
   shows after executing the same actions, and the goal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.pairs import load_pairs
from larc_core.io import atomic_write_json, sha256_file
from larc_core.logs import get_logger
from larc_core.policies.checkpoint import load_policy
from larc_core.reporting.world_model_views import frame_grid, save_gif, save_png
from larc_core.world_model import load_world_model
from larc_core.world_model.batches import episode_rows
from larc_core.world_model.latent_cache import load_latent_cache
from larc_core.world_model.latent_decoder import decode, fit_latent_decoder

log = get_logger("world_model.views")


def _history(start: int, frameskip: int, history: int, first_row: int) -> list[int]:
    """Rows of the context frames ending at ``start``, ``frameskip`` apart, inside the episode."""
    rows = [start - k * frameskip for k in range(history - 1, -1, -1)]
    return [r for r in rows if r >= first_row]


def _blocks(actions: np.ndarray, first: int, n: int, frameskip: int) -> torch.Tensor:
    """Raw action blocks (1, n, frameskip * 2) leaving rows first, first+fs, ..."""
    a = actions[first:first + n * frameskip]
    return torch.as_tensor(a, dtype=torch.float32).reshape(1, n, -1)


def _rollout_start(demo: DemoFile, states: np.ndarray, span: int, lead: int) -> int:
    """The validation row whose next ``span`` steps move the block furthest (most to see)."""
    best, best_row = -1.0, None
    for e in demo.val_episodes:
        o, n = int(demo.ep_offset[e]), int(demo.ep_len[e])
        for r in range(o + lead, o + n - span, 5):
            d = float(np.linalg.norm(states[r + span, 2:4] - states[r, 2:4]))
            d += 40.0 * abs(float(states[r + span, 4] - states[r, 4]))
            if d > best:
                best, best_row = d, r
    if best_row is None:
        raise ValueError(f"no validation episode of {demo.path} is longer than {span + lead} "
                         "steps: lower views.rollout_blocks")
    return best_row


def world_model_views(demo_path: str | Path, world_model_path: str | Path,
                      latents_path: str | Path, chunk_backbone: str | Path,
                      chunk_stats: str | Path, pairs_path: str | Path,
                      out: dict[str, str | Path], decoder: dict[str, Any], seed: int = 0,
                      n_frames: int = 8, rollout_blocks: int = 8, n_pairs: int = 4,
                      ) -> dict[str, Any]:
    """Fit the inspection decoder and draw every picture; returns the summary written to
    ``out["json"]`` (decoder loss, per-block imagined vs encoded decoding error).

    ``out`` keys: ``decoded``, ``rollout`` (PNG), ``video`` (GIF), ``chunk`` (PNG), ``json``.
    ``decoder``: ``kind``, ``channels``, ``size``, ``steps``, ``batch_size``, ``lr``,
    ``foreground``.
    """
    torch.manual_seed(seed)
    wm_sha = sha256_file(world_model_path)
    model = load_world_model(world_model_path)
    cfg = model.cfg
    with DemoFile(demo_path) as demo:
        cache = load_latent_cache(latents_path, expected_wm_sha256=wm_sha,
                                  expected_latent_dim=cfg.latent_dim, demo=demo,
                                  world_model_path=world_model_path)
        latents = cache.latents.float()
        pixels = np.asarray(demo.h5["pixels"][:])
        states, actions = np.asarray(demo.state), np.asarray(demo.action)
        train_rows = episode_rows(demo.ep_offset, demo.ep_len, demo.train_episodes)
        val_rows = episode_rows(demo.ep_offset, demo.ep_len, demo.val_episodes)
        fs, span = cfg.frameskip, rollout_blocks * cfg.frameskip
        start = _rollout_start(demo, states, span, (cfg.history - 1) * fs)
        first_row = int(demo.ep_offset[demo.episode_idx[start]])
    if len(latents) != len(pixels):
        raise ValueError(f"latent cache {latents_path} has {len(latents)} rows, {demo_path} has "
                         f"{len(pixels)} frames")

    dec, losses = fit_latent_decoder(
        latents, pixels, train_rows, decoder.get("kind", "upsample"), tuple(decoder["channels"]),
        int(decoder.get("size", 32)), int(decoder["steps"]), int(decoder["batch_size"]),
        float(decoder["lr"]), seed, float(decoder.get("foreground", 0.0)),
        on_log=lambda s, v: log.info("inspection decoder step %d/%d loss %.5f", s,
                                     decoder["steps"], v))

    # 1. decoded validation frames
    pick = val_rows[np.linspace(0, len(val_rows) - 1, n_frames).round().astype(int)]
    decoded = decode(dec, latents[pick])
    save_png(frame_grid([list(pixels[pick]), list(decoded)], ["real", "decoded"],
                        [f"row {r}" for r in pick],
                        "Validation frames and their decodings from the frozen latents"),
             out["decoded"])

    # 2. imagined rollout under the recorded action blocks
    hist_rows = _history(start, fs, cfg.history, first_row)
    real_rows = [start + k * fs for k in range(rollout_blocks + 1)]
    with torch.no_grad():
        hist = latents[hist_rows][None]
        hist_actions = (torch.stack([_blocks(actions, r, 1, fs)[0, 0] for r in hist_rows[:-1]])[None]
                        if len(hist_rows) > 1 else None)
        imagined = model.rollout(hist, _blocks(actions, start, rollout_blocks, fs), hist_actions)[0]
    real = pixels[real_rows]
    enc_dec = decode(dec, latents[real_rows])
    imag_dec = np.concatenate([enc_dec[:1], decode(dec, imagined)])
    save_png(frame_grid(
        [list(real), list(enc_dec), list(imag_dec)],
        ["real", "decoded (encoded)", "decoded (imagined)"],
        [f"t+{k * fs}" for k in range(rollout_blocks + 1)],
        f"Imagined rollout: predictor from row {start} under the recorded actions, "
        f"{rollout_blocks} blocks of {fs} steps"), out["rollout"])
    save_gif([real, enc_dec, imag_dec], ["real", "encoded", "imagined"], out["video"],
             step_label=lambda t: f"t+{t * fs}")
    latent_err = ((imagined - latents[real_rows[1:]]) ** 2).mean(1).tolist()
    diff = (imag_dec[1:].astype(np.float64) - enc_dec[1:].astype(np.float64)) / 255.0
    pixel_err = (diff ** 2).mean(axis=(1, 2, 3)).tolist()

    # 3. LARC-Chunk's own chunk, imagined and executed
    policy, stats, _ = load_policy(chunk_backbone, chunk_stats, expected_world_model_sha256=wm_sha,
                                   expected_latent_dim=cfg.latent_dim)
    if policy.chunk_len % fs:
        raise ValueError(
            f"LARC-Chunk {chunk_backbone} predicts {policy.chunk_len} actions, not a whole number "
            f"of the world model's action blocks ({fs} actions each): its chunk cannot be "
            "imagined; set policy.chunk.chunk_len to a multiple of world_model.model.frameskip")
    pairs = load_pairs(pairs_path, demo_path)["pairs"][:n_pairs]
    n_blocks = policy.chunk_len // fs
    rows, labels = [], []
    with PushTEnv(resolution=pixels.shape[1]) as env:
        for p in pairs:
            s, g = int(p["start_row"]), int(p["goal_row"])
            with torch.no_grad():
                chunk = policy.act(latents[s][None], latents[g][None], stats)  # (1, K, 2)
                blocks = chunk[:, :n_blocks * fs].reshape(1, n_blocks, -1)
                z_imag = model.rollout(latents[s][None, None], blocks)[0]
            env.reset_to_state(np.asarray(p["start_state"], dtype=np.float64))
            executed = []
            for t, a in enumerate(chunk[0, :n_blocks * fs].numpy()):
                env.step(a)
                if (t + 1) % fs == 0:
                    executed.append(env.render())
            rows.append([pixels[s], *decode(dec, z_imag), pixels[g]])
            rows.append([pixels[s], *executed, pixels[g]])
            labels += [f"pair {s}: imagined", "executed"]
    cols = ["start", *[f"after block {k + 1}" for k in range(n_blocks)], "goal"]
    save_png(frame_grid(rows, labels, cols, "LARC-Chunk: what it expects its chunk to do "
                        "(decoded imagination) and what the simulator does"), out["chunk"])

    summary = {
        "world_model_sha256": wm_sha, "decoder": decoder, "decoder_final_loss":
        float(np.mean(losses[-100:])), "rollout_start_row": start,
        "rollout_latent_mse": latent_err, "rollout_pixel_mse_vs_encoded": pixel_err,
        "chunk_pairs": [int(p["start_row"]) for p in pairs], "chunk_backbone": str(chunk_backbone),
        "chunk_backbone_sha256": sha256_file(chunk_backbone), "pairs_file": str(pairs_path),
    }
    atomic_write_json(out["json"], summary)
    return summary
