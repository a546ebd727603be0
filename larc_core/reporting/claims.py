"""The method's claims as paired comparisons on identical pairs: ``results/claims.md`` / ``.json``.

Every method runs on the same start/goal pairs of an offset (and every trained method with the
same training seeds), so two methods are compared pair by pair, not as two independent success
rates: for pair i, d_i = (A's success on i, averaged over A's seeds) - (B's, averaged over B's
seeds). The difference is the mean of d_i. Its 95% interval is a two-level bootstrap: pairs are
resampled (a pair's episodes share its difficulty) and, within each row, its training seeds
(another seed is another policy), so the interval covers both sources of chance. The p-value is
a two-sided sign-flip permutation test of the d_i. The power is the chance that a run of this
size detects a true 10-point difference at the 5% level, from the interval's own standard
error (the bootstrap's spread; normal approximation, floored at the least a 10-point difference
needs). The verdict:

- ``holds``: the interval lies wholly on the claimed side of zero and p < 0.05;
- ``reversed``: the interval lies wholly on the other side and p < 0.05;
- ``not detectable at this size``: otherwise.

A comparison with a row evaluated on fewer pairs (the CEM rows keep the first ``planner.n_pairs``)
uses the pairs both rows ran. Time per decision is compared from ``results/latency.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from larc_core.evaluation.statistics import (
    POWER_EFFECT,
    RESAMPLES,
    episode_outcomes,
    paired_difference,
    verdict,
)
from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text

VERDICTS = ("holds", "not detectable at this size", "reversed")


def latency_claim(latency_json: str | Path, fast: str, slow: str) -> dict[str, Any]:
    """Time per decision and per env step of ``fast`` against ``slow`` from rule latency's
    JSON (medians over its timed calls, one torch thread, alone on the machine); holds when
    ``fast`` takes under a tenth of ``slow``'s time per env step."""
    doc = json.loads(Path(latency_json).read_text())
    rows = doc.get("methods", {})
    missing = [m for m in (fast, slow) if m not in rows]
    if missing:
        raise ArtifactError(f"{latency_json} has no latency row for {missing}; it holds "
                            f"{sorted(rows)}")
    f, s = rows[fast], rows[slow]
    decision = [f["decision"]["median_ms"], s["decision"]["median_ms"]]
    step = [f["per_env_step"]["median_ms"], s["per_env_step"]["median_ms"]]
    return {
        "fast": fast, "slow": slow, "decision_ms": decision, "env_step_ms": step,
        "ratio_decision": decision[0] / decision[1], "ratio_env_step": step[0] / step[1],
        "verdict": "holds" if step[0] / step[1] < 0.1 else "not shown",
    }


def _eval_file(eval_dir: Path, method: Any, seed: int | None, offset: int) -> Path:
    name = f"h{offset}.json" if seed is None else f"seed{seed}_h{offset}.json"
    return eval_dir / method.key / name


def evaluate_claims(claims: list[dict[str, Any]], eval_dir: str | Path, seeds: list[int],
                    offsets: list[int], latency_json: str | Path | None = None,
                    seed: int = 0, skipped: list[dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """Every claim of ``claims`` (the config's ``claims:`` list) at every offset.

    Args:
        claims: dicts with ``name``, ``a``, ``b`` (method keys), ``direction`` (+1: A above B)
            and optional ``latency`` (also compare time per decision).
        eval_dir: folder of the evaluation files (``<method>/seed<s>_h<offset>.json`` or
            ``<method>/h<offset>.json``).
        seeds: the training seeds of the trained rows; offsets: the goal offsets.
        latency_json: rule latency's JSON, for the claims with ``latency``.
        seed: seed of the bootstrap and permutation draws.
        skipped: claims not tested because a row is not evaluated (``name``, ``missing``).
    """
    from larc_core.methods import get_method

    eval_dir = Path(eval_dir)
    out: dict[str, Any] = {"claims": [], "resamples": RESAMPLES, "power_effect": POWER_EFFECT,
                           "seeds": list(seeds), "offsets": list(offsets),
                           "skipped": list(skipped or [])}
    for claim in claims:
        ma, mb = get_method(claim["a"]), get_method(claim["b"])
        direction = int(claim.get("direction", 1))
        rows = []
        for offset in offsets:
            files = {}
            for key, m in (("a", ma), ("b", mb)):
                files[key] = [_eval_file(eval_dir, m, s if m.learned else None, offset)
                              for s in (seeds if m.learned else [None])]
            try:
                res = paired_difference(episode_outcomes(files["a"]),
                                        episode_outcomes(files["b"]), seed=seed + offset)
            except ArtifactError as exc:
                raise ArtifactError(
                    f"claim {claim['name']!r} at offset {offset} ({ma.key}: "
                    f"{[str(f) for f in files['a']]}; {mb.key}: "
                    f"{[str(f) for f in files['b']]}): {exc}") from exc
            res.update(offset=offset, verdict=verdict(res["ci"], res["p_value"], direction),
                       episodes_a=len(files["a"]) * res["n_pairs"],
                       episodes_b=len(files["b"]) * res["n_pairs"])
            rows.append(res)
        entry = {"name": claim["name"], "a": ma.key, "b": mb.key, "a_label": ma.label,
                 "b_label": mb.label, "direction": direction, "offsets": rows}
        if claim.get("latency"):
            if latency_json is None:
                raise ArtifactError(f"claim {claim['name']!r} compares time per decision but "
                                    "no latency results were given")
            entry["latency"] = latency_claim(latency_json, ma.key, mb.key)
        out["claims"].append(entry)
    return out


def _pct(x: float) -> str:
    return f"{x:.0f}%"


def _pts(x: float) -> str:
    return f"{x:+.1f}"


def render_claims(res: dict[str, Any]) -> str:
    """``results/claims.md``: a verdict summary, then each claim's paired table."""
    offsets = res["offsets"]
    lines = [
        "# The method's claims, tested pair by pair", "",
        "Each claim compares two rows of the results table on the identical start/goal pairs "
        "(and, for two trained rows, the same training seeds): for each pair, the difference "
        "of the two rows' successes (each averaged over its seeds). The difference is their "
        f"mean in points, with a 95% paired-bootstrap interval over pairs ({res['resamples']:,} "
        "resamples) and a two-sided sign-flip permutation p-value; *power* is the chance that a "
        f"run of this size detects a true {res['power_effect']:.0f}-point difference at the 5% "
        "level. Verdict: *holds* when the interval lies on the claimed side of zero, "
        "*reversed* when on the other, else *not detectable at this size*. A CEM row is paired "
        "on the pairs it ran (`planner.n_pairs`). Written by rule `claims` from the evaluation "
        "files and `results/latency.json`.", "",
        "| claim | " + " | ".join(f"h{o}" for o in offsets) + " |",
        "|---|" + "---|" * len(offsets),
    ]
    for c in res["claims"]:
        cells = [f"{_pts(r['difference'])} [{_pts(r['ci'][0])}, {_pts(r['ci'][1])}]: "
                 f"**{r['verdict']}**" for r in c["offsets"]]
        lines.append(f"| {c['name']} | " + " | ".join(cells) + " |")
    for c in res.get("skipped", []):
        lines.append(f"| {c['name']} | " + " | ".join(
            f"not tested: {', '.join(c['missing'])} not in eval.methods" for _ in offsets) + " |")
    for c in res["claims"]:
        side = "above" if c["direction"] > 0 else "below"
        lines += [
            "", f"## {c['name']}", "",
            f"Claimed: {c['a_label']} {side} {c['b_label']}.", "",
            f"| offset | pairs | {c['a_label']} | {c['b_label']} | difference (points) | "
            "95% CI | p | power (10 pts) | verdict |",
            "|---|---:|---:|---:|---:|---|---:|---:|---|",
        ]
        for r in c["offsets"]:
            lines.append(
                f"| h{r['offset']} | {r['n_pairs']} | {_pct(r['a_rate'])} | {_pct(r['b_rate'])}"
                f" | {_pts(r['difference'])} | [{_pts(r['ci'][0])}, {_pts(r['ci'][1])}] | "
                f"{r['p_value']:.3g} | {100 * r['power_10']:.0f}% | {r['verdict']} |")
        lat = c.get("latency")
        if lat:
            lines += [
                "",
                f"Time per decision (rule `latency`, medians, one torch thread, alone on the "
                f"machine): {c['a_label']} {lat['decision_ms'][0]:.3f} ms against "
                f"{c['b_label']} {lat['decision_ms'][1]:,.1f} ms ({1 / lat['ratio_decision']:,.0f}x"
                f"); per env step, render and encode included: {lat['env_step_ms'][0]:.2f} ms "
                f"against {lat['env_step_ms'][1]:.2f} ms ({1 / lat['ratio_env_step']:,.1f}x): "
                f"**{lat['verdict']}** (under a tenth of the planner's time per env step).",
            ]
    return "\n".join(lines) + "\n"


def write_claims(out_md: str | Path, out_json: str | Path, **kwargs: Any) -> dict[str, Any]:
    """:func:`evaluate_claims` written as Markdown and JSON (atomically)."""
    res = evaluate_claims(**kwargs)
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, render_claims(res))
    return res


def readme_markers(claims_json: str | Path = "results/claims.json", block: str | None = None
                   ) -> tuple[str, str]:
    """The lines that open and close a generated claims block of the README: the default run's
    (``block`` None) or a named one (another data regime's, ``--block <name>``)."""
    name = f"claims {block}" if block else "claims"
    claims_json = Path(claims_json).as_posix()
    option = f" --claims {claims_json} --block {block}" if block else ""
    return (f"<!-- {name}: generated from {claims_json} by `larc readme-claims{option}`; do not "
            "edit -->", f"<!-- end of {name} -->")


README_BEGIN, README_END = readme_markers()


def render_readme_claims(res: dict[str, Any]) -> str:
    """The README's claims section body: one line per claim and offset, from the claims JSON."""
    lines = [f"- *{c['name']}*: not tested ({', '.join(c['missing'])} not evaluated in this run)."
             for c in res.get("skipped", [])]
    for c in res["claims"]:
        side = "above" if c["direction"] > 0 else "below"
        cells = "; ".join(
            f"h{r['offset']} {_pts(r['difference'])} points [{_pts(r['ci'][0])}, "
            f"{_pts(r['ci'][1])}], p = {r['p_value']:.2g}, power {100 * r['power_10']:.0f}%: "
            f"**{r['verdict']}**" for r in c["offsets"])
        lines.append(f"- *{c['name']}* ({c['a_label']} {side} {c['b_label']}, "
                     f"{c['offsets'][0]['n_pairs']} pairs per offset): {cells}.")
        lat = c.get("latency")
        if lat:
            lines.append(
                f"  Time per decision {lat['decision_ms'][0]:.3f} ms against "
                f"{lat['decision_ms'][1]:,.1f} ms ({1 / lat['ratio_decision']:,.0f}x less); per "
                f"env step {lat['env_step_ms'][0]:.2f} against {lat['env_step_ms'][1]:.2f} ms: "
                f"**{lat['verdict']}**.")
    return "\n".join(lines)


def update_readme_claims(readme: str | Path, claims_json: str | Path,
                         block: str | None = None) -> bool:
    """Rewrite the README's generated claims block (``block``: see :func:`readme_markers`)
    from ``claims_json``; returns whether it changed. Raises ArtifactError when the README
    lacks the block's markers."""
    readme = Path(readme)
    text = readme.read_text()
    begin, end = readme_markers(claims_json, block) if block else (README_BEGIN, README_END)
    # The block is found by its name (the opening line up to its colon), whatever path it
    # was generated from; the opening line is rewritten with this call's.
    opening = begin.split(":", 1)[0] + ":"
    found = re.search(rf"^{re.escape(opening)}.*$", text, flags=re.M)
    if found is None or end not in text[found.end():]:
        raise ArtifactError(f"{readme} has no generated claims block: put {begin!r} and "
                            f"{end!r} where it goes")
    head = text[:found.start()]
    _, tail = text[found.end():].split(end, 1)
    body = render_readme_claims(json.loads(Path(claims_json).read_text()))
    new = f"{head}{begin}\n{body}\n{end}{tail}"
    if new != text:
        atomic_write_text(readme, new)
    return new != text
