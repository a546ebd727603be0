# Latency benchmark: batch-1 time per decision of every method on CPU, side by side.


rule latency:
    """Time per decision (policy forward or CEM plan), full control step and amortised time per
    env step of every method, in one process with one torch thread; success against time."""
    input:
        unpack(latency_inputs),
    output:
        md=report(paths.LATENCY_MD, caption="../report/latency.rst", category="Runtime"),
        json=paths.LATENCY_JSON,
        png=report(paths.LATENCY_FIG, caption="../report/latency.rst", category="Runtime"),
    params:
        settings=settings.latency(config),
    # The whole machine, so no other job runs beside the timings (they feed the table's
    # latency column); the timing process itself uses one torch thread.
    threads: MACHINE_CORES
    resources:
        mem_mb=3000,
    log:
        "logs/latency.log",
    benchmark:
        "results/benchmarks/latency.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/latency.py"
