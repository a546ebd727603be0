"""Atomic file writing and content hashing.

Every artifact the workflow produces is written to a temporary file in the destination folder
and renamed into place, so an interrupted job never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ArtifactError(RuntimeError):
    """A required artifact is missing, corrupt or does not match what its consumer expects."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    The temporary file lives in the same folder (same filesystem) so the final ``os.replace``
    is atomic. On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; give the artifact the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes (streamed, so large checkpoints are fine)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


REBUILD = "delete it and rerun the rule that builds it"
LINKED = ("it is a published file linked from artifacts.dir, which no rule builds: download it "
          "again, or remove it from artifacts.dir to build one with the workflow")


def load_torch_file(path: str | os.PathLike, what: str, fix: str = REBUILD) -> Any:
    """Load a ``torch.save`` file with ``weights_only=True`` and a clear error when it fails.

    Args:
        path: file to load.
        what: human description used in errors (e.g. "world-model checkpoint").
        fix: what to do about a corrupt file (``LINKED`` for published files).
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt files
        raise ArtifactError(
            f"{what} {path} could not be read ({type(exc).__name__}: {exc}); "
            f"the file is corrupt or truncated - {fix}"
        ) from exc
