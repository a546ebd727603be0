"""Configuration of the LARC-IDM policy."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class IDMConfig:
    """Single-step goal-conditioned inverse dynamics on frozen latents."""

    latent_dim: int = 64
    """Width D of the world-model latents the policy reads."""
    hidden_dim: int = 512
    """Width of each hidden layer."""
    depth: int = 3
    """Number of hidden layers."""
    dropout: float = 0.0
    """Dropout after each hidden layer."""
    action_dim: int = 2
    """Size of one relative PushT action."""

    def to_dict(self) -> dict:
        return asdict(self)
