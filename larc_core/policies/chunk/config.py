"""Configuration of the LARC-Chunk policy."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class ChunkConfig:
    """Goal-conditioned action chunking on frozen latents."""

    latent_dim: int = 64
    """Width D of the world-model latents the policy reads."""
    hidden_dim: int = 512
    """Width of each hidden layer."""
    depth: int = 3
    """Number of hidden layers."""
    dropout: float = 0.0
    """Dropout after each hidden layer."""
    chunk_len: int = 10
    """Actions K predicted per call: a_t .. a_{t+K-1}; a multiple of frameskip for WM-FT."""
    action_dim: int = 2
    """Size of one relative PushT action."""

    def to_dict(self) -> dict:
        return asdict(self)
