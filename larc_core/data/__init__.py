"""Scripted PushT demonstrations, the LeWM HDF5 layout, and training windows."""

from larc_core.data.collect import collect_demos, demo_statistics, run_episode
from larc_core.data.hdf5 import DemoFile, Episode, default_split, write_demo_file
from larc_core.data.pusher import RandomPusher
from larc_core.lazy import lazy_attributes

# The training windows import torch; the reports that read a demo file do not need it.
__getattr__ = lazy_attributes(__name__, {"WindowDataset": "windows", "window_starts": "windows"})


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
