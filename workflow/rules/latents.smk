if "latents" not in LINKED:

    rule cache_latents:
        """Encode every frame once with the frozen world model."""
        input:
            h5=paths.DEMOS,
            world_model=world_model_path(),
        output:
            latents=paths.LATENTS,
        params:
            settings=settings.cache_latents(config),
        # The serial start of every run (data -> world model -> latents): before any side job.
        priority: 20
        threads: MULTI_THREADS
        resources:
            mem_mb=8000,
            gpu=GPU,
        log:
            "logs/cache_latents.log",
        benchmark:
            "results/benchmarks/cache_latents.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/cache_latents.py"


rule counterfactual:
    """What the frozen world model predicts for other actions than the recorded ones, executed
    in the simulator, and one CEM plan per evaluation pair against the recorded actions."""
    input:
        h5=paths.DEMOS,
        world_model=world_model_path(),
        pairs=paths.PAIRS.format(offset=EVAL_OFFSETS[0]),
    output:
        json=paths.COUNTERFACTUAL,
    params:
        settings=settings.counterfactual(config),
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/counterfactual.log",
    benchmark:
        "results/benchmarks/counterfactual.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/counterfactual.py"


rule world_model_health:
    """Held-out prediction and rollout error vs copy baselines, ridge and MLP probes, the gap
    between the latent policies and their true-state ceiling, and the pictures."""
    input:
        unpack(health_inputs),
    output:
        md=report(paths.WM_HEALTH_MD, caption="../report/world_model.rst", category="World model"),
        json=paths.WM_HEALTH_JSON,
        png=report(paths.WM_HEALTH_FIG, caption="../report/world_model.rst", category="World model"),
    params:
        settings=settings.world_model_health(config),
    threads: 1
    resources:
        mem_mb=4000,
    log:
        "logs/world_model_health.log",
    benchmark:
        "results/benchmarks/world_model_health.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/world_model_health.py"


rule world_model_views:
    """What the frozen world model sees: an inspection decoder on its latents (never used to
    act), decoded frames, an imagined rollout (figure and GIF), LARC-Chunk's imagined chunk."""
    input:
        h5=paths.DEMOS,
        world_model=world_model_path(),
        latents=paths.LATENTS,
        backbone=f"{policy_dir('chunk', SEEDS[0])}/shared_policy_backbone.pt",
        stats=f"{policy_dir('chunk', SEEDS[0])}/action_stats.pt",
        pairs=paths.PAIRS.format(offset=EVAL_OFFSETS[0]),
    output:
        decoded=report(paths.WM_VIEWS["decoded"], caption="../report/world_model_views.rst",
                       category="World model"),
        rollout=report(paths.WM_VIEWS["rollout"], caption="../report/world_model_views.rst",
                       category="World model"),
        video=report(paths.WM_VIEWS["video"], caption="../report/world_model_views.rst",
                     category="World model"),
        chunk=report(paths.WM_VIEWS["chunk"], caption="../report/world_model_views.rst",
                     category="World model"),
        json=paths.WM_VIEWS["json"],
    params:
        settings=settings.world_model_views(config),
    threads: MULTI_THREADS
    resources:
        mem_mb=8000,  # every frame in memory (1,500 episodes at 64 px: about 2.7 GB)
    log:
        "logs/world_model_views.log",
    benchmark:
        "results/benchmarks/world_model_views.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/world_model_views.py"
