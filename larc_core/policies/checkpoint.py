"""Save and load policy checkpoints under the published artifact names.

A policy folder holds ``shared_policy_backbone.pt`` (backbone name, config, weights and the
provenance meta: which world model's latents it was trained on) and ``action_stats.pt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError, atomic_torch_save, load_torch_file
from larc_core.paths import POLICY_BACKBONE_FILE as BACKBONE_FILE
from larc_core.paths import POLICY_STATS_FILE as STATS_FILE
from larc_core.policies import make_policy, policy_class
from larc_core.policies.base import ActionStats, LatentPolicy

FORMAT = "larc-policy"


def save_policy(
    policy: LatentPolicy, name: str, stats: ActionStats, out_dir: str | Path, meta: dict[str, Any]
) -> None:
    """Write ``<out_dir>/shared_policy_backbone.pt`` and ``<out_dir>/action_stats.pt`` atomically."""
    out_dir = Path(out_dir)
    payload = {
        "format": FORMAT,
        "version": 1,
        "name": name,
        "config": policy.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        "meta": meta,
    }
    atomic_torch_save(stats.to_dict(), out_dir / STATS_FILE)
    atomic_torch_save(payload, out_dir / BACKBONE_FILE)


def load_policy(
    backbone_path: str | Path,
    stats_path: str | Path | None = None,
    expected_world_model_sha256: str | None = None,
    expected_latent_dim: int | None = None,
) -> tuple[LatentPolicy, ActionStats, dict[str, Any]]:
    """Load a policy in eval mode with its action statistics and meta.

    Raises:
        ArtifactError: file missing/corrupt, unknown format or backbone, weights not matching
            the stored config, or a policy trained on another world model's latents.
    """
    backbone_path = Path(backbone_path)
    stats_path = Path(stats_path) if stats_path else backbone_path.parent / STATS_FILE
    payload = load_torch_file(backbone_path, "policy checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(
            f"policy checkpoint {backbone_path} is not a LARC policy file "
            f"(expected a dict with format={FORMAT!r})"
        )
    name = payload["name"]
    try:
        policy_class(name)
    except (KeyError, TypeError) as exc:
        raise ArtifactError(
            f"policy checkpoint {backbone_path} names backbone {name!r}: {exc}") from exc
    policy = make_policy(name, **payload["config"])
    missing, unexpected = [], []
    own = policy.state_dict()
    missing = sorted(set(own) - set(payload["state_dict"]))
    unexpected = sorted(set(payload["state_dict"]) - set(own))
    shaped = sorted(
        f"{k}: file {tuple(v.shape)} vs config {tuple(own[k].shape)}"
        for k, v in payload["state_dict"].items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    )
    if missing or unexpected or shaped:
        raise ArtifactError(
            f"policy checkpoint {backbone_path} does not match its config: missing={missing} "
            f"unexpected={unexpected} mis-shaped={shaped}"
        )
    policy.load_state_dict(payload["state_dict"])
    policy.eval()
    meta = payload.get("meta", {})
    latent_dim = payload["config"].get("latent_dim")
    if expected_latent_dim is not None and latent_dim != expected_latent_dim:
        raise ArtifactError(
            f"policy checkpoint {backbone_path} reads {latent_dim}-d latents, but the world model "
            f"produces {expected_latent_dim}-d latents"
        )
    trained_on = meta.get("world_model_sha256")
    if expected_world_model_sha256 and trained_on and trained_on != expected_world_model_sha256:
        raise ArtifactError(
            f"policy checkpoint {backbone_path} was trained on latents of world model "
            f"{trained_on[:12]}, but the loaded world model is {expected_world_model_sha256[:12]}; "
            "retrain the policy (rerun its training rule)"
        )
    stats_raw = load_torch_file(stats_path, "action statistics")
    if not isinstance(stats_raw, dict) or not {"mean", "std"} <= set(stats_raw):
        raise ArtifactError(f"action statistics {stats_path} must be a dict with 'mean' and 'std'")
    stats = ActionStats.from_dict(stats_raw)
    if stats.mean.shape != (policy.action_dim,):
        raise ArtifactError(
            f"action statistics {stats_path} have shape {tuple(stats.mean.shape)}, "
            f"expected ({policy.action_dim},)"
        )
    return policy, stats, meta
