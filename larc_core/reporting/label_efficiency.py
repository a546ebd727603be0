"""``results/label_efficiency.md`` / ``.json`` and its figure: success against the share of
training episodes with action labels (rule ``label_efficiency``, from the points of rule
``label_point``: ``larc_core.evaluation.label_sweep``), and LAPA beside each few-label baseline
pair by pair at every fraction and offset (the paired statistics of the claims report), and the
measured ablations that say where the claim's margin goes: latent pretraining under each network
(each LAPA row minus the baseline with its network), the network without pretraining (baselines
against each other), and how much of the action the pretraining target carries (the latent
action model's linear probe, ``results/lam.json``)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from larc_core.evaluation.statistics import add_outcomes, paired_difference, rate_bootstrap
from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.reporting.figure_io import save_figure

#: The seed's claim: LAPA at least this many points above the few-label baselines.
CLAIM_POINTS = 10.0


def _outcomes(doc: dict[str, Any], offset: int) -> dict[tuple[int, int], list[float]]:
    out: dict[tuple[int, int], list[float]] = {}
    for run in sorted((r for r in doc["runs"] if r["offset"] == offset), key=lambda r: r["seed"]):
        add_outcomes(out, run["episodes"])
    return out


def _read(path: str | Path, what: str, rule: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{what} {path} is unreadable ({exc}); rerun {rule}") from exc


_POINT_NAME = re.compile(r"^(?P<method>.+)_f(?P<fraction>[0-9.]+)\.json$")


def _point(path: str | Path) -> dict[str, Any]:
    """One sweep point, checked against its name (``<method>_f<fraction>.json``)."""
    doc = _read(path, "label sweep point", "label_point")
    match = _POINT_NAME.match(Path(path).name)
    if match is not None and (doc.get("method") != match.group("method") or not math.isclose(
            float(doc.get("fraction", -1)), float(match.group("fraction")))):
        raise ArtifactError(
            f"label sweep point {path} records {doc.get('method')!r} at fraction "
            f"{doc.get('fraction')!r}, but its name says {match.group('method')!r} at "
            f"{match.group('fraction')}: rerun label_point for it")
    return doc


def write_label_report(point_files: list[str], labels: dict[str, str], lapa: list[str],
                       backbones: dict[str, str], out_md: str | Path, out_json: str | Path,
                       out_png: str | Path, claim_fraction: float, claim_offset: int,
                       lam_json: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Every point's success with its interval, each LAPA row minus each baseline pair by pair
    at every fraction and offset, the claim at ``claim_fraction`` / ``claim_offset`` per LAPA
    row, the ablations there, and the figure.

    Args:
        labels: every swept row -> its table label (the table's order).
        lapa: the latent-pretrained rows; the other rows are the few-label baselines.
        backbones: row -> its policy network (a LAPA row's pretraining ablation is the
            baseline with the same network).
        lam_json: ``results/lam.json`` (the latent action model's probe), or None.
    """
    docs = [_point(f) for f in point_files]
    by = {(d["method"], d["fraction"]): d for d in docs}
    fractions = sorted({d["fraction"] for d in docs})
    offsets = sorted({r["offset"] for d in docs for r in d["runs"]})
    methods = [m for m in labels if any(k[0] == m for k in by)]
    rates, diffs = [], []
    for (method, fraction), doc in sorted(by.items()):
        for offset in offsets:
            rate, boots = rate_bootstrap(_outcomes(doc, offset), seed)
            rates.append({"method": method, "fraction": fraction, "offset": offset,
                          "labeled_episodes": doc["labeled_episodes"], "rate": rate,
                          "ci": [_pct(boots, 2.5), _pct(boots, 97.5)]})
    baselines = [m for m in methods if m not in lapa]

    def paired(a: str, b: str, fraction: float, offset: int) -> dict[str, Any] | None:
        if (a, fraction) not in by or (b, fraction) not in by:
            return None
        return paired_difference(_outcomes(by[(a, fraction)], offset),
                                 _outcomes(by[(b, fraction)], offset), seed)

    for fraction in fractions:
        for row in (m for m in methods if m in lapa):
            for base in baselines:
                for offset in offsets:
                    d = paired(row, base, fraction, offset)
                    if d is not None:
                        diffs.append({"fraction": fraction, "offset": offset, "lapa": row,
                                      "baseline": base, **d})
    per_row = []
    for row in (m for m in methods if m in lapa):
        comps = [d for d in diffs if d["lapa"] == row and d["fraction"] == claim_fraction
                 and d["offset"] == claim_offset]
        per_row.append({"lapa": row, "comparisons": comps, "holds": bool(comps) and all(
            c["difference"] >= CLAIM_POINTS and c["ci"][0] > 0 for c in comps)})
    ablations = []
    for row in (m for m in methods if m in lapa):
        for base in (b for b in baselines if backbones.get(b) == backbones.get(row)):
            d = paired(row, base, claim_fraction, claim_offset)
            if d is not None:
                ablations.append({"what": f"latent pretraining, {backbones[row]} network",
                                  "a": row, "b": base, **d})
    for i, a in enumerate(baselines):
        for b in baselines[i + 1:]:
            d = paired(a, b, claim_fraction, claim_offset)
            if d is not None:
                ablations.append({"what": f"network ({backbones.get(a)} vs {backbones.get(b)}), "
                                          f"no pretraining", "a": a, "b": b, **d})
    probe = None
    if lam_json is not None:
        seeds = _read(lam_json, "latent action model report", "lam_report")["seeds"].values()
        probe = {k: sum(s[k] for s in seeds) / len(seeds)
                 for k in ("probe_r2", "probe_r2_sum", "change_probe_r2", "change_probe_r2_sum")}
    res = {"labels": labels, "lapa": lapa, "backbones": backbones, "rates": rates,
           "differences": diffs,
           "claim": {"fraction": claim_fraction, "offset": claim_offset,
                     "points": CLAIM_POINTS, "rows": per_row,
                     "holds": any(r["holds"] for r in per_row)},
           "ablations": ablations, "target_probe": probe}
    _figure(res, methods, fractions, offsets, out_png)
    atomic_write_json(out_json, res)
    atomic_write_text(out_md, _render(res, methods, fractions, offsets, Path(out_png)))
    return res


def _pct(boots: Any, q: float) -> float:
    import numpy as np

    return float(np.percentile(boots, q))


def _figure(res: dict[str, Any], methods: list[str], fractions: list[float],
            offsets: list[int], out_png: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(offsets), figsize=(4.2 * len(offsets), 3.4), sharey=True,
                             squeeze=False)
    for ax, offset in zip(axes[0], offsets, strict=True):
        for method in methods:
            pts = sorted((r["fraction"], r["rate"], r["ci"]) for r in res["rates"]
                         if r["method"] == method and r["offset"] == offset)
            xs = [100 * p[0] for p in pts]
            ax.plot(xs, [p[1] for p in pts], marker="o", label=res["labels"][method])
            ax.fill_between(xs, [p[2][0] for p in pts], [p[2][1] for p in pts], alpha=0.15)
        ax.set_xscale("log")
        ax.set_xticks([100 * f for f in fractions], [f"{100 * f:g}" for f in fractions])
        ax.set_xlabel("training episodes with action labels (%)")
        ax.set_title(f"goal offset {offset}")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("success (%)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Success against labeled fraction (rule label_efficiency)")
    save_figure(fig, out_png)


def _render(res: dict[str, Any], methods: list[str], fractions: list[float], offsets: list[int],
            png: Path) -> str:
    labels = res["labels"]
    lines = [
        "# Label efficiency",
        "",
        "Rule `label_efficiency` from the points of rule `label_point`: each row trained (every "
        "seed) on the labeled fraction of the training episodes (the same episodes for every "
        "row and seed) and run on the first evaluation pairs of every offset; LAPA fine-tunes "
        "the default run's latent-pretrained checkpoint of the same seed. Success in percent "
        "with its 95% interval (pairs and seeds resampled).",
        "",
        f"![Success against labeled fraction](figures/{png.name})",
        "",
        "| labeled | " + " | ".join(f"{labels[m]} h{o}" for o in offsets for m in methods) + " |",
        "|---|" + "---:|" * (len(offsets) * len(methods)),
    ]
    rate = {(r["method"], r["fraction"], r["offset"]): r for r in res["rates"]}
    for f in fractions:
        n = next((r["labeled_episodes"] for r in res["rates"] if r["fraction"] == f), "?")
        cells = [f"{rate[(m, f, o)]['rate']:.0f}" if (m, f, o) in rate else "-"
                 for o in offsets for m in methods]
        lines.append(f"| {100 * f:g}% ({n} episodes) | " + " | ".join(cells) + " |")
    lines += ["", "Each LAPA row minus each baseline on the same pairs (points, 95% interval, p):",
              "", "| labeled | offset | LAPA row | baseline | LAPA | baseline | difference | p |",
              "|---|---|---|---|---:|---:|---|---:|"]
    for d in res["differences"]:
        lines.append(
            f"| {100 * d['fraction']:g}% | h{d['offset']} | {labels[d['lapa']]} "
            f"| {labels[d['baseline']]} | {d['a_rate']:.0f} | {d['b_rate']:.0f} "
            f"| {d['difference']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}] "
            f"| {d['p_value']:.3f} |")
    c = res["claim"]
    lines += ["", f"The seed's claim (LAPA at least {c['points']:g} points above each baseline "
                  f"trained on the same {100 * c['fraction']:g}% alone, at offset "
                  f"{c['offset']}, the interval above zero), per LAPA row:", ""]
    for r in c["rows"]:
        verdict = ("holds" if r["holds"] else "does not hold") if r["comparisons"] else (
            "not measured (that fraction is not swept)")
        gaps = ", ".join(f"{d['difference']:+.1f} over {labels[d['baseline']]}"
                         for d in r["comparisons"])
        lines.append(f"- {labels[r['lapa']]}: **{verdict}** at this scale"
                     + (f" ({gaps})." if gaps else "."))
    lines += _render_ablations(res, labels)
    return "\n".join(lines)


def _render_ablations(res: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """Where the claim's margin goes, at its fraction and offset (measured, paired)."""
    c = res["claim"]
    if not res["ablations"] and res["target_probe"] is None:
        return [""]
    lines = ["", f"## Ablations at {100 * c['fraction']:g}% labeled, offset {c['offset']}", "",
             "The claim asks LAPA for a margin over both baselines; these paired differences "
             "split it into what latent pretraining adds under each network and what the "
             "network alone changes (points, 95% interval, p):", "",
             "| ablation | a | b | a | b | a - b | p |", "|---|---|---|---:|---:|---|---:|"]
    for d in res["ablations"]:
        lines.append(
            f"| {d['what']} | {labels[d['a']]} | {labels[d['b']]} | {d['a_rate']:.0f} "
            f"| {d['b_rate']:.0f} | {d['difference']:+.1f} [{d['ci'][0]:+.1f}, "
            f"{d['ci'][1]:+.1f}] | {d['p_value']:.3f} |")
    pre = [d for d in res["ablations"] if d["what"].startswith("latent pretraining")]
    if pre:
        best = max(d["difference"] for d in pre)
        lines += ["", f"Latent pretraining adds at most {best:+.1f} points to a network here "
                      f"(the claim needs {c['points']:g} over the better baseline)."]
    p = res["target_probe"]
    if p is not None:
        lines += ["", "What the pretraining target carries (`results/lam.md`, mean over seeds): "
                      f"a linear probe from the latent action's codes explains R^2 "
                      f"{p['probe_r2']:.2f} of the action chunk ({p['probe_r2_sum']:.2f} of its "
                      f"sum), against {p['change_probe_r2']:.2f} ({p['change_probe_r2_sum']:.2f}) "
                      f"from the latent change z_t+K - z_t it encodes."]
    return [*lines, ""]
