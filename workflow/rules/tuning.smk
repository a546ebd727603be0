# Settings chosen on tuning pairs (training episodes, their own seed), never on the table's
# pairs: the WM-FT sweep. Its own target: snakemake --cores 8 results/wm_ft.md


rule tuning_pairs:
    """Draw the tuning pairs of one offset from training episodes with the tuning seed."""
    input:
        h5=paths.DEMOS,
    output:
        pairs=paths.TUNING_PAIRS,
    params:
        settings=settings.tuning_pairs(config),
    log:
        "logs/tuning_pairs_h{offset}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eval_pairs.py"


rule wm_ft_point:
    """Fine-tune the Chunk checkpoints with one WM-FT setting and run them on the tuning pairs."""
    input:
        unpack(wm_ft_point_inputs),
    output:
        json=paths.WM_FT_POINT,
    params:
        settings=lambda wc: settings.wm_ft_point(config, wc.point),
    threads: 1
    resources:
        mem_mb=4000,
    log:
        "logs/wm_ft_point_{point}.log",
    benchmark:
        "results/benchmarks/wm_ft_point_{point}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/wm_ft_point.py"


rule wm_ft_sweep:
    """Every WM-FT setting beside the Chunk policy on the tuning pairs; the selected one."""
    input:
        points=expand(paths.WM_FT_POINT, point=[p["name"] for p in config["wm_ft_sweep"]["grid"]]),
    output:
        md=report(paths.WM_FT_MD, caption="../report/wm_ft.rst", category="Tuning"),
        json=paths.WM_FT_JSON,
    params:
        settings=settings.wm_ft_sweep(config),
    log:
        "logs/wm_ft_sweep.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/wm_ft_sweep.py"
