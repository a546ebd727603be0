"""Image encoders: a small CNN, a keypoint CNN (CPU default) and a ViT with Hugging Face ``ViTModel`` names.

Both map normalised images ``(N, 3, H, W)`` to one feature vector per image ``(N, E)``. The ViT's
module and parameter names reproduce ``transformers.ViTModel`` (4.x layout, no pooler) so the
published LeWM encoder weights load strictly; its output is the CLS token of the final
layer-normed hidden state, as LeWM uses it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import WorldModelConfig

# Hugging Face ViTConfig default; matters for bit-compatibility with the published weights.
VIT_LAYER_NORM_EPS = 1e-12


class CNNEncoder(nn.Module):
    """Stride-2 3x3 conv stages (GroupNorm, GELU) -> flatten -> Linear -> LayerNorm.

    Input ``(N, 3, S, S)`` normalised images; output ``(N, latent_dim)``.
    """

    def __init__(self, image_size: int, channels: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:
            # GroupNorm, not BatchNorm: features must not depend on the other images in a batch.
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1),
                       nn.GroupNorm(math.gcd(8, c), c), nn.GELU()]
            c_in = c
        self.convs = nn.Sequential(*layers)
        side = image_size // 2 ** len(channels)
        self.fc = nn.Linear(c_in * side * side, out_dim)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) float -> (N, out_dim)."""
        return self.norm(self.fc(self.convs(images).flatten(1)))


class KeypointEncoder(nn.Module):
    """Position-keeping CNN: coordinate channels -> 3x3 conv stages (the first two stride 2,
    the rest stride 1; GroupNorm, GELU) -> per-keypoint spatial softmax (expected x, y) and
    global mean-pooled features -> Linear -> LayerNorm.

    Why: a flatten + Linear head must learn the block's angle separately at every grid cell,
    which a CPU-scale dataset does not cover; keypoints give positions and pooled features give
    position-free shape (orientation) evidence. Input ``(N, 3, S, S)`` normalised images;
    output ``(N, out_dim)``.
    """

    def __init__(self, channels: tuple[int, ...], keypoints: int, out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3 + 2  # RGB + x/y coordinate channels
        for i, c in enumerate(channels):
            layers += [nn.Conv2d(c_in, c, 3, stride=2 if i < 2 else 1, padding=1),
                       nn.GroupNorm(math.gcd(8, c), c), nn.GELU()]
            c_in = c
        self.convs = nn.Sequential(*layers)
        self.keypoint_logits = nn.Conv2d(c_in, keypoints, 1)
        self.fc = nn.Linear(2 * keypoints + c_in, out_dim)
        self.norm = nn.LayerNorm(out_dim)

    @staticmethod
    def _grid(n: int, h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ys = torch.linspace(-1.0, 1.0, h, device=like.device, dtype=like.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=like.device, dtype=like.dtype)
        return xs.view(1, 1, 1, w).expand(n, 1, h, w), ys.view(1, 1, h, 1).expand(n, 1, h, w)

    @classmethod
    def expected_xy(cls, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Spatial softmax: logits (N, K, H, W) -> expected x and y (N, K) each, in [-1, 1]
        (x left to right, y top to bottom)."""
        n, _, h, w = logits.shape
        attn = logits.flatten(2).softmax(-1)                            # (N, K, HW)
        fx, fy = cls._grid(1, h, w, logits)
        return attn @ fx.flatten(), attn @ fy.flatten()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) float -> (N, out_dim)."""
        n, _, h, w = images.shape
        gx, gy = self._grid(n, h, w, images)
        feats = self.convs(torch.cat([images, gx, gy], dim=1))          # (N, C, S/4, S/4)
        kx, ky = self.expected_xy(self.keypoint_logits(feats))          # (N, K) each
        pooled = feats.mean(dim=(2, 3))                                 # (N, C)
        return self.norm(self.fc(torch.cat([kx, ky, pooled], dim=1)))


class ViTPatchEmbeddings(nn.Module):
    """Non-overlapping patch projection (HF: ``embeddings.patch_embeddings``)."""

    def __init__(self, patch: int, hidden: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, P, hidden) with P = (S / patch)^2, row-major patch order."""
        return self.projection(images).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    """CLS token + patch tokens + learned absolute position embeddings."""

    def __init__(self, image_size: int, patch: int, hidden: int) -> None:
        super().__init__()
        n_patches = (image_size // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.position_embeddings = nn.Parameter(torch.zeros(1, n_patches + 1, hidden))
        self.patch_embeddings = ViTPatchEmbeddings(patch, hidden)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, P + 1, hidden); token 0 is CLS."""
        tokens = self.patch_embeddings(images)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        return torch.cat([cls, tokens], dim=1) + self.position_embeddings


class ViTSelfAttention(nn.Module):
    """Multi-head self-attention projections (HF: ``attention.attention``)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, hidden), bidirectional attention."""
        n, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(n, length, self.heads, width // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x))
        )
        return out.transpose(1, 2).reshape(n, length, width)


class ViTSelfOutput(nn.Module):
    """Attention output projection (HF: ``attention.output``)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, hidden)."""
        return self.dense(x)


class ViTAttention(nn.Module):
    """Self-attention followed by its output projection."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.attention = ViTSelfAttention(hidden, heads)
        self.output = ViTSelfOutput(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, hidden)."""
        return self.output(self.attention(x))


class ViTIntermediate(nn.Module):
    """First feed-forward layer + exact GELU (HF: ``intermediate``)."""

    def __init__(self, hidden: int, mlp: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, mlp)."""
        return F.gelu(self.dense(x))


class ViTOutput(nn.Module):
    """Second feed-forward layer (HF: ``output``); the residual is added by the layer."""

    def __init__(self, hidden: int, mlp: int) -> None:
        super().__init__()
        self.dense = nn.Linear(mlp, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, mlp) -> (N, L, hidden)."""
        return self.dense(x)


class ViTLayer(nn.Module):
    """Pre-norm transformer layer: x + attn(LN(x)), then h + FFN(LN(h))."""

    def __init__(self, hidden: int, heads: int, mlp: int) -> None:
        super().__init__()
        # Registration order mirrors HF so state_dict() lists keys in the checkpoint's order.
        self.attention = ViTAttention(hidden, heads)
        self.intermediate = ViTIntermediate(hidden, mlp)
        self.output = ViTOutput(hidden, mlp)
        self.layernorm_before = nn.LayerNorm(hidden, eps=VIT_LAYER_NORM_EPS)
        self.layernorm_after = nn.LayerNorm(hidden, eps=VIT_LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, hidden)."""
        h = x + self.attention(self.layernorm_before(x))
        return h + self.output(self.intermediate(self.layernorm_after(h)))


class ViTLayerStack(nn.Module):
    """The list of layers (HF: ``encoder.layer``)."""

    def __init__(self, hidden: int, heads: int, mlp: int, layers: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(hidden, heads, mlp) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) -> (N, L, hidden)."""
        for layer in self.layer:
            x = layer(x)
        return x


class ViTEncoder(nn.Module):
    """ViT without pooler; returns the CLS token of the final layer-normed hidden state.

    Input ``(N, 3, S, S)`` normalised images; output ``(N, hidden)``.
    """

    def __init__(self, image_size: int, patch: int, hidden: int, layers: int, heads: int,
                 mlp: int) -> None:
        super().__init__()
        self.embeddings = ViTEmbeddings(image_size, patch, hidden)
        self.encoder = ViTLayerStack(hidden, heads, mlp, layers)
        self.layernorm = nn.LayerNorm(hidden, eps=VIT_LAYER_NORM_EPS)
        self._init_weights()

    def _init_weights(self) -> None:
        # HF ViT initialisation: truncated normal (std 0.02) weights, zero biases.
        for m in self.modules():
            if isinstance(m, nn.Linear | nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.embeddings.cls_token, std=0.02)
        nn.init.trunc_normal_(self.embeddings.position_embeddings, std=0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, hidden) CLS features."""
        hidden = self.encoder(self.embeddings(images))
        # Only the CLS token is used, and LayerNorm is per token: normalise just that one.
        return self.layernorm(hidden[:, 0])


class PixelDecoder(nn.Module):
    """Latent ``(N, D)`` -> frame ``(N, 3, R, R)`` in [0, 1], R = 4 * 2**len(channels): Linear
    to a 4 x 4 grid, then nearest 2x upsampling + 3x3 conv stages (GroupNorm, GELU), a 3x3 conv
    to RGB and a sigmoid. Fewer stages decode a smaller frame (cheaper on a CPU).
    """

    def __init__(self, latent_dim: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.side = 4
        self.out_size = 4 * 2 ** len(channels)
        self.c0 = channels[0]
        self.fc = nn.Linear(latent_dim, self.c0 * self.side * self.side)
        layers: list[nn.Module] = []
        c_in = self.c0
        for c in channels:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(c_in, c, 3, padding=1), nn.GroupNorm(math.gcd(8, c), c),
                       nn.GELU()]
            c_in = c
        layers.append(nn.Conv2d(c_in, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, 3, S, S) in [0, 1]."""
        x = self.fc(z).view(-1, self.c0, self.side, self.side)
        return torch.sigmoid(self.net(x))


class BroadcastDecoder(nn.Module):
    """Spatial-broadcast decoder (Watters et al., 2019): the latent ``(N, D)`` is tiled over an
    ``R x R`` grid with x/y coordinate channels, then 3x3 conv stages (GELU) at full resolution,
    a 1x1 conv to RGB and a sigmoid. Drawing an object at a position or angle is a per-pixel
    function of (latent, x, y), so the decoder asks the latent for the pose itself, not for a
    picture laid out on a coarse grid as an upsampling decoder does.
    """

    def __init__(self, latent_dim: int, channels: tuple[int, ...], out_size: int) -> None:
        super().__init__()
        self.out_size = out_size
        layers: list[nn.Module] = []
        c_in = latent_dim + 2
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.GELU()]
            c_in = c
        layers.append(nn.Conv2d(c_in, 3, 1))
        self.net = nn.Sequential(*layers)
        g = torch.linspace(-1.0, 1.0, out_size)
        self.register_buffer("grid", torch.stack(torch.meshgrid(g, g, indexing="xy"))[None],
                             persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, 3, R, R) in [0, 1]."""
        n, r = z.shape[0], self.out_size
        x = torch.cat([z[:, :, None, None].expand(n, -1, r, r), self.grid.expand(n, -1, -1, -1)],
                      dim=1)
        return torch.sigmoid(self.net(x))


def build_decoder(latent_dim: int, kind: str, channels: tuple[int, ...],
                  out_size: int) -> nn.Module:
    """Pixel decoder ``(N, latent_dim) -> (N, 3, R, R)``: ``"upsample"`` (R = 4 * 2**stages)
    or ``"broadcast"`` (R = ``out_size``)."""
    if kind == "broadcast":
        return BroadcastDecoder(latent_dim, channels, out_size)
    if kind == "upsample":
        return PixelDecoder(latent_dim, channels)
    raise ValueError(f"decoder kind must be 'upsample' or 'broadcast', got {kind!r}")

def build_encoder(cfg: WorldModelConfig) -> nn.Module:
    """Encoder for ``cfg``: maps (N, 3, S, S) normalised images to (N, cfg.encoder_dim)."""
    if cfg.encoder == "vit":
        return ViTEncoder(cfg.image_size, cfg.vit_patch, cfg.vit_hidden, cfg.vit_layers,
                          cfg.vit_heads, cfg.vit_mlp)
    if cfg.encoder == "keypoint":
        return KeypointEncoder(cfg.cnn_channels, cfg.keypoints, cfg.latent_dim)
    return CNNEncoder(cfg.image_size, cfg.cnn_channels, cfg.latent_dim)
