"""Snakemake script for rule claims."""

from larc_core.logs import get_logger, setup_rule_logging
from larc_core.reporting.claims import write_claims

log = get_logger("claims")


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    res = write_claims(sm.output.md, sm.output.json, claims=list(sm.params.claims),
                       eval_dir=sm.params.eval_dir, seeds=list(sm.params.seeds),
                       offsets=list(sm.params.offsets), latency_json=sm.input.latency,
                       seed=int(sm.params.seed))
    for c in res["claims"]:
        log.info("%s: %s", c["name"], ", ".join(
            f"h{r['offset']} {r['difference']:+.1f} [{r['ci'][0]:+.1f}, {r['ci'][1]:+.1f}] "
            f"{r['verdict']}" for r in c["offsets"]))
    log.info("wrote %s and %s", sm.output.md, sm.output.json)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
