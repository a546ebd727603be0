from larc_core.policies.chunk.config import ChunkConfig
from larc_core.policies.chunk.model import ChunkPolicy

__all__ = ["ChunkConfig", "ChunkPolicy"]
