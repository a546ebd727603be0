# LARC: Latent Action Chunking with World-Model Rollout Consistency.
# Rebuild every number of the method with: snakemake --cores 8 results/table.md
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/artifacts.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/world_model.smk"
include: "workflow/rules/latents.smk"
include: "workflow/rules/policies.smk"
include: "workflow/rules/latent_actions.smk"
include: "workflow/rules/label_efficiency.smk"
include: "workflow/rules/eval.smk"
include: "workflow/rules/standard.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/latency.smk"
include: "workflow/rules/performance.smk"
include: "workflow/rules/tuning.smk"
include: "workflow/rules/regimes.smk"


rule all:
    input:
        table="results/table.md",
        figure="results/figures/success_vs_offset.png",
        latency="results/latency.md",
        data="results/data.md",
        videos="results/rollout_videos.json",
        performance="results/performance.md",
        # The pair-draw check, when this run evaluates a row and offset it covers.
        pair_draws=["results/pair_draws.md"] if RUN_PAIR_DRAWS else [],
        # What the latent action model learned without actions (rule lam_report).
        lam=[paths.LAM_MD] if RUN_LAM else [],
        # gym-pusht's own task (LeRobot's PushT evaluation) with its videos.
        standard=[STANDARD_PATHS["md"]] if STANDARD_METHODS else [],
    default_target: True
