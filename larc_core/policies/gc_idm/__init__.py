from larc_core.policies.gc_idm.config import GCIDMConfig
from larc_core.policies.gc_idm.model import GCIDMPolicy, horizon_embedding

POLICY = GCIDMPolicy
"""The class the registry builds for backbone ``gc_idm`` (``larc_core.policies.policy_class``)."""

__all__ = ["POLICY", "GCIDMConfig", "GCIDMPolicy", "horizon_embedding"]
