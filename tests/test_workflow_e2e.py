"""End to end: the real Snakemake workflow on config/smoke.yaml in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from helpers import copy_workflow, planned_jobs, snakemake

from larc_core.methods import METHODS, STAGES, stages_needed
from larc_core.video import mp4_info

RULES = [
    "link_artifacts", "collect_demos", "train_world_model", "cache_latents", "train_idm",
    "train_chunk", "train_wm_ft", "train_gc_idm", "eval_pairs", "eval", "eval_reference",
    "eval_planner", "table", "figures", "world_model_health", "training_curves", "runtime",
    "latency", "data_report", "state_ceiling", "world_model_views", "machine_floors",
    "performance", "rollout_videos", "counterfactual", "claims", "draw_pairs", "eval_draw",
    "pair_draws",
]
REPO = Path(__file__).parents[1]
SMOKE = yaml.safe_load((REPO / "config/smoke.yaml").read_text())
SMOKE_VIDEO_SIZE = (SMOKE.get("videos") or {}).get("size", 256)
SEEDS = tuple(SMOKE["seeds"])
OFFSETS = tuple(SMOKE["eval"]["offsets"])
N_PAIRS = SMOKE["eval"]["n_episodes"]
METHOD_LABELS = {m: METHODS[m].label for m in SMOKE["eval"]["methods"]}
LEARNED = [m for m in METHOD_LABELS if METHODS[m].learned]
POLICY_DIRS = ("larc_idm_backbone_latent", "larc_chunk_backbone_latent",
               "larc_chunk_backbone_wm_ft", "gc_idm_backbone_latent")


def standard_rows(config: dict) -> list[str]:
    """The rows run on gym-pusht's own task (``standard.methods``; null: the trained rows)."""
    listed = (config.get("standard") or {}).get("methods")
    if listed is None:
        return [m for m in config["eval"]["methods"] if METHODS[m].learned]
    return list(listed)


def expected_jobs(config: dict) -> dict[str, int]:
    """The jobs a run from scratch of the default target plans for ``config``, from the method
    registry: one training job per needed stage and seed, one evaluation per trained method,
    seed and offset, one per other method and offset, and one of each report."""
    e, seeds, d = config["eval"], config["seeds"], config["pair_draws"]
    draw_rows = [m for m in d["methods"] if m in e["methods"]]
    draw_offsets = [o for o in d["offsets"] if o in e["offsets"]]
    kinds = Counter(METHODS[m].eval_rule for m in e["methods"])
    needed = stages_needed(e["methods"])
    lam = ["lam"] if config.get("lam_report", {}).get("enabled", True) else []
    needed += [s for s in lam if s not in needed]
    jobs = {
        "link_artifacts": 1, "collect_demos": 1, "data_report": 1, "train_world_model": 1,
        "cache_latents": 1, "eval_pairs": len(e["offsets"]),
        **{STAGES[s].rule: len(seeds) for s in needed},
        "eval": kinds["eval"] * len(seeds) * len(e["offsets"]),
        "eval_planner": kinds["eval_planner"] * len(e["offsets"]),
        "eval_reference": kinds["eval_reference"] * len(e["offsets"]),
        "training_curves": 1 + len(needed),  # the world model and every trained stage
        "state_ceiling": 1, "world_model_views": 1, "world_model_health": 1, "figures": 1,
        "latency": 1, "rollout_videos": 1, "runtime": 1, "machine_floors": 1,
        "performance": 1, "table": 1, "all": 1, "counterfactual": 1,
        # The claims whose two rows the run evaluates are tested by one job.
        "claims": int(any({c["a"], c["b"]} <= set(e["methods"])
                          for c in config.get("claims") or [])),
        # The pair-draw check: its rows again, every seed, on each other draw's pairs (the
        # rows and offsets this run evaluates).
        "draw_pairs": len(d["seeds"]) * len(draw_offsets) * bool(draw_rows),
        "eval_draw": len(draw_rows) * len(seeds) * len(d["seeds"]) * len(draw_offsets),
        "pair_draws": int(bool(draw_rows and draw_offsets)),
        # The latent action model's report (its stage trains once per seed, above).
        "lam_report": len(lam),
        # gym-pusht's own task: every listed row (default: every trained row) and seed.
        "eval_standard": len(standard_rows(config)) * len(seeds),
        "standard_report": int(bool(standard_rows(config))),
    }
    return {rule: n for rule, n in jobs.items() if n}


@pytest.mark.e2e
def test_dry_run_plans_every_job(smoke_run):
    """The smoke run's dry run plans exactly the jobs of every rule the pipeline needs: a rule
    removed or renamed, or a job planned twice or not at all, fails here."""
    _, dry = smoke_run
    jobs = planned_jobs(dry)
    assert set(RULES) <= set(jobs), f"rules not planned: {set(RULES) - set(jobs)}"
    assert jobs == expected_jobs(SMOKE), jobs


def eval_docs(work: Path, method: str, offset: int) -> list[dict]:
    """The result files of one table cell: one per seed for trained rows, one for the others."""
    if METHODS[method].learned:
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
        assert rows[label][0] == (str(len(SEEDS)) if METHODS[method].learned else "-")
        for j, offset in enumerate(OFFSETS):
            docs = eval_docs(work, method, offset)
            rates = []
            for doc in docs:
                eps = doc["episodes"]
                assert len(eps) == N_PAIRS and doc["budget"] == 2 * offset
                rates.append(sum(e["success"] for e in eps) / len(eps))
                pair_lists.setdefault(offset, set()).add(
                    tuple((e["start_row"], e["goal_row"]) for e in eps)
                )
                for e in eps:
                    assert e["goal_row"] - e["start_row"] == offset
                    assert e["steps"] <= 2 * offset
                if METHODS[method].learned:
                    assert doc["latency"]["policy_forward"]["median_ms"] > 0
            if METHODS[method].learned:
                assert sorted(d["seed"] for d in docs) == list(SEEDS)
            m = re.match(r"(\d+)%(?: ± (\d+))? \((\d+)/(\d+), CI (\d+)-(\d+)%\)", rows[label][j + 1])
            assert m, rows[label][j + 1]
            assert int(m.group(1)) == round(100 * sum(rates) / len(rates))
            assert int(m.group(4)) == N_PAIRS * len(docs)
            assert int(m.group(3)) == sum(round(r * N_PAIRS) for r in rates)
    assert all(len(v) == 1 for v in pair_lists.values()), "methods saw different pairs"
    assert "goal-pose success" in table


@pytest.mark.e2e
def test_noop_row_comes_from_real_env_rollouts(smoke_run):
    work, _ = smoke_run
    for offset in OFFSETS:
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
        *(f"checkpoints/{d}/seed{s}/shared_policy_backbone.pt" for s in SEEDS for d in POLICY_DIRS),
        "checkpoints/larc_chunk_backbone_latent/seed1/action_stats.pt",
        "results/figures/success_vs_offset.png", "artifacts/manifest.json",
        "results/world_model.md", "results/figures/world_model_health.png",
        "results/data.md", "results/figures/data.png",
        "results/eval/state_ceiling.json", "results/world_model_views.json",
        "results/figures/world_model_decoded.png", "results/figures/world_model_imagined.png",
        "results/figures/world_model_imagined.gif", "results/figures/chunk_imagined.png",
        "results/runtime.md", *(f"results/figures/training_{n}.png"
                                for n in ("world_model", "idm", "chunk", "wm_ft", "gc_idm")),
    ):
        assert (work / path).is_file(), path
    for log in ("collect_demos", "train_world_model", "cache_latents", "train_wm_ft/seed1", "table",
                "eval/larc_chunk_seed0_h25", f"eval/noop_h{OFFSETS[-1]}"):
        assert (work / f"logs/{log}.log").stat().st_size > 0, log
    assert (work / "results/benchmarks/train_world_model.tsv").exists()
    # Each seed is a separate training run with its own weights.
    idm = [(work / f"checkpoints/larc_idm_backbone_latent/seed{s}/shared_policy_backbone.pt")
           .read_bytes() for s in SEEDS]
    assert idm[0] != idm[1]
    health = json.loads((work / "results/world_model_health.json").read_text())
    wm_sha = eval_docs(work, "larc_idm", 25)[0]["world_model_sha256"]
    assert health["provenance"]["world_model_sha256"] == wm_sha
    wm_md = (work / "results/world_model.md").read_text()
    assert "ridge R^2 | MLP R^2" in wm_md and "Latent-policy gap" in wm_md
    assert "world_model_imagined.gif" in wm_md
    # The ceiling ran on the evaluation's own pairs, one row per stage and offset.
    ceiling = json.loads((work / "results/eval/state_ceiling.json").read_text())
    assert {(r["stage"], r["offset"]) for r in ceiling["rows"]} == {
        (s, o) for s in ("idm", "chunk") for o in OFFSETS}
    pairs_sha = {o: eval_docs(work, "larc_idm", o)[0]["pairs_sha256"] for o in OFFSETS}
    assert all(r["pairs_sha256"] == pairs_sha[r["offset"]] for r in ceiling["rows"])
    bench = (work / "results/benchmarks/train_world_model.tsv").read_text().splitlines()
    wall = float(bench[1].split("\t")[0])
    runtime_md = (work / "results/runtime.md").read_text()
    assert "train_world_model" in runtime_md and f"{wall:.2f}" in runtime_md
    # The step benchmark reads the same file and times the configured model's bare step.
    res = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/world_model_step.py"), "--config",
         str(REPO / "config/smoke.yaml"), "--benchmark",
         str(work / "results/benchmarks/train_world_model.tsv"), "--steps", "3", "--warmup", "1"],
        capture_output=True, text=True, timeout=600, check=True)
    steps = SMOKE["world_model"]["train"]["steps"]
    assert f"{wall / steps:.4f} s/step wall" in res.stdout and "rule / bare" in res.stdout
    # Nothing left to do afterwards.
    res = snakemake(work, "-n", "results/table.md")
    assert "Nothing to be done" in res.stdout + res.stderr


@pytest.mark.e2e
def test_performance_report_sets_jobs_against_floors_measured_first(smoke_run):
    work, _ = smoke_run
    floors = json.loads((work / "results/machine_floors.json").read_text())
    assert floors["machine_cores"] >= 1
    assert all(v > 0 for v in floors["floors_s"].values()), floors["floors_s"]
    perf = json.loads((work / "results/performance.json").read_text())
    jobs = {r["job"]: r for r in perf["jobs"]}
    # The floors were timed before any benchmarked job started (the rule runs first, alone).
    assert floors["measured_at"] <= min(r["start"] for r in perf["jobs"]) + 1.0
    for job in ("collect_demos", "train_world_model", "cache_latents", "train_chunk_seed0",
                "train_wm_ft_seed1", "state_ceiling", "eval_larc_chunk_seed0_h25",
                "eval_cem_commit5_h25", f"eval_noop_h{OFFSETS[-1]}"):
        assert jobs[job]["floor_s"] > 0 and jobs[job]["ratio"] > 0, jobs[job]
    # Every benchmarked job has a floor, the report rules' fits and timings included.
    assert all(r["floor_s"] and r["floor_s"] > 0 for r in perf["jobs"]), [
        r["job"] for r in perf["jobs"] if not r["floor_s"]]
    # The critical path runs from the first job (the floors) through the workflow's records.
    path = perf["critical_path"]
    assert path[0]["rule"] == "machine_floors" and path[-1]["end"] >= max(r["end"] for r in
                                                                        perf["jobs"]) - 1.0
    assert all(j["waited_for"] in ("input", "core") for j in path[1:])
    # The sampler started by `snakemake` covered the run.
    assert perf["load"] is not None and perf["load"]["samples"] >= 2, perf["load"]
    md = (work / "results/performance.md").read_text()
    assert "Critical path" in md and "wall / floor" in md
    # The table's latency column is rule latency's timing, not the eval jobs'.
    latency = json.loads((work / "results/latency.json").read_text())["methods"]
    table = (work / "results/table.md").read_text()
    assert "From latency.md" in table
    ms = latency["larc_chunk"]["decision"]["median_ms"]
    assert (f"{ms:.3f} ms" if ms < 10 else f"{ms:.0f} ms") in table


@pytest.mark.e2e
def test_rollout_videos_show_a_success_and_a_failure_per_method(smoke_run):
    work, _ = smoke_run
    doc = json.loads((work / "results/rollout_videos.json").read_text())
    assert [m["method"] for m in doc["methods"]] == list(METHOD_LABELS)
    for entry in doc["methods"]:
        method, shown = entry["method"], entry["episodes"]
        records = eval_docs(work, method, OFFSETS[0])[0]["episodes"]
        # The episodes shown are the first success / failure of the evaluation file.
        for outcome, want in (("success", True), ("failure", False)):
            first = next((r["index"] for r in records if r["success"] == want), None)
            assert (shown.get(outcome) or {}).get("pair") == first, (method, outcome)
        info = mp4_info(work / f"results/figures/rollouts/{method}.mp4")
        longest = max(e["steps"] for e in shown.values())
        assert info["frames"] == longest + 1, method  # every step plus the final frame
        assert info["codec"] == "h264" and info["height"] >= SMOKE_VIDEO_SIZE, info
    assert all(e["episodes"] for e in doc["methods"])


@pytest.mark.e2e
def test_standard_task_writes_lerobot_records_and_videos(smoke_run):
    """The default target runs gym-pusht's own task for the configured rows and seeds: LeRobot's
    eval_info.json layout (seeds start_seed + i, coverage-based rewards), an H.264 video at the
    configured size per row and seed, and results/standard.md with every row beside the
    published Diffusion Policy."""
    work, _ = smoke_run
    std = SMOKE["standard"]
    report = json.loads((work / "results/standard.json").read_text())
    assert [r["method"] for r in report["rows"]] == std["methods"]
    for method in std["methods"]:
        for seed in SEEDS:
            folder = work / f"results/standard/{method}/seed{seed}"
            info = json.loads((folder / "eval_info.json").read_text())
            overall = info["overall"]
            assert set(overall) == {"avg_sum_reward", "avg_max_reward", "pc_success",
                                    "n_episodes", "eval_s", "eval_ep_s", "video_paths"}
            assert overall["n_episodes"] == std["n_episodes"] == len(info["per_episode"])
            assert info["per_group"]["pusht"]["pc_success"] == overall["pc_success"]
            assert [e["seed"] for e in info["per_episode"]] == [
                1000 + i for i in range(std["n_episodes"])]
            for e in info["per_episode"]:
                assert 0 <= e["max_reward"] <= 1 and e["steps"] <= std["max_steps"]
                assert e["success"] == (e["max_coverage"] > 0.95)
            assert info["larc"]["method"] == method and info["larc"]["seed"] == seed
            video = mp4_info(folder / "videos/eval_episode_0.mp4")
            assert video["codec"] == "h264" and video["height"] >= SMOKE_VIDEO_SIZE
            assert video["frames"] == info["per_episode"][0]["steps"] + 1
    md = (work / "results/standard.md").read_text()
    assert "63.8%" in md and all(METHODS[m].label in md for m in std["methods"])


@pytest.mark.e2e
def test_a_named_standard_run_writes_beside_the_default_one(smoke_run, tmp_path):
    """A standard-task overlay with its own name (config/standard_500.yaml's way) plans only
    its rows' evaluations and its report under results/<name>; the default target's records
    stay up to date, and the name alone reruns nothing."""
    work, _ = smoke_run
    std = dict(SMOKE["standard"], name="standard_more", n_episodes=3)
    overlay = tmp_path / "more.yaml"
    # Key order kept: Snakemake compares the rules' params as written.
    overlay.write_text(yaml.safe_dump({**SMOKE, "standard": std}, sort_keys=False))
    res = snakemake(work, "-n", "results/standard_more.md", configfile=str(overlay))
    assert planned_jobs(res.stdout + res.stderr) == {
        "eval_standard": len(std["methods"]) * len(SEEDS), "standard_report": 1}
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(yaml.safe_dump(
        {**SMOKE, "standard": dict(SMOKE["standard"], name="standard")}, sort_keys=False))
    res = snakemake(work, "-n", "results/standard.md", configfile=str(renamed))
    assert planned_jobs(res.stdout + res.stderr) == {}


@pytest.mark.e2e
def test_lint_clean(repo_root, tmp_path):
    work = copy_workflow(tmp_path)
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
                 "training_wm_ft.png", "latency.md", "latency_vs_success.png",
                 *(f"{m}.mp4" for m in METHOD_LABELS),  # a rollout video per method
                 "standard.md", "eval_episode_0.mp4"):
        assert any(n.endswith(name) for n in names), name
    assert "LARC" in html and "goal-pose" in html


@pytest.mark.e2e
def test_forcing_one_rule_reruns_it_and_its_downstream_only(smoke_run):
    work, _ = smoke_run
    res = snakemake(work, "-n", "results/table.md", "--forcerun", "train_chunk")
    jobs = planned_jobs(res.stdout + res.stderr)
    n_seeds, n_offsets = len(SEEDS), len(OFFSETS)
    assert jobs == {
        "train_chunk": n_seeds, "train_wm_ft": n_seeds,
        "eval": 2 * n_seeds * n_offsets,  # LARC-Chunk and WM-FT, every seed and offset
        "training_curves": 2, "figures": 1, "runtime": 1, "table": 1,
        # The world-model report reads the LARC-Chunk evaluations (latent-policy gap) and the
        # pictures, which imagine the first seed's chunk.
        "world_model_views": 1, "world_model_health": 1,
        # The table's latency column times the first seed's checkpoints; the performance report
        # reads every benchmark and evaluation.
        "latency": 1, "performance": 1,
        "claims": 1,  # its first claim pairs LARC-Chunk with LARC-IDM
    }, jobs


@pytest.mark.e2e
def test_changing_an_eval_parameter_reruns_evaluation_and_reports_only(smoke_run, tmp_path):
    work, _ = smoke_run
    cfg = (work / "config/smoke.yaml").read_text()
    assert "latency_calls: 10" in cfg
    edited = tmp_path / "edited.yaml"
    edited.write_text(cfg.replace("latency_calls: 10", "latency_calls: 15"))
    cmd = [sys.executable, "-m", "snakemake", "-n", "results/table.md", "--configfile",
           str(edited)]
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = planned_jobs(res.stdout + res.stderr)
    # world_model_health: its latent-policy gap reads the LARC evaluations.
    assert set(jobs) == {"eval", "eval_reference", "figures", "runtime", "table",
                         "world_model_health", "latency", "performance", "claims"}, jobs
    n_reference = sum(not (METHODS[m].learned or METHODS[m].planned) for m in METHOD_LABELS)
    assert jobs["eval"] == len(LEARNED) * len(SEEDS) * len(OFFSETS)
    assert jobs["eval_reference"] == n_reference * len(OFFSETS)


def _training_dir(src: Path, dest: Path, steps: int = 4000) -> Path:
    """A folder with the smoke run's data, latents and world model, and a config whose policy
    training is long enough to be killed part-way (``steps``; checkpoints every 50)."""
    for rel in ("data/pusht_expert_train.h5", "data/pusht_frame_latents.pt",
                "checkpoints/world_model/world_model.pt"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)
    head, policy = (src / "config/smoke.yaml").read_text().split("\npolicy:\n")
    policy = re.sub(r"(\n  train:\n    steps: )\d+", rf"\g<1>{steps}", policy, count=1)
    policy = re.sub(r"(\n    checkpoint_every: )\d+", r"\g<1>50", policy, count=1)
    cfg = head + "\npolicy:\n" + policy
    (dest / "config").mkdir(exist_ok=True)
    (dest / "config/long.yaml").write_text(cfg)
    # The workflow's own config, which the CLI (as Snakemake) reads config/long.yaml over.
    shutil.copy2(src / "config/config.yaml", dest / "config/config.yaml")
    return dest


LONG_CHUNK = "checkpoints/larc_chunk_backbone_latent/seed0/shared_policy_backbone.pt"
"""Where ``larc train-chunk --seed 0`` and rule train_chunk put seed 0's LARC-Chunk."""
TRAIN_LONG_CHUNK = [sys.executable, "-m", "larc_core.cli", "train-chunk", "--config",
                    "config/long.yaml", "--seed", "0"]


@pytest.fixture(scope="module")
def long_chunk_alone(smoke_run, tmp_path_factory):
    """LARC-Chunk of seed 0 trained alone, uninterrupted, on config/long.yaml (one thread, as
    rule train_chunk trains): the weights every interrupted or contended training must end
    with. Its state dict."""
    from larc_core.policies.checkpoint import load_policy

    ref = _training_dir(smoke_run[0], tmp_path_factory.mktemp("long_chunk_alone"))
    subprocess.run(TRAIN_LONG_CHUNK, cwd=ref, check=True, capture_output=True, timeout=600)
    return load_policy(ref / LONG_CHUNK)[0].state_dict()


def _assert_weights(path: Path, reference: dict) -> None:
    import torch

    from larc_core.policies.checkpoint import load_policy

    ours = load_policy(path)[0].state_dict()
    for (name, x), (_, y) in zip(reference.items(), ours.items(), strict=True):
        assert torch.equal(x, y), name


@pytest.mark.e2e
def test_killed_training_resumes_to_the_uninterrupted_result(smoke_run, long_chunk_alone,
                                                             tmp_path):
    """SIGKILL a real `larc train-chunk` process mid-run; the rerun resumes from the state kept
    in .larc_state/ (outside the outputs) and ends with the uninterrupted run's weights."""
    import signal
    import time

    import torch

    cmd = [*TRAIN_LONG_CHUNK, "--out-dir", "out"]
    run = _training_dir(smoke_run[0], tmp_path)
    state = run / "out.larc_state/last.pt"  # beside the --out-dir it was asked for
    proc = subprocess.Popen(cmd, cwd=run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "training finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists() and not (run / "out/shared_policy_backbone.pt").exists()
    saved_step = torch.load(state, weights_only=True)["step"]
    assert 0 < saved_step < 4000

    res = subprocess.run(cmd, cwd=run, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resuming" in res.stderr
    _assert_weights(run / "out/shared_policy_backbone.pt", long_chunk_alone)


def _wait_for_lock(lock: Path) -> None:
    import time

    deadline = time.time() + 300
    while not (lock.exists() and lock.read_text().startswith("pid")) and time.time() < deadline:
        time.sleep(0.05)


@pytest.mark.e2e
def test_two_concurrent_trainings_of_one_artifact_cannot_corrupt_it(smoke_run, long_chunk_alone,
                                                                    tmp_path):
    """Two real processes train the same checkpoint in one folder (as two Snakemake runs do once
    Snakemake's own lock is gone): the second stops at once naming the first, which finishes
    with the weights of a run that trained alone."""
    run = _training_dir(smoke_run[0], tmp_path)
    first = subprocess.Popen(TRAIN_LONG_CHUNK, cwd=run, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    _wait_for_lock(run / ".larc_state/train_chunk/seed0/lock")
    second = subprocess.run(TRAIN_LONG_CHUNK, cwd=run, capture_output=True, text=True,
                            timeout=300)
    # The second names the first's pid: it ran while the first held the lock.
    assert second.returncode != 0 and "Traceback" not in second.stderr, second.stderr[-2000:]
    assert f"is being trained right now by another process (pid {first.pid} " in second.stderr
    assert first.wait(timeout=600) == 0, first.stderr.read()[-2000:]
    _assert_weights(run / LONG_CHUNK, long_chunk_alone)


@pytest.mark.e2e
def test_two_concurrent_snakemake_runs_cannot_corrupt_an_artifact(smoke_run, long_chunk_alone,
                                                                  tmp_path):
    """Two real Snakemake runs in one folder train the same checkpoint; the second runs without
    Snakemake's directory lock (`--nolock`: as after a third run ended and removed it). Its job
    stops at once on the project's lock; the first finishes with the weights of a run alone."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", LONG_CHUNK, "--configfile",
           "config/long.yaml"]
    run = _training_dir(smoke_run[0], copy_workflow(tmp_path / "run"))
    first = subprocess.Popen(cmd, cwd=run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    _wait_for_lock(run / ".larc_state/train_chunk/seed0/lock")
    second = subprocess.run([*cmd[:3], "--nolock", *cmd[3:]], cwd=run, capture_output=True,
                            text=True, timeout=600)
    assert second.returncode != 0
    log = (run / "logs/train_chunk/seed0.log").read_text()
    assert "is being trained right now by another process (pid" in log, log[-3000:]
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out[-3000:]
    _assert_weights(run / LONG_CHUNK, long_chunk_alone)


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{cmd} failed in {cwd}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


@pytest.mark.e2e
def test_dvc_round_trip_restores_every_step(smoke_run, repo_root, tmp_path):
    """Commit the smoke run's artifacts with DVC, push to a local remote, clone fresh, pull:
    after the documented restore step Snakemake has nothing to do."""
    import hashlib

    work, _ = smoke_run
    src, remote, dst = tmp_path / "src", tmp_path / "remote", tmp_path / "dst"
    copy_workflow(src)
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy2(repo_root / name, src / name)
    for name in ("data", "checkpoints", "results", "artifacts"):
        shutil.rmtree(src / name, ignore_errors=True)
        shutil.copytree(work / name, src / name)  # keeps file times, like the user's own run
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run(["git", "init", "-q"], src)
    _run(["dvc", "init", "-q"], src)
    # The repo's default remote is a folder beside the clone; point this test at its own.
    assert "larc-dvc-storage" in (repo_root / ".dvc/config").read_text()
    _run(["dvc", "remote", "add", "-d", "-f", "local", str(remote)], src)
    _run(["dvc", "commit", "-f", "-q"], src)
    _run([*git, "add", "-A"], src)
    _run([*git, "commit", "-q", "-m", "smoke run"], src)
    tracked = _run(["git", "ls-files"], src).split()
    assert "dvc.lock" in tracked and "results/table.md" in tracked
    assert not any(f.startswith(("data/", "checkpoints/", "results/eval/")) for f in tracked)
    # Every declared output is restored: benchmarks and the link manifest are small, in git.
    assert "artifacts/manifest.json" in tracked and "results/benchmarks/train_chunk_seed0.tsv" in tracked
    _run(["dvc", "push", "-q"], src)

    # A clone whose remote is empty: the restore fails loudly, naming the remote, and marks
    # nothing up to date.
    empty, bare = tmp_path / "empty_remote", tmp_path / "bare"
    empty.mkdir()
    _run(["git", "clone", "-q", str(src), str(bare)], tmp_path)
    _run(["dvc", "remote", "modify", "local", "url", str(empty)], bare)
    larc = [sys.executable, "-m", "larc_core.cli", "restore", "--config", "config/smoke.yaml"]
    res = subprocess.run(larc, cwd=bare, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert f"`dvc pull` from remote local ({empty})" in res.stderr and "nothing was" in res.stderr
    assert "Nothing to be done" not in (snakemake(bare, "-n", "results/table.md").stdout)

    _run(["git", "clone", "-q", str(src), str(dst)], tmp_path)
    # The documented restore: pull, check every output against dvc.lock, mark them up to date.
    out = _run(larc, dst)
    assert "restored: nothing to do for the default target" in out
    for rel in ("data/pusht_expert_train.h5", "checkpoints/world_model/world_model.pt",
                "checkpoints/larc_chunk_backbone_wm_ft/seed1/shared_policy_backbone.pt",
                "results/eval/larc_idm/seed0_h25.json"):
        assert (hashlib.sha256((dst / rel).read_bytes()).digest()
                == hashlib.sha256((work / rel).read_bytes()).digest()), rel
    # The restore's own dry run was of the default target; the documented command's too.
    res = snakemake(dst, "-n", "results/table.md")
    assert "Nothing to be done" in res.stdout + res.stderr
    # DVC's metrics are the table's success rates; its plots render the curves.
    shown = _run(["dvc", "metrics", "show"], dst)
    assert "results/metrics.json" in shown and "success_rate.larc_chunk_wm_ft.h25" in shown
    _run(["dvc", "plots", "show", "-o", "dvc_plots"], dst)
    html = (dst / "dvc_plots/index.html").read_text()
    assert "success_vs_offset" in html and "training_wm_ft" in html
    # The config sections each stage depends on are DVC params: an edit shows in a diff.
    (dst / "config/config.yaml").write_text(
        (dst / "config/config.yaml").read_text().replace("n_episodes: 100 ", "n_episodes: 40 "))
    assert "eval.n_episodes" in _run(["dvc", "params", "diff"], dst)

    # Deleting one checkpoint: naming it as a target reruns its rule and its dependents only.
    ckpt = "checkpoints/larc_chunk_backbone_latent/seed0/shared_policy_backbone.pt"
    (dst / ckpt).unlink()
    res = snakemake(dst, "-n", "results/table.md", ckpt)
    jobs = planned_jobs(res.stdout + res.stderr)
    assert jobs == {
        "train_chunk": 1, "train_wm_ft": 1, "eval": 2 * len(OFFSETS),  # Chunk, WM-FT of seed 0
        "training_curves": 2, "figures": 1, "runtime": 1, "table": 1,
        "world_model_views": 1, "world_model_health": 1,  # seed 0's chunk, imagined
        "latency": 1, "performance": 1,  # seed 0's checkpoints; every benchmark
        "claims": 1,  # pairs LARC-Chunk's evaluations
    }, jobs


def _h5_datasets(path: Path) -> dict:
    """Every dataset (as an array) and every attribute of an HDF5 file, keyed by name."""
    import h5py

    out: dict = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        out.update({f"@{k}": v for k, v in f.attrs.items()})
    return out


def _assert_same_tensors(a: dict, b: dict, what: str) -> None:
    import torch

    assert list(a) == list(b), what
    for key in a:
        assert torch.equal(a[key], b[key]), f"{what}: {key} differs"


@pytest.mark.e2e
def test_same_seed_rebuilds_identical_artifacts(smoke_run, repo_root, tmp_path):
    """A second run from scratch with the same seeds gives bit-identical demonstrations and latent
    cache, identical world-model and policy weights, and identical per-episode records."""
    import numpy as np
    import torch

    from larc_core.policies.checkpoint import load_policy

    work, _ = smoke_run
    again = copy_workflow(tmp_path)
    records = ["results/eval/larc_chunk_wm_ft/seed1_h25.json",
               f"results/eval/larc_idm/seed0_h{OFFSETS[-1]}.json"]
    snakemake(again, "--cores", "2", *records)

    first, second = _h5_datasets(work / "data/pusht_expert_train.h5"), _h5_datasets(
        again / "data/pusht_expert_train.h5")
    assert sorted(first) == sorted(second) and "pixels" in first
    for key, value in first.items():
        assert np.array_equal(np.asarray(value), np.asarray(second[key])), f"demos: {key}"

    def load(root: Path, rel: str) -> dict:
        return torch.load(root / rel, weights_only=True)

    wm = "checkpoints/world_model/world_model.pt"
    _assert_same_tensors(load(work, wm)["state_dict"], load(again, wm)["state_dict"], wm)
    latents = "data/pusht_frame_latents.pt"
    assert torch.equal(load(work, latents)["latents"], load(again, latents)["latents"])
    for rel in ("checkpoints/larc_chunk_backbone_latent/seed1/shared_policy_backbone.pt",
                "checkpoints/larc_chunk_backbone_wm_ft/seed1/shared_policy_backbone.pt",
                "checkpoints/larc_idm_backbone_latent/seed0/shared_policy_backbone.pt"):
        _assert_same_tensors(load_policy(work / rel)[0].state_dict(),
                             load_policy(again / rel)[0].state_dict(), rel)
    for rel in records:
        a, b = (json.loads((root / rel).read_text()) for root in (work, again))
        assert a["episodes"] == b["episodes"] and a["successes"] == b["successes"], rel
        assert a["pairs_sha256"] == b["pairs_sha256"]


@pytest.mark.e2e
def test_only_the_training_the_evaluated_methods_need_is_scheduled(repo_root, tmp_path):
    work = copy_workflow(tmp_path)
    for lam in (True, False):
        config = yaml.safe_load((work / "config/smoke.yaml").read_text())
        config["lam_report"] = {"enabled": lam}
        (work / f"config/lam_{lam}.yaml").write_text(yaml.safe_dump(config))
    for methods, lam, trained in (
        ('["larc_chunk", "noop"]', False, {"train_chunk"}),
        ('["larc_chunk_wm_ft", "cem_commit5"]', False, {"train_chunk", "train_wm_ft"}),
        ('["larc_idm", "gc_idm"]', False, {"train_idm", "train_gc_idm"}),
        # The latent action model trains for its report, which no row needs.
        ('["noop"]', True, {"train_lam"}),
    ):
        res = snakemake(work, "-n", "results/table.md", "--config",
                        f'eval={{"methods": {methods}}}', configfile=f"config/lam_{lam}.yaml")
        jobs = planned_jobs(res.stdout + res.stderr)
        assert {j for j in jobs if j.startswith("train_") and j != "train_world_model"} == \
            trained, (methods, jobs)


@pytest.mark.e2e
def test_rule_logs_read_as_lines(smoke_run):
    """Progress in a rule log is periodic log lines, never a bar's carriage-return fragments."""
    work, _ = smoke_run
    logs = sorted((work / "logs").rglob("*.log"))
    assert len(logs) > 30
    for path in logs:
        text = path.read_text()
        assert "\r" not in text and not re.search(r"\d+%\|", text), path
    train = (work / "logs/train_chunk/seed0.log").read_text()
    assert re.search(r"larc.train: train chunk step \d+/\d+ .*val_total=", train), train[-2000:]
    assert re.search(r"larc.progress: train chunk: \d+/\d+ step \(100%\)", train), train[-2000:]


@pytest.mark.e2e
def test_dvc_metrics_and_plots_from_the_run(smoke_run):
    """The table's numbers are DVC metrics and its figure and training curves DVC plots."""
    work, _ = smoke_run
    metrics = json.loads((work / "results/metrics.json").read_text())
    summary = {(r["method"], int(r["offset"])): r for r in
               __import__("csv").DictReader((work / "results/table_summary.csv").open())}
    for method in METHOD_LABELS:
        for offset in OFFSETS:
            assert metrics["success_rate"][method][f"h{offset}"] == pytest.approx(
                float(summary[(method, offset)]["success_rate_mean"]), abs=1e-4)
    plot = (work / "results/plots/success_vs_offset.csv").read_text().splitlines()
    assert plot[0].split(",") == ["offset", *(m for m in METHODS if m in METHOD_LABELS)]
    assert len(plot) == 1 + len(OFFSETS)


@pytest.mark.e2e
def test_pair_draw_check_reruns_the_rows_on_another_draw(smoke_run):
    """Rule pair_draws sets each checked row's success on the table's pairs beside the same
    checkpoints' success on pairs drawn with another seed, from the evaluation files."""
    from larc_core.evaluation.statistics import episode_outcomes

    work, _ = smoke_run
    d = SMOKE["pair_draws"]
    doc = json.loads((work / "results/pair_draws.json").read_text())
    assert [(r["method"], r["offset"], r["draw_seed"]) for r in doc["rows"]] == [
        (m, o, s) for m in d["methods"] for o in d["offsets"] for s in d["seeds"]]
    for r in doc["rows"]:
        table = [work / f"results/eval/{r['method']}/seed{s}_h{r['offset']}.json" for s in SEEDS]
        draw = [work / f"results/eval/draws/draw{r['draw_seed']}/{r['method']}/"
                f"seed{s}_h{r['offset']}.json" for s in SEEDS]
        for side, files in (("table", table), ("draw", draw)):
            wins = episode_outcomes(files)
            assert r[side]["n_pairs"] == len(wins) == N_PAIRS
            assert r[side]["rate"] == pytest.approx(
                100 * sum(map(sum, wins.values())) / sum(map(len, wins.values())))
            assert r[side]["ci"][0] <= r[side]["rate"] <= r[side]["ci"][1]
        assert set(episode_outcomes(table)) != set(episode_outcomes(draw))  # other pairs
        assert r["verdict"] == ("agree" if r["ci"][0] <= 0 <= r["ci"][1] else "differ")
        pairs = json.loads((work / f"results/eval/draws/draw{r['draw_seed']}/"
                                   f"pairs_h{r['offset']}.json").read_text())
        assert pairs["seed"] == r["draw_seed"] != SMOKE["eval"]["seed"]
    assert "| LARC-Chunk + WM-FT | h25 | 43 |" in (work / "results/pair_draws.md").read_text()


@pytest.mark.e2e
def test_latent_action_report_measures_every_seed_s_model(smoke_run):
    """Rule train_lam trains one latent action model per seed; rule lam_report measures each
    on the validation episodes and the training curves show its losses."""
    import torch

    work, _ = smoke_run
    doc = json.loads((work / "results/lam.json").read_text())
    assert sorted(doc["seeds"]) == [str(s) for s in SEEDS]
    lam = SMOKE["lam"]
    for seed, m in doc["seeds"].items():
        assert len(m["usage"]) == len(m["perplexity"]) == 2 and m["windows"] > 0
        assert 1.0 <= m["joint_perplexity"] <= 16 ** 2 and m["copy_mse"] > 0
        assert m["forward_ratio"] == pytest.approx(m["forward_mse"] / m["copy_mse"])
        saved = torch.load(work / f"checkpoints/latent_action_model/seed{seed}/"
                           "latent_action_model.pt", weights_only=False)
        assert saved["meta"]["seed"] == int(seed) and saved["meta"]["steps"] == lam["steps"]
    md = (work / "results/lam.md").read_text()
    assert md.count("\n| ") == len(SEEDS) + 1 and "copy baseline" in md
    assert (work / "results/figures/training_lam.png").stat().st_size > 0


@pytest.mark.e2e
def test_label_sweep_trains_each_row_on_the_same_labeled_episodes(smoke_run):
    """`snakemake results/label_efficiency.md` trains LAPA and its baselines at every labeled
    fraction (the same labeled episodes for every row), runs them on the first n_pairs
    evaluation pairs, and reports LAPA minus each baseline pair by pair."""
    work, _ = smoke_run
    snakemake(work, "--cores", "2", "results/label_efficiency.md")
    sweep = SMOKE["label_efficiency"]
    res = json.loads((work / "results/label_efficiency.json").read_text())
    methods = ["lapa_chunk", "lapa_idm", "larc_chunk_few", "larc_idm_few"]
    assert {(r["method"], r["fraction"]) for r in res["rates"]} == {
        (m, f) for m in methods for f in sweep["fractions"]}
    for f in sweep["fractions"]:
        points = [json.loads((work / f"results/label_efficiency/{m}_f{f:g}.json").read_text())
                  for m in methods]
        assert len({p["labeled_episodes"] for p in points}) == 1  # the same labeled episodes
        for p in points:
            assert {(r["seed"], r["offset"]) for r in p["runs"]} == {
                (s, o) for s in SEEDS for o in OFFSETS}
            assert all(r["n_episodes"] == sweep["n_pairs"] for r in p["runs"])
    assert {(d["lapa"], d["baseline"], d["fraction"]) for d in res["differences"]} == {
        (a, b, f) for a in methods[:2] for b in methods[2:] for f in sweep["fractions"]}
    assert {(d["a"], d["b"]) for d in res["ablations"]} == {
        ("lapa_chunk", "larc_chunk_few"), ("lapa_idm", "larc_idm_few"),
        ("larc_chunk_few", "larc_idm_few")}
    text = (work / "results/label_efficiency.md").read_text()
    assert "The seed's claim" in text and "## Ablations" in text and "R^2" in text
    assert (work / "results/figures/label_efficiency.png").stat().st_size > 0


@pytest.mark.e2e
def test_wm_ft_sweep_runs_on_tuning_pairs_from_training_episodes(smoke_run):
    """`snakemake results/wm_ft.md` fine-tunes the run's Chunk checkpoints with every grid
    point, runs them on tuning pairs drawn from training episodes (never an evaluation
    episode), and reports the selection beside the Chunk itself."""
    from larc_core.data import DemoFile

    work, _ = smoke_run
    snakemake(work, "--cores", "2", "results/wm_ft.md")
    res = json.loads((work / "results/wm_ft.json").read_text())
    assert [r["point"] for r in res["rows"]] == [p["name"] for p in SMOKE["wm_ft_sweep"]["grid"]]
    assert res["selected"] == "path2" and not res["default_is_selected"]
    assert res["seeds"] == SMOKE["wm_ft_sweep"]["seeds"]
    for row in res["rows"]:
        assert all(0 <= v <= 100 for v in row["rates"].values()), row
    with DemoFile(work / "data/pusht_expert_train.h5") as demo:
        train = set(int(e) for e in demo.train_episodes)
    for o in OFFSETS:
        tuning = json.loads((work / f"results/tuning/pairs_h{o}.json").read_text())
        evaluation = json.loads((work / f"results/eval/pairs_h{o}.json").read_text())
        assert tuning["split"] == "train" and tuning["seed"] == SMOKE["tuning"]["pair_seed"]
        assert len(tuning["pairs"]) == SMOKE["tuning"]["n_pairs"] == res["n_pairs"][str(o)]
        assert {p["episode"] for p in tuning["pairs"]} <= train
        assert not {p["episode"] for p in tuning["pairs"]} & {
            p["episode"] for p in evaluation["pairs"]}
    text = (work / "results/wm_ft.md").read_text()
    assert "`path2` **(selected)**" in text and "target=path" in text
