# The labeled-fraction sweep (its own target: snakemake --cores 8 results/label_efficiency.md):
# LAPA and its few-label baselines trained on each labeled fraction of the training episodes and
# run on the first label_efficiency.n_pairs evaluation pairs of every offset.
rule label_point:
    """One row trained on one labeled fraction (every seed) and run on the sweep's pairs."""
    input:
        unpack(label_point_inputs),
    output:
        json=paths.LABEL_POINT,
    params:
        settings=lambda wc: settings.label_point(config, wc.method),
        seeds=SEEDS,
        offsets=EVAL_OFFSETS,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    log:
        "logs/label_point/{method}_f{fraction}.log",
    benchmark:
        "results/benchmarks/label_point_{method}_f{fraction}.tsv"
    wildcard_constraints:
        method="|".join(LABEL["methods"]),
        fraction=r"[0-9.]+",
    conda:
        "../../environment.yml"
    script:
        "../scripts/label_point.py"


rule label_efficiency:
    """Success against the labeled fraction; LAPA beside each baseline pair by pair."""
    input:
        points=expand(paths.LABEL_POINT, method=LABEL["methods"],
                      fraction=[f"{f:g}" for f in LABEL["fractions"]]),
        lam=paths.LAM_JSON,
    output:
        md=report(paths.LABEL_MD, caption="../report/label_efficiency.rst",
                  category="Latent actions"),
        json=paths.LABEL_JSON,
        png=report(paths.LABEL_FIG, caption="../report/label_efficiency.rst",
                   category="Latent actions"),
    params:
        settings=settings.label_efficiency(config),
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/label_efficiency.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/label_efficiency.py"
