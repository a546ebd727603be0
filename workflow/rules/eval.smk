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


rule eval:
    """Evaluate one method at one goal offset in the PushT simulator."""
    input:
        unpack(eval_inputs),
    output:
        result=paths.EVAL,
    params:
        execute_chunk_size=config["eval"]["execute_chunk_size"],
        latency_warmup=config["eval"].get("latency_warmup", 20),
        latency_calls=config["eval"].get("latency_calls", 200),
        device=config["device"],
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/eval/{method}_h{offset}.log",
    benchmark:
        "results/benchmarks/eval_{method}_h{offset}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/evaluate.py"
