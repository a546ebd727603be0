rule table:
    """Results table (Markdown + CSV) recomputed from the per-episode evaluation files."""
    input:
        evals=eval_files(),
        manifest=paths.MANIFEST,
        figure=paths.FIGURE,
        world_model_report=paths.WM_HEALTH_MD,
        curves=training_curve_files(),
        runtime=paths.RUNTIME,
        # The latency column: timed by rule latency alone on the machine, not by the eval jobs.
        latency=paths.LATENCY_JSON,
        performance=paths.PERFORMANCE_MD,
        claims=CLAIMS_OUTPUTS,
    output:
        md=report(paths.TABLE, caption="../report/table.rst", category="Results"),
        csv=paths.TABLE_CSV,
        summary=paths.TABLE_SUMMARY_CSV,
        metrics=paths.METRICS,
    log:
        "logs/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/table.py"


rule claims:
    """Each claim of the method (config claims:) as a paired comparison of two rows on the
    identical pairs and seeds: difference, bootstrap interval, p-value, power, verdict."""
    input:
        evals=claim_eval_files(),
        latency=paths.LATENCY_JSON,
    output:
        md=report(paths.CLAIMS_MD, caption="../report/claims.rst", category="Results"),
        json=paths.CLAIMS_JSON,
    params:
        settings=settings.claims(config),
    log:
        "logs/claims.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/claims.py"


rule figures:
    """Success rate against goal offset, per method, with Wilson intervals."""
    input:
        evals=eval_files(),
    output:
        png=report(paths.FIGURE, caption="../report/success_vs_offset.rst", category="Results"),
        csv=paths.SUCCESS_PLOT_CSV,
    log:
        "logs/figures.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/figures.py"


rule training_curves:
    """Loss components per optimisation step of one training stage, one line per seed."""
    input:
        train_logs=lambda wc: TRAIN_LOGS[wc.name],
    output:
        png=report(
            paths.TRAIN_CURVES,
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{name}",
        ),
    log:
        "logs/training_curves_{name}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/training_curves.py"


rule runtime:
    """Wall time, CPU time and peak memory of every heavy job, from its benchmark file."""
    input:
        benchmarks=benchmark_files(),
    output:
        md=report(paths.RUNTIME, caption="../report/runtime.rst", category="Runtime"),
    params:
        rules=benchmark_rules(),
        # Snakemake's own job records: each job's start and end (see rule performance).
        metadata_dir=".snakemake/metadata",
    log:
        "logs/runtime.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/runtime.py"


rule rollout_videos:
    """A success and a failure of every method (first seed, first offset), re-run and recorded:
    live frame beside the goal image."""
    input:
        unpack(video_inputs),
    output:
        videos=report(
            expand(paths.ROLLOUT_VIDEO, method=EVAL_METHODS),
            caption="../report/rollout_videos.rst",
            category="Results",
        ),
        json=paths.ROLLOUT_VIDEOS_JSON,
    params:
        settings=settings.rollout_videos(config),
    threads: 1
    resources:
        mem_mb=3000,
    log:
        "logs/rollout_videos.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/rollout_videos.py"
