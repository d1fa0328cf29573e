"""The HTML report's Coverage section (reports/coverage.html.j2): what the
scan looked at and found nothing, what it could not look at, and what
trustscan never tests. The facts are the result's `Coverage`
(`scanner.assessment.coverage`); this module only arranges them."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.assessment.coverage import CHECKS, check_text, clean_checks, result_coverage
from scanner.assessment.records import SOURCE_WORDS, counts_by_key, records_of
from scanner.formats._text import endpoint
from scanner.model import CheckRun, Coverage, FixedGroup, RecordCount, ScanResult

# Rows of a long list shown before "and N more".
LISTED = 50


@dataclass(frozen=True)
class CheckSummary:
    """One kind of check over the whole scan."""

    label: str
    looks_for: str
    checked: int
    clean: int
    weak: int
    incomplete: int
    unit: str  # "service" or "host"


@dataclass(frozen=True)
class Cell:
    """One kind of check on one host, as its table cell says it."""

    text: str
    state: str  # clean | weak | incomplete
    title: str  # the whole sentence, with the ports


@dataclass(frozen=True)
class HostRow:
    host: str
    anchor: str
    system: str
    cells: tuple[Cell | None, ...]  # one per column, None where the check did not run
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Listed:
    items: tuple[str, ...]
    more: int


@dataclass(frozen=True)
class FixedRow:
    where: str
    anchor: str
    group: FixedGroup


@dataclass(frozen=True)
class RecordRow:
    where: str
    count: RecordCount
    source: str  # in words
    # False for a store's own count when the inventory counts its host: the
    # report shows the inventory's count for the store too.
    used: bool


@dataclass(frozen=True)
class CoverageView:
    coverage: Coverage
    summaries: tuple[CheckSummary, ...]
    columns: tuple[str, ...]  # the labels of the checks that ran anywhere
    hosts: tuple[HostRow, ...]
    hosts_more: int
    unanswered: Listed
    timed_out: Listed
    silent: Listed
    fixed: tuple[FixedRow, ...]
    records: tuple[RecordRow, ...]
    sources: tuple[tuple[str, str], ...]  # which record source wins, in order


def _listed(items: tuple[str, ...], limit: int = LISTED) -> Listed:
    return Listed(items[:limit], max(0, len(items) - limit))


def _label(run: CheckRun) -> str:
    check = CHECKS.get(run.check)
    return check.label if check is not None else run.check


def _unfinished(run: CheckRun) -> bool:
    """Whether the run's notes say what did not finish: a service check's
    always do; a host-wide check's say what it saw, shown in its cell."""
    check = CHECKS.get(run.check)
    return run.incomplete > 0 if check is not None and check.host_wide else bool(run.notes)


def _state(run: CheckRun) -> str:
    if run.weak:
        return "weak"
    return "incomplete" if run.incomplete else "clean"


def _cell(run: CheckRun) -> Cell:
    check = CHECKS.get(run.check)
    state = _state(run)
    if check is not None and check.host_wide:
        text = {"weak": "weak", "incomplete": "could not tell", "clean": "nothing weak"}[state]
    else:
        clean = run.checked - run.weak - run.incomplete
        text = f"{clean} of {run.checked} clean"
        if run.weak:
            text += f", {run.weak} weak"
        if run.incomplete:
            text += f", {run.incomplete} not finished"
    ports = f" (ports {', '.join(str(p) for p in run.ports)})" if run.ports else ""
    seen = f" ({'; '.join(run.notes)})" if run.notes and not run.ports else ""
    return Cell(text, state, check_text(run) + ports + seen)


def _summaries(coverage: Coverage) -> tuple[CheckSummary, ...]:
    totals = clean_checks(coverage)
    weak: dict[str, int] = {}
    incomplete: dict[str, int] = {}
    for host in coverage.hosts:
        for run in host.checks:
            weak[run.check] = weak.get(run.check, 0) + run.weak
            incomplete[run.check] = incomplete.get(run.check, 0) + run.incomplete
    rows = []
    for key, check in CHECKS.items():
        if key not in totals:
            continue
        checked, clean = totals[key]
        rows.append(
            CheckSummary(
                label=check.label,
                looks_for=check.looks_for,
                checked=checked,
                clean=clean,
                weak=weak.get(key, 0),
                incomplete=incomplete.get(key, 0),
                unit="host" if check.host_wide else "service",
            )
        )
    return tuple(rows)


def coverage_view(
    result: ScanResult, shown_hosts: set[str], anchors: dict[str, str]
) -> CoverageView:
    """The section's view; `shown_hosts`: the hosts the page shows (a large
    scan's page is cut), `anchors`: their ids in the hosts section."""
    coverage = result_coverage(result)
    ran = [key for key in CHECKS if any(r.check == key for h in coverage.hosts for r in h.checks)]
    systems = {h.host: h.system for h in (result.assessment.hosts if result.assessment else ())}
    rows = []
    for host in coverage.hosts:
        if host.host not in shown_hosts:
            continue
        runs = {r.check: r for r in host.checks}
        rows.append(
            HostRow(
                host=host.host,
                anchor=anchors.get(host.host, "hosts"),
                system=systems.get(host.host, ""),
                cells=tuple(_cell(runs[key]) if key in runs else None for key in ran),
                notes=tuple(
                    f"{_label(r)}: {note}"
                    for r in host.checks
                    if _unfinished(r)
                    for note in r.notes
                ),
            )
        )
    fixed = tuple(
        FixedRow(endpoint(g.host, g.port), anchors.get(g.host, "hosts"), g)
        for g in coverage.fixed_by_distribution
        if g.host in shown_hosts
    )
    keyed = counts_by_key(coverage.records)
    records = tuple(
        RecordRow(
            endpoint(r.host, r.port) + ("" if r.port is not None else " (the host)"),
            r,
            SOURCE_WORDS.get(r.source, r.source),
            records_of(keyed, r.host, r.port) is r,
        )
        for r in coverage.records
        if r.host in shown_hosts
    )
    return CoverageView(
        coverage=coverage,
        summaries=_summaries(coverage),
        columns=tuple(CHECKS[key].label for key in ran),
        hosts=tuple(rows),
        hosts_more=len(coverage.hosts) - len(rows),
        unanswered=_listed(coverage.unanswered),
        timed_out=_listed(coverage.timed_out),
        silent=_listed(coverage.silent),
        fixed=fixed,
        records=records,
        sources=tuple(SOURCE_WORDS.items()),
    )
