# Policy training on the latent cache: one rule `train_<stage>` per training stage of the method
# registry (larc_core/methods.py), trained once per seed of `seeds` into
# <stage checkpoints>/seed{seed}/. A fine-tuning stage (WM-FT) also reads the same seed's
# checkpoint of the stage it starts from. A linked published Chunk checkpoint replaces that
# stage's rule.
# One thread per training job: the policies are small MLPs that gain little from a second
# thread, and several multi-threaded jobs on few cores (`--cores 8` on a 2-core machine) made
# torch's worker threads spin against each other (measured: 1.4-2 s per step instead of 28 ms).
POLICY_INPUT = dict(h5=paths.DEMOS, latents=paths.LATENTS, world_model=world_model_path())


for _stage in STAGES.values():
    if stage_linked(_stage.name):
        continue
    _init = {}
    if _stage.init_from:
        _files = policy_files(_stage.init_from, "{seed}")
        _init = {"init": _files["backbone"], "init_stats": _files["stats"]}

    rule:
        name:
            _stage.rule
        input:
            **POLICY_INPUT,
            **_init,
        output:
            backbone=f"{_stage.checkpoints}/seed{{seed}}/shared_policy_backbone.pt",
            stats=f"{_stage.checkpoints}/seed{{seed}}/action_stats.pt",
            train_log=f"{_stage.checkpoints}/seed{{seed}}/train_log.jsonl",
        params:
            settings=settings.train_policy(config, _stage.name),
            seed=lambda wc: int(wc.seed),
        # The Chunk -> WM-FT chain is on the critical path: first among the trainings.
        priority: _stage.priority
        threads: 1
        resources:
            mem_mb=4000,
            gpu=GPU,
        log:
            f"logs/{_stage.rule}/seed{{seed}}.log",
        benchmark:
            f"results/benchmarks/{_stage.rule}_seed{{seed}}.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_policy.py"
