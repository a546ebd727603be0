"""LeWM-style JEPA world model: config, model, SIGReg, training, checkpoints and latent cache.

Public interface::

    cfg = WorldModelConfig.cpu_default()            # or WorldModelConfig.paper()
    model = WorldModel(cfg)
    model = load_lewm_world_model("weights.pt")     # a published LeWM checkpoint (paper size)
    z = model.encode(frames_uint8)                  # (B, T, H, W, 3) -> (B, T, D)
    z_next = model.predict(z, action_blocks)        # (B, T, D), (B, T, A) -> (B, T, D)
    z_future = model.rollout(z_hist, action_blocks) # (B, H0, D), (B, K, A) -> (B, K, D)
"""

from larc_core.lazy import lazy_attributes

from .config import WorldModelConfig, WorldModelConfigError, WorldModelTrainConfig

# Everything but the config imports torch: loaded on first use, so the workflow can validate a
# config when Snakemake parses without it (SIGReg: larc_core.world_model.sigreg.sigreg).
__getattr__ = lazy_attributes(__name__, {
    "load_world_model": "checkpoint", "read_world_model_file": "checkpoint",
    "save_world_model": "checkpoint", "world_model_fingerprint": "checkpoint",
    "world_model_meta": "checkpoint",
    "LatentCache": "latent_cache", "build_latent_cache": "latent_cache",
    "load_latent_cache": "latent_cache",
    "fit_lewm_action_stats": "lewm", "import_lewm_checkpoint": "lewm",
    "load_lewm_weights": "lewm", "load_lewm_world_model": "lewm",
    "read_lewm_state_dict": "lewm", "remap_lewm_keys": "lewm",
    "LARC_ONLY_KEYS": "model", "WorldModel": "model",
    "train_world_model": "train",
})


__all__ = [
    "LARC_ONLY_KEYS",
    "LatentCache",
    "WorldModel",
    "WorldModelConfig",
    "WorldModelConfigError",
    "WorldModelTrainConfig",
    "build_latent_cache",
    "fit_lewm_action_stats",
    "import_lewm_checkpoint",
    "load_latent_cache",
    "load_lewm_weights",
    "load_lewm_world_model",
    "load_world_model",
    "read_lewm_state_dict",
    "read_world_model_file",
    "remap_lewm_keys",
    "save_world_model",
    "train_world_model",
    "world_model_fingerprint",
    "world_model_meta",
]
