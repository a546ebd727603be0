"""Configuration of the LARC-Chunk policy."""

from __future__ import annotations

from dataclasses import dataclass

from larc_core.policies.config import PolicyConfig


@dataclass
class ChunkConfig(PolicyConfig):
    """Goal-conditioned action chunking on frozen latents."""

    chunk_len: int = 10
    """Actions K predicted per call: a_t .. a_{t+K-1}; a multiple of frameskip for WM-FT."""


CONFIG = ChunkConfig
"""The config dataclass of backbone ``chunk`` (``larc_core.policies.policy_config_class``)."""
