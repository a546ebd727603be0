# Policy training on the latent cache, once per seed of `seeds` (checkpoints in
# <stage dir>/seed{seed}/). The rules share one script; the stage is a param.
# One thread per training job: the policies are small MLPs that gain little from a second
# thread, and several multi-threaded jobs on few cores (`--cores 8` on a 2-core machine) made
# torch's worker threads spin against each other (measured: 1.4-2 s per step instead of 28 ms).
POLICY_INPUT = dict(h5=paths.DEMOS, latents=paths.LATENTS, world_model=world_model_path())


rule train_idm:
    """LARC-IDM: one action from (z_t, z_goal)."""
    input:
        **POLICY_INPUT,
    output:
        backbone=f"{paths.POLICY_DIRS['idm']}/seed{{seed}}/shared_policy_backbone.pt",
        stats=f"{paths.POLICY_DIRS['idm']}/seed{{seed}}/action_stats.pt",
        train_log=f"{paths.POLICY_DIRS['idm']}/seed{{seed}}/train_log.jsonl",
    params:
        stage="idm",
        policy=policy_params("idm"),
        seed=lambda wc: int(wc.seed),
    threads: 1
    resources:
        mem_mb=4000,
        gpu=GPU,
    log:
        "logs/train_idm/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_idm_seed{seed}.tsv"
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
            backbone=f"{paths.POLICY_DIRS['chunk']}/seed{{seed}}/shared_policy_backbone.pt",
            stats=f"{paths.POLICY_DIRS['chunk']}/seed{{seed}}/action_stats.pt",
            train_log=f"{paths.POLICY_DIRS['chunk']}/seed{{seed}}/train_log.jsonl",
        params:
            stage="chunk",
            policy=policy_params("chunk"),
            seed=lambda wc: int(wc.seed),
        # On the critical path (Chunk -> WM-FT -> their evaluations): first among the trainings.
        priority: 10
        threads: 1
        resources:
            mem_mb=4000,
            gpu=GPU,
        log:
            "logs/train_chunk/seed{seed}.log",
        benchmark:
            "results/benchmarks/train_chunk_seed{seed}.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_policy.py"


rule train_wm_ft:
    """LARC-Chunk + WM-FT: fine-tune the chunk policy through the frozen predictor."""
    input:
        **POLICY_INPUT,
        init=lambda wc: f"{policy_dir('chunk', wc.seed)}/shared_policy_backbone.pt",
        init_stats=lambda wc: f"{policy_dir('chunk', wc.seed)}/action_stats.pt",
    output:
        backbone=f"{paths.POLICY_DIRS['wm_ft']}/seed{{seed}}/shared_policy_backbone.pt",
        stats=f"{paths.POLICY_DIRS['wm_ft']}/seed{{seed}}/action_stats.pt",
        train_log=f"{paths.POLICY_DIRS['wm_ft']}/seed{{seed}}/train_log.jsonl",
    params:
        stage="wm_ft",
        policy=policy_params("wm_ft"),
        seed=lambda wc: int(wc.seed),
    priority: 10
    threads: 1
    resources:
        mem_mb=4000,
        gpu=GPU,
    log:
        "logs/train_wm_ft/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_wm_ft_seed{seed}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_policy.py"


rule train_gc_idm:
    """GC-IDM baseline: one action from (z_t, z_goal) and the steps left to the goal."""
    input:
        **POLICY_INPUT,
    output:
        backbone=f"{paths.POLICY_DIRS['gc_idm']}/seed{{seed}}/shared_policy_backbone.pt",
        stats=f"{paths.POLICY_DIRS['gc_idm']}/seed{{seed}}/action_stats.pt",
        train_log=f"{paths.POLICY_DIRS['gc_idm']}/seed{{seed}}/train_log.jsonl",
    params:
        stage="gc_idm",
        policy=policy_params("gc_idm"),
        seed=lambda wc: int(wc.seed),
    threads: 1
    resources:
        mem_mb=4000,
        gpu=GPU,
    log:
        "logs/train_gc_idm/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_gc_idm_seed{seed}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_policy.py"
