from larc_core.policies.chunk.config import ChunkConfig
from larc_core.policies.chunk.model import ChunkPolicy

POLICY = ChunkPolicy
"""The class the registry builds for backbone ``chunk`` (``larc_core.policies.policy_class``)."""

__all__ = ["POLICY", "ChunkConfig", "ChunkPolicy"]
