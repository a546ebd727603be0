"""Collect scripted PushT demonstrations in parallel and write them as one LeWM-layout file.

Every episode draws all its randomness (length, initial state, pusher decisions) from its own
child of ``numpy.random.SeedSequence(seed)``, indexed by episode, and a noisy replay its noise
from ``default_rng([seed, 2, source, level index])``, so the file is bit-identical whatever the
number of worker processes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.data.hdf5 import TRAIN, VAL, Episode, write_demo_file
from larc_core.data.expert import ExpertPusher
from larc_core.data.pusher import RandomPusher
from larc_core.data.state_expert import StatePusher
from larc_core.envs.geometry import in_contact
from larc_core.envs.pusht import ACTION_SCALE, PushTEnv
from larc_core.logs import get_logger
from larc_core.logs import progress as progress_bar

log = get_logger("data.collect")

DEMONSTRATORS = {"state_expert": StatePusher, "expert": ExpertPusher, "random": RandomPusher}
"""Scripted demonstrators by config name (``data.demonstrator``, or ``data.replay.source``)."""
NOISY_REPLAY = "noisy_replay"
"""``data.demonstrator`` of the noisy-replay recorder: source episodes of a scripted
demonstrator, each replayed from its start state with Gaussian action noise (DINO-WM's recipe
for the published PushT file)."""
DISPLACEMENT_OFFSETS = (25, 35, 50)

# One env per worker process, reused across its episodes (creating one costs ~10 ms).
_ENVS: dict[int, PushTEnv] = {}  # by resolution; 0 = state-only


def _env(resolution: int | None) -> PushTEnv:
    key = resolution or 0
    if key not in _ENVS:
        _ENVS[key] = PushTEnv(resolution=resolution or 64, render=bool(resolution))
    return _ENVS[key]


MAX_START_DRAWS = 20
"""Start states drawn per episode before a demonstrator that ends its own episodes is given up
on for being solved in fewer than ``min_len`` frames (each draw is a fresh random start)."""


def run_episode(
    seed_seq: np.random.SeedSequence, min_len: int, max_len: int, resolution: int | None,
    demonstrator: str = "state_expert",
) -> Episode:
    """Roll out one demonstrator episode from its seed sequence.

    A demonstrator with a ``done(state)`` test (the state expert) ends its episode the step the
    T sits at the goal pose, or at ``max_len`` frames; a start it solves in fewer than
    ``min_len`` frames is replaced by a new random start (the published file's shortest
    episode has 49 frames). The others run for a length drawn from ``min_len..max_len``.

    Row t holds the frame and state observed before action t; the last row's action is zeros.
    The start state is rounded to float32 and the env re-set to it, so the stored start state
    is exactly the simulated one and replaying the stored actions from it reproduces the rows.
    ``resolution=None`` records states and actions only (``pixels`` is an empty array).
    """
    rng = np.random.default_rng(seed_seq)
    cls = DEMONSTRATORS[demonstrator]
    ends_itself = hasattr(cls, "done")
    length = max_len if ends_itself else int(rng.integers(min_len, max_len + 1))
    env = _env(resolution)
    side = resolution or 0
    for _ in range(MAX_START_DRAWS):
        env_seed = int(rng.integers(0, 2**31 - 1))
        env.reset_to_state(env.reset_random(env_seed))
        pusher = cls(rng)
        pixels = np.empty((length if resolution else 0, side, side, 3), dtype=np.uint8)
        state = np.empty((length, 7), dtype=np.float32)
        action = np.zeros((length, 2), dtype=np.float32)
        n = length
        for t in range(length):
            if resolution:
                pixels[t] = env.render()
            state[t] = env.state
            if ends_itself and pusher.done(state[t]):
                n = t + 1
                break
            if t < length - 1:
                action[t] = pusher.act(state[t])
                env.step(action[t])
        if n >= min_len:
            break
    else:
        log.warning("episode kept at %d frames (< min_len %d): %s solved %d random starts in a "
                    "row sooner", n, min_len, demonstrator, MAX_START_DRAWS)
    return Episode(pixels=pixels[:n], state=state[:n], action=action[:n])


def replay_episode(
    start_state: np.ndarray, actions: np.ndarray, noise_std: np.ndarray,
    rng_key: tuple[int, ...], resolution: int | None,
) -> Episode:
    """Replay a recorded action sequence from its start state with Gaussian action noise.

    Step t executes ``actions[t] + noise_std * N(0, 1)`` (rounded to float32, as stored) and
    records the executed action, so the episode's own actions replayed from its start state
    reproduce its states exactly. ``noise_std`` all zeros re-renders the source episode itself.

    Args:
        start_state: (7,) the source episode's first state (velocities zero).
        actions: (T, 2) the source's relative actions; the last row (zeros) is not executed.
        noise_std: (2,) per-dimension noise standard deviation in relative-action units.
        rng_key: entropy of this replay's noise draws (``numpy.random.default_rng(rng_key)``).
        resolution: rendered frame side, or None for states and actions only.
    """
    rng = np.random.default_rng(list(rng_key))
    env = _env(resolution)
    env.reset_to_state(start_state)
    length = len(actions)
    side = resolution or 0
    pixels = np.empty((length if resolution else 0, side, side, 3), dtype=np.uint8)
    state = np.empty((length, 7), dtype=np.float32)
    executed = np.zeros((length, 2), dtype=np.float32)
    noise = rng.standard_normal((max(length - 1, 0), 2)) * np.asarray(noise_std, np.float64)
    for t in range(length):
        if resolution:
            pixels[t] = env.render()
        state[t] = env.state
        if t < length - 1:
            executed[t] = (actions[t].astype(np.float64) + noise[t]).astype(np.float32)
            env.step(executed[t])
    return Episode(pixels=pixels, state=state, action=executed)


def _init_worker() -> None:
    # Each worker is one of `workers` processes already: keep OpenCV's resize single-threaded.
    import cv2

    cv2.setNumThreads(1)


def _run_task(task: tuple[np.random.SeedSequence, int, int, int, str]) -> Episode:
    return run_episode(*task)


def _run_replay(task: tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...], int]) -> Episode:
    return replay_episode(*task)


def replay_plan(n_sources: int, noise: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Episode layout of a noisy-replay file: (source (E,), noise level (E,)).

    Source episode i yields ``len(noise)`` consecutive episodes, one per entry of ``noise`` in
    order (a level of 0 is the source episode itself).
    """
    k = len(noise)
    return (np.repeat(np.arange(n_sources, dtype=np.int64), k),
            np.tile(np.asarray(noise, dtype=np.float32), n_sources))


def _pool(workers: int, n_tasks: int, mp_context: str | None) -> Any:
    """A worker pool (see :func:`collect_demos` for the start method)."""
    if mp_context is None:
        mp_context = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(mp_context).Pool(min(workers, n_tasks), _init_worker)


def _ordered_map(fn: Any, tasks: list, workers: int, mp_context: str | None) -> Iterator[Any]:
    """``fn`` over ``tasks`` in order, in this process or a pool (identical results)."""
    if workers == 1:
        yield from map(fn, tasks)
        return
    with _pool(workers, len(tasks), mp_context) as pool:
        yield from pool.imap(fn, tasks, chunksize=1)


def choose_val_episodes(n_episodes: int, val_fraction: float, seed: int) -> np.ndarray:
    """(E,) int8 split: ``round(val_fraction * E)`` validation episodes drawn from the seed.

    At least one validation episode when ``val_fraction > 0`` and E > 1, and at least one
    training episode.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
    n_val = int(round(val_fraction * n_episodes))
    if val_fraction > 0 and n_episodes > 1:
        n_val = min(max(n_val, 1), n_episodes - 1)
    split = np.full(n_episodes, TRAIN, dtype=np.int8)
    # A stream separate from the per-episode children of SeedSequence(seed).
    rng = np.random.default_rng([seed, 1])
    split[rng.choice(n_episodes, size=n_val, replace=False)] = VAL
    return split


def block_displacement(
    state: np.ndarray, ep_offset: np.ndarray, ep_len: np.ndarray, k: int
) -> np.ndarray:
    """Block displacement |b[r+k] - b[r]| (px) for every row r with r+k in the same episode."""
    out = []
    for off, n in zip(ep_offset, ep_len, strict=True):
        xy = state[off : off + n, 2:4].astype(np.float64)
        if n > k:
            out.append(np.linalg.norm(xy[k:] - xy[:-k], axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def demo_statistics(state: np.ndarray, ep_len: np.ndarray) -> dict[str, float]:
    """Contact fraction and median block displacement at +25/+35/+50 steps of states (N, 7)."""
    ep_offset = np.concatenate([[0], np.cumsum(ep_len)[:-1]])
    stats: dict[str, float] = {"contact_fraction": float(np.mean(in_contact(state)))}
    for k in DISPLACEMENT_OFFSETS:
        d = block_displacement(state, ep_offset, ep_len, k)
        stats[f"median_block_displacement_{k}"] = float(np.median(d)) if d.size else float("nan")
    return stats


def collect_demos(
    out_path: str | Path,
    n_episodes: int,
    min_len: int,
    max_len: int,
    resolution: int,
    seed: int,
    workers: int = 1,
    val_fraction: float = 0.1,
    demonstrator: str = "state_expert",
    progress: bool = True,
    mp_context: str | None = None,
    replay_source: str = "state_expert",
    replay_noise: list[float] | None = None,
) -> dict[str, Any]:
    """Collect ``n_episodes`` pusher episodes and write them atomically to ``out_path``.

    Args:
        out_path: destination HDF5 file (LeWM layout, see :mod:`larc_core.data.hdf5`).
        n_episodes: E (``noisy_replay``: source episodes; the file holds
            ``E * len(replay_noise)``).
        min_len, max_len: inclusive range of frames per episode.
        resolution: rendered frame side in pixels.
        seed: root seed; episode i uses ``SeedSequence(seed).spawn(E)[i]`` (a noisy replay of
            source i at level index j draws its noise from ``default_rng([seed, 2, i, j])``).
        workers: processes rolling out episodes (1 = in this process).
        val_fraction: share of episodes marked validation (``episode_split`` = 1); with
            ``noisy_replay`` a source's replays share its split.
        demonstrator: ``state_expert`` (:class:`StatePusher`: memoryless, each action a
            function of the current state; episodes end at the goal pose), ``expert``
            (:class:`ExpertPusher`, committed simulated push plans), ``random``
            (:class:`RandomPusher`) or ``noisy_replay`` (episodes of ``replay_source``, each
            replayed from its start state once per entry of ``replay_noise``).
        progress: show progress over episodes (larc_core.logs.progress).
        mp_context: start method for workers > 1; default "fork" where available, else
            "spawn". Fork starts workers instantly and never re-runs the caller's main module
            (Snakemake scripts have top-level code, which "spawn" would execute again in every
            worker, and importing torch there costs seconds); workers use only numpy, pymunk,
            pygame and OpenCV, which were checked to work after a fork.
        replay_source: demonstrator of the source episodes of ``noisy_replay``.
        replay_noise: ``noisy_replay``'s noise levels, in multiples of the source actions'
            per-dimension standard deviation; 0 keeps the source episode itself.

    Returns:
        Summary dict: frames, episodes, validation episodes, bytes, seconds, steps/s, contact
        fraction and median block displacement at +25/+35/+50 steps.
    """
    if n_episodes < 1 or min_len < 2 or max_len < min_len or resolution < 1 or workers < 1:
        raise ValueError(
            f"need n_episodes >= 1, 2 <= min_len <= max_len, resolution >= 1, workers >= 1; got "
            f"n_episodes={n_episodes} min_len={min_len} max_len={max_len} "
            f"resolution={resolution} workers={workers}"
        )
    replaying = demonstrator == NOISY_REPLAY
    source = replay_source if replaying else demonstrator
    if source not in DEMONSTRATORS:
        what = "data.replay.source" if replaying else "demonstrator"
        raise ValueError(
            f"{what} must be one of {sorted(DEMONSTRATORS)}"
            f"{'' if replaying else ' or ' + repr(NOISY_REPLAY)}; got {source!r}"
        )
    if replaying and (not replay_noise or any(not np.isfinite(v) or v < 0
                                              for v in replay_noise)):
        raise ValueError(f"data.replay.noise must be a non-empty list of levels >= 0; got "
                         f"{replay_noise!r}")
    split = choose_val_episodes(n_episodes, val_fraction, seed)
    children = np.random.SeedSequence(seed).spawn(n_episodes)
    states: list[np.ndarray] = []
    t0 = time.perf_counter()
    cls = DEMONSTRATORS[source]
    attrs: dict[str, Any] = {
        "seed": int(seed),
        "generator": f"{cls.__module__}.{cls.__name__}",
        "val_fraction": float(val_fraction),
        "action_scale": ACTION_SCALE,
        "min_len": int(min_len),
        "max_len": int(max_len),
    }
    columns: dict[str, np.ndarray] = {}
    if replaying:
        # The sources are rolled out without pixels first: their action std scales the noise,
        # and each source is then rendered by its own noise-free replay (bit-identical rows).
        sources = list(_ordered_map(
            _run_task, [(ss, min_len, max_len, None, source) for ss in children], workers,
            mp_context))
        acted = np.concatenate([ep.action[:-1] for ep in sources])
        action_std = acted.astype(np.float64).std(axis=0)
        src_idx, levels = replay_plan(n_episodes, list(replay_noise or []))
        k = len(replay_noise or [])
        tasks: list = [(sources[i].state[0], sources[i].action, float(lv) * action_std,
                        (int(seed), 2, int(i), int(j % k)), resolution)
                       for j, (i, lv) in enumerate(zip(src_idx, levels, strict=True))]
        split = np.repeat(split, k)
        run = _run_replay
        columns = {"episode_source": src_idx, "episode_noise": levels}
        attrs.update(generator=f"{NOISY_REPLAY}({attrs['generator']})",
                     replay_noise=np.asarray(replay_noise, dtype=np.float64),
                     replay_action_std=action_std)
    else:
        tasks = [(ss, min_len, max_len, resolution, demonstrator) for ss in children]
        run = _run_task

    def episodes(results: Iterator[Episode]) -> Iterator[Episode]:
        for ep in progress_bar(results, total=len(tasks), desc="collect", unit="episode",
                               disable=not progress):
            states.append(ep.state)
            yield ep

    written = write_demo_file(out_path, episodes(_ordered_map(run, tasks, workers, mp_context)),
                              episode_split=split, attrs=attrs, episode_columns=columns)
    seconds = time.perf_counter() - t0
    state = np.concatenate(states)
    ep_len = np.array([len(s) for s in states])
    summary = {
        "path": str(out_path),
        "frames": written["n_frames"],
        "episodes": written["n_episodes"],
        "val_episodes": int((split == VAL).sum()),
        "resolution": int(resolution),
        "workers": int(workers),
        "bytes": written["bytes"],
        "bytes_per_frame": written["bytes"] / written["n_frames"],
        "seconds": seconds,
        "steps_per_s": written["n_frames"] / seconds,
        **demo_statistics(state, ep_len),
    }
    log.info(
        "collected %d episodes / %d frames in %.1f s (%.0f steps/s, pid %d): contact %.2f, "
        "median block motion %.0f px at +25",
        summary["episodes"], summary["frames"], seconds, summary["steps_per_s"], os.getpid(),
        summary["contact_fraction"], summary["median_block_displacement_25"],
    )
    return summary
