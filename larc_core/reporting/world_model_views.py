"""Pictures of what the world model sees: decoded frames, imagined rollouts, a rollout video.

Every picture is drawn from uint8 frames ``(H, W, 3)``; frames of different sizes (64-px real
frames beside 32-px decodings) are scaled to one display size with nearest-neighbour
upsampling so that no pixel is invented.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from larc_core.io import atomic_path

#: Side, in display pixels, of every frame in the figures and the video.
DISPLAY = 128


def upscale(frame: np.ndarray, side: int = DISPLAY) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (side, side, 3), nearest neighbour."""
    return np.asarray(Image.fromarray(frame).resize((side, side), Image.NEAREST))


def frame_grid(rows: list[list[np.ndarray]], row_labels: list[str], col_labels: list[str],
               title: str, side: int = DISPLAY) -> Image.Image:
    """A labelled grid: ``rows[r][c]`` uint8 frames, one label per row (left) and column (top)."""
    pad, left, top = 4, 132, 40
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    img = Image.new("RGB", (left + n_cols * (side + pad), top + n_rows * (side + pad)), "white")
    draw = ImageDraw.Draw(img)
    draw.text((4, 4), title, fill="black")
    for c, label in enumerate(col_labels):
        draw.text((left + c * (side + pad) + 2, top - 14), label, fill="black")
    for r, (frames, label) in enumerate(zip(rows, row_labels, strict=True)):
        y = top + r * (side + pad)
        draw.text((4, y + side // 2 - 6), label, fill="black")
        for c, frame in enumerate(frames):
            img.paste(Image.fromarray(upscale(frame, side)), (left + c * (side + pad), y))
    return img


def save_png(img: Image.Image, out: str | Path) -> None:
    """Write a PNG atomically."""
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")


def compose_frames(frames: list[np.ndarray], labels: list[str], side: int = DISPLAY,
                   step_label: Callable[[int], str] = str) -> list[Image.Image]:
    """Side-by-side video frames: frame t shows ``frames[i][t]`` for every stream i at ``side``
    px, labelled with ``labels[i]`` and ``step_label(t)``. ``frames``: per stream (T, H, W, 3);
    the video is as long as the shortest stream."""
    n_steps = min(len(f) for f in frames)
    pad, top = 4, 18
    images = []
    for t in range(n_steps):
        img = Image.new("RGB", (len(frames) * (side + pad), top + side), "white")
        draw = ImageDraw.Draw(img)
        for i, (stream, label) in enumerate(zip(frames, labels, strict=True)):
            x = i * (side + pad)
            draw.text((x + 2, 2), f"{label} {step_label(t)}", fill="black")
            frame = stream[t]
            img.paste(Image.fromarray(frame if frame.shape[0] == side else upscale(frame, side)),
                      (x, top))
        images.append(img)
    return images


def save_gif(frames: list[np.ndarray], labels: list[str], out: str | Path,
             ms_per_frame: int = 250, side: int = DISPLAY,
             step_label: Callable[[int], str] = str) -> None:
    """Side-by-side video as an animated GIF, looping (:func:`compose_frames`)."""
    images = compose_frames(frames, labels, side, step_label)
    with atomic_path(out) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=ms_per_frame, loop=0)
