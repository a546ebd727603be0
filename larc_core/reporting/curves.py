"""Training-curve figure built from the per-step JSONL train logs (policies and world model)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from larc_core.io import ArtifactError  # noqa: E402
from larc_core.reporting.figure_io import save_figure  # noqa: E402

# Numeric keys that are not loss components: the x axis, the schedule (own panel) and the
# per-step wall time the world-model trainer logs.
NON_LOSS_KEYS = ("step", "lr", "time_s")


def load_train_log(path: str | Path) -> pd.DataFrame:
    """Read a train log (one JSON object per optimisation step) into a frame sorted by step.

    Raises:
        ArtifactError: the file is missing, empty, or a line is not a JSON object with a
            numeric ``step`` (the message names the file and the line).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ArtifactError(f"train log {path} could not be read: {exc}") from exc
    rows: list[dict] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArtifactError(
                f"train log {path}, line {lineno}: not valid JSON ({exc.msg}); the file is "
                "corrupt or truncated - rerun the rule that trains it"
            ) from exc
        if not isinstance(row, dict):
            raise ArtifactError(
                f"train log {path}, line {lineno}: expected a JSON object, got "
                f"{type(row).__name__}"
            )
        step = row.get("step")
        if isinstance(step, bool) or not isinstance(step, int | float) or not math.isfinite(step):
            raise ArtifactError(f"train log {path}, line {lineno}: no numeric 'step' ({step!r})")
        rows.append(row)
    if not rows:
        raise ArtifactError(f"train log {path} is empty (no JSON lines)")
    return pd.DataFrame(rows).sort_values("step", kind="stable").reset_index(drop=True)


def _numeric_keys(df: pd.DataFrame) -> list[str]:
    """Columns holding numbers (booleans and strings excluded), in file order."""
    return [
        c for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]


VAL_PREFIX = "val_"
"""Held-out losses (``val_<component>``, logged every few steps): drawn as markers in their
training component's panel."""


def panel_keys(logs: list[pd.DataFrame], plot_lr: bool = True) -> list[str]:
    """Loss components over all logs in first-seen order, then ``lr`` if wanted and logged. A
    held-out ``val_<x>`` joins the panel of ``x``; one without a training ``x`` gets its own."""
    keys: list[str] = []
    for df in logs:
        numeric = _numeric_keys(df)
        keys += [k for k in numeric if k not in NON_LOSS_KEYS and k not in keys and not (
            k.startswith(VAL_PREFIX) and k.removeprefix(VAL_PREFIX) in numeric)]
    if plot_lr and any("lr" in _numeric_keys(df) for df in logs):
        keys.append("lr")
    return keys


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average ignoring non-finite values (shorter window at the ends)."""
    s = pd.Series(values, dtype=float).where(np.isfinite(values))
    return s.rolling(max(1, int(window)), center=True, min_periods=1).mean().to_numpy()


def plot_training_curves(
    train_logs: dict[str, str | Path], out_png: str | Path, title: str, plot_lr: bool = True
) -> None:
    """One panel per loss component (plus lr), one colour per label; raw faint, smoothed solid.

    Loss components are every numeric key except those in ``NON_LOSS_KEYS``. The smoothing
    window is ~1% of a log's steps (at least 1); a panel uses a log y axis when all of its
    finite values are > 0.
    """
    if not train_logs:
        raise ValueError("plot_training_curves needs at least one train log")
    logs = {label: load_train_log(path) for label, path in train_logs.items()}
    keys = panel_keys(list(logs.values()), plot_lr)
    if not keys:
        raise ArtifactError(
            "train logs hold no numeric loss columns: "
            + ", ".join(str(p) for p in train_logs.values())
        )

    ncols = min(3, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), dpi=120, sharex=True, squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes.flat, keys, strict=False):
        finite_all: list[np.ndarray] = []
        for i, df in enumerate(logs.values()):
            if key not in df.columns or key not in _numeric_keys(df):
                continue
            x = df["step"].to_numpy(dtype=float)
            y = df[key].to_numpy(dtype=float)
            color = colors[i % len(colors)]
            marker = "o" if len(x) == 1 else None
            if key == "lr":  # a schedule, not a noisy measurement: no smoothing
                ax.plot(x, y, color=color, linewidth=1.4, marker=marker)
            else:
                window = max(1, round(0.01 * len(x)))
                ax.plot(x, y, color=color, alpha=0.25, linewidth=0.6, marker=marker)
                ax.plot(x, moving_average(y, window), color=color, linewidth=1.4, marker=marker)
            finite_all.append(y[np.isfinite(y)])
            val = VAL_PREFIX + key
            if val in df.columns and val in _numeric_keys(df):
                held = df[["step", val]].dropna()
                vy = held[val].to_numpy(dtype=float)
                ax.plot(held["step"].to_numpy(dtype=float), vy, color=color, linestyle="--",
                        marker="o", markersize=3, linewidth=1.0)
                finite_all.append(vy[np.isfinite(vy)])
        finite = np.concatenate(finite_all) if finite_all else np.empty(0)
        if finite.size and (finite > 0).all():
            ax.set_yscale("log")
        ax.set_title(key, fontsize=10)
        ax.grid(alpha=0.3)
    for idx, ax in enumerate(axes.flat):
        row, col = divmod(idx, ncols)
        if idx >= len(keys):
            ax.set_visible(False)
        elif row == nrows - 1 or (row + 1) * ncols + col >= len(keys):
            ax.set_xlabel("step")  # bottom panel of its column: show the shared x axis
            ax.xaxis.set_tick_params(labelbottom=True)
    # one legend for every label (a panel may lack some); in a spare slot when there is one
    handles = [Line2D([], [], color=colors[i % len(colors)], linewidth=1.4, label=label)
               for i, label in enumerate(logs)]
    if any(k.startswith(VAL_PREFIX) for df in logs.values() for k in df.columns):
        handles.append(Line2D([], [], color="gray", linestyle="--", marker="o", markersize=3,
                              label="held-out (validation)"))
    spare = axes.flat[len(keys)] if len(keys) < axes.size else None
    if spare is not None:
        spare.set_visible(True)
        spare.axis("off")
        spare.legend(handles=handles, loc="center", fontsize=9, frameon=False)
    else:
        axes.flat[0].legend(handles=handles, fontsize=8)
    fig.suptitle(title)
    save_figure(fig, out_png)
