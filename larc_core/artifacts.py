"""Published artifact names, and linking user-provided copies of them into the workflow tree.

Users of the method may already hold the published files. Each one found in the configured
folder is validated (keys, shapes and resolution against the workflow config) and symlinked under
its published path, and the workflow then skips the rule that would have built it. A linked LeWM
world-model checkpoint (``weights.pt`` or ``*_object.ckpt``) is then converted once by the
``import_world_model`` rule into :data:`IMPORTED_WORLD_MODEL`, which every later stage reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from larc_core.io import LINKED, ArtifactError, atomic_write_json, sha256_file


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
    aliases: tuple[str, ...] = ()
    """Further accepted names (glob patterns), searched flat in the folder in this order after
    ``filename``: the names the artifact is published under elsewhere."""


ARTIFACTS: dict[str, Artifact] = {
    a.key: a
    for a in (
        Artifact("data", "pusht_expert_train.h5", "data/pusht_expert_train.h5",
                 "demonstrations in the LeWM HDF5 layout"),
        # Plain state dicts first: they load without unpickling code.
        Artifact("world_model", "weights.pt", "external/weights.pt",
                 "LeWM world-model checkpoint (plain state dict or pickled module)",
                 aliases=("*_weights.pt", "*weights.ckpt", "lewm_object.ckpt", "*_object.ckpt")),
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

IMPORTED_WORLD_MODEL = "checkpoints/world_model/lewm_import.pt"
"""Where the ``import_world_model`` rule writes a linked LeWM checkpoint in the LARC format
(weights + config + action statistics): the world model of every later stage."""
COMPRESSED_DATA_SUFFIX = ".zst"


def link_target(key: str, source: str | Path) -> str:
    """Path under the workflow root where the artifact ``key`` found at ``source`` is linked.

    A world-model checkpoint keeps its own name under ``external/`` (``external/weights.pt``,
    ``external/lewm_object.ckpt``...), since the name tells how it is read.
    """
    if key == "world_model":
        return f"external/{Path(source).name}"
    return ARTIFACTS[key].target


def _candidates(root: Path, a: Artifact) -> list[Path]:
    """Files in ``root`` that could be artifact ``a``, best first."""
    found: list[Path] = []
    names = [a.target, a.filename]
    for name in names:
        cand = root / name
        if cand.is_file():
            found.append(cand)
    for pattern in a.aliases:
        found += sorted(p for p in root.glob(pattern) if p.is_file())
    unique: list[Path] = []
    for p in found:
        if p.resolve() not in {u.resolve() for u in unique}:
            unique.append(p)
    return unique


def find_artifacts(directory: str | Path | None) -> dict[str, Path]:
    """Map artifact key -> source file for every published file present in ``directory``.

    A file is found either flat (``<dir>/<filename>`` or an alias) or at its published relative
    path (``<dir>/<target>``); for the world model, a plain ``weights.pt`` wins over a pickled
    ``*_object.ckpt``. Policy weights and statistics must come together.
    """
    if not directory:
        return {}
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ArtifactError(f"artifacts.dir {root} is not a folder")
    found: dict[str, Path] = {}
    for a in ARTIFACTS.values():
        cands = _candidates(root, a)
        if cands:
            found[a.key] = cands[0].resolve()
    data = ARTIFACTS["data"]
    packed = root / (data.filename + COMPRESSED_DATA_SUFFIX)
    if "data" not in found and packed.is_file():
        raise ArtifactError(
            f"artifacts.dir {root} holds {packed.name}, the zstd-packed download: unpack it "
            f"first with `zstd -d {packed} -o {root / data.filename}` (about 46 GB)"
        )
    if ("chunk_backbone" in found) != ("chunk_stats" in found):
        have, miss = (
            ("shared_policy_backbone.pt", "action_stats.pt")
            if "chunk_backbone" in found
            else ("action_stats.pt", "shared_policy_backbone.pt")
        )
        raise ArtifactError(f"artifacts.dir {root} holds {have} but not {miss}; provide both")
    if not found:
        names = ", ".join(
            n for a in ARTIFACTS.values() for n in (a.filename, *a.aliases)
        )
        raise ArtifactError(f"artifacts.dir {root} holds none of the published files ({names})")
    return found


def _model_config(model_config: Any) -> Any:
    """A WorldModelConfig from a config section, or None."""
    from larc_core.world_model import WorldModelConfig, WorldModelConfigError

    if model_config is None or isinstance(model_config, WorldModelConfig):
        return model_config
    try:
        return WorldModelConfig.from_dict(dict(model_config))
    except WorldModelConfigError as exc:
        raise ArtifactError(f"world_model.model config: {exc}") from exc


def validate_artifact(key: str, path: Path, model_config: Any = None) -> dict[str, Any]:
    """Open an artifact with its real reader; raise ArtifactError naming the file if it is bad.

    Args:
        key: artifact key.
        path: the file.
        model_config: the workflow's ``world_model.model`` section (or a WorldModelConfig):
            when given, linked data must have its resolution, a world-model checkpoint its
            exact keys and shapes, and a latent cache its latent width.
    """
    cfg = _model_config(model_config)
    info: dict[str, Any] = {}
    if key == "data":
        from larc_core.data import DemoFile

        with DemoFile(path) as demo:
            info = {"frames": demo.n_frames, "episodes": demo.n_episodes,
                    "resolution": demo.resolution}
        if cfg is not None and info["resolution"] != cfg.image_size:
            raise ArtifactError(
                f"demo file {path} has {info['resolution']} px frames but world_model.model."
                f"image_size is {cfg.image_size}; the published 224-px file needs "
                "config/paper.yaml (or a config with image_size 224)"
            )
    elif key == "world_model":
        info = _validate_world_model(path, cfg)
    elif key == "latents":
        from larc_core.world_model import load_latent_cache

        cache = load_latent_cache(path, expected_latent_dim=None if cfg is None
                                  else cfg.latent_dim)
        info = {"rows": int(cache.latents.shape[0]), "latent_dim": int(cache.latents.shape[1])}
    elif key == "chunk_backbone":
        from larc_core.policies.checkpoint import load_policy

        policy, _, meta = load_policy(path, path.parent / "action_stats.pt")
        info = {"chunk_len": policy.chunk_len, "latent_dim": policy.cfg.latent_dim}
    return info


def _validate_world_model(path: Path, cfg: Any) -> dict[str, Any]:
    """Check a world-model checkpoint (LeWM state dict, LeWM object, or LARC format)."""
    from larc_core.io import load_torch_file
    from larc_core.world_model import WorldModelConfig, load_world_model
    from larc_core.world_model.checkpoint import FORMAT
    from larc_core.world_model.lewm import (
        check_lewm_state_dict,
        is_object_checkpoint,
        read_lewm_state_dict,
    )

    if not is_object_checkpoint(path):
        payload = load_torch_file(path, "world-model checkpoint", fix=LINKED)
        if isinstance(payload, dict) and payload.get("format") == FORMAT:
            wm = load_world_model(path)
            if cfg is not None and wm.cfg != cfg:
                raise ArtifactError(
                    f"world-model checkpoint {path} was built with config {wm.cfg.to_dict()} "
                    f"but world_model.model asks for {cfg.to_dict()}"
                )
            return {"format": "larc", "latent_dim": wm.cfg.latent_dim,
                    "image_size": wm.cfg.image_size}
        del payload
    cfg = cfg or WorldModelConfig.paper()
    sd = read_lewm_state_dict(path)
    check_lewm_state_dict(sd, cfg, f"LeWM checkpoint {path}")
    return {"format": "lewm-object" if is_object_checkpoint(path) else "lewm-state-dict",
            "tensors": len(sd), "parameters": int(sum(v.numel() for k, v in sd.items()
                                                      if v.is_floating_point()
                                                      and "running_" not in k)),
            "latent_dim": cfg.latent_dim, "image_size": cfg.image_size}


def link_artifacts(directory: str | Path | None, root: str | Path, manifest: str | Path,
                   model_config: Any = None) -> dict:
    """Validate and symlink every published artifact found in ``directory`` under ``root``.

    Every artifact is validated (against ``model_config``, the workflow's ``world_model.model``
    section, when given) before any link is made. Writes ``manifest`` (JSON: which artifacts
    were linked, from where, their SHA-256 and what their readers reported) even when nothing
    is linked, so downstream rules record provenance.
    """
    found = find_artifacts(directory)
    infos = {key: validate_artifact(key, src, model_config) for key, src in found.items()}
    entries = {}
    for key, src in found.items():
        target = link_target(key, src)
        dst = Path(root) / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.link")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(src, tmp)
        os.replace(tmp, dst)
        entries[key] = {"source": str(src), "target": target, "sha256": sha256_file(src),
                        **infos[key]}
    doc = {"artifacts_dir": str(directory) if directory else None, "linked": entries}
    atomic_write_json(manifest, doc)
    return doc
