# Where the run's time goes: unit costs measured on the machine at the start of the run, each
# heavy job's wall time against its floor, and the load average sampled during the run.
import subprocess
import sys
import time


onstart:
    # Load-average sampler for results/performance.md: one file per run, ends with this process.
    Path(paths.LOAD_LOG_DIR).mkdir(parents=True, exist_ok=True)
    subprocess.Popen(
        [sys.executable, "-m", "larc_core.loadmon", "--watch", str(os.getpid()), "--out",
         f"{paths.LOAD_LOG_DIR}/{time.strftime('%Y%m%dT%H%M%S')}_{os.getpid()}.tsv"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


rule machine_floors:
    """Unit costs of the run's work on this machine (env step, render, encoder, policy and
    world-model steps, CEM plan, HDF5 read, process start-up), timed before any other job."""
    output:
        json=paths.MACHINE_FLOORS,
    params:
        # The training stages' settings: the policy block and every objective's block.
        config={k: config[k] for k in ("data", "world_model", "policy", "views",
                                       *sorted({b[0] for b in config_blocks()}))},
        planners={m: EVAL_SETTINGS[m]["planner"] for m in PLANNER_METHODS},
        world_model_threads=MULTI_THREADS,
    # First, and alone: every core held, so nothing runs beside the timings.
    priority: 100
    threads: MACHINE_CORES
    resources:
        mem_mb=3000,
    log:
        "logs/machine_floors.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/machine_floors.py"


rule performance:
    """Each heavy job's wall time against its floor, the elapsed time, the critical path and the
    load average during the run."""
    input:
        floors=paths.MACHINE_FLOORS,
        h5=paths.DEMOS,
        benchmarks=benchmark_files() + ["results/benchmarks/latency.tsv"],
        evals=eval_files(),
        state_ceiling=[paths.STATE_CEILING] if RUN_STATE_CEILING else [],
        # The measured curve the CEM setting was chosen from, when the checkout has it.
        **({"cem_curve": paths.CEM_CURVE} if PLANNER_METHODS and Path(paths.CEM_CURVE).exists()
           else {}),
    output:
        md=report(paths.PERFORMANCE_MD, caption="../report/performance.rst", category="Runtime"),
        json=paths.PERFORMANCE_JSON,
    params:
        settings=performance_settings(),
        # results/eval/: every evaluation file is <eval dir>/<method>/<file>.json
        eval_dir=lambda wc, input: str(Path(input.evals[0]).parent.parent),
        load_dir=paths.LOAD_LOG_DIR,
        # Snakemake's own job records (rule, inputs, start, end): the critical path.
        metadata_dir=".snakemake/metadata",
        planners={m: EVAL_SETTINGS[m]["planner"] for m in PLANNER_METHODS},
    log:
        "logs/performance.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/performance.py"
