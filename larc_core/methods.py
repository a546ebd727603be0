"""The evaluated methods: which backbone each uses, where its checkpoint lives, its table label."""

from __future__ import annotations

from dataclasses import dataclass

from larc_core import paths


@dataclass(frozen=True)
class Method:
    """One row of the results table."""

    key: str
    """Identifier used in file names and config (``eval.methods``)."""
    label: str
    """Name printed in the table and figures."""
    backbone: str | None
    """Policy registry name; None for the sanity rows, which need no model."""
    stage: str | None
    """Training stage whose checkpoints it evaluates (``larc_core.paths.POLICY_DIRS`` key)."""

    @property
    def learned(self) -> bool:
        """True for LARC policies; False for the No-op and Replay sanity rows."""
        return self.backbone is not None

    def checkpoint_dir(self, seed: int) -> str:
        """Folder (relative to the workflow root) of the checkpoint trained with ``seed``."""
        if self.stage is None:
            raise ValueError(f"method {self.key!r} has no trained checkpoint")
        return paths.policy_dir(self.stage, seed)


METHODS: dict[str, Method] = {
    m.key: m
    for m in (
        Method("larc_idm", "LARC-IDM", "idm", "idm"),
        Method("larc_chunk", "LARC-Chunk", "chunk", "chunk"),
        Method("larc_chunk_wm_ft", "LARC-Chunk + WM-FT", "chunk", "wm_ft"),
        # Sanity rows on the same pairs: a floor (the agent holds still) and the recorded
        # actions replayed open loop from the start state.
        Method("noop", "No-op", None, None),
        Method("replay", "Replay", None, None),
    )
}


def get_method(key: str) -> Method:
    if key not in METHODS:
        raise KeyError(f"unknown method {key!r}; known: {sorted(METHODS)}")
    return METHODS[key]
