"""Published artifact names, and linking user-provided copies of them into the workflow tree.

Users of the method may already hold the published files. Each one found in the configured
folder is validated and symlinked under its published path, and the workflow then skips the
rule that would have built it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError, atomic_write_json, sha256_file


@dataclass(frozen=True)
class Artifact:
    """One published artifact."""

    key: str
    """Short identifier (``data``, ``world_model``...)."""
    filename: str
    """File name searched for in the artifacts folder."""
    target: str
    """Path under the workflow root where it is linked or built."""
    description: str


ARTIFACTS: dict[str, Artifact] = {
    a.key: a
    for a in (
        Artifact("data", "pusht_expert_train.h5", "data/pusht_expert_train.h5",
                 "demonstrations in the LeWM HDF5 layout"),
        Artifact("world_model", "lewm_object.ckpt", "external/lewm_object.ckpt",
                 "frozen world-model checkpoint"),
        Artifact("latents", "pusht_frame_latents.pt", "data/pusht_frame_latents.pt",
                 "latent cache of every frame"),
        Artifact("chunk_backbone", "shared_policy_backbone.pt",
                 "checkpoints/larc_chunk_backbone_latent/shared_policy_backbone.pt",
                 "LARC-Chunk policy weights"),
        Artifact("chunk_stats", "action_stats.pt",
                 "checkpoints/larc_chunk_backbone_latent/action_stats.pt",
                 "LARC-Chunk action statistics"),
    )
}

BUILT_WORLD_MODEL = "checkpoints/world_model/world_model.pt"
"""Where the workflow writes the world model it trains itself."""


def find_artifacts(directory: str | Path | None) -> dict[str, Path]:
    """Map artifact key -> source file for every published file present in ``directory``.

    A file is found either flat (``<dir>/<filename>``) or at its published relative path
    (``<dir>/<target>``). Policy weights and statistics must come together.
    """
    if not directory:
        return {}
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ArtifactError(f"artifacts.dir {root} is not a folder")
    found: dict[str, Path] = {}
    for a in ARTIFACTS.values():
        for cand in (root / a.target, root / a.filename):
            if cand.is_file():
                found[a.key] = cand.resolve()
                break
    if ("chunk_backbone" in found) != ("chunk_stats" in found):
        have, miss = (
            ("shared_policy_backbone.pt", "action_stats.pt")
            if "chunk_backbone" in found
            else ("action_stats.pt", "shared_policy_backbone.pt")
        )
        raise ArtifactError(f"artifacts.dir {root} holds {have} but not {miss}; provide both")
    if not found:
        names = ", ".join(a.filename for a in ARTIFACTS.values())
        raise ArtifactError(f"artifacts.dir {root} holds none of the published files ({names})")
    return found


def validate_artifact(key: str, path: Path) -> dict[str, Any]:
    """Open an artifact with its real reader; raise ArtifactError naming the file if it is bad."""
    info: dict[str, Any] = {}
    if key == "data":
        from larc_core.data import DemoFile

        with DemoFile(path) as demo:
            info = {"frames": demo.n_frames, "episodes": demo.n_episodes,
                    "resolution": demo.resolution}
    elif key == "world_model":
        from larc_core.world_model import load_world_model

        wm = load_world_model(path)
        info = {"latent_dim": wm.cfg.latent_dim, "image_size": wm.cfg.image_size}
    elif key == "latents":
        from larc_core.world_model import load_latent_cache

        cache = load_latent_cache(path)
        info = {"rows": int(cache.latents.shape[0]), "latent_dim": int(cache.latents.shape[1])}
    elif key == "chunk_backbone":
        from larc_core.policies.checkpoint import load_policy

        policy, _, meta = load_policy(path, path.parent / "action_stats.pt")
        info = {"chunk_len": policy.chunk_len, "latent_dim": policy.cfg.latent_dim}
    return info


def link_artifacts(directory: str | Path | None, root: str | Path, manifest: str | Path) -> dict:
    """Validate and symlink every published artifact found in ``directory`` under ``root``.

    Writes ``manifest`` (JSON: which artifacts were linked, from where, their SHA-256 and what
    their readers reported) even when nothing is linked, so downstream rules record provenance.
    """
    found = find_artifacts(directory)
    # Policy stats are validated together with the backbone; link the backbone's folder pair.
    entries = {}
    for key, src in found.items():
        info = validate_artifact(key, src)
        dst = Path(root) / ARTIFACTS[key].target
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.link")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(src, tmp)
        os.replace(tmp, dst)
        entries[key] = {"source": str(src), "target": ARTIFACTS[key].target,
                        "sha256": sha256_file(src), **info}
    doc = {"artifacts_dir": str(directory) if directory else None, "linked": entries}
    atomic_write_json(manifest, doc)
    return doc
