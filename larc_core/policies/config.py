"""Fields every latent policy config shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class PolicyConfig:
    """An MLP on (z_t, z_goal, z_goal - z_t) producing normalised relative actions."""

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
