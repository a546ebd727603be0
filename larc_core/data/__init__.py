"""Scripted PushT demonstrations, the LeWM HDF5 layout, and training windows."""

from larc_core.data.collect import collect_demos, demo_statistics, run_episode
from larc_core.data.hdf5 import DemoFile, Episode, default_split, write_demo_file
from larc_core.data.pusher import RandomPusher


def __getattr__(name: str):
    # The training windows import torch; the reports that read a demo file do not need it.
    if name in ("WindowDataset", "window_starts"):
        from larc_core.data import windows

        return getattr(windows, name)
    raise AttributeError(f"module 'larc_core.data' has no attribute {name!r}")


__all__ = [
    "DemoFile",
    "Episode",
    "RandomPusher",
    "WindowDataset",
    "collect_demos",
    "default_split",
    "demo_statistics",
    "run_episode",
    "window_starts",
    "write_demo_file",
]
