"""LAPA's latent pretraining (stage lapa_pretrain).

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.lapa_pretrain.config import SPEC, LAPAPretrainConfig

__all__ = ["SPEC", "LAPAPretrainConfig"]
