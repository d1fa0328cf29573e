"""Saved results the CLI tests compare: a baseline and a later scan of it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scanner.assessment.risk import assessed
from scanner.model import ScanResult, Severity
from scanner.result_io import write
from tests.factories import make_finding, make_result

OLD_FINISHED = "2026-11-18T10:05:00+00:00"


@dataclass(frozen=True)
class Pair:
    old: Path
    new: Path
    old_result: ScanResult
    new_result: ScanResult


def saved_pair(directory: Path) -> Pair:
    """`make_result()` (NEW) and an earlier scan of it (OLD): in OLD the end of
    life was medium (changed), MariaDB was not exposed yet (new), TRACE was on
    127.0.0.10 (fixed) and Redis on 127.0.0.12, a host NEW did not scan (not
    rescanned). Neither holds a probe error: a complete scan each."""
    new = assessed(make_result(probe_errors=()))
    eol, outdated, _mariadb, ssh = new.findings
    old = assessed(
        make_result(
            finished=OLD_FINISHED,
            probe_errors=(),
            findings=(
                replace(eol, severity=Severity.MEDIUM),
                outdated,
                ssh,
                make_finding(rule_id="http-trace-enabled", title="HTTP TRACE is enabled"),
                make_finding(
                    rule_id="redis-no-auth",
                    host="127.0.0.12",
                    port=6379,
                    title="Redis answers without a password",
                    severity=Severity.CRITICAL,
                ),
            ),
        )
    )
    paths = directory / "old.json", directory / "new.json"
    write(old, paths[0])
    write(new, paths[1])
    return Pair(paths[0], paths[1], old, new)
