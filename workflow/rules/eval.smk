rule eval_pairs:
    """Draw the start/goal pairs of one offset from validation episodes (shared by all methods)."""
    input:
        h5=paths.DEMOS,
    output:
        pairs=paths.PAIRS,
    params:
        settings=settings.eval_pairs(config),
    log:
        "logs/eval_pairs_h{offset}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eval_pairs.py"


# The three evaluation rules share one script: rule `eval` runs a trained method with one
# training seed's checkpoint, `eval_planner` a CEM row and `eval_reference` a sanity row (no
# seeds). Each reads the method's settings (larc_core/settings.py: evaluate), so editing one
# reruns the evaluations it changes and the table only.


rule eval:
    """Evaluate one trained method, with the checkpoint of one seed, at one goal offset."""
    input:
        unpack(eval_inputs),
    output:
        result=paths.EVAL,
    params:
        settings=lambda wc: EVAL_SETTINGS[wc.method],
        seed=lambda wc: int(wc.seed),
    # Worker processes the episodes are spread over (one torch thread each; same records).
    threads: EVAL_THREADS
    resources:
        mem_mb=2000,
    log:
        "logs/eval/{method}_seed{seed}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_{method}_seed{seed}_h{offset}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if METHODS[m].eval_rule == "eval"),
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"


rule eval_reference:
    """Evaluate one untrained reference row (No-op, Replay) at one goal offset: no seeds."""
    input:
        unpack(eval_inputs),
    output:
        result=paths.EVAL_REFERENCE,
    params:
        settings=lambda wc: EVAL_SETTINGS[wc.method],
        seed=None,
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/eval/{method}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_{method}_h{offset}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if METHODS[m].eval_rule == "eval_reference"),
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"


rule eval_planner:
    """Evaluate one CEM planner row (LeWM's planner on the frozen world model) at one goal
    offset: no training, so no seeds; its candidate draws are seeded from eval.seed per pair."""
    input:
        unpack(eval_inputs),
    output:
        result=paths.EVAL_REFERENCE,
    params:
        settings=lambda wc: EVAL_SETTINGS[wc.method],
        seed=None,
    # Worker processes the episodes are spread over (one torch thread each; same records).
    threads: PLANNER_THREADS
    resources:
        mem_mb=3000,
    log:
        "logs/eval/{method}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_{method}_h{offset}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if METHODS[m].eval_rule == "eval_planner"),
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"


# The pair-draw check (config pair_draws:): the table's trained rows again on pairs drawn with
# other seeds, so a column that rests on an untypical draw shows in results/pair_draws.md.


rule draw_pairs:
    """Draw one offset's pairs from the validation episodes with another seed than eval.seed."""
    input:
        h5=paths.DEMOS,
    output:
        pairs=paths.DRAW_PAIRS,
    params:
        settings=lambda wc: settings.eval_pairs(config, int(wc.draw)),
    log:
        "logs/draw_pairs_draw{draw}_h{offset}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eval_pairs.py"


rule eval_draw:
    """Evaluate one trained method and seed on another draw's pairs (rule eval's settings)."""
    input:
        unpack(draw_eval_inputs),
    output:
        result=paths.DRAW_EVAL,
    params:
        settings=lambda wc: EVAL_SETTINGS[wc.method],
        seed=lambda wc: int(wc.seed),
    threads: EVAL_THREADS
    resources:
        mem_mb=2000,
    log:
        "logs/eval/draw{draw}/{method}_seed{seed}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_draw{draw}_{method}_seed{seed}_h{offset}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if METHODS[m].eval_rule == "eval"),
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"


rule pair_draws:
    """Each checked row's success on the table's pairs beside its success on other draws."""
    input:
        evals=[f for by_key in pair_draw_files().values() for fs in by_key.values() for f in fs],
    output:
        md=report(paths.PAIR_DRAWS_MD, caption="../report/pair_draws.rst", category="Results"),
        json=paths.PAIR_DRAWS_JSON,
    params:
        files=pair_draw_files(),
        eval_seed=config["eval"]["seed"],
    log:
        "logs/pair_draws.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/pair_draws.py"


rule state_ceiling:
    """LARC-IDM and LARC-Chunk trained on the true state and run on the evaluation's pairs:
    the ceiling their latent rows are compared with in results/world_model.md."""
    input:
        h5=paths.DEMOS,
        pairs=expand(paths.PAIRS, offset=EVAL_OFFSETS),
    output:
        json=paths.STATE_CEILING,
    params:
        settings=settings.state_ceiling(config),
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/state_ceiling.log",
    benchmark:
        "results/benchmarks/state_ceiling.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/state_ceiling.py"
