"""Paths of the machine that ran the scan, as a report shows them.

A result records where its inputs came from (the rules directories, the
inventory, the imported nmap XML, the baseline, the accepted-risks file, the
history store) as they were given, often as absolute paths. A report is read
by people who have no business knowing the scanning machine's layout, so the
human-facing formats (HTML, Markdown, SARIF, JUnit) show each path:

- under the current directory: relative to it (`fixtures/inventory/demo-assets.yaml`);
- under the home directory: from `~` (`~/.local/share/trustscan/history.sqlite`);
- anywhere else: its file name only (`/usr/share/nmap/nmap-services` becomes
  `nmap-services`).

The JSON result keeps the paths as given: it is the record `report` and
`diff` are made from. URLs (`postgresql://host/db`) are not paths.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

from scanner.model import Coverage, Finding, ScanResult

# An absolute path inside text: a slash not preceded by a word character, a
# dot, a colon or another slash (so not a URL, a CIDR block or a fraction),
# then the characters a path is made of, up to a space, a colon (`FILE:LINE`)
# or punctuation that ends a phrase.
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/[^\s:;,()'\"<>\[\]]+")


class PathView:
    """Shows paths relative to `cwd` and `home` (both absolute)."""

    def __init__(self, cwd: str, home: str) -> None:
        self.cwd = PurePosixPath(cwd)
        self.home = PurePosixPath(home)

    def path(self, text: str) -> str:
        """One path as a report shows it (see the module docstring)."""
        if not text.startswith("/"):
            return text
        path = PurePosixPath(text)
        for base, prefix in ((self.cwd, ""), (self.home, "~/")):
            # The root or a one-level base would show too much of the machine.
            if len(base.parts) < 2:
                continue
            if path == base:
                return "." if not prefix else "~"
            if path.is_relative_to(base):
                return prefix + str(path.relative_to(base))
        return path.name or text

    def text(self, text: str) -> str:
        """Text with every absolute path in it shown as `path` shows it."""
        if "/" not in text:
            return text
        return _ABSOLUTE.sub(lambda m: self.path(m.group()), text)

    def result(self, result: ScanResult) -> ScanResult:
        """The result with every path of the scanning machine shown, for a report."""
        text = self.text
        nmap = result.nmap
        assessment = result.assessment
        if assessment is not None:
            trust = assessment.trust
            trust = replace(
                trust,
                hosts=tuple(
                    replace(h, sources=tuple(text(s) for s in h.sources)) for h in trust.hosts
                ),
                categories=tuple(
                    replace(c, sources=tuple(text(s) for s in c.sources)) for c in trust.categories
                ),
            )
            assessment = replace(
                assessment, inventory_source=text(assessment.inventory_source), trust=trust
            )
        acceptance = result.acceptance
        if acceptance is not None:
            acceptance = replace(
                acceptance,
                source=text(acceptance.source),
                expired=tuple(text(e) for e in acceptance.expired),
                stale=tuple(text(e) for e in acceptance.stale),
            )
        return replace(
            result,
            nmap=replace(
                nmap, source=text(nmap.source), commands=tuple(text(c) for c in nmap.commands)
            ),
            findings=tuple(self._finding(f) for f in result.findings),
            probe_errors=tuple(
                replace(e, target=text(e.target), message=text(e.message))
                for e in result.probe_errors
            ),
            rule_sources=tuple(text(s) for s in result.rule_sources),
            port_choice=text(result.port_choice),
            data_sources=tuple(
                replace(s, coverage=text(s.coverage), update=text(s.update))
                for s in result.data_sources
            ),
            assessment=assessment,
            baseline=(
                replace(result.baseline, source=text(result.baseline.source))
                if result.baseline is not None
                else None
            ),
            acceptance=acceptance,
            history=(
                replace(result.history, store=text(result.history.store))
                if result.history is not None
                else None
            ),
            coverage=self._coverage(result.coverage),
        )

    def _finding(self, finding: Finding) -> Finding:
        accepted = finding.accepted
        if accepted is None or "/" not in accepted.source:
            return finding
        return replace(finding, accepted=replace(accepted, source=self.text(accepted.source)))

    def _coverage(self, coverage: Coverage | None) -> Coverage | None:
        if coverage is None:
            return None
        text = self.text
        return replace(
            coverage,
            ports=text(coverage.ports),
            timed_out=tuple(text(t) for t in coverage.timed_out),
            gaps=tuple(
                replace(g, examples=tuple(text(e) for e in g.examples)) for g in coverage.gaps
            ),
            records=tuple(replace(r, where=text(r.where)) for r in coverage.records),
        )


def path_view() -> PathView:
    """Paths as this process shows them: from its current and home directories."""
    try:
        cwd = os.getcwd()
    except OSError:  # the directory was removed under us: show names only
        cwd = "/"
    try:
        home = str(Path.home())
    except RuntimeError:
        home = "/"
    return PathView(cwd, home)


def for_report(result: ScanResult) -> ScanResult:
    """The result as a report shows it: paths relative, `~`, or names only."""
    return path_view().result(result)
