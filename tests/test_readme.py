"""The README's two set-up commands stay true: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path


def _commands(readme: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S)][:2]


def test_readme_gives_main_and_test_commands(repo_root):
    main, test = _commands((repo_root / "README.md").read_text())
    assert main.endswith("snakemake --cores 8 results/table.md") and "torch==2.13.0" in main
    assert test.endswith("pytest -q") and "torch==2.13.0" in test
    assert test in (repo_root / ".ci/run").read_text()


def test_readme_claims_are_the_committed_claims_files(repo_root, tmp_path, monkeypatch):
    """The README's claims blocks are generated: regenerating them from the committed claims
    JSONs (the default run's and each regime's) changes nothing."""
    from larc_core.reporting.claims import update_readme_claims

    monkeypatch.chdir(repo_root)  # the blocks' markers name the JSONs relative to it
    readme = tmp_path / "README.md"
    readme.write_text((repo_root / "README.md").read_text())
    assert not update_readme_claims(readme, "results/claims.json")
    regimes = sorted(p.parent.name for p in Path("results/regimes").glob("*/claims.json"))
    assert regimes == ["state_expert"]
    for regime in regimes:
        assert not update_readme_claims(readme, f"results/regimes/{regime}/claims.json",
                                        block=regime), regime
