"""The pipeline's direction, as import contracts (`[tool.importlinter]` in
pyproject.toml): kept by the tree, and broken by each wrong-way import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is not installed: pip install -e '.[dev]'")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    run = _lint(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        # Probes never reach the rule engine, the assessment or the formats.
        ("probes/tls.py", "scanner.rule_engine.rules", "Each stage imports only"),
        ("probes/datastores/redis.py", "scanner.formats.html", "Each stage imports only"),
        # The model and support import no stage.
        ("model.py", "scanner.discovery.targets", "Each stage imports only"),
        ("support/files.py", "scanner.model", "Each stage imports only"),
        # Formats read the model and assessment results, never a stage's internals.
        ("formats/junit.py", "scanner.rule_engine.backports", "Formats read only the model"),
        ("formats/html_hosts.py", "scanner.banners.products", "Formats read only the model"),
        # Nothing imports the CLI.
        ("pipeline.py", "scanner.cli", "Nothing imports the CLI"),
        ("outputs/files.py", "scanner.cli", "Nothing imports the CLI"),
        # Feed importers belong to `rules import`.
        ("assessment/risk.py", "scanner.feeds.osv", "Only the CLI imports the feed importers"),
        # Inside the probes: a detector or a client never reaches up into a probe.
        ("probes/personal_data.py", "scanner.probes.datastores.report", "Inside the probes"),
        ("probes/clients/http.py", "scanner.probes.web.http", "Inside the probes"),
    ],
)
def test_a_wrong_way_import_breaks_its_contract(
    tmp_path: Path, module: str, wrong_import: str, contract: str
) -> None:
    shutil.copytree(
        REPO / "scanner", tmp_path / "scanner", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "scanner" / module
    target.write_text(target.read_text() + f"\nimport {wrong_import}\n")

    run = _lint(tmp_path)

    assert run.returncode == 1, run.stdout + run.stderr
    broken = [line for line in run.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), run.stdout
    assert wrong_import in run.stdout
