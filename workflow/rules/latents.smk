if "latents" not in LINKED:

    rule cache_latents:
        """Encode every frame once with the frozen world model."""
        input:
            h5=paths.DEMOS,
            world_model=world_model_path(),
        output:
            latents=paths.LATENTS,
        params:
            batch_size=config["world_model"]["train"].get("cache_batch_size", 256),
            device=config["device"],
        threads: 2
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


rule world_model_health:
    """Held-out prediction and rollout error vs copy baselines, and linear-probe R^2."""
    input:
        h5=paths.DEMOS,
        world_model=world_model_path(),
        latents=paths.LATENTS,
    output:
        md=report(paths.WM_HEALTH_MD, caption="../report/world_model.rst", category="World model"),
        json=paths.WM_HEALTH_JSON,
        png=report(paths.WM_HEALTH_FIG, caption="../report/world_model.rst", category="World model"),
    params:
        seed=config["seed"],
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
