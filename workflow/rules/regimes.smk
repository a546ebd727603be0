# Other data regimes (config regimes:), each the default config with config/<regime>.yaml over
# it, run in its own folder runs/<regime>/ so the default run's files stay as they are:
#   snakemake --cores 8 results/regimes/state_expert/claims.md


rule regime:
    """One regime's results table, claims and data report, from a nested run of this workflow
    in runs/{regime}/ (its own data, world model, checkpoints and evaluations)."""
    input:
        overlay="config/{regime}.yaml",
        config="config/config.yaml",
    output:
        table="results/regimes/{regime}/table.md",
        claims="results/regimes/{regime}/claims.md",
        claims_json="results/regimes/{regime}/claims.json",
        data="results/regimes/{regime}/data.md",
    params:
        snakefile=workflow.main_snakefile,
        rundir=lambda wc: f"runs/{wc.regime}",
    # The nested run schedules its own jobs on these cores (every core this machine gives).
    threads: MACHINE_CORES
    resources:
        mem_mb=8000,
    log:
        "logs/regime_{regime}.log",
    benchmark:
        "results/benchmarks/regime_{regime}.tsv"
    wildcard_constraints:
        regime="|".join(config["regimes"]) or "no-regime-configured",
    conda:
        "../../environment.yml"
    script:
        "../scripts/regime.py"
