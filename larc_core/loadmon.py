"""Sample the machine's load average while a workflow runs (``results/performance.md``).

Started detached by the Snakefile's ``onstart`` handler; appends ``unix time, load1, load5,
load15`` (tab-separated) to its file every ``--interval`` seconds and exits when the process it
watches (the ``snakemake`` run) has ended::

    python -m larc_core.loadmon --out logs/load/<start>.tsv --watch <pid> --interval 5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (an exited process not yet reaped, a zombie, does
    not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:  # Linux: the state letter follows the parenthesised command name
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return True


def sample(out: Path, watch: int, interval: float, max_hours: float = 48.0) -> int:
    """Append samples to ``out`` until ``watch`` exits (or ``max_hours``); returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + max_hours * 3600
    n = 0
    with out.open("a") as f:
        f.write("# unix_time\tload1\tload5\tload15\n")
        while alive(watch) and time.time() < deadline:
            l1, l5, l15 = os.getloadavg()
            f.write(f"{time.time():.1f}\t{l1:.2f}\t{l5:.2f}\t{l15:.2f}\n")
            f.flush()
            n += 1
            time.sleep(interval)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="TSV file to append samples to")
    ap.add_argument("--watch", required=True, type=int, help="PID to outlive: stop when it exits")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    args = ap.parse_args()
    if args.interval <= 0:
        ap.error(f"--interval must be > 0, got {args.interval}")
    sample(args.out, args.watch, args.interval)


if __name__ == "__main__":
    main()
