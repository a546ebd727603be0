# The latent action model's report: rule train_lam (policies.smk, one model per seed) learns
# codes of the latent change z_t -> z_t+k without reading actions; this rule measures them on
# the validation episodes.


rule lam_report:
    """Codebook usage, forward-model error against the copy baseline and a linear action probe
    of every seed's latent action model."""
    input:
        h5=paths.DEMOS,
        latents=paths.LATENTS,
        world_model=world_model_path(),
        models=[stage_files("lam", s)["model"] for s in SEEDS],
    output:
        md=report(paths.LAM_MD, caption="../report/lam.rst", category="Latent actions"),
        json=paths.LAM_JSON,
    params:
        settings=settings.lam_report(config),
        seeds=SEEDS,
    threads: 1
    resources:
        mem_mb=3000,
    log:
        "logs/lam_report.log",
    benchmark:
        "results/benchmarks/lam_report.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/lam_report.py"
