"""Default locations of every workflow artifact, relative to the workflow root.

The Snakemake rules declare the same paths; the ``larc`` CLI uses these when run by hand.
"""

from larc_core.methods import STAGES, get_stage

POLICY_BACKBONE_FILE = "shared_policy_backbone.pt"
"""A trained policy's weights and config in its checkpoint folder (the published layout)."""
POLICY_STATS_FILE = "action_stats.pt"
"""A trained policy's action normalisation statistics in its checkpoint folder."""

DEMOS = "data/pusht_expert_train.h5"
LATENTS = "data/pusht_frame_latents.pt"
WORLD_MODEL = "checkpoints/world_model/world_model.pt"
MANIFEST = "artifacts/manifest.json"
PAIRS = "results/eval/pairs_h{offset}.json"
EVAL = "results/eval/{method}/seed{seed}_h{offset}.json"
"""Evaluation of a trained method with the policies of one training seed."""
EVAL_REFERENCE = "results/eval/{method}/h{offset}.json"
"""Evaluation of a method without training (the No-op and Replay rows): one per offset."""
DRAW_PAIRS = "results/eval/draws/draw{draw}/pairs_h{offset}.json"
"""Pairs of one offset drawn with another seed than eval.seed (the pair-draw check)."""
DRAW_EVAL = "results/eval/draws/draw{draw}/{method}/seed{seed}_h{offset}.json"
"""A trained method with one training seed's policies on another draw's pairs."""
LAM_MD = "results/lam.md"
"""What the latent action model learned (rule ``lam_report``)."""
LAM_JSON = "results/lam.json"
LABEL_POINT = "results/label_efficiency/{method}_f{fraction}.json"
"""One row at one labeled fraction, every seed and offset (rule ``label_point``)."""
LABEL_MD = "results/label_efficiency.md"
STANDARD_VIDEO_NAME = "videos/eval_episode_{episode}.mp4"


def standard_paths(name: str = "standard") -> dict[str, str]:
    """Outputs of one run of gym-pusht's own task named ``name`` (``standard.name``): per row
    and seed LeRobot's ``eval_info.json`` layout (``info``, rule eval_standard) and the first
    episodes as MP4 (``video``, LeRobot's names); the report over the rows (``md``, ``json``,
    rule standard_report); the rules' logs and benchmark files."""
    folder = f"results/{name}/{{method}}/seed{{seed}}/"
    return {"info": folder + "eval_info.json", "video": folder + STANDARD_VIDEO_NAME,
            "md": f"results/{name}.md", "json": f"results/{name}.json",
            "log": f"logs/eval_{name}/{{method}}_seed{{seed}}.log",
            "benchmark": f"results/benchmarks/eval_{name}_{{method}}_seed{{seed}}.tsv",
            "report_log": f"logs/{name}_report.log"}


STANDARD_INFO = standard_paths()["info"]
"""The default run's (``standard.name: standard``) record of one row and seed."""
STANDARD_MD = standard_paths()["md"]
STANDARD_JSON = standard_paths()["json"]
STANDARD_TUNING_INFO = "results/standard_tuning/{method}/seed{seed}/eval_info.json"
"""gym-pusht's task from standard.tuning_start_seed's starts (``larc eval-standard --tuning``)."""
LABEL_JSON = "results/label_efficiency.json"
LABEL_FIG = "results/figures/label_efficiency.png"
PAIR_DRAWS_MD = "results/pair_draws.md"
PAIR_DRAWS_JSON = "results/pair_draws.json"
TABLE = "results/table.md"
TABLE_CSV = "results/table.csv"
"""Tidy: one row per method, training seed and offset."""
TABLE_SUMMARY_CSV = "results/table_summary.csv"
"""One row per method and offset: the table's cells."""
METRICS = "results/metrics.json"
"""Success rates and decision latencies: DVC's metrics file (``dvc metrics show``)."""
SUCCESS_PLOT_CSV = "results/plots/success_vs_offset.csv"
"""Success rate per offset (rows) and method (columns): a DVC plot."""
FIGURE = "results/figures/success_vs_offset.png"
TUNING_PAIRS = "results/tuning/pairs_h{offset}.json"
"""Tuning pairs: drawn from training episodes with their own seed (never the table's pairs)."""
WM_FT_POINT = "results/tuning/wm_ft/{point}.json"
"""One WM-FT setting of the sweep on the tuning pairs (rule ``wm_ft_point``)."""
WM_FT_MD = "results/wm_ft.md"
WM_FT_JSON = "results/wm_ft.json"
CLAIMS_MD = "results/claims.md"
CLAIMS_JSON = "results/claims.json"
"""The method's claims as paired comparisons on identical pairs (rule ``claims``)."""
STATE_ROOT = ".larc_state"
"""Resumable training state: outside every declared output, so Snakemake never deletes it."""

POLICY_DIRS = {name: stage.checkpoints for name, stage in STAGES.items()}
"""Checkpoint root of every trained stage (from the registry, ``larc_core.methods``)."""


def policy_dir(stage: str, seed: int | str) -> str:
    """Checkpoint folder of one policy stage trained with one seed."""
    return get_stage(stage).checkpoint_dir(seed)


def eval_path(method: str, offset: int | str, seed: int | str | None) -> str:
    """Result file of one method at one offset (``seed`` None for untrained methods)."""
    if seed is None:
        return EVAL_REFERENCE.format(method=method, offset=offset)
    return EVAL.format(method=method, seed=seed, offset=offset)


DATA_MD = "results/data.md"
DATA_JSON = "results/data.json"
DATA_FIG = "results/figures/data.png"
WM_HEALTH_MD = "results/world_model.md"
WM_HEALTH_JSON = "results/world_model_health.json"
WM_HEALTH_FIG = "results/figures/world_model_health.png"
TRAIN_CURVES = "results/figures/training_{name}.png"
RUNTIME = "results/runtime.md"
LATENCY_MD = "results/latency.md"
LATENCY_JSON = "results/latency.json"
LATENCY_FIG = "results/figures/latency_vs_success.png"
COUNTERFACTUAL = "results/counterfactual.json"
"""Counterfactual prediction and the planning diagnosis (rule ``counterfactual``)."""
STATE_CEILING = "results/eval/state_ceiling.json"
"""LARC-IDM and LARC-Chunk trained and evaluated on the true state (rule ``state_ceiling``)."""
WM_VIEWS = {
    "decoded": "results/figures/world_model_decoded.png",
    "rollout": "results/figures/world_model_imagined.png",
    "video": "results/figures/world_model_imagined.gif",
    "chunk": "results/figures/chunk_imagined.png",
    "json": "results/world_model_views.json",
}
"""Pictures of what the world model sees (rule ``world_model_views``)."""
ROLLOUT_VIDEO = "results/figures/rollouts/{method}.mp4"
"""A success and a failure of one method, re-run from its evaluation (rule ``rollout_videos``)."""
ROLLOUT_VIDEOS_JSON = "results/rollout_videos.json"
MACHINE_FLOORS = "results/machine_floors.json"
"""Unit costs of the run's work measured on its machine (rule ``machine_floors``)."""
PERFORMANCE_MD = "results/performance.md"
PERFORMANCE_JSON = "results/performance.json"
LOAD_LOG_DIR = "logs/load"
"""Load-average samples of every ``snakemake`` run (``larc_core.loadmon``), one file per run."""
CEM_CURVE = "benchmarks/cem_curve.jsonl"
"""CEM success against plan time measured by ``benchmarks/cem_curve.py`` (in the performance
report)."""
WM_PROBE_LOG = "benchmarks/world_model_probe.jsonl"
"""World-model settings measured by ``benchmarks/world_model_probe.py`` (listed in the report)."""
