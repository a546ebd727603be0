from larc_core.policies.idm.config import IDMConfig
from larc_core.policies.idm.model import IDMPolicy

__all__ = ["IDMConfig", "IDMPolicy"]
