"""Demonstration files in the LeWM HDF5 layout (REFERENCE section 3), written atomically.

Layout (N frames, E episodes, rows of an episode contiguous and in order):

=============  ============  =======  ==================================================
key            shape         dtype    meaning
=============  ============  =======  ==================================================
pixels         (N, H, W, 3)  uint8    HWC frame observed before the row's action
action         (N, 2)        float32  relative action taken at the row (zeros on the
                                      last row of each episode: no action leaves it)
state          (N, 7)        float32  ax, ay, bx, by, theta, vx, vy
proprio        (N, 4)        float32  ax, ay, vx, vy
episode_idx    (N,)          int64    episode of the row
step_idx       (N,)          int64    step of the row within its episode
ep_len         (E,)          int32    frames per episode
ep_offset      (E,)          int64    first row of each episode
episode_split  (E,)          int8     ours, optional: 0 = train, 1 = validation
=============  ============  =======  ==================================================

File attributes written by this project: resolution, seed, generator, val_fraction,
action_scale. ``pixels`` is chunked along N (64 frames) and gzip-1 compressed; every other
array is small and is read into memory whole on first use, pixels never are (the real LeWM
file holds 46 GB): they are read per window (:meth:`DemoFile.frames`) or streamed in chunks
(:meth:`DemoFile.iter_frame_chunks`).

Files compressed with filters h5py does not ship (Blosc, Zstd, LZ4, Bitshuffle ...) are read
when the optional ``hdf5plugin`` package is installed (``pip install 'larc-core[hdf5]'``); it
is imported on first use. Without it, opening such a file fails with an error naming the filter.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from larc_core.io import ArtifactError, atomic_path
from larc_core.logs import get_logger

log = get_logger("data.hdf5")

PIXEL_CHUNK_FRAMES = 64
# Measured on 64-px pusher frames (mostly white): gzip level 1 encodes as fast as lzf
# (~25 us/frame), decodes ~3x faster (8 vs 29 us/frame) and is 2.7x smaller (371 vs 1003
# bytes/frame); higher gzip levels cost 7x the encode time for 1.5x smaller files.
PIXEL_COMPRESSION = "gzip"
PIXEL_COMPRESSION_OPTS = 1
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 0
TRAIN, VAL = 0, 1

# key -> (expected shape with symbols, dtype kind(s), required)
_LAYOUT: dict[str, tuple[tuple[str | int, ...], str, bool]] = {
    "pixels": (("N", "H", "W", 3), "u1", True),
    "action": (("N", 2), "f", True),
    "state": (("N", 7), "f", True),
    "proprio": (("N", 4), "f", False),
    "episode_idx": (("N",), "iu", True),
    "step_idx": (("N",), "iu", True),
    "ep_len": (("E",), "iu", True),
    "ep_offset": (("E",), "iu", True),
    "episode_split": (("E",), "iu", False),
    "episode_source": (("E",), "iu", False),
    "episode_noise": (("E",), "f", False),
}
_DTYPE_WORDS = {"u1": "uint8", "f": "a float dtype", "iu": "an integer dtype"}


_PLUGINS: dict[str, bool] = {}


def register_hdf5_plugins() -> bool:
    """Import ``hdf5plugin`` when installed, registering its compression filters with h5py.

    Returns whether it is available (the import is attempted once per process).
    """
    if "hdf5plugin" not in _PLUGINS:
        try:
            import hdf5plugin  # noqa: F401  (imported for its side effect: registers filters)
        except ImportError:
            _PLUGINS["hdf5plugin"] = False
        else:
            _PLUGINS["hdf5plugin"] = True
    return _PLUGINS["hdf5plugin"]


@dataclass(frozen=True)
class HDF5Filter:
    """One filter of a dataset's pipeline."""

    code: int
    """HDF5 filter id (1 = gzip, 32000 = lzf, 32001 = blosc, 32015 = zstd ...)."""
    name: str
    """Name the file records for it."""
    available: bool
    """Whether this process can run it (h5py built-ins, or registered by hdf5plugin)."""
    optional: bool
    """Optional filters may have been skipped when a chunk was written (its filter mask says
    so); chunks they did filter still need them to be read."""


def dataset_filters(ds: h5py.Dataset) -> list[HDF5Filter]:
    """The filter pipeline of ``ds`` (empty for uncompressed data)."""
    plist = ds.id.get_create_plist()
    out = []
    for i in range(plist.get_nfilters()):
        code, flags, _values, name = plist.get_filter(i)
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        out.append(HDF5Filter(int(code), str(name) or f"filter {code}",
                              bool(h5py.h5z.filter_avail(code)),
                              bool(flags & h5py.h5z.FLAG_OPTIONAL)))
    return out


def missing_filter_message(ds: h5py.Dataset) -> str | None:
    """Why ``ds`` cannot be decoded here (naming the filter and the fix), or None if it can.

    A pipeline whose unavailable filters are all optional is accepted when its first and last
    rows read (the writer then stored the chunks unfiltered).
    """
    missing = [f for f in dataset_filters(ds) if not f.available]
    if not missing:
        return None
    if all(f.optional for f in missing) and ds.shape and ds.shape[0]:
        try:
            ds[0:1], ds[ds.shape[0] - 1:]
        except OSError:
            pass
        else:
            return None
    names = ", ".join(f"'{f.name}' (HDF5 filter id {f.code})" for f in missing)
    if register_hdf5_plugins():
        fix = ("hdf5plugin is installed but does not provide it: install a version that does, "
               "or set HDF5_PLUGIN_PATH to a folder holding the filter's plugin")
    else:
        fix = ("install the optional extra with `pip install 'larc-core[hdf5]'` (it adds "
               "hdf5plugin, which registers Blosc, Zstd, LZ4 and other filters), or "
               "re-save the file without compression")
    return f"'{ds.name.lstrip('/')}' is compressed with {names}, which h5py cannot decode here: {fix}"


@dataclass(frozen=True)
class Episode:
    """One recorded episode of T frames.

    Attributes:
        pixels: (T, H, W, 3) uint8 frames, frame t observed before action t.
        state: (T, 7) float32 states [ax, ay, bx, by, theta, vx, vy].
        action: (T, 2) float32 relative actions; the last row is zeros.
    """

    pixels: np.ndarray
    state: np.ndarray
    action: np.ndarray


def _check_episode(i: int, ep: Episode, image_shape: tuple[int, ...] | None) -> None:
    t = ep.pixels.shape[0] if ep.pixels.ndim == 4 else -1
    if ep.pixels.ndim != 4 or ep.pixels.shape[3] != 3 or ep.pixels.dtype != np.uint8:
        raise ValueError(
            f"episode {i}: pixels has shape {ep.pixels.shape} dtype {ep.pixels.dtype}, "
            "expected (T, H, W, 3) uint8"
        )
    if t < 1:
        raise ValueError(f"episode {i} has no frames")
    if image_shape is not None and ep.pixels.shape[1:] != image_shape:
        raise ValueError(
            f"episode {i}: frames are {ep.pixels.shape[1:]}, earlier episodes {image_shape}"
        )
    if ep.state.shape != (t, 7):
        raise ValueError(f"episode {i}: state has shape {ep.state.shape}, expected ({t}, 7)")
    if ep.action.shape != (t, 2):
        raise ValueError(f"episode {i}: action has shape {ep.action.shape}, expected ({t}, 2)")


def write_demo_file(
    path: str | os.PathLike,
    episodes: Iterable[Episode],
    *,
    episode_split: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
    episode_columns: Mapping[str, np.ndarray] | None = None,
    chunk_frames: int = PIXEL_CHUNK_FRAMES,
    compression: str | None = PIXEL_COMPRESSION,
    compression_opts: int | None = PIXEL_COMPRESSION_OPTS,
) -> dict[str, int]:
    """Stream episodes into a LeWM-layout HDF5 file, atomically.

    Episodes are consumed one at a time (pixels are appended to a resizable chunked dataset),
    so a collection never holds all frames in memory. The file is built under a temporary name
    next to ``path`` and renamed only when complete: an exception leaves no file at ``path``.

    Args:
        path: destination ``.h5`` file.
        episodes: iterable of :class:`Episode`.
        episode_split: optional (E,) array, 0 = train, 1 = validation.
        attrs: file attributes to store (``resolution`` is added from the frames).
        episode_columns: optional per-episode (E,) arrays by name, e.g. a noisy-replay file's
            ``episode_source`` (the source episode each one replays) and ``episode_noise``.
        chunk_frames: frames per pixel chunk.
        compression: h5py compression filter for pixels (``"gzip"``, ``"lzf"`` or None).
        compression_opts: the filter's level (gzip: 0-9; must be None for lzf/None).

    Returns:
        ``{"n_frames": N, "n_episodes": E, "bytes": file size}``.
    """
    states, actions, lengths = [], [], []
    with atomic_path(path, suffix=".h5.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            pixels = None
            n = 0
            for i, ep in enumerate(episodes):
                _check_episode(i, ep, None if pixels is None else pixels.shape[1:])
                t = ep.pixels.shape[0]
                if pixels is None:
                    h, w = ep.pixels.shape[1:3]
                    pixels = f.create_dataset(
                        "pixels", shape=(0, h, w, 3), maxshape=(None, h, w, 3), dtype=np.uint8,
                        chunks=(chunk_frames, h, w, 3), compression=compression,
                        compression_opts=compression_opts if compression == "gzip" else None,
                    )
                pixels.resize(n + t, axis=0)
                pixels[n : n + t] = ep.pixels
                n += t
                states.append(np.asarray(ep.state, dtype=np.float32))
                actions.append(np.asarray(ep.action, dtype=np.float32))
                lengths.append(t)
            if pixels is None:
                raise ValueError(f"no episodes to write to {path}")
            ep_len = np.asarray(lengths, dtype=np.int32)
            ep_offset = np.concatenate([[0], np.cumsum(ep_len[:-1], dtype=np.int64)])
            state = np.concatenate(states)
            f.create_dataset("action", data=np.concatenate(actions))
            f.create_dataset("state", data=state)
            f.create_dataset("proprio", data=state[:, [0, 1, 5, 6]])
            f.create_dataset("episode_idx", data=np.repeat(np.arange(len(ep_len)), ep_len))
            f.create_dataset(
                "step_idx", data=np.concatenate([np.arange(t, dtype=np.int64) for t in ep_len])
            )
            f.create_dataset("ep_len", data=ep_len)
            f.create_dataset("ep_offset", data=ep_offset.astype(np.int64))
            if episode_split is not None:
                split = np.asarray(episode_split)
                if split.shape != ep_len.shape or not np.isin(split, (TRAIN, VAL)).all():
                    raise ValueError(
                        f"episode_split must be ({len(ep_len)},) of 0/1; got shape {split.shape}"
                    )
                f.create_dataset("episode_split", data=split.astype(np.int8))
            for key, column in (episode_columns or {}).items():
                column = np.asarray(column)
                if key not in _LAYOUT or _LAYOUT[key][0] != ("E",) or column.shape != ep_len.shape:
                    raise ValueError(f"episode column {key!r} must be a per-episode key of the "
                                     f"layout with shape ({len(ep_len)},); got {column.shape}")
                f.create_dataset(key, data=column)
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            f.attrs["resolution"] = int(pixels.shape[1])
        size = tmp.stat().st_size
    return {"n_frames": int(n), "n_episodes": len(ep_len), "bytes": int(size)}


def default_split(n_episodes: int, val_fraction: float = DEFAULT_VAL_FRACTION) -> np.ndarray:
    """Deterministic (E,) int8 split for files without ``episode_split`` (e.g. LeWM's own file).

    ``round(val_fraction * E)`` episodes (at least one when E > 1) chosen by
    ``numpy.random.default_rng(0).permutation(E)`` are validation (1), the rest train (0).
    """
    split = np.zeros(n_episodes, dtype=np.int8)
    n_val = int(round(val_fraction * n_episodes))
    if n_episodes > 1:
        n_val = min(max(n_val, 1), n_episodes - 1)
    else:
        n_val = 0
    perm = np.random.default_rng(DEFAULT_SPLIT_SEED).permutation(n_episodes)
    split[perm[:n_val]] = VAL
    return split


class DemoFile:
    """Read-only, validated view of a LeWM-layout demonstration file.

    The file is validated when the object is created (missing, corrupt, keys, shapes, dtypes,
    episode tiling), raising :class:`larc_core.io.ArtifactError` with the file and key named.
    The h5py handle is opened lazily and re-opened in a new process, so the object can be
    handed to DataLoader workers. Small arrays are read into memory on first access; pixels
    are only ever read by rows (:meth:`frames`) or streamed (:meth:`iter_frame_chunks`).

    Episodes without an ``episode_split`` dataset (a real LeWM file) are split by
    :func:`default_split`: ``default_rng(0)``, validation fraction 0.1.
    """

    # h5py's default 1 MB chunk cache cannot hold one 64-frame chunk. Training reads random
    # windows, so every miss decompresses a whole chunk: 1 GiB keeps a CPU-scale file's
    # decompressed pixels resident after the first pass, and bounds memory for the 46 GB file.
    _CACHE_BYTES = 1024 * 1024 * 1024
    _SMALL_KEEP_ON_PICKLE = ("ep_len", "ep_offset", "episode_split")

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._h5: h5py.File | None = None
        self._pid: int | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._validate()

    # -- handle -----------------------------------------------------------------------------
    def _open(self) -> h5py.File:
        if not self.path.exists():
            raise ArtifactError(f"demo file not found: {self.path}")
        register_hdf5_plugins()
        try:
            return h5py.File(
                self.path, "r", rdcc_nbytes=self._CACHE_BYTES, rdcc_nslots=10007
            )
        except OSError as exc:
            raise ArtifactError(
                f"demo file {self.path} is corrupt or not a readable HDF5 file ({exc}); "
                "it may be truncated: delete it and rebuild it"
            ) from exc

    @property
    def h5(self) -> h5py.File:
        """The open h5py file (opened on first use, and again after a fork or unpickling)."""
        if self._h5 is None or self._pid != os.getpid():
            self._h5 = self._open()
            self._pid = os.getpid()
        return self._h5

    def close(self) -> None:
        """Close the h5py handle (it reopens on the next access)."""
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None

    def __enter__(self) -> DemoFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_h5"], state["_pid"] = None, None
        state["_cache"] = {
            k: v for k, v in self._cache.items() if k in self._SMALL_KEEP_ON_PICKLE
        }
        return state

    # -- validation -------------------------------------------------------------------------
    def _fail(self, msg: str) -> ArtifactError:
        return ArtifactError(f"demo file {self.path}: {msg}")

    def _validate(self) -> None:
        f = self.h5
        sizes: dict[str, int] = {}
        for key, (shape, kinds, required) in _LAYOUT.items():
            if key not in f:
                if required:
                    raise self._fail(
                        f"missing key '{key}' (expected {self._shape_str(shape)}); "
                        f"found keys {sorted(f.keys())}"
                    )
                continue
            ds = f[key]
            if not isinstance(ds, h5py.Dataset):
                raise self._fail(f"'{key}' is a {type(ds).__name__}, expected a dataset")
            expected = f"{self._shape_str(shape)} {_DTYPE_WORDS[kinds]}"
            ok_dtype = ds.dtype == np.uint8 if kinds == "u1" else ds.dtype.kind in kinds
            ok_shape = len(ds.shape) == len(shape) and all(
                isinstance(s, str) or s == d for s, d in zip(shape, ds.shape, strict=False)
            )
            if not (ok_dtype and ok_shape):
                raise self._fail(
                    f"'{key}' has shape {tuple(ds.shape)} dtype {ds.dtype}, expected {expected}"
                )
            for sym, dim in zip(shape, ds.shape, strict=False):
                if sym in ("N", "E"):
                    if sym in sizes and sizes[sym] != dim:
                        ref = "pixels" if sym == "N" else "ep_len"
                        raise self._fail(
                            f"'{key}' has {dim} rows but '{ref}' has {sizes[sym]}: "
                            "inconsistent lengths"
                        )
                    sizes.setdefault(sym, dim)
        self._check_tiling(sizes["N"])
        self._check_pixels_readable()

    def _check_pixels_readable(self) -> None:
        """Fail now, naming the filter, if the frames use a compression this process lacks."""
        ds = self.h5["pixels"]
        reason = missing_filter_message(ds)
        if reason:
            raise self._fail(reason)
        if ds.shape[0]:
            try:
                ds[0:1]
            except OSError as exc:
                raise self._fail(
                    f"'pixels' row 0 could not be read ({exc}): the file is corrupt"
                ) from exc

    @staticmethod
    def _shape_str(shape: tuple[str | int, ...]) -> str:
        return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"

    def _check_tiling(self, n: int) -> None:
        ep_len, ep_offset = self.ep_len.astype(np.int64), self.ep_offset
        if len(ep_len) == 0:
            raise self._fail("'ep_len' is empty: the file holds no episodes")
        if (ep_len <= 0).any():
            bad = int(np.flatnonzero(ep_len <= 0)[0])
            raise self._fail(f"'ep_len'[{bad}] = {ep_len[bad]}, expected a positive length")
        expected = np.concatenate([[0], np.cumsum(ep_len)[:-1]])
        if not np.array_equal(ep_offset, expected):
            bad = int(np.flatnonzero(ep_offset != expected)[0])
            raise self._fail(
                f"'ep_offset'[{bad}] = {ep_offset[bad]}, expected {expected[bad]}: "
                "ep_offset/ep_len must tile the rows contiguously in episode order"
            )
        if int(ep_len.sum()) != n:
            raise self._fail(
                f"'ep_len' sums to {int(ep_len.sum())} rows but 'pixels' has {n}: "
                "ep_offset/ep_len do not cover the rows"
            )
        if "episode_split" in self.h5:
            split = self._small("episode_split")
            if not np.isin(split, (TRAIN, VAL)).all():
                raise self._fail("'episode_split' must hold only 0 (train) and 1 (validation)")

    # -- small arrays -----------------------------------------------------------------------
    def _small(self, key: str) -> np.ndarray:
        if key not in self._cache:
            try:
                self._cache[key] = np.asarray(self.h5[key][()])
            except OSError as exc:
                raise self._fail(f"'{key}' could not be read ({exc}): the file is corrupt") from exc
        return self._cache[key]

    @property
    def n_frames(self) -> int:
        """N, the number of rows."""
        return int(self.h5["pixels"].shape[0])

    @property
    def n_episodes(self) -> int:
        """E, the number of episodes."""
        return int(self.ep_len.shape[0])

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the frames."""
        return tuple(int(s) for s in self.h5["pixels"].shape[1:3])  # type: ignore[return-value]

    @property
    def resolution(self) -> int:
        """Frame height H in pixels (frames are square in every known file)."""
        return self.image_shape[0]

    @property
    def fingerprint(self) -> str:
        """Content hash of the demonstrations (sha256, hex): every state, action and episode
        boundary plus the frame shape. The frames are rendered from the states, so two files
        with the same fingerprint hold the same episodes; computed from the small columns, it
        costs milliseconds even for LeWM's 46 GB file. Every artifact built from a demo file
        records it, and every consumer compares it with the file it is given."""
        if "fingerprint" not in self._cache:
            h = hashlib.sha256()
            h.update(repr((self.n_frames, tuple(self.h5["pixels"].shape[1:]))).encode())
            for key in ("state", "action", "ep_len", "ep_offset"):
                h.update(key.encode())
                h.update(np.ascontiguousarray(self._small(key)).tobytes())
            self._cache["fingerprint"] = h.hexdigest()
        return self._cache["fingerprint"]

    @property
    def attrs(self) -> dict[str, Any]:
        """File attributes as a plain dict."""
        return dict(self.h5.attrs)

    @property
    def ep_len(self) -> np.ndarray:
        """(E,) frames per episode."""
        return self._small("ep_len")

    @property
    def ep_offset(self) -> np.ndarray:
        """(E,) int64 first row of each episode."""
        return self._small("ep_offset").astype(np.int64, copy=False)

    @property
    def state(self) -> np.ndarray:
        """(N, 7) float32 states."""
        return self._small("state")

    @property
    def action(self) -> np.ndarray:
        """(N, 2) float32 relative actions (zeros on each episode's last row).

        Non-finite entries (a file may pad rows no action leaves with NaN) are read as the
        zero placeholder; their count is logged once.
        """
        if "action_finite" not in self._cache:
            action = self._small("action")
            bad = ~np.isfinite(action).all(axis=1)
            if bad.any():
                last = np.zeros(len(action), dtype=bool)
                last[self.ep_offset + self.ep_len.astype(np.int64) - 1] = True
                log.warning(
                    "demo file %s: %d rows with non-finite actions (%d of them episode-final "
                    "rows) read as zero actions", self.path, int(bad.sum()), int((bad & last).sum())
                )
                action = np.where(bad[:, None], np.float32(0), action).astype(action.dtype)
            self._cache["action_finite"] = action
        return self._cache["action_finite"]

    @property
    def episode_idx(self) -> np.ndarray:
        """(N,) episode of each row."""
        return self._small("episode_idx")

    @property
    def step_idx(self) -> np.ndarray:
        """(N,) step of each row within its episode."""
        return self._small("step_idx")

    @property
    def split(self) -> np.ndarray:
        """(E,) int8, 0 = train, 1 = validation: the file's, else :func:`default_split`."""
        if "split" not in self._cache:
            if "episode_split" in self.h5:
                self._cache["split"] = self._small("episode_split").astype(np.int8)
            else:
                self._cache["split"] = default_split(self.n_episodes)
        return self._cache["split"]

    @property
    def has_split(self) -> bool:
        """Whether the file records its own train/validation split."""
        return "episode_split" in self.h5

    @property
    def train_episodes(self) -> np.ndarray:
        """(E_train,) int64 sorted ids of the training episodes."""
        return np.flatnonzero(self.split == TRAIN).astype(np.int64)

    @property
    def val_episodes(self) -> np.ndarray:
        """(E_val,) int64 sorted ids of the validation episodes."""
        return np.flatnonzero(self.split == VAL).astype(np.int64)

    @property
    def episode_noise(self) -> np.ndarray | None:
        """(E,) float64 replay noise level of each episode (0 = the source episode itself), or
        None for a file that was not recorded by noisy replays."""
        if "episode_noise" not in self.h5:
            return None
        return self._small("episode_noise").astype(np.float64)

    @property
    def episode_source(self) -> np.ndarray | None:
        """(E,) int64 source episode each episode replays, or None (not a noisy-replay file)."""
        if "episode_source" not in self.h5:
            return None
        return self._small("episode_source").astype(np.int64)

    def episode_rows(self, e: int) -> slice:
        """Rows of episode ``e`` as a slice."""
        if not 0 <= int(e) < self.n_episodes:
            raise IndexError(f"episode {e} out of range [0, {self.n_episodes}) in {self.path}")
        start = int(self.ep_offset[e])
        return slice(start, start + int(self.ep_len[e]))

    # -- pixels -----------------------------------------------------------------------------
    def preload_pixels(self, max_bytes: int) -> bool:
        """Read every frame into memory when ``pixels`` is at most ``max_bytes`` uncompressed.

        Random window reads from a compressed file decompress a whole chunk per miss, which
        cost more than the CPU-scale world model's own step; a small file is read once instead.
        A larger file (the real 46 GB one) stays streamed. Returns whether pixels are in memory.
        """
        if "pixels" in self._cache:
            return True
        ds = self.h5["pixels"]
        if int(np.prod(ds.shape)) * ds.dtype.itemsize > max_bytes:
            return False
        out = np.empty(ds.shape, dtype=np.uint8)
        for lo, block in self.iter_frame_chunks(4096):
            out[lo : lo + len(block)] = block
        self._cache["pixels"] = out
        return True

    def frames(self, rows: np.ndarray, max_gap: int = 16) -> np.ndarray:
        """Frames (n, H, W, 3) uint8 at ``rows`` (n,), in the given order, repeats allowed.

        Rows are deduplicated and sorted, then read as contiguous runs (rows closer than
        ``max_gap`` share a run), which is how HDF5 reads fastest; the result is re-ordered.
        """
        rows = np.asarray(rows)
        if rows.ndim > 1 or (rows.size and rows.dtype.kind not in "iu"):
            raise ValueError(f"rows must be a 1-D integer array; got {rows.dtype} {rows.shape}")
        rows = rows.astype(np.int64).reshape(-1)
        h, w = self.image_shape
        if rows.size == 0:
            return np.zeros((0, h, w, 3), dtype=np.uint8)
        n = self.n_frames
        if rows.min() < 0 or rows.max() >= n:
            raise IndexError(
                f"rows must lie in [0, {n}) for {self.path}; got {rows.min()}..{rows.max()}"
            )
        if "pixels" in self._cache:
            return self._cache["pixels"][rows]
        uniq, inverse = np.unique(rows, return_inverse=True)
        breaks = np.flatnonzero(np.diff(uniq) > max_gap) + 1
        out = np.empty((len(uniq), h, w, 3), dtype=np.uint8)
        ds = self.h5["pixels"]
        try:
            for idx in np.split(np.arange(len(uniq)), breaks):
                lo, hi = int(uniq[idx[0]]), int(uniq[idx[-1]]) + 1
                block = ds[lo:hi]
                out[idx] = block[uniq[idx] - lo]
        except OSError as exc:
            raise self._fail(
                f"'pixels' rows could not be read ({exc}): the file is corrupt"
            ) from exc
        return out[inverse.reshape(-1)]

    def iter_frame_chunks(
        self, chunk_size: int = 1024, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Stream frames in order: yields (start_row, frames (<= chunk_size, H, W, 3) uint8)."""
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive; got {chunk_size}")
        stop = self.n_frames if stop is None else min(int(stop), self.n_frames)
        ds = self.h5["pixels"]
        for lo in range(int(start), stop, chunk_size):
            try:
                yield lo, ds[lo : min(lo + chunk_size, stop)]
            except OSError as exc:
                raise self._fail(
                    f"'pixels' rows {lo}.. could not be read ({exc}): the file is corrupt"
                ) from exc
