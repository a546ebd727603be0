"""End to end: the real Snakemake workflow on config/smoke.yaml in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

RULES = [
    "link_artifacts", "collect_demos", "train_world_model", "cache_latents", "train_idm",
    "train_chunk", "train_wm_ft", "eval_pairs", "eval", "eval_reference", "table", "figures", "world_model_health",
    "training_curves", "runtime",
]
SEEDS = (0, 1)  # config/smoke.yaml
METHOD_LABELS = {
    "larc_idm": "LARC-IDM", "larc_chunk": "LARC-Chunk", "larc_chunk_wm_ft": "LARC-Chunk + WM-FT",
    "noop": "No-op", "replay": "Replay",
}


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # --configfile takes several values: keep it last so targets are not swallowed.
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", "config/smoke.yaml"]
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)
    if check and res.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted((workdir / "logs").rglob("*.log"))
        ) if (workdir / "logs").exists() else ""
        raise AssertionError(f"{cmd} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}\n{logs}")
    return res


def copy_workflow(repo: Path, dest: Path) -> Path:
    for name in ("Snakefile", "workflow", "config", "environment.yml"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, repo_root):
    """Run the smoke workflow once for every test in this module."""
    work = copy_workflow(repo_root, tmp_path_factory.mktemp("wf"))
    dry = snakemake(work, "-n", "results/table.md", "results/figures/success_vs_offset.png")
    snakemake(work, "--cores", "2", "results/table.md", "results/figures/success_vs_offset.png")
    return work, dry.stdout + dry.stderr


@pytest.mark.e2e
def test_dry_run_lists_every_rule(smoke_run):
    _, dry = smoke_run
    for rule in RULES:
        assert re.search(rf"\b{rule}\b", dry), f"rule {rule} missing from dry run"


def eval_docs(work: Path, method: str, offset: int) -> list[dict]:
    """The result files of one table cell: one per seed for LARC rows, one for sanity rows."""
    if method.startswith("larc"):
        files = [work / f"results/eval/{method}/seed{s}_h{offset}.json" for s in SEEDS]
    else:
        files = [work / f"results/eval/{method}/h{offset}.json"]
    return [json.loads(f.read_text()) for f in files]


@pytest.mark.e2e
def test_table_matches_eval_files(smoke_run):
    """Every cell is recomputed from the per-episode records of its seeds, on identical pairs."""
    work, _ = smoke_run
    table = (work / "results/table.md").read_text()
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] in METHOD_LABELS.values():
            rows[cells[0]] = cells[1:5]
    assert set(rows) == set(METHOD_LABELS.values())
    pair_lists = {}
    for method, label in METHOD_LABELS.items():
        assert rows[label][0] == (str(len(SEEDS)) if method.startswith("larc") else "-")
        for j, offset in enumerate((25, 35, 50)):
            docs = eval_docs(work, method, offset)
            rates = []
            for doc in docs:
                eps = doc["episodes"]
                assert len(eps) == 3 and doc["budget"] == 2 * offset
                rates.append(sum(e["success"] for e in eps) / len(eps))
                pair_lists.setdefault(offset, set()).add(
                    tuple((e["start_row"], e["goal_row"]) for e in eps)
                )
                for e in eps:
                    assert e["goal_row"] - e["start_row"] == offset
                    assert e["steps"] <= 2 * offset
                if method.startswith("larc"):
                    assert doc["latency"]["policy_forward"]["median_ms"] > 0
            if method.startswith("larc"):
                assert sorted(d["seed"] for d in docs) == list(SEEDS)
            m = re.match(r"(\d+)%(?: ± (\d+))? \((\d+)/(\d+), CI (\d+)-(\d+)%\)", rows[label][j + 1])
            assert m, rows[label][j + 1]
            assert int(m.group(1)) == round(100 * sum(rates) / len(rates))
            assert int(m.group(4)) == 3 * len(docs)
            assert int(m.group(3)) == sum(round(r * 3) for r in rates)
    assert all(len(v) == 1 for v in pair_lists.values()), "methods saw different pairs"
    assert "goal-pose success" in table


@pytest.mark.e2e
def test_noop_row_comes_from_real_env_rollouts(smoke_run):
    work, _ = smoke_run
    for offset in (25, 35, 50):
        pairs = json.loads((work / f"results/eval/pairs_h{offset}.json").read_text())["pairs"]
        (doc,) = eval_docs(work, "noop", offset)
        assert doc["latency"] is None
        for pair, ep in zip(pairs, doc["episodes"], strict=True):
            assert ep["start_row"] == pair["start_row"]
            # The simulator ran the whole budget and the agent held its start position.
            assert not ep["success"] and ep["steps"] == 2 * offset
            assert ep["final_state"][:2] == pytest.approx(pair["start_state"][:2], abs=1e-4)


@pytest.mark.e2e
def test_artifacts_logs_and_figure(smoke_run):
    work, _ = smoke_run
    for path in (
        "data/pusht_expert_train.h5", "data/pusht_frame_latents.pt",
        "checkpoints/world_model/world_model.pt",
        *(f"checkpoints/{d}/seed{s}/shared_policy_backbone.pt" for s in SEEDS for d in (
            "larc_idm_backbone_latent", "larc_chunk_backbone_latent", "larc_chunk_backbone_wm_ft")),
        "checkpoints/larc_chunk_backbone_latent/seed1/action_stats.pt",
        "results/figures/success_vs_offset.png", "artifacts/manifest.json",
        "results/world_model.md", "results/figures/world_model_health.png",
        "results/runtime.md", *(f"results/figures/training_{n}.png"
                                for n in ("world_model", "idm", "chunk", "wm_ft")),
    ):
        assert (work / path).is_file(), path
    for log in ("collect_demos", "train_world_model", "cache_latents", "train_wm_ft/seed1", "table",
                "eval/larc_chunk_seed0_h25", "eval/noop_h50"):
        assert (work / f"logs/{log}.log").stat().st_size > 0, log
    assert (work / "results/benchmarks/train_world_model.tsv").exists()
    # Each seed is a separate training run with its own weights.
    idm = [(work / f"checkpoints/larc_idm_backbone_latent/seed{s}/shared_policy_backbone.pt")
           .read_bytes() for s in SEEDS]
    assert idm[0] != idm[1]
    health = json.loads((work / "results/world_model_health.json").read_text())
    wm_sha = eval_docs(work, "larc_idm", 25)[0]["world_model_sha256"]
    assert health["provenance"]["world_model_sha256"] == wm_sha
    assert "Linear probes" in (work / "results/world_model.md").read_text()
    bench = (work / "results/benchmarks/train_world_model.tsv").read_text().splitlines()
    wall = float(bench[1].split("\t")[0])
    runtime_md = (work / "results/runtime.md").read_text()
    assert "train_world_model" in runtime_md and f"{wall:.2f}" in runtime_md
    # Nothing left to do afterwards.
    res = snakemake(work, "-n", "results/table.md")
    assert "Nothing to be done" in res.stdout + res.stderr


@pytest.mark.e2e
def test_lint_clean(repo_root, tmp_path):
    work = copy_workflow(repo_root, tmp_path)
    res = snakemake(work, "--lint", check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Lints for" not in out, out


@pytest.mark.e2e
def test_snakemake_report_holds_results(smoke_run):
    work, _ = smoke_run
    snakemake(work, "--report", "report.zip")
    with zipfile.ZipFile(work / "report.zip") as zf:
        names = zf.namelist()
        html = zf.read(next(n for n in names if n.endswith("report.html"))).decode()
    for name in ("table.md", "success_vs_offset.png", "world_model.md", "runtime.md",
                 "training_wm_ft.png"):
        assert any(n.endswith(name) for n in names), name
    assert "LARC" in html and "goal-pose" in html
