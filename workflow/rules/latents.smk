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
