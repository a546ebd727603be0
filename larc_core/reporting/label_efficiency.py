"""``results/label_efficiency.md`` / ``.json`` and its figure: success against the share of
training episodes with action labels (rule ``label_efficiency``, from the points of rule
``label_point``: ``larc_core.evaluation.label_sweep``), and LAPA beside each few-label baseline
pair by pair at every fraction and offset (the paired statistics of the claims report)."""

from __future__ import annotations

import json
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


def write_label_report(point_files: list[str], labels: dict[str, str], lapa: str,
                       out_md: str | Path, out_json: str | Path, out_png: str | Path,
                       claim_fraction: float, claim_offset: int, seed: int = 0) -> dict[str, Any]:
    """Every point's success with its interval, LAPA minus each baseline pair by pair at every
    fraction and offset, the claim at ``claim_fraction`` / ``claim_offset``, and the figure."""
    docs = []
    for f in point_files:
        try:
            docs.append(json.loads(Path(f).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"label sweep point {f} is unreadable ({exc}); rerun "
                                f"label_point") from exc
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
    for fraction in fractions:
        for base in (m for m in methods if m != lapa):
            if (lapa, fraction) not in by or (base, fraction) not in by:
                continue
            for offset in offsets:
                d = paired_difference(_outcomes(by[(lapa, fraction)], offset),
                                      _outcomes(by[(base, fraction)], offset), seed)
                diffs.append({"fraction": fraction, "offset": offset, "baseline": base, **d})
    claim = [d for d in diffs if d["fraction"] == claim_fraction and d["offset"] == claim_offset]
    res = {"labels": labels, "lapa": lapa, "rates": rates, "differences": diffs,
           "claim": {"fraction": claim_fraction, "offset": claim_offset,
                     "points": CLAIM_POINTS, "comparisons": claim,
                     "holds": bool(claim) and all(c["difference"] >= CLAIM_POINTS and c["ci"][0] > 0
                                                  for c in claim)}}
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
    lines += ["", "LAPA minus each baseline on the same pairs (points, 95% interval, p):", "",
              "| labeled | offset | baseline | LAPA | baseline | difference | p |",
              "|---|---|---|---:|---:|---|---:|"]
    for d in res["differences"]:
        lines.append(
            f"| {100 * d['fraction']:g}% | h{d['offset']} | {labels[d['baseline']]} "
            f"| {d['a_rate']:.0f} | {d['b_rate']:.0f} | {d['difference']:+.1f} "
            f"[{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}] | {d['p_value']:.3f} |")
    c = res["claim"]
    verdict = ("holds" if c["holds"] else "does not hold") if c["comparisons"] else (
        "not measured (that fraction is not swept)")
    lines += ["", f"The seed's claim (LAPA at least {c['points']:g} points above each baseline "
                  f"trained on the same {100 * c['fraction']:g}% alone, at offset "
                  f"{c['offset']}, the interval above zero): **{verdict}** at this scale.", ""]
    return "\n".join(lines)
