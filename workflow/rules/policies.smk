# Training on the latent cache: one rule `train_<stage>` per training stage of the method
# registry (larc_core/methods.py), trained once per seed of `seeds` into
# <stage checkpoints>/seed{seed}/, its outputs those of the stage's objective
# (larc_core/objectives/<objective>/: a policy's backbone and action statistics, or a latent
# action model, and the training log). A stage that starts from another (WM-FT from Chunk)
# also reads that stage's same-seed checkpoint, one that uses other stages their products (read
# from their folders by larc_core.stages.train_policy). A linked published Chunk checkpoint
# replaces that stage's rule.
# One thread per training job: the policies are small MLPs that gain little from a second
# thread, and several multi-threaded jobs on few cores (`--cores 8` on a 2-core machine) made
# torch's worker threads spin against each other (measured: 1.4-2 s per step instead of 28 ms).
POLICY_INPUT = dict(h5=paths.DEMOS, latents=paths.LATENTS, world_model=world_model_path())


def stage_inputs(stage):
    """Inputs beyond the data: the initial checkpoint (init, init_stats for a policy) and the
    products of the stages it uses (<stage>_<output>)."""
    inputs = {}
    if stage.init_from:
        files = stage_files(stage.init_from, "{seed}")
        if "backbone" in files:
            inputs.update(init=files["backbone"], init_stats=files["stats"])
        else:
            inputs.update({f"init_{name}": file for name, file in files.items()})
    for used in stage.uses:
        inputs.update({f"{used}_{name}": file for name, file in stage_files(used, "{seed}").items()})
    return inputs


for _stage in STAGES.values():
    if stage_linked(_stage.name):
        continue

    rule:
        name:
            _stage.rule
        input:
            **POLICY_INPUT,
            **stage_inputs(_stage),
        output:
            **{name: f"{_stage.checkpoints}/seed{{seed}}/{file}"
               for name, file in stage_spec(_stage).output_files.items()},
        params:
            settings=settings.train_policy(config, _stage.name),
            seed=lambda wc: int(wc.seed),
        # The Chunk -> WM-FT chain is on the critical path: first among the trainings.
        priority: _stage.priority
        threads: 1
        # Declared here for every stage, so a new stage runs on a cluster without a profile
        # entry (the profiles' set-resources may still override a stage: partition, GPU); a GPU
        # only with device cuda/auto, and then with its maker (the Kubernetes executor refuses
        # a gpu resource without one).
        resources:
            mem_mb=4000,
            runtime=120,
            **({"gpu": GPU, "gpu_manufacturer": "nvidia"} if GPU else {}),
        log:
            f"logs/{_stage.rule}/seed{{seed}}.log",
        benchmark:
            f"results/benchmarks/{_stage.rule}_seed{{seed}}.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_policy.py"
