"""Training windows over a demonstration file: T frames ``frameskip`` apart + action blocks.

LeWM trains on 4 frames with frameskip 5; the 5 raw actions leaving a frame form one 10-d
action block, flattened in time order [a0x, a0y, a1x, a1y, ...].
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from larc_core.data.hdf5 import DemoFile


def window_starts(
    ep_offset: np.ndarray, ep_len: np.ndarray, episodes: np.ndarray, span: int
) -> np.ndarray:
    """(M,) int64 start rows r of ``episodes`` whose rows r .. r+span-1 lie in one episode."""
    starts = [
        np.arange(ep_offset[e], ep_offset[e] + ep_len[e] - span + 1, dtype=np.int64)
        for e in episodes
        if ep_len[e] >= span
    ]
    return np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)


class WindowDataset(Dataset):
    """Windows of ``num_frames`` frames ``frameskip`` rows apart with their action blocks.

    Item i, for start row r = ``starts[i]``:
        ``frames``: uint8 tensor (T, H, W, 3), rows r, r+fs, ..., r+(T-1)fs;
        ``actions``: float32 tensor (T, fs*2), block t = raw actions of rows
        r+t*fs .. r+(t+1)*fs-1 flattened in time order;
        ``row``: r; ``episode``: its episode id.
    All T*fs rows r .. r+T*fs-1 lie in one episode, so every block is complete. When a window
    ends on an episode's last row, its final block ends with that row's zero placeholder action.

    The h5py handle is opened lazily in each process (see :class:`DemoFile`), so the dataset
    works with DataLoader workers under fork and spawn.
    """

    def __init__(
        self,
        demo: DemoFile | str | os.PathLike,
        episodes: np.ndarray,
        num_frames: int = 4,
        frameskip: int = 5,
    ) -> None:
        if num_frames < 1 or frameskip < 1:
            raise ValueError(
                f"num_frames and frameskip must be >= 1; got {num_frames}, {frameskip}"
            )
        self.demo = demo if isinstance(demo, DemoFile) else DemoFile(demo)
        self.num_frames, self.frameskip = int(num_frames), int(frameskip)
        episodes = np.asarray(episodes, dtype=np.int64).reshape(-1)
        n_ep = self.demo.n_episodes
        if episodes.size and (episodes.min() < 0 or episodes.max() >= n_ep):
            raise IndexError(f"episode ids must lie in [0, {n_ep}) for {self.demo.path}")
        self.episodes = episodes
        self.span = self.num_frames * self.frameskip
        self.starts = window_starts(self.demo.ep_offset, self.demo.ep_len, episodes, self.span)
        # (N, 2) float32 is small (19 MB for LeWM's 2.3 M rows): keep it in memory.
        self._actions = np.ascontiguousarray(self.demo.action, dtype=np.float32)
        self._episode_of_start = np.searchsorted(
            self.demo.ep_offset, self.starts, side="right"
        ) - 1

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def frame_rows(self, i: int) -> np.ndarray:
        """(T,) rows of the frames of window ``i``."""
        return self.starts[i] + self.frameskip * np.arange(self.num_frames, dtype=np.int64)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        r = int(self.starts[i])
        frames = self.demo.frames(self.frame_rows(i))
        actions = self._actions[r : r + self.span].reshape(self.num_frames, 2 * self.frameskip)
        return {
            "frames": torch.from_numpy(frames),
            "actions": torch.from_numpy(actions.copy()),
            "row": r,
            "episode": int(self._episode_of_start[i]),
        }
