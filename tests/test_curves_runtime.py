"""Training-curve figure from JSONL train logs; runtime report from Snakemake benchmark TSVs."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from larc_core.io import ArtifactError
from larc_core.reporting.curves import (
    load_train_log,
    moving_average,
    panel_keys,
    plot_training_curves,
)
from larc_core.reporting.runtime import elapsed_span, read_benchmark, rule_for_job, write_runtime

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _policy_rows(n: int, seed: int, wm: bool = False) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(n):
        bc = float(np.exp(-step / 50) + 0.05 * rng.random())
        row = {"step": step, "lr": 1e-3 * (1 - step / n), "bc": bc, "smooth": 0.004, "total": bc}
        if wm:
            row["wm"] = 0.1 * bc
        rows.append(row)
    return rows


def _wm_rows(n: int) -> list[dict]:
    # keys as written by larc_core.world_model.train; sigreg may be negative
    return [{"step": s, "lr": 1e-4, "grad_norm": 1.0 / (s + 1), "pred": 1.0 / (s + 1),
             "sigreg": -0.5 + s / n, "total": 1.0, "time_s": 0.01} for s in range(1, n + 1)]


def _tsv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def _bench_row(s: float, rss: float, cpu: float) -> str:
    return f"{s:.2f}\t0:00:{int(s):02d}\t{rss:.2f}\t900.00\t-\t-\t1.00\t2.00\t55.00\t{cpu:.2f}"


# --------------------------------------------------------------------------- curves


def test_training_curves_png_and_panels(tmp_path, monkeypatch):
    logs = {
        "seed 0": _jsonl(tmp_path / "s0.jsonl", _policy_rows(300, 0)),
        "seed 1": _jsonl(tmp_path / "s1.jsonl", _policy_rows(250, 1, wm=True)),
        "world model": _jsonl(tmp_path / "wm.jsonl", _wm_rows(40)),
    }
    figs: list = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), real_close(fig)))
    out = tmp_path / "fig" / "curves.png"
    plot_training_curves(logs, out, "policy training")
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert not list(out.parent.glob(".curves.png.*"))  # temp file renamed away
    axes = {ax.get_title(): ax for ax in figs[0].axes if ax.get_visible() and ax.get_title()}
    legend = [ax.get_legend() for ax in figs[0].axes if ax.get_legend() is not None]
    assert [t.get_text() for t in legend[0].get_texts()] == ["seed 0", "seed 1", "world model"]
    assert list(axes) == ["bc", "smooth", "total", "wm", "grad_norm", "pred", "sigreg", "lr"]
    assert axes["bc"].get_yscale() == "log" and axes["sigreg"].get_yscale() == "linear"
    assert len(axes["wm"].get_lines()) == 2  # only the WM-FT log has "wm": raw + smoothed
    assert len(axes["total"].get_lines()) == 6
    assert len(axes["lr"].get_lines()) == 3  # the schedule is drawn unsmoothed


def test_panel_keys_and_moving_average(tmp_path):
    df = load_train_log(_jsonl(tmp_path / "a.jsonl", [
        {"step": 1, "lr": 0.1, "bc": 2.0, "note": "x", "ok": True},
        {"step": 0, "lr": 0.1, "bc": 1.0, "note": "y", "ok": False},
    ]))
    assert df["step"].tolist() == [0, 1]  # sorted by step
    assert panel_keys([df]) == ["bc", "lr"] and panel_keys([df], plot_lr=False) == ["bc"]
    y = np.array([1.0, 3.0, np.nan, 5.0])
    assert np.allclose(moving_average(y, 1)[[0, 1, 3]], [1, 3, 5])
    assert np.allclose(moving_average(y, 3), [2.0, 2.0, 4.0, 5.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("\n  \n", "is empty"),
        ('{"step": 0, "bc": 1}\n{"step": 1, "bc": 0.9}\n{"step": 2, "bc"', "line 3: not valid JSON"),
        ('{"step": 0, "bc": 1}\n[1, 2]\n', "line 2: expected a JSON object"),
        ('{"bc": 1}\n', "line 1: no numeric 'step'"),
    ],
)
def test_bad_train_log_names_file_and_line(tmp_path, text, match):
    bad = tmp_path / "bad_log.jsonl"
    bad.write_text(text)
    with pytest.raises(ArtifactError, match=match) as info:
        load_train_log(bad)
    assert str(bad) in str(info.value)
    good = _jsonl(tmp_path / "good.jsonl", _policy_rows(20, 0))
    with pytest.raises(ArtifactError, match="bad_log.jsonl"):
        plot_training_curves({"ok": good, "bad": bad}, tmp_path / "c.png", "t")
    assert not (tmp_path / "c.png").exists()


def test_missing_train_log(tmp_path):
    with pytest.raises(ArtifactError, match="missing.jsonl"):
        plot_training_curves({"a": tmp_path / "missing.jsonl"}, tmp_path / "c.png", "t")


# --------------------------------------------------------------------------- runtime


def test_runtime_table_values_totals_and_rules(tmp_path):
    bench = tmp_path / "results" / "benchmarks"
    bench.mkdir(parents=True)
    files = [
        _tsv(bench / "train_world_model.tsv", [_bench_row(120.5, 2048.25, 230.75)]),
        _tsv(bench / "eval_larc_idm_h25.tsv", [_bench_row(10.25, 512.5, 9.5)]),
        _tsv(bench / "eval_larc_idm_h50.tsv", [_bench_row(20.75, 530.0, 19.25)]),
        _tsv(bench / "eval_pairs_h25.tsv", [_bench_row(1.5, 100.0, 1.25)]),
        _tsv(bench / "collect_demos.tsv", [_bench_row(30.0, 300.0, 29.0)]),
    ]
    md, csv = tmp_path / "runtime.md", tmp_path / "runtime.csv"
    # The workflow passes each file's rule (common.smk: benchmark_rules); files it leaves out
    # get the rule their name implies (the method registry).
    df = write_runtime(files, md, csv, rules={str(files[3]): "eval_pairs"})
    text = md.read_text()

    assert df["job"].tolist() == ["train_world_model", "collect_demos", "eval_larc_idm_h50",
                                  "eval_larc_idm_h25", "eval_pairs_h25"]  # wall desc
    row = df.set_index("job").loc["eval_larc_idm_h25"]
    assert (row.rule, row.wall_s, row.cpu_s, row.max_rss_mb) == ("eval", 10.25, 9.5, 512.5)
    assert df.set_index("job").loc["eval_pairs_h25", "rule"] == "eval_pairs"  # from the map
    assert "| eval_larc_idm_h25 | eval | 10.25 | 9.50 | 512.50 |" in text
    assert "| train_world_model | train_world_model | 120.50 | 230.75 | 2048.25 |" in text
    assert "| eval | 2 | 31.00 | 20.75 |" in text  # per rule: jobs, total, max
    assert "| eval_pairs | 1 | 1.50 | 1.50 |" in text
    assert "Sum of wall times: 183.00 s (0:03:03) over 5 jobs" in text
    assert "upper bound" in text
    assert "Sum of CPU times: 289.75 s (0:04:50)" in text
    assert text.index("| train_world_model |") < text.index("| collect_demos |")
    back = pd.read_csv(csv)
    assert back["wall_s"].sum() == pytest.approx(183.0)
    assert not list(tmp_path.glob(".runtime.*"))


def test_elapsed_span_from_file_times(tmp_path):
    """The span runs from the earliest start (file time minus wall) to the latest end."""
    import os

    a = _tsv(tmp_path / "train_world_model.tsv", [_bench_row(100.0, 10.0, 90.0)])
    b = _tsv(tmp_path / "eval_larc_idm_h25.tsv", [_bench_row(30.0, 10.0, 20.0)])
    os.utime(a, (1_000_100, 1_000_100))  # ran 1_000_000 .. 1_000_100
    os.utime(b, (1_000_500, 1_000_500))  # ran 1_000_470 .. 1_000_500
    md = tmp_path / "runtime.md"
    df = write_runtime([a, b], md)
    assert elapsed_span(df) == pytest.approx(500.0)
    assert "Elapsed: 500 s (0:08:20) from the first benchmarked job's start" in md.read_text()


def test_rule_for_job_from_the_registry():
    """Each evaluation job is named after the rule of its method's kind, not a name prefix."""
    assert rule_for_job("eval_larc_idm_seed0_h25") == "eval"
    assert rule_for_job("eval_larc_chunk_wm_ft_seed2_h50") == "eval"
    assert rule_for_job("eval_cem_commit5_h25") == "eval_planner"
    assert rule_for_job("eval_noop_h35") == "eval_reference"
    assert rule_for_job("eval_replay_h50") == "eval_reference"
    assert rule_for_job("train_wm_ft_seed1") == "train_wm_ft"
    assert rule_for_job("train_gc_idm_seed0") == "train_gc_idm"
    assert rule_for_job("evaluate_all") == "evaluate_all"  # no registered method: its own name
    assert rule_for_job("collect_demos") == "collect_demos"


def test_benchmark_repeats_missing_values_and_extra_columns(tmp_path):
    extra = HEADER + "\tjobid\trule_name\twildcards\tthreads\tcpu_usage"
    f = _tsv(tmp_path / "train_idm.tsv", [
        "10.00\t0:00:10\t100.00\tNA\t-\t-\t-\t-\t-\t8.00\t3\ttrain_idm\t{}\t2\t80.0",
        "14.00\t0:00:14\t300.00\tNA\t-\t-\t-\t-\t-\tNA\t3\ttrain_idm\t{}\t2\t85.0",
    ], header=extra)
    nan = _tsv(tmp_path / "table.tsv", ["0.50\t0:00:00\t-\t-\t-\t-\t-\t-\t-\t-"])
    out = read_benchmark(f)
    assert out["n_repeats"] == 2
    assert (out["wall_s"], out["max_rss_mb"], out["cpu_s"]) == (12.0, 200.0, 8.0)
    assert math.isnan(out["max_vms_mb"])
    df = write_runtime([nan, f], tmp_path / "r.md")
    text = (tmp_path / "r.md").read_text()
    assert "| table | table | 0.50 | - | - |" in text
    assert "| train_idm | train_idm | 12.00 | 8.00 | 200.00 |" in text
    assert "means over repeats for: train_idm (2x)" in text
    assert df["wall_s"].tolist() == [12.0, 0.5]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "could not be read"),
        ("", "could not be read"),
        (HEADER + "\n", "no measurements"),
        ("wall\tcpu\n1.0\t2.0\n", "no 's' column"),
        (HEADER + "\n" + "abc\t0:00:01\t1\t1\t1\t1\t1\t1\t1\t1\n", "non-numeric value 'abc'"),
        (HEADER + "\n" + "1.0\t0:00:01\t1\t1\t1\t1\t1\t1\t1\t1\t1\t1\n", "line 2 has 12 fields"),
        (HEADER + "\n" + "-\t-\t1\t1\t1\t1\t1\t1\t1\t1\n", "no wall time"),
    ],
)
def test_bad_benchmark_names_file(tmp_path, content, match):
    bad = tmp_path / "broken_job.tsv"
    if content is not None:
        bad.write_text(content)
    good = _tsv(tmp_path / "eval_x.tsv", [_bench_row(1.0, 1.0, 1.0)])
    with pytest.raises(ArtifactError, match=match) as info:
        write_runtime([good, bad], tmp_path / "r.md", tmp_path / "r.csv")
    assert str(bad) in str(info.value)
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "r.csv").exists()


@pytest.mark.skipif(shutil.which("bash") is None, reason="snakemake shell rules need bash")
def test_real_snakemake_benchmark(tmp_path):
    """A benchmark file written by the installed Snakemake parses and groups by rule."""
    pytest.importorskip("snakemake")
    (tmp_path / "Snakefile").write_text(
        'rule eval:\n    output: "out_{x}.txt"\n    benchmark: "bench/eval_{x}.tsv"\n'
        '    shell: "echo {wildcards.x} > {output}"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "out_h25.txt", "-c1", "--quiet", "all"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    tsv = tmp_path / "bench" / "eval_h25.tsv"
    assert tsv.read_text().splitlines()[0].startswith(HEADER)
    df = write_runtime([tsv], tmp_path / "r.md", rules={str(tsv): "eval"})
    raw = pd.read_csv(tsv, sep="\t")
    assert df.loc[0, "rule"] == "eval" and df.loc[0, "wall_s"] == raw["s"].mean()
    assert "| eval_h25 | eval |" in (tmp_path / "r.md").read_text()


def test_elapsed_from_snakemake_records_not_file_times(tmp_path):
    """A checkout or a DVC restore rewrites benchmark file times: the span comes from
    Snakemake's job records where they cover the job, and says so."""
    import base64
    import os

    a = _tsv(tmp_path / "train_world_model.tsv", [_bench_row(100.0, 10.0, 90.0)])
    b = _tsv(tmp_path / "eval_noop_h25.tsv", [_bench_row(30.0, 10.0, 20.0)])
    for f in (a, b):
        os.utime(f, (2_000_000, 2_000_000))  # rewritten at once, as a checkout does
    meta = tmp_path / "metadata"
    meta.mkdir()
    for out, log, start, end in (("wm.pt", "logs/train_world_model.log", 1_000_000, 1_000_100),
                                 ("h25.json", "logs/eval/noop_h25.log", 1_000_470, 1_000_500)):
        rec = {"rule": "r", "input": [], "log": [log], "starttime": start, "endtime": end,
               "job_hash": start, "incomplete": False}
        (meta / base64.urlsafe_b64encode(out.encode()).decode()).write_text(json.dumps(rec))
    md = tmp_path / "runtime.md"
    df = write_runtime([a, b], md, metadata_dir=meta)
    assert set(df["times_from"]) == {"snakemake"} and elapsed_span(df) == pytest.approx(500.0)
    assert "Elapsed: 500 s (0:08:20) from the first benchmarked job's start to the last one's end " \
        "(Snakemake's job records)" in md.read_text()
    assert df.set_index("job").loc["eval_noop_h25", "rule"] == "eval_reference"
    df = write_runtime([a, b], md)  # no records: the file times (both 2_000_000 here)
    assert set(df["times_from"]) == {"file"} and elapsed_span(df) == pytest.approx(100.0)
    assert "no Snakemake job records" in md.read_text()


def test_held_out_losses_join_their_training_panel(tmp_path):
    rows = [{"step": s, "lr": 1e-3, "bc": 1.0 / (s + 1), "wm": 2.0} for s in range(20)]
    for r in rows[9::10]:
        r.update(val_bc=0.5, val_only=0.1)
    log = _jsonl(tmp_path / "log.jsonl", rows)
    df = load_train_log(log)
    # val_bc is drawn in bc's panel; val_only has no training counterpart: its own panel.
    assert panel_keys([df]) == ["bc", "wm", "val_only", "lr"]
    out = tmp_path / "c.png"
    plot_training_curves({"seed0": log}, out, "t")
    assert out.read_bytes()[:8] == PNG_MAGIC
