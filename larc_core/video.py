"""MP4 videos (H.264, yuv420p: what browsers, Snakemake reports and LeRobot's viewers play).

Frames are encoded by the ffmpeg binary that ``imageio-ffmpeg`` ships (no system ffmpeg
needed); the file is written beside its destination and renamed into place, so a killed job
never leaves a half-written video under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from larc_core.io import ArtifactError


def write_mp4(frames: Iterable[np.ndarray], path: str | Path, fps: float = 10.0) -> Path:
    """Encode frames (each (H, W, 3) uint8, one size, H and W even) as an H.264 MP4 at ``path``.

    Returns the path. Raises ValueError for no frame, a frame of another shape or dtype, or odd
    sides (yuv420p halves the chroma resolution).
    """
    import imageio_ffmpeg

    path = Path(path)
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError(f"{path}: no frame to write")
    shape = first.shape
    if first.dtype != np.uint8 or first.ndim != 3 or shape[2] != 3:
        raise ValueError(f"{path}: frames must be (H, W, 3) uint8; got {shape} {first.dtype}")
    if shape[0] % 2 or shape[1] % 2:
        raise ValueError(f"{path}: frame sides must be even for yuv420p; got {shape[:2]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(tmp), (shape[1], shape[0]), fps=fps, codec="libx264", pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p", quality=None, bitrate=None,
        output_params=["-crf", "23", "-preset", "veryfast"], macro_block_size=1,
        ffmpeg_log_level="error")
    try:
        writer.send(None)
        for frame in (first, *it):
            if frame.shape != shape or frame.dtype != np.uint8:
                raise ValueError(f"{path}: frame of shape {frame.shape} {frame.dtype} among "
                                 f"frames of {shape} uint8")
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise ArtifactError(f"{path}: ffmpeg wrote no video")
    os.replace(tmp, path)
    return path


def mp4_info(path: str | Path) -> dict[str, float | int | str]:
    """Codec, width, height and frame count of an MP4 (read back with ffmpeg: a check that the
    file decodes, used by the tests and the report)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    n = sum(1 for _ in reader)
    return {"codec": str(meta.get("codec", "")), "width": int(meta["size"][0]),
            "height": int(meta["size"][1]), "fps": float(meta.get("fps", 0.0)), "frames": n}
