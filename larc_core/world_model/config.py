"""World-model and world-model-training configuration (dataclasses with validation).

Field names match the ``world_model.model`` / ``world_model.train`` sections of
``workflow/schemas/config.schema.yaml`` so a config section can be passed to ``from_dict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class WorldModelConfigError(ValueError):
    """A world-model config field is missing, mistyped or out of range."""


def _check_int(name: str, value: Any, minimum: int = 1) -> None:
    # bool is an int subclass: reject it explicitly so `depth: true` is not silently 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorldModelConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise WorldModelConfigError(f"{name} must be >= {minimum}, got {value}")


def _check_float(name: str, value: Any, minimum: float = 0.0, maximum: float | None = None,
                 exclusive_min: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WorldModelConfigError(f"{name} must be a number, got {value!r}")
    if value < minimum or (exclusive_min and value == minimum):
        op = ">" if exclusive_min else ">="
        raise WorldModelConfigError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise WorldModelConfigError(f"{name} must be <= {maximum}, got {value}")


def _from_dict(cls: type, data: dict[str, Any], what: str) -> Any:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys by name."""
    if not isinstance(data, dict):
        raise WorldModelConfigError(f"{what} must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise WorldModelConfigError(
            f"{what}: unknown field(s) {unknown}; expected a subset of {sorted(names)}"
        )
    kwargs = dict(data)
    for f in dataclasses.fields(cls):
        # JSON/YAML give lists where the dataclass stores tuples.
        if f.name in kwargs and isinstance(kwargs[f.name], list):
            kwargs[f.name] = tuple(kwargs[f.name])
    return cls(**kwargs)


@dataclass(frozen=True)
class WorldModelConfig:
    """Architecture of the LeWM-style JEPA world model.

    ``paper()`` reproduces the published LeWM PushT model exactly (18,034,478 parameters);
    ``cpu_default()`` is a small CNN variant that trains on two CPU cores.
    """

    image_size: int = 64
    """Square frame side in pixels the encoder runs at."""
    resize_input: bool = False
    """Resize frames of any other size to ``image_size`` inside ``encode`` (antialiased
    bilinear, as LeWM's preprocessing does); False rejects them with an error instead."""
    encoder: str = "cnn"
    """Image encoder: ``"cnn"`` (flatten head), ``"keypoint"`` (spatial-softmax keypoints and
    pooled features: keeps positions and the block's shape at CPU scale) or ``"vit"`` (HF-ViT
    layout, paper size)."""
    cnn_channels: tuple[int, ...] = (16, 32, 64, 128)
    """Output channels of each conv stage of the cnn / keypoint encoder (cnn: all stride 2;
    keypoint: the first two stride 2, the rest stride 1)."""
    keypoints: int = 32
    """Spatial-softmax keypoints of the keypoint encoder (each gives an expected x and y)."""
    vit_patch: int = 14
    """ViT patch side in pixels (``image_size`` must be a multiple)."""
    vit_hidden: int = 192
    """ViT token width."""
    vit_layers: int = 12
    """Number of ViT encoder layers."""
    vit_heads: int = 3
    """ViT attention heads (must divide ``vit_hidden``)."""
    vit_mlp: int = 768
    """ViT feed-forward width."""
    latent_dim: int = 128
    """Latent width D (output of projector and pred_proj; the predictor's token width)."""
    projector_hidden: int = 512
    """Hidden width of the projector / pred_proj MLPs (Linear -> BatchNorm1d -> GELU -> Linear)."""
    action_dim: int = 2
    """Raw per-env-step action size (PushT relative action: 2)."""
    frameskip: int = 5
    """Env steps per latent step; one action block is ``frameskip * action_dim`` values."""
    action_embed_hidden: int = 256
    """Hidden width of the action encoder MLP."""
    history: int = 3
    """Latent steps the predictor attends over (size of its position embedding)."""
    depth: int = 3
    """Predictor transformer blocks."""
    heads: int = 4
    """Predictor attention heads."""
    head_dim: int = 32
    """Width of one predictor attention head."""
    mlp_dim: int = 512
    """Predictor feed-forward width."""
    dropout: float = 0.1
    """Predictor dropout (attention weights, attention output and feed-forward)."""
    decoder_channels: tuple[int, ...] = ()
    """Channels of the pixel decoder's upsampling stages, coarsest first; it decodes frames of
    4 * 2**len(decoder_channels) px (empty: no decoder, as in LeWM). A CPU-scale deviation: with ``recon_weight`` > 0 in training, reconstructing
    the frame from the latent keeps the block in it (the pure JEPA keeps the agent and drops
    the T at this scale; REFERENCE section 9)."""

    decoder: str = "upsample"
    """Pixel decoder kind: ``"upsample"`` (4 x 4 grid doubled per ``decoder_channels`` stage) or
    ``"broadcast"`` (spatial broadcast: ``decoder_channels`` full-resolution conv stages at
    ``decoder_size`` px)."""
    decoder_size: int = 32
    """Output side in px of the broadcast decoder (the upsample decoder's follows its stages)."""

    def __post_init__(self) -> None:
        for name in ("cnn_channels", "decoder_channels"):  # YAML/JSON lists -> hashable tuples
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if not isinstance(self.resize_input, bool):
            raise WorldModelConfigError(
                f"resize_input must be true or false, got {self.resize_input!r}"
            )
        if self.encoder not in ("cnn", "keypoint", "vit"):
            raise WorldModelConfigError(
                f"encoder must be 'cnn', 'keypoint' or 'vit', got {self.encoder!r}")
        for name in ("image_size", "vit_patch", "vit_hidden", "vit_layers", "vit_heads",
                     "vit_mlp", "latent_dim", "projector_hidden", "action_dim", "frameskip",
                     "action_embed_hidden", "history", "depth", "heads", "head_dim", "mlp_dim",
                     "keypoints"):
            _check_int(name, getattr(self, name))
        _check_float("dropout", self.dropout, 0.0, 0.9)
        if not isinstance(self.cnn_channels, tuple) or not self.cnn_channels:
            raise WorldModelConfigError(
                f"cnn_channels must be a non-empty list of integers, got {self.cnn_channels!r}"
            )
        for i, c in enumerate(self.cnn_channels):
            _check_int(f"cnn_channels[{i}]", c)
        if not isinstance(self.decoder_channels, tuple):
            raise WorldModelConfigError(
                f"decoder_channels must be a list of integers, got {self.decoder_channels!r}"
            )
        for i, c in enumerate(self.decoder_channels):
            _check_int(f"decoder_channels[{i}]", c)
        if self.decoder not in ("upsample", "broadcast"):
            raise WorldModelConfigError(
                f"decoder must be 'upsample' or 'broadcast', got {self.decoder!r}")
        _check_int("decoder_size", self.decoder_size)
        if self.decoder == "broadcast" and self.decoder_size > self.image_size:
            raise WorldModelConfigError(
                f"decoder_size ({self.decoder_size}) must not exceed image_size "
                f"({self.image_size})")
        if (self.decoder == "upsample" and self.decoder_channels
                and 4 * 2 ** len(self.decoder_channels) > self.image_size):
            raise WorldModelConfigError(
                f"decoder_channels has {len(self.decoder_channels)} stages, which decode "
                f"{4 * 2 ** len(self.decoder_channels)} px frames, larger than image_size "
                f"({self.image_size}); each stage doubles a 4 px grid"
            )
        if self.encoder == "cnn" and self.image_size % (2 ** len(self.cnn_channels)):
            raise WorldModelConfigError(
                f"image_size ({self.image_size}) must be divisible by 2**len(cnn_channels) "
                f"({2 ** len(self.cnn_channels)}): each CNN stage halves the resolution"
            )
        if self.encoder == "vit":
            if self.image_size % self.vit_patch:
                raise WorldModelConfigError(
                    f"image_size ({self.image_size}) must be a multiple of vit_patch "
                    f"({self.vit_patch})"
                )
            if self.vit_hidden % self.vit_heads:
                raise WorldModelConfigError(
                    f"vit_hidden ({self.vit_hidden}) must be divisible by vit_heads "
                    f"({self.vit_heads})"
                )

    @property
    def action_block_dim(self) -> int:
        """A = frameskip * action_dim: size of one action block fed to the predictor."""
        return self.frameskip * self.action_dim

    @property
    def encoder_dim(self) -> int:
        """Width of the encoder feature that enters the projector."""
        return self.vit_hidden if self.encoder == "vit" else self.latent_dim

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["cnn_channels"] = list(self.cnn_channels)
        d["decoder_channels"] = list(self.decoder_channels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldModelConfig:
        """Build from a mapping (missing fields take the class defaults); errors name the field."""
        return _from_dict(cls, data, "world-model config")

    @classmethod
    def cpu_default(cls, image_size: int = 64) -> WorldModelConfig:
        """Small CNN world model sized for CPU training at 64 px."""
        return cls(image_size=image_size)

    @classmethod
    def paper(cls) -> WorldModelConfig:
        """Exact LeWM PushT sizes (ViT-tiny/14 at 224 px, 6-block predictor, 18.03 M params).

        Frames of another size are resized to 224 px by ``encode``, as LeWM's wrapper does.
        """
        return cls(
            image_size=224, resize_input=True, encoder="vit", vit_patch=14, vit_hidden=192, vit_layers=12,
            vit_heads=3, vit_mlp=768, latent_dim=192, projector_hidden=2048, action_dim=2,
            frameskip=5, action_embed_hidden=768, history=3, depth=6, heads=16, head_dim=64,
            mlp_dim=2048, dropout=0.1,
        )


@dataclass(frozen=True)
class WorldModelTrainConfig:
    """Optimisation settings of :func:`larc_core.world_model.train_world_model`."""

    steps: int = 2000
    """Optimizer steps."""
    batch_size: int = 64
    """Training windows per step."""
    lr: float = 3e-4
    """Peak AdamW learning rate (after warmup; cosine decay to 0 afterwards)."""
    weight_decay: float = 1e-3
    """AdamW weight decay."""
    warmup_steps: int = 100
    """Linear warmup steps."""
    grad_clip: float = 1.0
    """Global gradient-norm clip."""
    sigreg_weight: float = 0.09
    """Weight of SIGReg in the total loss."""
    sigreg_directions: int = 1024
    """Random unit directions SIGReg projects onto (redrawn every step)."""
    num_frames: int | None = None
    """Frames per training window; None means ``max(history, rollout_steps) + 1``."""
    rollout_steps: int = 0
    """Blocks of the predictor's own autoregressive rollouts scored against the window's latents
    (the ``rollout`` loss term, :meth:`WorldModel.rollout_loss`: one rollout from every start
    that leaves this many blocks in the window); 0 = LeWM's teacher-forced objective alone."""
    rollout_weight: float = 1.0
    """Weight of the ``rollout`` term in the total loss."""
    checkpoint_every: int = 200
    """Steps between resumable-state saves to ``state_dir/last.pt``."""
    num_workers: int = 0
    """DataLoader worker processes (0 = load in the main process)."""
    log_every: int = 50
    """Steps between python-logger lines (the JSONL log records every step)."""
    val_max_windows: int = 1024
    """Cap on held-out windows scored for each validation loss (evenly spaced)."""
    val_every: int = 1000
    """Steps between validation losses in the training log (``val_pred``; also after the last
    step). About 1.8 s each on the default config and 2 cores; no effect on the weights."""
    cache_batch_size: int = 256
    """Frames per batch when building the latent cache (not used by training)."""
    recon_weight: float = 0.0
    """Weight of the pixel-reconstruction term (MSE of the decoded frame, pixels in [0, 1]);
    needs ``decoder_channels``. 0 = LeWM's objective."""
    recon_foreground: float = 0.0
    """Extra weight, in the reconstruction term, of the pixels that differ from the batch's
    per-pixel median (the block and the agent; the background and goal T are static)."""
    preload_max_gb: float = 4.0
    """Read all frames into memory when the file's pixels are at most this many GiB (faster
    random windows); larger files (the real 46 GB one) are streamed. Needs num_workers 0."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "val_max_windows",
                     "val_every", "cache_batch_size"):
            _check_int(name, getattr(self, name))
        for name in ("warmup_steps", "num_workers"):
            _check_int(name, getattr(self, name), minimum=0)
        _check_int("sigreg_directions", self.sigreg_directions)
        if self.batch_size < 2:
            raise WorldModelConfigError(
                f"batch_size must be >= 2 (BatchNorm in the projector), got {self.batch_size}"
            )
        if self.num_frames is not None:
            _check_int("num_frames", self.num_frames, minimum=2)
        _check_int("rollout_steps", self.rollout_steps, minimum=0)
        _check_float("rollout_weight", self.rollout_weight)
        if self.num_frames is not None and self.rollout_steps >= self.num_frames:
            raise WorldModelConfigError(
                f"rollout_steps ({self.rollout_steps}) needs num_frames >= rollout_steps + 1; got "
                f"num_frames {self.num_frames}")
        _check_float("lr", self.lr, 0.0, 1.0, exclusive_min=True)
        _check_float("weight_decay", self.weight_decay)
        _check_float("grad_clip", self.grad_clip, exclusive_min=True)
        _check_float("sigreg_weight", self.sigreg_weight)
        _check_float("recon_weight", self.recon_weight)
        _check_float("recon_foreground", self.recon_foreground)
        _check_float("preload_max_gb", self.preload_max_gb)

    def frames_per_window(self, model_cfg: WorldModelConfig) -> int:
        """Resolved window length T (``num_frames`` or ``max(history, rollout_steps) + 1``)."""
        if self.num_frames is not None:
            return self.num_frames
        return max(model_cfg.history, self.rollout_steps) + 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldModelTrainConfig:
        """Build from a mapping (missing fields take the class defaults); errors name the field."""
        return _from_dict(cls, data, "world-model train config")

