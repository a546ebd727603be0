"""Behaviour cloning on a labeled fraction: LAPA's fine-tune and its few-label baseline."""

from larc_core.objectives.lapa.config import LAPAConfig
from larc_core.objectives.lapa.objective import LabeledFinetune, labeled_episodes

OBJECTIVE = LabeledFinetune

__all__ = ["OBJECTIVE", "LAPAConfig", "LabeledFinetune", "labeled_episodes"]
