"""End to end with LeWM-style artifacts: a synthetic paper-size ``weights.pt`` in LeWM's key layout
and a small 224-px file in LeWM's HDF5 layout are placed in an artifact folder; the real Snakemake
workflow links them, imports the checkpoint, caches latents, trains the Chunk and WM-FT policies
briefly and runs the smoke evaluation (a LARC row and the No-op row)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from larc_core.data import DemoFile, collect_demos
from larc_core.io import sha256_file
from larc_core.world_model import (
    LARC_ONLY_KEYS,
    WorldModel,
    WorldModelConfig,
    fit_lewm_action_stats,
    load_latent_cache,
    load_world_model,
)

LEWM_KEYS = ("pixels", "action", "state", "proprio", "episode_idx", "step_idx", "ep_len",
             "ep_offset")
OFFSET = 10
EPISODES, EP_LEN = 3, 30  # default split: 1 validation episode, 20 candidate starts at OFFSET
RESULTS = (f"results/eval/larc_chunk_wm_ft/seed0_h{OFFSET}.json", f"results/eval/noop/h{OFFSET}.json")


def lewm_layout_copy(src: Path, dst: Path) -> Path:
    """Re-save a demo file with LeWM's keys only (no episode_split, no attributes), pixels
    chunked one frame per chunk and uncompressed, as a foreign file would come."""
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key in LEWM_KEYS:
            data = fin[key][()]
            if key == "pixels":
                fout.create_dataset(key, data=data, chunks=(1, *data.shape[1:]))
            else:
                fout[key] = data
    return dst


def synthetic_lewm_weights(path: Path) -> dict[str, torch.Tensor]:
    """A paper-size model with non-zero AdaLN layers, saved as LeWM's plain ``weights.pt``."""
    torch.manual_seed(0)
    model = WorldModel(WorldModelConfig.paper())
    with torch.no_grad():
        for block in model.predictor.transformer.layers:
            block.adaLN_modulation[1].weight.normal_(0.0, 0.02)
    sd = {k: v.clone() for k, v in model.state_dict().items() if k not in LARC_ONLY_KEYS}
    torch.save(sd, path)
    return sd


def e2e_config(smoke: dict, artifacts_dir: Path) -> dict:
    cfg = json.loads(json.dumps(smoke))
    cfg["seeds"] = [0]
    cfg["artifacts"] = {"dir": str(artifacts_dir)}
    cfg["data"].update(resolution=224, min_len=EP_LEN, max_len=EP_LEN)
    cfg["world_model"]["model"] = WorldModelConfig.paper().to_dict()
    cfg["world_model"]["train"]["cache_batch_size"] = 32
    cfg["policy"].update(goal_offset_min=1, goal_offset_max=20)
    cfg["policy"]["train"].update(steps=8, batch_size=16, checkpoint_every=8)
    cfg["policy"]["wm_ft"].update(steps=4, batch_size=8)
    cfg["eval"].update(methods=["larc_chunk_wm_ft", "noop"], offsets=[OFFSET], n_episodes=2,
                       execute_chunk_size=5,
                       latency_warmup=1, latency_calls=3)
    return cfg


def run_snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", "config/lewm_e2e.yaml"]
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}"
                         for p in sorted((work / "logs").rglob("*.log"))) if (
            work / "logs").exists() else ""
        raise AssertionError(f"{cmd} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}\n{logs}")
    return res


@pytest.mark.e2e
def test_published_layout_artifacts_run_end_to_end(tmp_path, repo_root):
    art = tmp_path / "lewm_artifacts"
    art.mkdir()
    collect_demos(tmp_path / "collected.h5", n_episodes=EPISODES, min_len=EP_LEN,
                  max_len=EP_LEN, resolution=224, seed=0, workers=1, val_fraction=0.34,
                  progress=False)
    data = lewm_layout_copy(tmp_path / "collected.h5", art / "pusht_expert_train.h5")
    weights = synthetic_lewm_weights(art / "weights.pt")

    work = tmp_path / "wf"
    work.mkdir()
    for name in ("Snakefile", "workflow", "config", "environment.yml"):
        src = repo_root / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    smoke = yaml.safe_load((repo_root / "config" / "smoke.yaml").read_text())
    (work / "config" / "lewm_e2e.yaml").write_text(yaml.safe_dump(e2e_config(smoke, art)))

    run_snakemake(work, "--cores", "2", *RESULTS)

    # link_artifacts validated and linked both files under their published names.
    manifest = json.loads((work / "artifacts/manifest.json").read_text())["linked"]
    assert set(manifest) == {"data", "world_model"}
    assert manifest["world_model"]["format"] == "lewm-state-dict"
    assert manifest["world_model"]["parameters"] == 18_034_478
    assert manifest["data"]["resolution"] == 224
    assert manifest["data"]["frames"] == EPISODES * EP_LEN
    for target, src in (("external/weights.pt", art / "weights.pt"),
                        ("data/pusht_expert_train.h5", data)):
        assert (work / target).is_symlink() and (work / target).resolve() == src.resolve()
    # Nothing was built that the artifacts replace.
    assert not (work / "checkpoints/world_model/world_model.pt").exists()
    assert not (work / "logs/collect_demos.log").exists()

    # The imported checkpoint holds LeWM's weights exactly, plus statistics fitted on the file.
    imported = work / "checkpoints/world_model/lewm_import.pt"
    model = load_world_model(imported)
    assert model.cfg == WorldModelConfig.paper()
    state = model.state_dict()
    for key, value in weights.items():
        assert torch.equal(state[key], value), key
    mean, std = fit_lewm_action_stats(data)
    np.testing.assert_allclose(model.action_mean.numpy(), np.tile(mean, 5), rtol=1e-6)
    np.testing.assert_allclose(model.action_std.numpy(), np.tile(std, 5), rtol=1e-6)

    # Latents were encoded by that model at 224 px; every later stage used the same file.
    sha = sha256_file(imported)
    with DemoFile(data) as demo:
        n_frames = demo.n_frames
    cache = load_latent_cache(work / "data/pusht_frame_latents.pt", expected_wm_sha256=sha,
                              expected_latent_dim=192, expected_n_frames=n_frames)
    assert torch.isfinite(cache.latents).all()
    with torch.no_grad():
        with DemoFile(data) as demo:
            again = model.encode(torch.as_tensor(demo.frames(np.arange(4))))
    torch.testing.assert_close(again, cache.latents[:4], rtol=1e-4, atol=1e-4)

    docs = [json.loads((work / rel).read_text()) for rel in RESULTS]
    assert [len(d["episodes"]) for d in docs] == [2, 2]
    assert sha in json.dumps(docs[0])  # the LARC row's provenance names the imported model
    # Both rows ran on the same start/goal pairs drawn from the linked file.
    starts = [[ep["start_row"] for ep in d["episodes"]] for d in docs]
    assert starts[0] == starts[1]
