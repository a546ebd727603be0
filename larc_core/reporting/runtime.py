"""Runtime report (Markdown + CSV) from Snakemake ``benchmark:`` files."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pandas as pd

from larc_core.io import ArtifactError, atomic_write_text
from larc_core.reporting.jobs import job_times, snakemake_jobs

# Snakemake benchmark column -> report column; only ``s`` is required (others may be absent).
COLUMN_MAP = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb", "max_vms": "max_vms_mb",
              "io_in": "io_in_mb", "io_out": "io_out_mb", "mean_load": "mean_load"}
COLUMNS = ["job", "rule", "wall_s", "cpu_s", "max_rss_mb", "max_vms_mb", "io_in_mb",
           "io_out_mb", "mean_load", "n_repeats", "start_time", "end_time", "times_from", "file"]
NA_VALUES = ["-"]  # in addition to pandas' defaults ("NA", "nan", "", ...)


def rule_for_job(job: str) -> str:
    """The Snakemake rule of a benchmarked job from its name (the benchmark file's stem), for
    files given without their rules (``larc runtime``): ``eval_<method>_...`` is the rule that
    evaluates that registered method (``eval``, ``eval_planner`` or ``eval_reference``),
    ``train_<stage>_seed<s>`` the stage's training rule; every other heavy job is named after
    its rule."""
    from larc_core.methods import METHODS, STAGES

    if job.startswith("eval_"):
        keys = [k for k in METHODS if job[5:].startswith(k + "_")]
        if keys:
            return METHODS[max(keys, key=len)].eval_rule
    names = [s.name for s in STAGES.values() if job.startswith(f"{s.rule}_seed")]
    if names:
        return STAGES[max(names, key=len)].rule
    return job


def read_benchmark(path: str | Path) -> dict[str, float | int]:
    """Mean of the numeric columns over the repeats (rows) of one Snakemake benchmark TSV.

    ``-`` and ``NA`` read as missing; extra columns (newer Snakemake) are ignored.

    Raises:
        ArtifactError: the file is missing, empty, unparsable, has no ``s`` column, or holds a
            value that is neither a number nor a missing marker (the message names the file).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"benchmark file {path} could not be read: {exc}") from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ArtifactError(f"benchmark file {path} could not be read: it is empty")
    width = len(lines[0].split("\t"))
    for lineno, line in enumerate(lines[1:], start=2):
        if line.strip() and len(line.split("\t")) != width:
            raise ArtifactError(
                f"benchmark file {path} could not be read: line {lineno} has "
                f"{len(line.split(chr(9)))} fields, the header has {width}"
            )
    try:
        raw = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, na_values=NA_VALUES,
                          keep_default_na=True, index_col=False)
    except ValueError as exc:  # pandas' EmptyDataError / ParserError
        raise ArtifactError(f"benchmark file {path} could not be read: {exc}") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    if "s" not in raw.columns:
        raise ArtifactError(
            f"benchmark file {path} has no 's' column (header: {list(raw.columns)}); "
            "is it a Snakemake benchmark TSV?"
        )
    if raw.empty:
        raise ArtifactError(f"benchmark file {path} holds a header but no measurements")
    out: dict[str, float | int] = {"n_repeats": len(raw)}
    for src, dst in COLUMN_MAP.items():
        if src not in raw.columns:
            out[dst] = float("nan")
            continue
        col = raw[src].str.strip()
        num = pd.to_numeric(col, errors="coerce")
        bad = num.isna() & col.notna()
        if bad.any():
            raise ArtifactError(
                f"benchmark file {path}: column {src!r} holds a non-numeric value "
                f"{col[bad].iloc[0]!r} (data row {int(bad.idxmax()) + 1})"
            )
        out[dst] = float(num.mean())  # NaN when every repeat is missing
    if pd.isna(out["wall_s"]):
        raise ArtifactError(f"benchmark file {path} has no wall time ('s' is missing)")
    return out


def load_runtimes(
    benchmark_files: list[str | Path], rules: dict[str, str] | None = None,
    records: list[dict] | None = None,
) -> pd.DataFrame:
    """One row per benchmark file (job = file stem), sorted by wall time, longest first.

    ``rules`` maps a benchmark file to the rule that wrote it (the workflow knows it); files
    not in it get :func:`rule_for_job`. ``start_time`` / ``end_time`` come from Snakemake's job
    records (``records``, :func:`larc_core.reporting.jobs.snakemake_jobs`) where they cover the
    job (``times_from`` ``snakemake``), else from the file's modification time (Snakemake writes
    it as the job ends) less the wall time (``times_from`` ``file``).
    """
    times = job_times(records or [])
    rows = []
    for path in benchmark_files:
        job = Path(path).stem
        rule = (rules or {}).get(str(path)) or rule_for_job(job)
        bench = read_benchmark(path)
        if job in times:
            (start, end), source = times[job], "snakemake"
        else:
            end = Path(path).stat().st_mtime
            start, source = end - bench["wall_s"], "file"
        rows.append({"job": job, "rule": rule, **bench, "start_time": start, "end_time": end,
                     "times_from": source, "file": str(path)})
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sort_values(["wall_s", "job"], ascending=[False, True]).reset_index(drop=True)


def summarise_rules(df: pd.DataFrame) -> pd.DataFrame:
    """Per rule: job count, total and max wall time, sorted by total wall time."""
    g = df.groupby("rule")["wall_s"]
    out = pd.DataFrame({"jobs": g.size(), "total_wall_s": g.sum(), "max_wall_s": g.max()})
    out = out.reset_index().sort_values(["total_wall_s", "rule"], ascending=[False, True])
    return out.reset_index(drop=True)


def _num(x: float) -> str:
    return "-" if pd.isna(x) else f"{x:.2f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def elapsed_span(df: pd.DataFrame) -> float:
    """Seconds from the earliest job start to the latest job end."""
    return float(df["end_time"].max() - df["start_time"].min())


def _hms(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


def _times_source(df: pd.DataFrame) -> str:
    if (df["times_from"] == "snakemake").all():
        return "Snakemake's job records"
    if (df["times_from"] == "file").all():
        return ("benchmark file times minus wall times: no Snakemake job records, as after a "
                "DVC restore, whose file times mean nothing")
    n = int((df["times_from"] == "file").sum())
    return f"Snakemake's job records; {n} jobs without one: benchmark file time minus wall time"


def render_runtime(df: pd.DataFrame) -> str:
    """Markdown: per-job table, per-rule summary, the sum of wall and CPU times and the elapsed
    span of the benchmarked jobs."""
    lines = ["# Runtime (Snakemake benchmarks)", "", "## Jobs", "",
             "| job | rule | wall s | CPU s | max RSS MB |", "|---|---|---:|---:|---:|"]
    for r in df.itertuples():
        lines.append(f"| {_cell(r.job)} | {_cell(r.rule)} | {_num(r.wall_s)} | {_num(r.cpu_s)} "
                     f"| {_num(r.max_rss_mb)} |")
    lines += ["", "## Per rule", "", "| rule | jobs | total wall s | max wall s |",
              "|---|---:|---:|---:|"]
    for r in summarise_rules(df).itertuples():
        lines.append(f"| {_cell(r.rule)} | {r.jobs} | {_num(r.total_wall_s)} "
                     f"| {_num(r.max_wall_s)} |")
    total, cpu, span = float(df["wall_s"].sum()), float(df["cpu_s"].sum()), elapsed_span(df)
    lines += [
        "",
        f"Sum of wall times: {total:.2f} s ({_hms(total)}) over {len(df)} jobs. Jobs may have "
        "run in parallel, so this is an upper bound on the elapsed time, not the elapsed time.",
        "",
        f"Sum of CPU times: {cpu:.2f} s ({_hms(cpu)}).",
        "",
        f"Elapsed: {span:.0f} s ({_hms(span)}) from the first benchmarked job's start to the last "
        f"one's end ({_times_source(df)}). For a run from scratch this is the run's duration "
        "less the short unbenchmarked jobs (pairs, table, figures); after a partial rerun it "
        "spans old and new jobs and means little.",
    ]
    repeated = df[df["n_repeats"] > 1]
    if len(repeated):
        lines += ["", "Values are means over repeats for: " + ", ".join(
            f"{_cell(j)} ({n}x)" for j, n in zip(repeated.job, repeated.n_repeats, strict=True)
        ) + "."]
    return "\n".join(lines) + "\n"


def write_runtime(
    benchmark_files: list[str | Path],
    out_md: str | Path,
    out_csv: str | Path | None = None,
    rules: dict[str, str] | None = None,
    metadata_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read the benchmark files and write the runtime Markdown (and CSV) atomically.

    ``rules`` maps each benchmark file to its rule, ``metadata_dir`` is Snakemake's job
    records folder (see :func:`load_runtimes`). Returns the per-job frame.
    """
    if not benchmark_files:
        raise ValueError("write_runtime needs at least one benchmark file")
    records = snakemake_jobs(metadata_dir) if metadata_dir is not None else []
    df = load_runtimes(benchmark_files, rules, records)
    text = render_runtime(df)
    atomic_write_text(out_md, text)
    if out_csv is not None:
        atomic_write_text(out_csv, df.to_csv(index=False))
    return df
