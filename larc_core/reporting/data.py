"""What the demonstrations hold: ``results/data.md``, its JSON twin and a figure.

A goal-conditioned policy can only learn what the data shows, so the report gives the figures
that decided the project's results (REFERENCE sections 3, 6 and 9): episode lengths, how often
episodes end with the T at the goal pose, how often the agent touches the block, how far the
block moves over the evaluation offsets (goals that barely differ from their start are free
successes), and the action magnitudes; beside the published LeWM file where it states them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from larc_core.data import DemoFile  # noqa: E402
from larc_core.data.collect import DISPLACEMENT_OFFSETS, block_displacement  # noqa: E402
from larc_core.data.state_expert import StatePusher  # noqa: E402
from larc_core.envs.geometry import SUCCESS_COVERAGE, in_contact, tee_coverage  # noqa: E402
from larc_core.io import atomic_write_json, atomic_write_text  # noqa: E402
from larc_core.reporting.figure_io import save_figure  # noqa: E402

PUBLISHED = {
    "episodes": 18_685,
    "frames": 2_336_736,
    "ep_len_min": 49,
    "ep_len_max": 246,
    "ep_len_mean": 125,
}
"""Figures of LeWM's ``pusht_expert_train.h5`` (REFERENCE section 3); nothing else is stated."""


#: Neighbours, query rows and candidate neighbours per query of :func:`action_variation`.
NEIGHBOURS, VARIATION_QUERIES, _CANDIDATES = 16, 2000, 96


def action_variation(state: np.ndarray, action: np.ndarray, rows: np.ndarray,
                     episode: np.ndarray, max_rows: int | None = None,
                     seed: int = 0) -> dict[str, float]:
    """How much the recorded actions differ among similar states (what a world model needs to
    learn what *other* actions do).

    For up to :data:`VARIATION_QUERIES` rows drawn from ``rows`` (seeded), the
    :data:`NEIGHBOURS` nearest rows of *other* episodes in pose space (agent x, y, block x, y in
    px and the block angle as 40 px x (sin, cos), 40 px being the T's radius of gyration) are
    found among ``rows``; the actions' variance among them, averaged over queries, is compared
    with the variance over all ``rows``. ``max_rows`` first subsamples ``rows`` (seeded), so
    subsets of different sizes are compared at the same density of neighbours.

    Args:
        state: (N, 7) states; action: (N, 2) relative actions; rows: (M,) acted rows to use;
            episode: (N,) episode of each row; max_rows: rows kept at most.

    Returns:
        ``conditional_std_ratio`` = sqrt(mean neighbourhood variance / total variance) (0: the
        action is a function of the pose; 1: the pose says nothing about it),
        ``neighbour_distance_px`` (median distance to the neighbours) and ``queries``.
    """
    th = state[:, 4]
    feats = np.column_stack([state[:, :4], 40.0 * np.sin(th), 40.0 * np.cos(th)])
    rows = np.asarray(rows, dtype=np.int64)
    rng = np.random.default_rng([seed, 23])
    if max_rows is not None and rows.size > max_rows:
        rows = np.sort(rng.choice(rows, size=max_rows, replace=False))
    tree = cKDTree(feats[rows])
    queries = rng.choice(rows, size=min(VARIATION_QUERIES, rows.size), replace=False)
    dist, nbr = tree.query(feats[queries], k=min(_CANDIDATES, rows.size))
    variances, distances = [], []
    for q, d, n in zip(queries, dist, nbr, strict=True):
        other = episode[rows[n]] != episode[q]
        picked = rows[n][other][:NEIGHBOURS]
        if picked.size < 2:
            continue
        variances.append(action[picked].var(axis=0).sum())
        distances.append(np.median(d[other][:NEIGHBOURS]))
    total = action[rows].var(axis=0).sum()
    return {
        "conditional_std_ratio": float(np.sqrt(np.mean(variances) / total)) if variances
        and total > 0 else float("nan"),
        "neighbour_distance_px": float(np.median(distances)) if distances else float("nan"),
        "queries": int(len(variances)),
        "rows": int(rows.size),
    }


def _coverage_summary(coverage: np.ndarray) -> dict[str, float]:
    """Share of episodes whose last frame passes gym-pusht's success test, and the median and
    10th percentile of their final coverage."""
    return {"success_fraction": float(np.mean(coverage > SUCCESS_COVERAGE)),
            "median": float(np.median(coverage)), "p10": float(np.percentile(coverage, 10))}


def data_statistics(demo_path: str | Path) -> dict[str, Any]:
    """Statistics of a demonstration file (any demonstrator, or the published file).

    ``solved`` counts episodes whose last frame has the T at the goal pose by the pose part of
    the state expert's end test (:meth:`StatePusher.done` without its coverage test), whatever
    recorded them; ``final_coverage`` applies gym-pusht's own test to the same frames.
    """
    with DemoFile(demo_path) as demo:
        state = np.asarray(demo.state, dtype=np.float64)
        action = np.asarray(demo.action, dtype=np.float64)
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
        episode = np.asarray(demo.episode_idx)
        n_val = len(demo.val_episodes)
        noise = demo.episode_noise
        attrs = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in demo.attrs.items()}
    last = state[ep_offset + ep_len - 1]
    done = StatePusher(done_coverage=None)
    solved = np.array([done.done(s) for s in last])
    # gym-pusht's own test (coverage of the target T), on the block pose of the last frame.
    final_coverage = np.array([tee_coverage(s[2:5]) for s in last])
    # Every row but each episode's padded last one carries a real action.
    acted = np.ones(len(state), dtype=bool)
    acted[ep_offset + ep_len - 1] = False
    magnitude = np.linalg.norm(action[acted], axis=1)
    stats: dict[str, Any] = {
        "path": str(demo_path),
        "generator": str(attrs.get("generator", "unknown")),
        "episodes": int(len(ep_len)),
        "val_episodes": int(n_val),
        "frames": int(len(state)),
        "ep_len": {q: float(v) for q, v in zip(
            ("min", "p25", "median", "mean", "p75", "max"),
            (*np.percentile(ep_len, [0, 25, 50]), ep_len.mean(), *np.percentile(ep_len, [75, 100])),
            strict=True)},
        "ep_len_hist": np.bincount(ep_len).tolist(),
        "solved_fraction": float(solved.mean()),
        "final_coverage": _coverage_summary(final_coverage),
        "contact_fraction": float(np.mean(in_contact(state))),
        "action_norm": {"median": float(np.median(magnitude)),
                        "p95": float(np.percentile(magnitude, 95)),
                        "max": float(magnitude.max())},
        "displacement": {},
    }
    regimes = {"all episodes": acted}
    if noise is not None:
        stats["replay_noise_levels"] = sorted({float(v) for v in noise})
        stats["replay_action_std"] = [float(v) for v in attrs.get("replay_action_std", [])]
        stats["source_final_coverage"] = _coverage_summary(final_coverage[noise == 0])
        for level in stats["replay_noise_levels"]:
            name = "source episodes (noise 0)" if level == 0 else f"replays at noise {level:g}"
            regimes[name] = acted & np.isin(episode, np.flatnonzero(noise == level))
    common = min(int(m.sum()) for m in regimes.values())
    stats["action_variation"] = {
        name: action_variation(state, action, np.flatnonzero(m), episode, common)
        for name, m in regimes.items()}
    stats["_displacements"] = {
        str(k): block_displacement(state, ep_offset, ep_len, k) for k in DISPLACEMENT_OFFSETS
    }
    for k, d in stats["_displacements"].items():
        stats["displacement"][k] = {
            "median": float(np.median(d)) if d.size else float("nan"),
            "p25": float(np.percentile(d, 25)) if d.size else float("nan"),
            "p75": float(np.percentile(d, 75)) if d.size else float("nan"),
            "still_fraction": float(np.mean(d < 5.0)) if d.size else float("nan"),
        }
    stats["_ep_len"], stats["_magnitude"] = ep_len, magnitude
    return stats


def render_markdown(stats: dict[str, Any]) -> str:
    """``results/data.md`` from :func:`data_statistics`."""
    el, pub = stats["ep_len"], PUBLISHED
    lines = [
        "# Demonstration data",
        "",
        f"File `{stats['path']}`, recorded by `{stats['generator']}` (rule `collect_demos`; this "
        "report: rule `data_report`).",
        "",
    ]
    if "replay_noise_levels" in stats:
        std = " / ".join(f"{v:.3f}" for v in stats.get("replay_action_std", []))
        levels = ", ".join(f"{v:g}" for v in stats["replay_noise_levels"])
        lines += [
            "Noisy replays (DINO-WM's recipe for the published file): every source episode is "
            "replayed from its start state once per noise level, each step executing the "
            "recorded action plus Gaussian noise of (level x the source actions' std per "
            f"dimension, {std}) and recording the executed action. Levels: {levels} (0 = the "
            "source episode itself). A source and its replays share their train/validation "
            "split.",
            "",
        ]
    lines += [
        "| | this run | published LeWM file |",
        "|---|---|---|",
        f"| episodes (validation) | {stats['episodes']} ({stats['val_episodes']}) | "
        f"{pub['episodes']:,} |",
        f"| frames | {stats['frames']:,} | {pub['frames']:,} |",
        f"| episode length min / median / mean / max | {el['min']:.0f} / {el['median']:.0f} / "
        f"{el['mean']:.0f} / {el['max']:.0f} | {pub['ep_len_min']} / - / {pub['ep_len_mean']} / "
        f"{pub['ep_len_max']} |",
        f"| episodes ending with the T at the goal pose | {100 * stats['solved_fraction']:.1f}% "
        "| not stated |",
        *(f"| {what} ending above gym-pusht's coverage {SUCCESS_COVERAGE} (its task's success); "
          f"final coverage median (p10) | {100 * c['success_fraction']:.1f}%; {c['median']:.3f} "
          f"({c['p10']:.3f}) | not stated |"
          for what, c in (("episodes", stats["final_coverage"]),
                          ("source episodes (noise 0)", stats.get("source_final_coverage")))
          if c is not None),
        f"| frames with agent-block contact | {100 * stats['contact_fraction']:.1f}% | "
        "not stated |",
        f"| action norm median / p95 / max | {stats['action_norm']['median']:.3f} / "
        f"{stats['action_norm']['p95']:.3f} / {stats['action_norm']['max']:.3f} | not stated |",
    ]
    for k, d in stats["displacement"].items():
        lines.append(
            f"| block displacement at +{k} steps, median (p25-p75), px | {d['median']:.0f} "
            f"({d['p25']:.0f}-{d['p75']:.0f}); still (< 5 px) {100 * d['still_fraction']:.0f}% "
            "| not stated |"
        )
    lines += [
        "",
        "## Action variation among similar states",
        "",
        "A world model learns what other actions do only where the data show other actions "
        "from similar states. For each regime, rows are subsampled to the same count (so "
        "neighbourhoods are equally dense); for 2,000 of them the 16 nearest rows of other "
        "episodes in pose space (agent and block position in px, the block angle as 40 px x "
        "(sin, cos)) are found, and the actions' variance among those neighbours is set against "
        "the variance over all rows: 0 means the action is a function of the pose (a "
        "deterministic expert), 1 that the pose says nothing about it.",
        "",
        "| regime | rows | neighbour distance, median px | neighbourhood / total action std |",
        "|---|---:|---:|---:|",
    ]
    for name, v in stats["action_variation"].items():
        lines.append(f"| {name} | {v['rows']:,} | {v['neighbour_distance_px']:.1f} | "
                     f"{v['conditional_std_ratio']:.2f} |")
    lines += [
        "",
        "The goal pose is the green T drawn in every frame, (256, 256, pi/4); an episode counts "
        "as solved when its last frame has the block within 8 px and 0.1 rad of it (the pose "
        "part of the state expert's end test, which also asks for the coverage below); "
        "gym-pusht's own task asks more: the block must cover more than "
        f"{SUCCESS_COVERAGE:.0%} of the target T's area (within about 4 px and 0.05 rad). "
        "Action norm: relative action, 1 = PD target 100 px away. The "
        "random pusher of REFERENCE section 6 gives 38% contact and a median block motion of "
        "78 / 99 / 125 px at +25 / +35 / +50 steps.",
        "",
        "![data](figures/data.png)",
        "",
    ]
    return "\n".join(lines)


def plot_data(stats: dict[str, Any], out_png: str | Path) -> None:
    """Episode-length histogram, block displacement at each offset, action norms."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), dpi=110)
    axes[0].hist(stats["_ep_len"], bins=30, color="tab:blue")
    axes[0].axvline(PUBLISHED["ep_len_mean"], color="k", ls="--", lw=1, label="published mean")
    axes[0].set_xlabel("episode length (frames)")
    axes[0].set_ylabel("episodes")
    axes[0].legend(fontsize=8)
    for k, d in stats["_displacements"].items():
        axes[1].hist(d, bins=40, histtype="step", lw=1.5, label=f"+{k} steps")
    axes[1].set_xlabel("block displacement (px)")
    axes[1].set_ylabel("start rows")
    axes[1].legend(fontsize=8)
    axes[2].hist(stats["_magnitude"], bins=40, color="tab:green")
    axes[2].set_xlabel("|relative action|")
    axes[2].set_ylabel("steps")
    fig.suptitle(f"Demonstrations: {stats['episodes']} episodes, {stats['frames']:,} frames, "
                 f"{100 * stats['solved_fraction']:.0f}% solved")
    save_figure(fig, out_png)


def write_data_report(demo_path: str | Path, out_md: str | Path, out_json: str | Path,
                      out_png: str | Path) -> dict[str, Any]:
    """Compute the statistics and write the Markdown, JSON and figure atomically."""
    stats = data_statistics(demo_path)
    plot_data(stats, out_png)
    public = {k: v for k, v in stats.items() if not k.startswith("_")}
    atomic_write_json(out_json, public)
    atomic_write_text(out_md, render_markdown(stats))
    return public
