"""The README's two set-up commands stay true: CI runs the test command verbatim."""

from __future__ import annotations

import re


def _commands(readme: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S)][:2]


def test_readme_gives_main_and_test_commands(repo_root):
    main, test = _commands((repo_root / "README.md").read_text())
    assert main.endswith("snakemake --cores 8 results/table.md") and "torch==2.13.0" in main
    assert test.endswith("pytest -q") and "torch==2.13.0" in test
    assert test in (repo_root / ".ci/run").read_text()
