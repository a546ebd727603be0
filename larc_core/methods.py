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
    planner: str | None = None
    """Planner on the frozen world model (``"cem"``); None for policies and sanity rows. Its
    settings are config ``planner:``, the receding horizon ``planner.receding[<key>]``."""

    @property
    def learned(self) -> bool:
        """True for LARC policies; False for the No-op and Replay sanity rows."""
        return self.backbone is not None

    @property
    def planned(self) -> bool:
        """True for planner rows: no training (evaluated once per offset) but the world model."""
        return self.planner is not None

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
        # Baseline: inverse dynamics also conditioned on the steps left to the goal.
        Method("gc_idm", "GC-IDM", "gc_idm", "gc_idm"),
        # Planner baseline on the same frozen world model (LeWM's CEM), committing 5 blocks
        # per plan (LeWM's default) or re-planning every block.
        Method("cem_commit5", "CEM (commit 5)", None, None, planner="cem"),
        Method("cem_replan1", "CEM (re-plan 1)", None, None, planner="cem"),
        # Sanity rows on the same pairs: a floor (the agent holds still) and the recorded
        # demonstration's PD targets replayed open loop from the start state.
        Method("noop", "No-op", None, None),
        Method("replay", "Replay", None, None),
    )
}


def get_method(key: str) -> Method:
    if key not in METHODS:
        raise KeyError(f"unknown method {key!r}; known: {sorted(METHODS)}")
    return METHODS[key]
