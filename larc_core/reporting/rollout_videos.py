"""Rollout videos: one success and one failure of every evaluated method, re-run and recorded.

For each method the first succeeding and the first failing pair of its evaluation file (first
training seed, first offset) are run again with the same controller (evaluation is
deterministic: the re-run must reproduce the recorded outcome, or this refuses), recording the
simulator's frame of every step at the video's size (the policy still sees its own
resolution). The MP4 shows, per episode, the live frame beside the goal state drawn at the same
size, labelled with the step; a method with no success (No-op) or no failure shows the one it
has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.build import ControllerSpec, build_controller, torch_threads
from larc_core.evaluation.pairs import load_pairs
from larc_core.evaluation.records import read_eval_record
from larc_core.evaluation.rollout import run_episode
from larc_core.io import ArtifactError, atomic_write_json
from larc_core.methods import METHODS
from larc_core.reporting.world_model_views import compose_frames
from larc_core.video import write_mp4


def pick_episodes(eval_doc: dict[str, Any]) -> dict[str, int]:
    """Pair index of the first success and the first failure (``success`` / ``failure`` keys,
    absent when the evaluation has none)."""
    picked: dict[str, int] = {}
    for rec in eval_doc["episodes"]:
        key = "success" if rec["success"] else "failure"
        picked.setdefault(key, int(rec["index"]))
    return picked


def record_method(spec: ControllerSpec, eval_path: str | Path, pairs_path: str | Path,
                  demo_path: str | Path, out_video: str | Path, size: int = 256,
                  fps: float = 10.0) -> dict[str, Any]:
    """Re-run and record the picked episodes of one method; write its MP4 (``size`` px panels,
    ``fps`` env steps per second). Returns what was shown.

    Raises:
        ArtifactError: the evaluation file was run on another pairs file, or a re-run does not
            reproduce the recorded outcome.
    """
    doc = read_eval_record(eval_path)
    if doc["method"] != spec.method:
        raise ArtifactError(f"{eval_path} records method {doc['method']!r}, not {spec.method!r}")
    pairs_doc = load_pairs(pairs_path, demo_path)
    if doc.get("pairs_file") and Path(doc["pairs_file"]).name != Path(pairs_path).name:
        raise ArtifactError(f"{eval_path} was evaluated on {doc['pairs_file']}, not {pairs_path}")
    picked = pick_episodes(doc)
    budget = int(pairs_doc["budget"])
    streams, labels, shown = [], [], {}
    with torch_threads(1):
        controller, _ = build_controller(spec)
        with DemoFile(demo_path) as demo, PushTEnv(resolution=spec.resolution) as env:
            for outcome in ("success", "failure"):
                if outcome not in picked:
                    continue
                i = picked[outcome]
                pair = pairs_doc["pairs"][i]
                goal = demo.frames(np.array([pair["goal_row"]]))[0]
                env.reset_to_state(np.asarray(pair["goal_state"]))
                goal_view = env.render_size(size)
                frames: list[np.ndarray] = []
                rec = run_episode(env, controller, np.asarray(pair["start_state"]),
                                  np.asarray(pair["goal_state"]), goal, budget,
                                  int(pair["start_row"]), frames=frames, frame_size=size)
                if rec["success"] != (outcome == "success"):
                    raise ArtifactError(
                        f"{spec.method}: re-running pair {i} of {pairs_path} gave success="
                        f"{rec['success']} but {eval_path} records {outcome}; the checkpoint, "
                        "world model or code changed since the evaluation: rerun it")
                streams += [np.stack(frames), np.repeat(goal_view[None], len(frames), axis=0)]
                labels += [f"{outcome} (pair {i})", "goal"]
                shown[outcome] = {"pair": i, "steps": len(frames) - 1,
                                  "start_row": int(pair["start_row"])}
    if not streams:
        raise ArtifactError(f"{eval_path} holds no episodes")
    # Streams end at their own step: pad the shorter episode with its last frame.
    n = max(len(s) for s in streams)
    streams = [np.concatenate([s, np.repeat(s[-1:], n - len(s), axis=0)]) for s in streams]
    images = compose_frames(streams, labels, side=size, step_label=lambda t: f"t={t}")
    write_mp4((np.asarray(img) for img in images), out_video, fps)
    return {"method": spec.method, "label": METHODS[spec.method].label, "eval_file": str(eval_path),
            "video": str(out_video), "frames": len(images), "size": size, "episodes": shown}


def write_rollout_videos(specs: dict[str, ControllerSpec], eval_files: dict[str, str],
                         pairs_path: str | Path, demo_path: str | Path,
                         videos: dict[str, str], out_json: str | Path, size: int = 256,
                         fps: float = 10.0) -> dict[str, Any]:
    """MP4 per method (``videos[method]``) and a JSON index of the episodes shown."""
    shown = [record_method(specs[m], eval_files[m], pairs_path, demo_path, videos[m], size, fps)
             for m in specs]
    doc = {"pairs_file": str(pairs_path), "size": size, "fps": fps, "methods": shown}
    atomic_write_json(out_json, doc)
    return doc
