"""Logging to the Snakemake rule's log file plus stderr, and tqdm progress that lands there too."""

from __future__ import annotations

import logging
import sys
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
