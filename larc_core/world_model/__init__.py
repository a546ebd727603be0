"""LeWM-style JEPA world model: config, model, SIGReg, training, checkpoints and latent cache.

Public interface::

    cfg = WorldModelConfig.cpu_default()            # or WorldModelConfig.paper()
    model = WorldModel(cfg)
    model = load_lewm_world_model("weights.pt")     # a published LeWM checkpoint (paper size)
    z = model.encode(frames_uint8)                  # (B, T, H, W, 3) -> (B, T, D)
    z_next = model.predict(z, action_blocks)        # (B, T, D), (B, T, A) -> (B, T, D)
    z_future = model.rollout(z_hist, action_blocks) # (B, H0, D), (B, K, A) -> (B, K, D)
"""

from .checkpoint import (
    load_world_model,
    read_world_model_file,
    save_world_model,
    world_model_fingerprint,
    world_model_meta,
)
from .config import WorldModelConfig, WorldModelConfigError, WorldModelTrainConfig
from .latent_cache import LatentCache, build_latent_cache, load_latent_cache
from .lewm import (
    fit_lewm_action_stats,
    import_lewm_checkpoint,
    load_lewm_weights,
    load_lewm_world_model,
    read_lewm_state_dict,
    remap_lewm_keys,
)
from .model import LARC_ONLY_KEYS, WorldModel
from .sigreg import sigreg
from .train import train_world_model

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
    "sigreg",
    "train_world_model",
    "world_model_fingerprint",
    "world_model_meta",
]
