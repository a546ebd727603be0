# gym-pusht's own task as LeRobot evaluates it: random starts, coverage > 0.95 (rule eval_standard
# per trained row and seed, LeRobot's eval_info.json and MP4 videos), and results/standard.md
# beside the published Diffusion Policy numbers (rule standard_report, in the default target).


rule eval_standard:
    """One trained row and seed on gym-pusht's task: standard.n_episodes random starts from
    standard.start_seed, 300 steps, success = coverage > 0.95 at any step."""
    input:
        unpack(standard_inputs),
    output:
        info=STANDARD_PATHS["info"],
        videos=report(
            expand(STANDARD_PATHS["video"], episode=range(STANDARD["videos"]), allow_missing=True),
            caption="../report/standard_videos.rst",
            category="Standard task",
            subcategory="{method}",
        ),
    params:
        settings=lambda wc: settings.eval_standard(config, wc.method),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    log:
        STANDARD_PATHS["log"],
    benchmark:
        STANDARD_PATHS["benchmark"]
    wildcard_constraints:
        method="|".join(STANDARD_METHODS) if STANDARD_METHODS else "^$",
        seed=r"\d+",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eval_standard.py"


rule standard_report:
    """results/standard.md: pc_success and rewards of every row (seeds pooled) beside LeRobot's
    published Diffusion Policy."""
    input:
        infos=expand(STANDARD_PATHS["info"], method=STANDARD_METHODS, seed=SEEDS),
    output:
        md=report(STANDARD_PATHS["md"], caption="../report/standard.rst", category="Standard task"),
        json=STANDARD_PATHS["json"],
    params:
        settings=settings.standard_report(config),
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        STANDARD_PATHS["report_log"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/standard_report.py"
