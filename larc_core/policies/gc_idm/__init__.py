from larc_core.policies.gc_idm.config import GCIDMConfig
from larc_core.policies.gc_idm.model import GCIDMPolicy, horizon_embedding

__all__ = ["GCIDMConfig", "GCIDMPolicy", "horizon_embedding"]
