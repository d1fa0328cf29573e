"""A non-editable install must carry the rules and the report templates."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("trustscan-*.whl")
    return built


def test_wheel_contains_rules_templates_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "scanner/_data/rules/rule.schema.json" in names
    assert "scanner/_data/rules/apache-httpd.yaml" in names
    assert "scanner/_data/rules/distributions/debian-12.json" in names
    assert "scanner/_data/rules/advisories/debian-12.json" in names
    assert "scanner/_data/rules/advisories/ubuntu.json" in names
    assert "scanner/_data/rules/ports.yaml" in names  # the default scan's data-store ports
    assert "scanner/_data/rules/ports.schema.json" in names
    assert "scanner/_data/reports/report.html.j2" in names
    assert "scanner/_data/reports/report.css" in names
    assert "scanner/_data/reports/scan-result.schema.json" in names
    assert "scanner/_data/reports/accept.schema.json" in names  # --accept files
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: GPL-3.0-or-later" in text


def test_installed_wheel_finds_its_rules_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import scanner, scanner.support.resources as r; "
        "print(scanner.__file__); print(r.builtin_rules_dir()); print(r.reports_dir()); "
        "print(r.result_schema_path()); assert r.result_schema_path().is_file()"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(line.startswith(str(site)) for line in shown), shown
    listed = subprocess.run(
        [sys.executable, "-m", "scanner", "rules", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "apache-httpd-eol" in listed.stdout
