"""A lock of the project's own around each resumable training state.

Snakemake's directory lock does not protect a folder for the whole of a run (a second run can
start once a third one ends and removes it), and a second job training the same artifact would
resume from the first one's half-written state and overwrite its outputs. Each trainer therefore
holds an exclusive ``flock`` on ``<state dir>/lock`` while it trains and writes: a second process
fails at once, naming the holder. The kernel releases the lock when its process dies, so a
killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from larc_core.io import ArtifactError


class LockedError(ArtifactError):
    """Another process holds the lock of the artifact this one would train."""


@contextmanager
def exclusive(state_dir: str | Path, what: str) -> Iterator[Path]:
    """Hold the lock of ``state_dir`` (created if needed) for the duration of the block.

    Raises:
        LockedError: another live process holds it (the message names it and ``what``).
    """
    path = Path(state_dir) / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "a process"
        os.close(fd)
        raise LockedError(
            f"{what} is being trained right now by another process ({holder}; lock {path}): two "
            "runs must not train the same artifact at once. Wait for it to finish, or stop it "
            "and rerun."
        ) from None
    except OSError:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        since = datetime.datetime.now().isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}".encode(), 0)
        yield path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
