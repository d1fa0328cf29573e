"""A run's scope: the target set it belongs to. Runs of one scope are what the
scan history compares, and what SARIF's `automationDetails.id` names, so that
GitHub keeps one category per target set."""

from __future__ import annotations

import hashlib

from scanner.model import ScanResult


def scope_of(result: ScanResult, name: str = "") -> str:
    """The name given (`--scope`), else the one the result was scanned with,
    else `targets-<digest>` of its targets (and of the part a report chose)."""
    given = (name or result.scope).strip().strip("/")
    if given:
        return given
    digest = hashlib.sha256()
    for target in sorted(set(result.targets)):
        digest.update(target.encode("utf-8") + b"\n")
    if result.selection:
        digest.update(b"selection\n" + result.selection.encode("utf-8"))
    return f"targets-{digest.hexdigest()[:16]}"
