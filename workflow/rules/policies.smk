# Policy training on the latent cache. The three rules share one script; the stage is a param.
POLICY_INPUT = dict(h5=paths.DEMOS, latents=paths.LATENTS, world_model=world_model_path())


rule train_idm:
    """LARC-IDM: one action from (z_t, z_goal)."""
    input:
        **POLICY_INPUT,
    output:
        backbone=f"{paths.POLICY_DIRS['idm']}/shared_policy_backbone.pt",
        stats=f"{paths.POLICY_DIRS['idm']}/action_stats.pt",
        train_log=f"{paths.POLICY_DIRS['idm']}/train_log.jsonl",
    params:
        stage="idm",
        policy=policy_params("idm"),
        seed=config["seed"],
    threads: 2
    resources:
        mem_mb=4000,
        gpu=GPU,
    log:
        "logs/train_idm.log",
    benchmark:
        "results/benchmarks/train_idm.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_policy.py"


if "chunk_backbone" not in LINKED:

    rule train_chunk:
        """LARC-Chunk: an action chunk from (z_t, z_goal)."""
        input:
            **POLICY_INPUT,
        output:
            backbone=f"{paths.POLICY_DIRS['chunk']}/shared_policy_backbone.pt",
            stats=f"{paths.POLICY_DIRS['chunk']}/action_stats.pt",
            train_log=f"{paths.POLICY_DIRS['chunk']}/train_log.jsonl",
        params:
            stage="chunk",
            policy=policy_params("chunk"),
            seed=config["seed"],
        threads: 2
        resources:
            mem_mb=4000,
            gpu=GPU,
        log:
            "logs/train_chunk.log",
        benchmark:
            "results/benchmarks/train_chunk.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_policy.py"


rule train_wm_ft:
    """LARC-Chunk + WM-FT: fine-tune the chunk policy through the frozen predictor."""
    input:
        **POLICY_INPUT,
        init=f"{paths.POLICY_DIRS['chunk']}/shared_policy_backbone.pt",
        init_stats=f"{paths.POLICY_DIRS['chunk']}/action_stats.pt",
    output:
        backbone=f"{paths.POLICY_DIRS['wm_ft']}/shared_policy_backbone.pt",
        stats=f"{paths.POLICY_DIRS['wm_ft']}/action_stats.pt",
        train_log=f"{paths.POLICY_DIRS['wm_ft']}/train_log.jsonl",
    params:
        stage="wm_ft",
        policy=policy_params("wm_ft"),
        seed=config["seed"],
    threads: 2
    resources:
        mem_mb=4000,
        gpu=GPU,
    log:
        "logs/train_wm_ft.log",
    benchmark:
        "results/benchmarks/train_wm_ft.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_policy.py"
