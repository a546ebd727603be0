if "world_model" not in LINKED:

    rule train_world_model:
        """Train the LeWM-style JEPA world model (resumable from .larc_state/)."""
        input:
            h5=paths.DEMOS,
        output:
            ckpt=paths.WORLD_MODEL,
            train_log="checkpoints/world_model/train_log.jsonl",
        params:
            settings=settings.train_world_model(config),
        # The serial start of every run (data -> world model -> latents): before any side job.
        priority: 20
        threads: MULTI_THREADS
        resources:
            mem_mb=8000,
            gpu=GPU,
        log:
            "logs/train_world_model.log",
        benchmark:
            "results/benchmarks/train_world_model.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_world_model.py"
