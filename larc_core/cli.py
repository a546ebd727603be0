"""``larc``: one subcommand per workflow stage (the Snakemake rules run the same functions).

Run from the workflow root, e.g. ``larc train-chunk --config config/config.yaml``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from larc_core import paths
from larc_core.methods import METHODS, STAGES

DEFAULT_CONFIG = "config/config.yaml"


def _count(minimum: int):
    """argparse type: an integer >= ``minimum`` (a clear usage error otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _world_model_default() -> str:
    """The imported published checkpoint when present, else the one the workflow trains."""
    from larc_core.artifacts import IMPORTED_WORLD_MODEL

    return IMPORTED_WORLD_MODEL if Path(IMPORTED_WORLD_MODEL).exists() else paths.WORLD_MODEL


EPILOG = """\
Every subcommand reads --config (validated against workflow/schemas/config.schema.yaml) and
takes --set KEY.PATH=VALUE overrides, e.g.
  larc eval --method larc_chunk --offset 25 --set eval.n_episodes=10 --set device=cpu
Inside Snakemake the same override is `--config 'eval={"n_episodes": 10}'` (merged into the
config file's sections) or a second --configfile.
"""


def _parser() -> argparse.ArgumentParser:
    from larc_core import __version__

    p = argparse.ArgumentParser(prog="larc", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="STAGE")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.add_argument("--config", default=DEFAULT_CONFIG, help="config YAML (default: %(default)s)")
        sp.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY.PATH=VALUE",
                        help="override one config value (YAML value; repeatable), e.g. "
                             "--set eval.n_episodes=10")
        sp.add_argument("--log", default=None, help="also append log lines to this file")
        sp.add_argument("--accept-checkpoint-config", action="store_true",
                        help="use a checkpoint whose settings differ from the config with its own "
                             "settings (a warning) instead of stopping")
        sp.add_argument("--threads", type=_count(1), default=1,
                        help="CPU threads (training, encoding) or worker processes (demo "
                             "collection, evaluation); default %(default)s")
        return sp

    def demos(sp: argparse.ArgumentParser, what: str = "demonstration HDF5 file") -> None:
        sp.add_argument("--demos", default=paths.DEMOS, help=f"{what} (default: %(default)s)")

    def world_model(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--world-model", default=None,
                        help=f"world-model checkpoint (default: the imported LeWM one if present, "
                             f"else {paths.WORLD_MODEL})")

    def out(sp: argparse.ArgumentParser, default: str | None, what: str) -> None:
        shown = default or "the workflow's path for it"
        sp.add_argument("--out", default=default, help=f"{what} to write (default: {shown})")

    add("validate-config", "Validate a config file against the schema and cross-field rules.")
    sp = add("link-artifacts", "Validate and symlink published artifacts from artifacts.dir.")
    sp.add_argument("--manifest", default=paths.MANIFEST,
                    help="manifest of the linked files and their SHA-256 (default: %(default)s)")
    sp = add("import-world-model",
             "Convert a linked LeWM checkpoint (weights.pt / *_object.ckpt) to the LARC format.")
    sp.add_argument("--source", required=True, help="the linked LeWM checkpoint")
    demos(sp, "data whose actions set the action z-scoring")
    out(sp, None, "converted checkpoint")
    sp = add("collect-demos",
             "Record demonstrations (data.demonstrator: the state expert by default) to HDF5.")
    out(sp, paths.DEMOS, "HDF5 file")
    sp = add("train-world-model", "Train the LeWM-style JEPA world model.")
    demos(sp)
    out(sp, paths.WORLD_MODEL, "checkpoint")
    sp = add("cache-latents", "Encode every frame once with the frozen world model.")
    demos(sp)
    world_model(sp)
    out(sp, paths.LATENTS, "latent cache")
    for stage in STAGES.values():  # one subcommand per registered training stage
        sp = add(stage.command, f"Train {stage.description}")
        sp.set_defaults(stage=stage.name)
        demos(sp)
        sp.add_argument("--latents", default=paths.LATENTS,
                        help="latent cache (default: %(default)s)")
        world_model(sp)
        sp.add_argument("--out-dir", default=None,
                        help=f"checkpoint folder (default: {stage.checkpoints}/seed<seed>)")
        sp.add_argument("--seed", type=_count(0), default=None,
                        help="training seed (default: the first of the config's seeds)")
        if stage.init_from:
            sp.add_argument("--init-dir", default=None,
                            help=f"{stage.init_from} checkpoint folder it starts from "
                                 "(default: the same seed's)")
        for used in stage.uses:
            sp.add_argument(f"--{used.replace('_', '-')}-dir", dest=f"uses_{used}", default=None,
                            help=f"{used} checkpoint folder it reads (default: the same seed's)")
    sp = add("world-model-health", "Report held-out prediction/rollout error and probe R^2.")
    demos(sp)
    world_model(sp)
    sp.add_argument("--latents", default=paths.LATENTS, help="latent cache (default: %(default)s)")
    sp = add("counterfactual", "Score the world model's predictions under other actions than "
                               "the recorded ones (executed in the simulator) and diagnose CEM.")
    demos(sp)
    world_model(sp)
    sp.add_argument("--pairs", default=None,
                    help="evaluation pairs of the planning diagnosis (default: the first "
                         "offset's; none if that file is absent)")
    out(sp, paths.COUNTERFACTUAL, "result JSON")
    sp = add("lam-report", "Measure the latent action models (codebook use, forward error "
                           "against copy, action probe): results/lam.md and .json.")
    demos(sp)
    world_model(sp)
    sp.add_argument("--latents", default=paths.LATENTS, help="latent cache (default: %(default)s)")
    sp.add_argument("--model", nargs="+", default=None, metavar="SEED=FILE",
                    help="each seed's latent_action_model.pt (default: the config's seeds' "
                         "files under " + STAGES["lam"].checkpoints + ")")
    out(sp, paths.LAM_MD, "report")
    sp = add("training-curves", "Plot the loss components of one training log.")
    sp.add_argument("--name", required=True, choices=["world_model", *STAGES],
                    help="what was trained: the world model or a registered stage")
    sp.add_argument("--train-log", required=True, nargs="+", help="one train_log.jsonl per seed")
    out(sp, None, "figure")
    sp = add("runtime", "Gather Snakemake benchmark files into results/runtime.md.")
    sp.add_argument("benchmarks", nargs="+", help="benchmark TSV files (results/benchmarks/)")
    out(sp, paths.RUNTIME, "report")
    sp = add("eval-pairs", "Draw the start/goal pairs of one goal offset.")
    sp.add_argument("--offset", type=_count(1), required=True, help="goal offset in env steps")
    demos(sp)
    out(sp, None, "pairs file")
    sp = add("eval", "Evaluate one method at one goal offset in the PushT simulator.")
    sp.add_argument("--method", required=True, choices=list(METHODS),
                    help="a registered method (larc_core/methods.py)")
    sp.add_argument("--offset", type=_count(1), required=True, help="goal offset in env steps")
    demos(sp)
    world_model(sp)
    sp.add_argument("--checkpoint-dir", default=None,
                    help="policy checkpoint folder (default: the method's folder for --seed)")
    sp.add_argument("--seed", type=_count(0), default=None,
                    help="policy training seed (default: the first of the config's seeds)")
    sp.add_argument("--pairs", default=None,
                    help=f"pairs file (default: {paths.PAIRS.format(offset='<offset>')})")
    out(sp, None, "result JSON")
    sp = add("eval-standard", "Run one trained row on gym-pusht's own task (LeRobot's PushT "
             "evaluation: random starts, coverage > 0.95): its eval_info.json and videos.")
    sp.add_argument("--method", required=True,
                    choices=[k for k, m in METHODS.items() if m.learned],
                    help="a trained row (larc_core/methods.py)")
    sp.add_argument("--seed", type=_count(0), default=None,
                    help="policy training seed (default: the first of the config's seeds)")
    sp.add_argument("--checkpoint-dir", default=None,
                    help="policy checkpoint folder (default: the row's folder for --seed)")
    demos(sp)
    world_model(sp)
    sp.add_argument("--latents", default=paths.LATENTS,
                    help="latent cache (the retrieval subgoals; default: %(default)s)")
    sp.add_argument("--tuning", action="store_true",
                    help="run from standard.tuning_start_seed (the starts settings are compared "
                         "on), write no video")
    out(sp, None, "eval_info.json")
    sp = add("latency", "Time every method batch-1 on CPU: results/latency.md and its figure.")
    demos(sp)
    world_model(sp)
    sp.add_argument("--pairs", default=None, help="start frame / goal (default: first offset)")
    out(sp, paths.LATENCY_MD, "report")
    sp = add("table", "Write results/table.md and results/table.csv from the eval files.")
    out(sp, paths.TABLE, "Markdown table (the CSV goes beside it)")
    sp = add("figures", "Draw results/figures/success_vs_offset.png from the eval files.")
    out(sp, paths.FIGURE, "figure")
    sp = add("restore", "Restore a published run: dvc pull, check every output against dvc.lock, "
                        "mark them up to date for Snakemake, confirm nothing is left to do.")
    sp.add_argument("targets", nargs="*", default=[],
                    help="Snakemake targets to restore (default: the workflow's default target, "
                         "every output of the run)")
    sp = add("claims", "Test the config's claims pair by pair: results/claims.md and .json.")
    sp.add_argument("--eval-dir", default="results/eval",
                    help="folder of the evaluation files (default: %(default)s)")
    sp.add_argument("--latency", default=paths.LATENCY_JSON,
                    help="rule latency's JSON (default: %(default)s)")
    out(sp, paths.CLAIMS_MD, "Markdown report (the JSON goes beside it)")
    sp = add("readme-claims", "Rewrite README.md's claims section from results/claims.json "
                              "(rule claims' output).")
    sp.add_argument("--readme", default="README.md", help="README to update (default: %(default)s)")
    sp.add_argument("--claims", default=paths.CLAIMS_JSON,
                    help="claims JSON (default: %(default)s)")
    sp.add_argument("--block", default=None,
                    help="a named block instead of the default run's (another data regime's: "
                         "--claims results/regimes/<name>/claims.json --block <name>)")
    sp = add("dvc-yaml", "Write dvc.yaml from the method registry (one DVC stage per trained "
                         "stage; cmd targets use the config's seeds, metrics and plots its "
                         "evaluated methods).")
    out(sp, "dvc.yaml", "file")
    return p


def _seed_file(item: str) -> tuple[int, str]:
    """``SEED=FILE`` -> (seed, file)."""
    seed, sep, path = item.partition("=")
    if not sep or not seed.isdigit() or not path:
        raise ValueError(f"--model {item!r}: expected SEED=FILE, e.g. 0=model.pt")
    return int(seed), path


def _refuse_unused(args: argparse.Namespace, method) -> None:
    """An option the method does not use is refused, not dropped: the record would otherwise
    say a seed, checkpoint or world model was used that was not."""
    unused = []
    if not method.learned:
        unused += [f"--{k.replace('_', '-')} {getattr(args, k)}"
                   for k in ("seed", "checkpoint_dir") if getattr(args, k, None) is not None]
    if not (method.learned or method.planned) and getattr(args, "world_model", None):
        unused.append(f"--world-model {args.world_model}")
    if unused:
        kind = "a planner row (no training)" if method.planned else "a reference row (no model)"
        raise ValueError(f"{method.key} is {kind}: {', '.join(unused)} would be ignored; drop "
                         f"{'it' if len(unused) == 1 else 'them'}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from larc_core import settings, stages
    from larc_core.config import ConfigError, load_config
    from larc_core.io import ArtifactError
    from larc_core.logs import setup_logging
    from larc_core.restore import RestoreError

    setup_logging(args.log)
    try:
        config = load_config(args.config, args.overrides)
        wm = getattr(args, "world_model", None) or _world_model_default()
        cmd, t = args.command, args.threads
        first_seed = int(config["seeds"][0])
        accept = args.accept_checkpoint_config
        if cmd == "validate-config":
            print(f"{args.config}: valid")
        elif cmd == "link-artifacts":
            stages.link_artifacts(settings.link_artifacts(config), args.manifest)
        elif cmd == "collect-demos":
            stages.collect_demos(settings.collect_demos(config), args.out, threads=t)
        elif cmd == "train-world-model":
            # Resume state beside an output asked for elsewhere than the workflow's path.
            stages.train_world_model(
                settings.train_world_model(config), args.demos, args.out, threads=t,
                state_dir=None if args.out == paths.WORLD_MODEL else
                stages.state_dir_beside(args.out))
        elif cmd == "cache-latents":
            stages.cache_latents(settings.cache_latents(config), args.demos, wm, args.out,
                                 threads=t, accept_checkpoint_config=accept)
        elif cmd == "import-world-model":
            stages.import_world_model(settings.import_world_model(config), args.source,
                                      args.demos, args.out)
        elif getattr(args, "stage", None):
            stages.train_policy(
                settings.train_policy(config, args.stage),
                first_seed if args.seed is None else args.seed, args.demos, args.latents, wm,
                args.out_dir, init_dir=getattr(args, "init_dir", None), threads=t,
                state_dir=stages.state_dir_beside(args.out_dir) if args.out_dir else None,
                accept_checkpoint_config=accept,
                uses={u: getattr(args, f"uses_{u}") for u in STAGES[args.stage].uses
                      if getattr(args, f"uses_{u}")},
            )
        elif cmd == "world-model-health":
            stages.world_model_health(settings.world_model_health(config), args.demos, wm,
                                      args.latents)
        elif cmd == "counterfactual":
            pairs = args.pairs or paths.PAIRS.format(offset=config["eval"]["offsets"][0])
            stages.counterfactual(settings.counterfactual(config), args.demos, wm,
                                  pairs if args.pairs or Path(pairs).exists() else None,
                                  args.out)
        elif cmd == "lam-report":
            models = (dict(_seed_file(item) for item in args.model) if args.model else
                      {s: f"{paths.policy_dir('lam', s)}/latent_action_model.pt"
                       for s in config["seeds"]})
            stages.lam_report(settings.lam_report(config), models, args.demos, args.latents, wm,
                              args.out, str(Path(args.out).with_suffix(".json")))
        elif cmd == "training-curves":
            out = args.out or paths.TRAIN_CURVES.format(name=args.name)
            stages.training_curves(args.name, args.train_log, out)
        elif cmd == "runtime":
            stages.runtime(args.benchmarks, args.out)
        elif cmd == "eval-pairs":
            stages.eval_pairs(settings.eval_pairs(config), args.offset, args.demos, args.out)
        elif cmd == "eval":
            _refuse_unused(args, METHODS[args.method])
            seed = args.seed
            if seed is None and args.checkpoint_dir is None:
                seed = first_seed
            stages.evaluate(
                settings.evaluate(config, args.method), args.offset, args.demos, wm,
                args.checkpoint_dir, args.pairs, args.out, seed=seed, threads=t,
                accept_checkpoint_config=accept, n_episodes=config["eval"]["n_episodes"],
            )
        elif cmd == "eval-standard":
            run = settings.eval_standard(config, args.method)
            seed = args.seed
            if seed is None and args.checkpoint_dir is None:
                seed = first_seed
            videos = None
            if args.tuning:
                run["standard"]["start_seed"] = run["standard"]["tuning_start_seed"]
                videos = []
            layout = (paths.STANDARD_TUNING_INFO if args.tuning
                      else paths.standard_paths(config["standard"]["name"])["info"])
            if args.out is None and seed is None:
                raise ValueError("--checkpoint-dir without --seed: give --out (the record's "
                                 "place names its seed)")
            out_path = args.out or layout.format(method=args.method, seed=seed)
            stages.eval_standard(run, seed, args.demos, args.latents, wm, args.checkpoint_dir,
                                 out_path, videos, threads=t, accept_checkpoint_config=accept)
        elif cmd == "latency":
            stages.latency(settings.latency(config), stages.default_eval_files(config),
                           args.demos, wm, args.pairs, out_md=args.out)
        elif cmd == "table":
            out = Path(args.out)
            stages.table(stages.default_eval_files(config), out_md=str(out),
                         out_csv=str(out.with_suffix(".csv")),
                         out_summary_csv=str(out.with_name(out.stem + "_summary.csv")),
                         out_metrics=str(out.with_name("metrics.json")))
        elif cmd == "figures":
            stages.figures(stages.default_eval_files(config), out=args.out)
        elif cmd == "restore":
            from larc_core.restore import restore

            if args.overrides:
                raise ConfigError("larc restore checks the run of a config file: put the "
                                  f"values of --set {' '.join(args.overrides)} in a file and "
                                  "pass it with --config")
            restore(list(args.targets), configfile=args.config)
            print(f"restored: nothing to do for {' '.join(args.targets) or 'the default target'}")
        elif cmd == "claims":
            stages.claims(settings.claims(config), args.eval_dir, args.latency, args.out,
                          str(Path(args.out).with_suffix(".json")))
        elif cmd == "readme-claims":
            from larc_core.reporting.claims import update_readme_claims

            changed = update_readme_claims(args.readme, args.claims, args.block)
            print(f"{args.readme}: claims {'rewritten' if changed else 'already current'}")
        elif cmd == "dvc-yaml":
            from larc_core.dvc_stages import dvc_yaml
            from larc_core.io import atomic_write_text

            atomic_write_text(args.out, dvc_yaml(config["seeds"], config["eval"]["methods"],
                                                 bool(settings.claims(config)["claims"])))
            print(f"wrote {args.out}")
    except (ConfigError, ArtifactError, RestoreError, ValueError, KeyError, OSError) as exc:
        # One line naming what is wrong, not a traceback (LARC_DEBUG=1 shows the traceback).
        if os.environ.get("LARC_DEBUG"):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"larc {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
