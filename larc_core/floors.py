"""Floors: what each unit of the workflow's work costs on this machine, measured in isolation.

``results/performance.md`` sets every stage's rate against these: a stage can only be as fast
as its unit operations (an env step, a rendered frame, an encoder batch, a policy or
world-model optimisation step, a CEM plan, an HDF5 read, a process start-up) times its work.
Each primitive is timed on in-memory inputs with the models built from the run's config
(random weights: the cost of a step does not depend on the weights), with the torch threads
the rule that pays it uses, and reported as the median of repeated calls. A floor measured
beside other jobs is inflated: the rule that measures them holds every core of the machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Python modules a workflow job imports before it does any work (process start-up floor).
JOB_IMPORTS = "import torch, h5py, gym_pusht, larc_core.stages, larc_core.evaluation.run"


def median_seconds(fn: Callable[[], Any], calls: int, warmup: int = 2) -> float:
    """Median wall seconds of ``calls`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def process_start_s(calls: int = 3) -> float:
    """Seconds for a fresh Python process to import what every job imports."""
    return median_seconds(
        lambda: subprocess.run([sys.executable, "-c", JOB_IMPORTS], check=True), calls, warmup=1
    )


def env_floors(resolution: int, calls: int = 300) -> dict[str, float]:
    """Seconds per env step (physics, 10 substeps) and per rendered frame at ``resolution``."""
    from larc_core.envs import PushTEnv

    rng = np.random.default_rng(0)
    with PushTEnv(resolution=resolution) as env:
        env.reset_random(0)
        actions = rng.normal(0.0, 5.0, size=(calls + 2, 2)).astype(np.float32)
        it = iter(actions)
        step = median_seconds(lambda: env.step(next(it)), calls)
        render = median_seconds(env.render, calls)
    return {"env_step_s": step, "render_s": render}


def world_model_step_seconds(model_cfg: Any, train_cfg: Any, steps: int, warmup: int = 2,
                             model: Any = None) -> float:
    """Median seconds of one world-model optimisation step (forward + backward + AdamW, the
    configured SIGReg and reconstruction terms) on an in-memory batch of the configured size,
    with the current torch threads: the floor of rule train_world_model."""
    from larc_core.world_model import WorldModel

    torch.manual_seed(0)
    model = (model or WorldModel(model_cfg)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr,
                            weight_decay=train_cfg.weight_decay)
    t, s = train_cfg.frames_per_window(model_cfg), model_cfg.image_size
    frames = torch.randint(0, 256, (train_cfg.batch_size, t, s, s, 3), dtype=torch.uint8)
    actions = torch.randn(train_cfg.batch_size, t, model_cfg.action_block_dim)
    gen = torch.Generator().manual_seed(0)

    def train_step() -> None:
        losses = model.loss(frames, actions, train_cfg.sigreg_weight,
                            train_cfg.sigreg_directions, gen, train_cfg.recon_weight,
                            train_cfg.recon_foreground, train_cfg.rollout_steps,
                            train_cfg.rollout_weight)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        opt.step()

    return median_seconds(train_step, steps, warmup)


def world_model_floors(wm_cfg: dict[str, Any], cache_batch: int, threads: int,
                       steps: int = 12) -> dict[str, float]:
    """Seconds of one world-model training step (``threads`` threads, the configured batch),
    of one frame encoded at batch 1 (one thread, the evaluation loop) and per frame encoded at
    ``cache_batch`` (``threads`` threads, rule cache_latents)."""
    from larc_core.world_model import WorldModel, WorldModelConfig, WorldModelTrainConfig

    model_cfg = WorldModelConfig.from_dict(wm_cfg["model"])
    train_cfg = WorldModelTrainConfig(**wm_cfg["train"])
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        model = WorldModel(model_cfg)
        step = world_model_step_seconds(model_cfg, train_cfg, steps, model=model)
        model.eval()
        s = model_cfg.image_size
        batch = torch.randint(0, 256, (cache_batch, s, s, 3), dtype=torch.uint8)
        with torch.no_grad():
            per_frame_batched = median_seconds(lambda: model.encode(batch), 5) / cache_batch
            torch.set_num_threads(1)
            one = batch[:1]
            per_frame_b1 = median_seconds(lambda: model.encode(one), 200)
    finally:
        torch.set_num_threads(before)
    return {"world_model_step_s": step, "encode_batched_frame_s": per_frame_batched,
            "encode_frame_s": per_frame_b1}


def stage_step_floors(config: dict[str, Any], latent_dim: int, calls: int = 60,
                      tmp_dir: str | Path | None = None) -> dict[str, float]:
    """Seconds of one optimisation step of every registered training stage
    (``policy_step_s.<stage>``), measured through the stage's own objective (its sampler, losses
    and modules, one thread: the training rules' threads) on random latents of the configured
    width, with the config's settings (``settings.train_policy``). A stage that starts from or
    uses another gets that stage's untrained product, saved and read back as in a run."""
    import dataclasses

    from larc_core.methods import STAGES
    from larc_core.objectives import TrainData, stage_objective
    from larc_core.settings import train_policy as stage_settings
    from larc_core.world_model import WorldModel, WorldModelConfig

    torch.manual_seed(0)
    wm = WorldModel(WorldModelConfig.from_dict(config["world_model"]["model"])).eval()
    for p in wm.parameters():
        p.requires_grad_(False)
    ep_len = np.full(8, 200)
    n = int(ep_len.sum())
    data = TrainData(latents=torch.randn(n, latent_dim), actions=np.random.default_rng(0)
                     .standard_normal((n, 2)).astype(np.float32),
                     ep_offset=np.arange(8) * 200, ep_len=ep_len,
                     train_episodes=np.arange(6), val_episodes=np.arange(6, 8),
                     goal_offset_min=int(config["policy"]["goal_offset_min"]),
                     goal_offset_max=int(config["policy"]["goal_offset_max"]), world_model=wm)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        folders: dict[str, Path] = {}

        def build(name: str):
            stage, cls = STAGES[name], stage_objective(name)
            for dep in (*stage.uses, *filter(None, [stage.init_from])):
                if dep not in folders:
                    build(dep)
            settings = stage_settings({**config, "device": "cpu"}, name)
            cfg = cls.spec.config_class.from_dict(settings["train"])
            init = cls.load_init(folders[stage.init_from], world_model_sha256="",
                                 latent_dim=latent_dim, demo_fingerprint="",
                                 init_rule=STAGES[stage.init_from].rule) \
                if stage.init_from else None
            stage_data = data if cls.reads_actions else dataclasses.replace(data, actions=None)
            obj = cls(stage, cfg, stage_data, model_cfg=settings["backbone"], init=init,
                      uses={u: folders[u] for u in stage.uses})
            folders[name] = Path(tmp) / name
            obj.save(folders[name], {})
            return obj, cfg

        for name in STAGES:
            torch.manual_seed(0)
            out[f"policy_step_s.{name}"] = _objective_step_seconds(*build(name), calls)
    return out


def _objective_step_seconds(obj: Any, cfg: Any, calls: int) -> float:
    """Median seconds of one optimisation step of an objective: its batch, losses, backward
    and an AdamW update of its modules."""
    import itertools

    opt = torch.optim.AdamW(obj.module.parameters(), lr=float(cfg.lr))
    counter = itertools.count()

    def step() -> None:
        batch = obj.sample("train", int(cfg.batch_size), 0, next(counter))
        loss = obj.losses(batch)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_seconds(step, calls)


def policy_floors(config: dict[str, Any], latent_dim: int, state_dim: int,
                  calls: int = 60) -> dict[str, float]:
    """Seconds of one optimisation step of each training stage (:func:`stage_step_floors`),
    of a Chunk step on the true state (rule state_ceiling) and of one batch-1 policy forward,
    all with one thread."""
    from larc_core.policies import make_policy

    policy_cfg = config["policy"]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        out = stage_step_floors(config, latent_dim, calls)
        bs = int(policy_cfg["train"]["batch_size"])
        policy = make_policy("chunk", latent_dim=state_dim, **policy_cfg["chunk"])
        opt = torch.optim.AdamW(policy.parameters(), lr=float(policy_cfg["train"]["lr"]))
        z, zg = torch.randn(bs, state_dim), torch.randn(bs, state_dim)
        remaining = torch.randint(1, 60, (bs,))
        target = torch.randn(bs, policy.chunk_len, policy.action_dim)

        def state_step() -> None:
            loss = ((policy.predict(z, zg, remaining) - target) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        out["policy_step_s.state"] = median_seconds(state_step, calls)
        policy = make_policy("chunk", latent_dim=latent_dim, **policy_cfg["chunk"]).eval()
        z1 = torch.randn(1, latent_dim)
        with torch.no_grad():
            out["policy_forward_s"] = median_seconds(lambda: policy(z1, z1), 500)
    finally:
        torch.set_num_threads(before)
    return out


def cem_plan_floor(wm_cfg: dict[str, Any], planners: dict[str, dict[str, Any]],
                   calls: int = 5) -> dict[str, float]:
    """Seconds of one CEM plan with each planner row's setting (``planners``: row -> its
    :class:`CEMConfig` fields; one thread, a history of ``history`` latents): the unit of the
    planner rows, as ``cem_plan_s.<row>``."""
    if not planners:
        return {}
    from larc_core.planning.cem import CEMPlanner
    from larc_core.planning.config import CEMConfig
    from larc_core.world_model import WorldModel, WorldModelConfig

    before = torch.get_num_threads()
    out: dict[str, float] = {}
    try:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        wm = WorldModel(WorldModelConfig.from_dict(wm_cfg["model"])).eval()
        d, h = wm.cfg.latent_dim, wm.cfg.history
        history, goal = torch.randn(h, d), torch.randn(d)
        blocks = torch.randn(h - 1, wm.cfg.action_block_dim) if h > 1 else None
        for row, settings in planners.items():
            planner_ = CEMPlanner(wm, CEMConfig.from_dict(settings))
            gen = torch.Generator().manual_seed(0)
            out[f"cem_plan_s.{row}"] = median_seconds(
                lambda p=planner_, g=gen: p.plan(history, goal, blocks, None, g), calls, 1)
    finally:
        torch.set_num_threads(before)
    return out


def report_floors(wm_cfg: dict[str, Any], views: dict[str, Any] | None, resolution: int,
                  views_threads: int, probe_targets: int = 6, calls: int = 20) -> dict[str, float]:
    """Seconds of one step of the report rules' own fits: the inspection decoder of rule
    world_model_views (its batch, frames resized to its side, ``views_threads`` threads) and the
    MLP probe of rule world_model_health (2 x 256, batch 512, one thread)."""
    from larc_core.world_model.encoders import build_decoder
    from larc_core.world_model.health import MLP_PROBE_BATCH, MLP_PROBE_WIDTH
    from larc_core.world_model.latent_decoder import frames_to_target
    from larc_core.world_model.model import reconstruction_loss

    d = int(wm_cfg["model"]["latent_dim"])
    out: dict[str, float] = {}
    before = torch.get_num_threads()
    try:
        torch.manual_seed(0)
        if views:
            torch.set_num_threads(views_threads)
            decoder = build_decoder(d, views["decoder"], tuple(views["decoder_channels"]),
                                    int(views["decoder_size"]))
            opt = torch.optim.AdamW(decoder.parameters(), lr=float(views["lr"]))
            bs = int(views["batch_size"])
            pixels = np.random.default_rng(0).integers(0, 256, (bs, resolution, resolution, 3),
                                                       dtype=np.uint8)
            z = torch.randn(bs, d)

            def decoder_step() -> None:
                target = frames_to_target(pixels, decoder.out_size)
                loss = reconstruction_loss(decoder(z), target, float(views["foreground"]))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            out["views_decoder_step_s"] = median_seconds(decoder_step, calls)
        torch.set_num_threads(1)
        probe = torch.nn.Sequential(
            torch.nn.Linear(d, MLP_PROBE_WIDTH), torch.nn.GELU(),
            torch.nn.Linear(MLP_PROBE_WIDTH, MLP_PROBE_WIDTH), torch.nn.GELU(),
            torch.nn.Linear(MLP_PROBE_WIDTH, probe_targets))
        popt = torch.optim.Adam(probe.parameters(), 1e-3)
        x, y = torch.randn(MLP_PROBE_BATCH, d), torch.randn(MLP_PROBE_BATCH, probe_targets)

        def probe_step() -> None:
            loss = ((probe(x) - y) ** 2).mean()
            popt.zero_grad()
            loss.backward()
            popt.step()

        out["probe_step_s"] = median_seconds(probe_step, calls * 5)
    finally:
        torch.set_num_threads(before)
    return out


def hdf5_read_floor(resolution: int, n_frames: int = 4096, batch: int = 512) -> dict[str, float]:
    """Seconds per frame read from a LeWM-layout file written by this project (its chunking
    and compression), in sequential batches of ``batch`` as the cache and the trainers read."""
    from larc_core.data import DemoFile
    from larc_core.data.hdf5 import Episode, write_demo_file

    rng = np.random.default_rng(0)
    ep_len = 256
    episodes = [
        Episode(pixels=rng.integers(0, 256, (ep_len, resolution, resolution, 3), dtype=np.uint8),
                state=np.zeros((ep_len, 7), np.float32), action=np.zeros((ep_len, 2), np.float32))
        for _ in range(max(1, n_frames // ep_len))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "floor.h5"
        write_demo_file(path, episodes)
        with DemoFile(path) as demo:
            n = demo.n_frames
            starts = list(range(0, n, batch))

            def read_all() -> None:
                for s in starts:
                    demo.frames(np.arange(s, min(s + batch, n)))

            per_frame = median_seconds(read_all, 3, 1) / n
    return {"hdf5_read_frame_s": per_frame}


def measure_floors(config: dict[str, Any], *, wm_threads: int, state_dim: int,
                   planners: dict[str, dict[str, Any]] | None = None,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every floor of the run's config on this machine (about half a minute), with the load
    average before and after and the machine's cores. ``planners``: each evaluated CEM row's
    settings (``larc_core.planning.planner_settings``)."""
    load_before = os.getloadavg()
    wm_cfg = config["world_model"]
    floors: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, fn in (
        ("process start-up", process_start_s),
        ("env step and render", lambda: env_floors(int(config["data"]["resolution"]))),
        ("world-model step and encoder", lambda: world_model_floors(
            wm_cfg, int(wm_cfg["train"]["cache_batch_size"]), wm_threads)),
        ("training-stage steps", lambda: policy_floors(
            config, int(wm_cfg["model"]["latent_dim"]), state_dim)),
        ("CEM plan", lambda: cem_plan_floor(wm_cfg, planners or {})),
        ("HDF5 read", lambda: hdf5_read_floor(int(config["data"]["resolution"]))),
        ("report fits", lambda: report_floors(wm_cfg, config.get("views"),
                                              int(config["data"]["resolution"]), wm_threads)),
    ):
        t = time.perf_counter()
        result = fn()
        floors.update(result if isinstance(result, dict) else {"process_start_s": result})
        log(f"floors: {name} measured in {time.perf_counter() - t:.1f} s: " + ", ".join(
            f"{k} {v * 1e3:.3f} ms" for k, v in (
                result.items() if isinstance(result, dict) else [("process_start_s", result)])))
    return {
        "floors_s": floors,
        "machine_cores": len(os.sched_getaffinity(0)),
        "world_model_threads": wm_threads,
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "measured_in_s": time.perf_counter() - t0,
        "measured_at": time.time(),
    }
