rule table:
    """Results table (Markdown + CSV) recomputed from the per-episode evaluation files."""
    input:
        evals=eval_files(),
        manifest=paths.MANIFEST,
        figure=paths.FIGURE,
        world_model_report=paths.WM_HEALTH_MD,
    output:
        md=paths.TABLE,
        csv=paths.TABLE_CSV,
    log:
        "logs/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/table.py"


rule figures:
    """Success rate against goal offset, per method, with Wilson intervals."""
    input:
        evals=eval_files(),
    output:
        png=paths.FIGURE,
    log:
        "logs/figures.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/figures.py"
