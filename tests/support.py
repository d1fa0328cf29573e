"""Paths, addresses and skip markers the tests share."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
# The tests' copy of the lab, away from the demo's 127.0.0.x.
LAB_PREFIX = "127.0.10"
# An address in the lab's block where nothing listens.
EMPTY_HOST = f"{LAB_PREFIX}.200"

_NO_NMAP = "nmap is not installed (apt-get install nmap; .ci/run installs it)"
requires_nmap = pytest.mark.skipif(shutil.which("nmap") is None, reason=_NO_NMAP)
requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@dataclass(frozen=True)
class Run:
    """What the trustscan CLI did, run as this Python runs it."""

    code: int
    out: str
    err: str


def trustscan(*args: str, env: dict[str, str] | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def scan_to_every_format(directory: Path, *args: str) -> tuple[dict[str, object], tuple[Path, ...]]:
    """`trustscan scan ARGS` writing all five formats and its console output
    into `directory`: the parsed result and every file there, for leak checks."""
    run = trustscan(
        "scan",
        *args,
        "--json",
        str(directory / "result.json"),
        "-o",
        str(directory / "report.html"),
        "--sarif",
        str(directory / "result.sarif"),
        "--junit",
        str(directory / "result.junit.xml"),
        "--markdown",
        str(directory / "summary.md"),
    )
    assert run.code == 0, run.err
    (directory / "console.txt").write_text(run.out + run.err, encoding="utf-8")
    result = json.loads((directory / "result.json").read_text(encoding="utf-8"))
    return result, tuple(sorted(directory.iterdir()))
