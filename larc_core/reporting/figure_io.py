"""The one way every report figure is written: laid out, saved atomically, closed.

It imports no pyplot and selects no backend: figures made with pyplot come from modules that
select Agg themselves; figures made with the object-oriented API (``Figure`` +
``FigureCanvasAgg``, as the world-model health figure) leave the process-wide backend alone.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from larc_core.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def save_figure(fig: Figure, out_png: str | os.PathLike) -> None:
    """``tight_layout``, then write ``fig`` as PNG at its own dpi to ``out_png`` atomically
    (a temporary file next to it, renamed with ``os.replace``), then close it, also on error.

    The folder of ``out_png`` is created; on error ``out_png`` is left untouched.
    """
    try:
        fig.tight_layout()
        with atomic_path(out_png, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=fig.dpi)
    finally:
        close_figure(fig)


def close_figure(fig: Figure) -> None:
    """Release ``fig``: drop it from pyplot's figure list when pyplot made it (a figure made
    without pyplot has no manager and is freed with its last reference)."""
    if fig.canvas.manager is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)
