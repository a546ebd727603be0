"""Encode every frame of a demonstration file once with the frozen world model.

The cache records the sha256 of the world-model checkpoint that produced it, so a consumer
holding a different world model gets a clear error instead of silently mixing latent spaces.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..io import ArtifactError, atomic_torch_save, load_torch_file
from ..logs import get_logger
from ..logs import progress as progress_bar
from .checkpoint import load_world_model, world_model_fingerprint

log = get_logger("world_model.latent_cache")

FORMAT = "larc-latent-cache"
VERSION = 2  # 2: records the demo file's content fingerprint
_WHAT = "latent cache"


@dataclass
class LatentCache:
    """Cached frame latents.

    Attributes:
        latents: float32 ``(N, D)``; row i is the latent of HDF5 row i.
        meta: provenance (``world_model_sha256``, ``latent_dim``, ``n_frames`` ...).
    """

    latents: torch.Tensor
    meta: dict[str, Any]


@torch.no_grad()
def build_latent_cache(demo_path: str | os.PathLike, wm_path: str | os.PathLike,
                       out_path: str | os.PathLike, batch_size: int = 256,
                       device: str | torch.device = "cpu", progress: bool = True,
                       ) -> dict[str, Any]:
    """Encode all frames of ``demo_path`` with the world model at ``wm_path``; write ``out_path``.

    Frames are streamed in chunks of ``batch_size`` (never all pixels in memory). The output is
    written atomically as ``{"latents": float32 (N, D), "meta": {...}}``.

    Returns:
        The meta dict plus ``wall_s`` and ``frames_per_s``.
    """
    from ..data import DemoFile  # deferred: keeps model-only imports light

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    demo_path, wm_path = Path(demo_path), Path(wm_path)
    sha = world_model_fingerprint(wm_path)
    model = load_world_model(wm_path, device=device)
    with DemoFile(demo_path) as demo:
        n, res, fingerprint = int(demo.n_frames), int(demo.resolution), demo.fingerprint
        if res != model.cfg.image_size:
            raise ArtifactError(
                f"demo file {demo_path} has {res} px frames but world model {wm_path} expects "
                f"image_size {model.cfg.image_size}"
            )
        latents = torch.empty(n, model.cfg.latent_dim, dtype=torch.float32)
        filled = 0
        t0 = time.time()
        with progress_bar(total=n, disable=not progress, desc="cache latents",
                          unit="frame") as bar:
            for start, frames in demo.iter_frame_chunks(batch_size):
                z = model.encode(torch.as_tensor(frames)).float().cpu()
                latents[start:start + z.shape[0]] = z
                filled += z.shape[0]
                bar.update(z.shape[0])
    wall = time.time() - t0
    if filled != n:
        raise ArtifactError(f"demo file {demo_path}: encoded {filled} frames, expected {n}")
    meta = {"format": FORMAT, "version": VERSION, "world_model_sha256": sha,
            "world_model_path": str(wm_path), "resolution": res,
            "latent_dim": model.cfg.latent_dim, "n_frames": n, "demo_path": str(demo_path),
            "demo_fingerprint": fingerprint}
    atomic_torch_save({"latents": latents, "meta": meta}, out_path)
    log.info("cached %d latents (D=%d) in %.1f s (%.0f frames/s) -> %s", n,
             model.cfg.latent_dim, wall, n / max(wall, 1e-9), out_path)
    return {**meta, "wall_s": wall, "frames_per_s": n / max(wall, 1e-9)}


def load_latent_cache(path: str | os.PathLike, expected_wm_sha256: str | None = None,
                      expected_latent_dim: int | None = None,
                      expected_n_frames: int | None = None,
                      demo: Any = None,
                      world_model_path: str | os.PathLike | None = None) -> LatentCache:
    """Load and validate a latent cache.

    Raises:
        ArtifactError: missing/corrupt file, wrong format, or a mismatch with the expected world
            model, latent width or frame count (naming the file and both values).
    """
    path = Path(path)
    payload = load_torch_file(path, _WHAT)
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ArtifactError(f"{_WHAT} {path} has format {found!r}, expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise ArtifactError(
            f"{_WHAT} {path} has version {meta.get('version')!r}, expected {VERSION}; "
            "rerun cache_latents"
        )
    latents = payload.get("latents")
    if not isinstance(latents, torch.Tensor) or latents.dim() != 2:
        shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents)
        raise ArtifactError(f"{_WHAT} {path}: 'latents' must be a 2-d tensor (N, D), got {shape}")
    if tuple(latents.shape) != (meta.get("n_frames"), meta.get("latent_dim")):
        raise ArtifactError(
            f"{_WHAT} {path}: latents shape {tuple(latents.shape)} disagrees with its meta "
            f"(n_frames={meta.get('n_frames')}, latent_dim={meta.get('latent_dim')})"
        )
    if expected_wm_sha256 is not None and meta.get("world_model_sha256") != expected_wm_sha256:
        given = f"world model {world_model_path}" if world_model_path else "the loaded world model"
        raise ArtifactError(
            f"{_WHAT} {path}: latents were built by world model {meta.get('world_model_path')} "
            f"(sha256 {meta.get('world_model_sha256')}), but {given} has sha256 "
            f"{expected_wm_sha256}; rerun cache_latents with it"
        )
    if expected_latent_dim is not None and latents.shape[1] != expected_latent_dim:
        raise ArtifactError(
            f"{_WHAT} {path}: latent_dim is {latents.shape[1]}, expected {expected_latent_dim}; "
            "rerun cache_latents with the current world model"
        )
    if expected_n_frames is not None and latents.shape[0] != expected_n_frames:
        raise ArtifactError(
            f"{_WHAT} {path}: holds {latents.shape[0]} frames but the demo file has "
            f"{expected_n_frames}; rerun cache_latents for this demo file"
        )
    if demo is not None and meta.get("demo_fingerprint") != demo.fingerprint:
        raise ArtifactError(
            f"{_WHAT} {path} was encoded from {meta.get('demo_path')} (content fingerprint "
            f"{str(meta.get('demo_fingerprint'))[:12]}), not from {demo.path} (fingerprint "
            f"{demo.fingerprint[:12]}); rerun cache_latents for {demo.path}"
        )
    return LatentCache(latents=latents.float(), meta=meta)
