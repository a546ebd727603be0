"""Logging to the Snakemake rule's log file plus stderr, and progress that reads as lines there
(:func:`progress`: a tqdm bar in a terminal, periodic log lines in a rule log)."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Configure the root ``larc`` logger to write to stderr and, if given, ``log_file``."""
    logger = logging.getLogger("larc")
    logger.setLevel(level)
    logger.handlers.clear()
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(stream)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, mode="a")
        fh.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(fh)
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """Child logger under ``larc`` (``larc.<name>``)."""
    return logging.getLogger(f"larc.{name}")


def setup_rule_logging(log_file: str | Path) -> logging.Logger:
    """For Snakemake scripts: log to the rule's log file and send stderr (tqdm bars,
    warnings, tracebacks) there too, so the log holds the job's whole story."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr = open(log_file, "a", buffering=1)  # noqa: SIM115 - lives for the job
    return setup_logging(log_file=None)


class _LogProgress:
    """A progress 'bar' for a log file: a readable line every ``every_s`` seconds and at the
    end (``<desc>: 120/300 (40%), 12 s, about 18 s left``), never carriage-return fragments."""

    def __init__(self, iterable, total, desc, unit, initial, every_s):
        self.iterable, self.desc, self.unit, self.every_s = iterable, desc or "progress", unit, every_s
        self.total = total if total is not None else (
            len(iterable) if hasattr(iterable, "__len__") else None)
        self.n = self.initial = self.logged = initial
        self.t0 = self.last = time.monotonic()
        self.postfix = ""
        self.log = get_logger("progress")

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_postfix(self, values=None, refresh=True, **kwargs):
        values = {**(values or {}), **kwargs}
        self.postfix = " ".join(f"{k}={v}" for k, v in values.items())

    def _line(self) -> str:
        elapsed = time.monotonic() - self.t0
        done = self.n - self.initial
        text = f"{self.desc}: {self.n}"
        if self.total:
            text += f"/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%)"
            if done and self.n < self.total:
                text += f", {elapsed:.0f} s, about {elapsed / done * (self.total - self.n):.0f} s left"
            else:
                text += f", {elapsed:.0f} s"
        else:
            text += f" {self.unit}, {elapsed:.0f} s"
        return text + (f" [{self.postfix}]" if self.postfix else "")

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self._emit(now)

    def _emit(self, now: float) -> None:
        self.last, self.logged = now, self.n
        self.log.info(self._line())

    def close(self) -> None:
        """The last line (once), unless nothing happened since the last one."""
        if self.n != self.logged:
            self._emit(time.monotonic())


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it",
             initial: int = 0, disable: bool = False, every_s: float = 30.0):
    """Progress of a long loop: a tqdm bar when stderr is a terminal; in a rule log (stderr
    redirected to a file by :func:`setup_rule_logging`) a log line every ``every_s`` seconds
    instead, so the file reads as lines. Works as an iterable wrapper or, with ``total``, as a
    context manager with ``update(n)`` / ``set_postfix(...)``."""
    if disable:
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, disable=True)
    if getattr(sys.stderr, "isatty", lambda: False)():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial,
                    file=sys.stderr, dynamic_ncols=True, mininterval=1.0)
    return _LogProgress(iterable, total, desc, unit, initial, every_s)
