from larc_core.policies.idm.config import IDMConfig
from larc_core.policies.idm.model import IDMPolicy

POLICY = IDMPolicy
"""The class the registry builds for backbone ``idm`` (``larc_core.policies.policy_class``)."""

__all__ = ["POLICY", "IDMConfig", "IDMPolicy"]
