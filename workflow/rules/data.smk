if "data" not in LINKED:

    rule collect_demos:
        """Record scripted demonstrations (``data.demonstrator``) in the LeWM HDF5 layout."""
        output:
            h5=paths.DEMOS,
        params:
            settings=settings.collect_demos(config),
        # The serial start of every run (data -> world model -> latents): before any side job.
        priority: 20
        threads: MULTI_THREADS
        resources:
            mem_mb=4000,
        log:
            "logs/collect_demos.log",
        benchmark:
            "results/benchmarks/collect_demos.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/collect_demos.py"


rule data_report:
    """What the demonstrations hold: lengths, solve rate, contact, block motion, actions."""
    input:
        h5=paths.DEMOS,
    output:
        md=report(paths.DATA_MD, caption="../report/data.rst", category="Data"),
        json=paths.DATA_JSON,
        png=report(paths.DATA_FIG, caption="../report/data.rst", category="Data"),
    log:
        "logs/data_report.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/data_report.py"
