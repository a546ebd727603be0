"""What a world-model setting keeps of the state: train it, cache its latents, probe them.

Trains a world model with the project's trainer on a demonstration file, with ``world_model.*``
of ``--config`` changed by ``--set`` (``model.latent_dim=128``, ``train.lr=1e-3``,
``model.decoder_channels=[64,32,16]``, ``train.recon_weight=50``), encodes every frame, and
prints validation-episode R^2 of a ridge probe and a small MLP probe (2 x 256) for block x, y,
sin and cos of the block angle and agent x, y, with the training time. ``--supervised`` instead
trains a small CNN on the pixels to predict those six targets directly: the upper bound of what
the frames and the amount of data allow. Usage (the issue 14 notes come from runs like these)::

    python benchmarks/world_model_probe.py --demos data/pusht_expert_train.h5 --set train.lr=1e-3
    python benchmarks/world_model_probe.py --demos data/pusht_expert_train.h5 --supervised

Probes are read-only diagnostics: nothing here feeds a state into the world model's loss.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch
import yaml
from torch import nn

from larc_core.data import DemoFile
from larc_core.world_model import (
    WorldModelConfig,
    WorldModelTrainConfig,
    build_latent_cache,
    load_latent_cache,
    train_world_model,
)
from larc_core.world_model.health import (
    PROBE_TARGETS,
    mlp_probe_r2,
    probe_targets,
    ridge_probe_r2,
)


def split_rows(demo_path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(states (N, 7), training rows, validation rows) of a demonstration file."""
    with DemoFile(demo_path) as d:
        off, ln = d.ep_offset, d.ep_len
        rows = [np.concatenate([np.arange(off[e], off[e] + ln[e]) for e in eps])
                for eps in (d.train_episodes, d.val_episodes)]
        return np.asarray(d.state), rows[0], rows[1]


def supervised_r2(demo_path: str, steps: int, seed: int = 0) -> np.ndarray:
    """R^2 per target of a 4-stage stride-2 CNN trained on the pixels (batch 64)."""
    states, train, val = split_rows(demo_path)
    with DemoFile(demo_path) as d:
        pixels = torch.from_numpy(np.asarray(d.h5["pixels"][:]))
    y = torch.tensor(probe_targets(states), dtype=torch.float32)
    y = (y - y[train].mean(0)) / y[train].std(0)
    torch.manual_seed(seed)
    side = pixels.shape[1] // 16
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 3, 2, 1), nn.GELU(),
        nn.Conv2d(64, 64, 3, 2, 1), nn.GELU(), nn.Conv2d(64, 64, 3, 2, 1), nn.GELU(),
        nn.Flatten(), nn.Linear(64 * side * side, 256), nn.GELU(), nn.Linear(256, 6))
    opt = torch.optim.AdamW(net.parameters(), 1e-3)

    def images(rows: torch.Tensor) -> torch.Tensor:
        return pixels[rows].permute(0, 3, 1, 2).float() / 255.0

    rows = torch.as_tensor(train)
    for _ in range(steps):
        i = rows[torch.randint(len(rows), (64,))]
        loss = ((net(images(i)) - y[i]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        val_t = torch.as_tensor(val)
        pred = torch.cat([net(images(val_t[j:j + 512])) for j in range(0, len(val_t), 512)])
        true = y[val_t]
        return (1 - ((pred - true) ** 2).sum(0) / ((true - true.mean(0)) ** 2).sum(0)).numpy()


def apply_sets(wm: dict, sets: list[str]) -> dict:
    """``section.key=value`` overrides (value parsed as YAML) on a copy of ``world_model``."""
    out = {k: dict(v) for k, v in wm.items()}
    for item in sets:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        if section not in out or not name or not _:
            raise SystemExit(f"--set {item!r}: expected model.<key>=<value> or train.<key>=<value>")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        out[section][name] = parsed
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config/config.yaml", help="world_model.* settings")
    ap.add_argument("--demos", default="data/pusht_expert_train.h5", help="demonstration file")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override of world_model.<section>.<key> (repeatable)")
    ap.add_argument("--supervised", type=int, nargs="?", const=6000, default=0, metavar="STEPS",
                    help="train a supervised CNN on the pixels instead (default 6000 steps)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--record", default=str(Path(__file__).with_suffix(".jsonl")),
                    help="append the result as a JSON line here (results/world_model.md lists "
                         "them); '' to skip")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="keep the trained model (wm.pt) and its latents (latents.pt) in DIR")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = " / ".join(PROBE_TARGETS)
    t0 = time.time()
    if args.supervised:
        r2 = supervised_r2(args.demos, args.supervised, args.seed)
        print(f"world-model probe | supervised CNN on pixels, {args.supervised} steps | R^2 "
              f"{names}: {' / '.join(f'{v:.2f}' for v in r2)} | {time.time() - t0:.0f} s")
        record(args.record, {"set": [], "supervised": args.supervised, "demos": args.demos,
                             "episodes": n_episodes(args.demos),
                             "train_s": time.time() - t0, "ridge": r2.tolist(), "mlp": None})
        return
    wm = apply_sets(yaml.safe_load(Path(args.config).read_text())["world_model"], args.set)
    states, train, val = split_rows(args.demos)
    with TemporaryDirectory() as tmp_dir:
        tmp = args.keep or tmp_dir
        Path(tmp).mkdir(parents=True, exist_ok=True)
        out = Path(tmp) / "wm.pt"
        train_world_model(WorldModelConfig.from_dict(wm["model"]),
                          WorldModelTrainConfig(**wm["train"]), args.demos, out,
                          Path(tmp) / "state", seed=args.seed, progress=False)
        train_s = time.time() - t0
        build_latent_cache(args.demos, out, Path(tmp) / "latents.pt", progress=False)
        z = load_latent_cache(Path(tmp) / "latents.pt").latents.float().numpy()
    y = probe_targets(states)
    rng = np.random.default_rng(args.seed)
    fit_rows = rng.choice(train, size=min(len(train), 20_000), replace=False)
    ridge = ridge_probe_r2(z[fit_rows], y[fit_rows], z[val], y[val])
    mlp = mlp_probe_r2(z, y, train, val, seed=args.seed)
    print(f"world-model probe | {json.dumps(args.set)} | trained in {train_s:.0f} s | R^2 {names}"
          f" | ridge {' / '.join(f'{v:.2f}' for v in ridge)} | MLP "
          f"{' / '.join(f'{v:.2f}' for v in mlp)}", flush=True)
    record(args.record, {"set": args.set, "demos": args.demos, "episodes": n_episodes(args.demos),
                         "train_s": train_s,
                         "ridge": ridge.tolist(), "mlp": mlp.tolist()})


def n_episodes(demo_path: str) -> int:
    """Episodes in a demonstration file."""
    with DemoFile(demo_path) as d:
        return len(d.ep_len)


def record(path: str, entry: dict) -> None:
    """Append ``entry`` (with the commit, the date and the load average) as one JSON line."""
    if not path:
        return
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", ""
    entry = {**entry, "commit": commit + ("+dirty" if dirty else ""),
             "date": time.strftime("%Y-%m-%d %H:%M"), "load_avg": list(os.getloadavg())}
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
