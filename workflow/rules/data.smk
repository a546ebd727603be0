if "data" not in LINKED:

    rule collect_demos:
        """Record scripted random-pusher demonstrations in the LeWM HDF5 layout."""
        output:
            h5=paths.DEMOS,
        params:
            data=config["data"],
        threads: 2
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
