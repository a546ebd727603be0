rule eval_pairs:
    """Draw the start/goal pairs of one offset from validation episodes (shared by all methods)."""
    input:
        h5=paths.DEMOS,
    output:
        pairs=paths.PAIRS,
    params:
        n_episodes=config["eval"]["n_episodes"],
        seed=config["eval"]["seed"],
    log:
        "logs/eval_pairs_h{offset}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eval_pairs.py"


# Evaluation settings a result depends on (changing one reruns evaluation and the table only).
EVAL_PARAMS = dict(
    execute_chunk_size=config["eval"]["execute_chunk_size"],
    latency_warmup=config["eval"].get("latency_warmup", 20),
    latency_calls=config["eval"].get("latency_calls", 200),
    device=config["device"],
)


rule eval:
    """Evaluate one trained method, with the checkpoint of one seed, at one goal offset."""
    input:
        unpack(eval_inputs),
    output:
        result=paths.EVAL,
    params:
        **EVAL_PARAMS,
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
        method="|".join(m for m in METHODS if METHODS[m].learned),
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
        **EVAL_PARAMS,
        seed=None,
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/eval/{method}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_{method}_h{offset}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if not (METHODS[m].learned or METHODS[m].planned)),
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
        planner=lambda wc: PLANNER_SETTINGS[wc.method],
        latency_warmup=config.get("planner", {}).get("latency_warmup", 1),
        latency_calls=config.get("planner", {}).get("latency_calls", 5),
        eval_seed=config["eval"]["seed"],
        n_pairs=config.get("planner", {}).get("n_pairs"),
        device=config["device"],
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
        method="|".join(m for m in METHODS if METHODS[m].planned),
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"


rule state_ceiling:
    """LARC-IDM and LARC-Chunk trained on the true state and run on the evaluation's pairs:
    the ceiling their latent rows are compared with in results/world_model.md."""
    input:
        h5=paths.DEMOS,
        pairs=expand(paths.PAIRS, offset=EVAL_OFFSETS),
    output:
        json=paths.STATE_CEILING,
    params:
        policy=config["policy"],
        stages=config["state_ceiling"]["stages"],
        seed=config["state_ceiling"]["seed"],
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
