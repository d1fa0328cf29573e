"""What the `history` commands print: the runs of a store, one run with its
findings' first sightings, a scope's trends. Plain columns for a terminal;
every value from a target (titles, hosts) made terminal-safe."""

from __future__ import annotations

from collections.abc import Sequence

from scanner.history.store import FindingRow, RunRow
from scanner.history.trends import Trends, days_between
from scanner.model import Severity
from scanner.outputs.terminal import one_line

_SHORT = ("crit", "high", "med", "low", "info")


def _columns(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]

    def line(row: Sequence[str]) -> str:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        return f"{cells}  {row[-1]}".rstrip()

    return [line(head), *(line(r) for r in rows)]


def _counts(counts: Sequence[int]) -> str:
    return " ".join(f"{n}{name[0]}" for n, name in zip(counts, _SHORT, strict=False) if n) or "0"


def _where(host: str, port: int | None) -> str:
    host = one_line(host, 60)
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def runs_table(runs: Sequence[RunRow], shown: str) -> str:
    if not runs:
        return f"No run is recorded in {shown} yet.\n"
    rows = [
        (
            str(r.id),
            r.finished[:19].replace("T", " "),
            r.command,
            str(r.exit_code),
            str(r.hosts),
            _counts(r.counts),
            one_line(r.scope, 60),
        )
        for r in runs
    ]
    head = ("RUN", "FINISHED (UTC)", "COMMAND", "EXIT", "HOSTS", "FINDINGS", "SCOPE")
    return "\n".join([*_columns(head, rows), f"({len(runs)} run(s) in {shown})"]) + "\n"


def run_text(run: RunRow, findings: Sequence[FindingRow], first_seen: dict[str, str]) -> str:
    lines = [
        f"Run {run.id} of scope {one_line(run.scope, 80)}: `trustscan {run.command}`, "
        f"{run.started} to {run.finished}, exit {run.exit_code}",
        f"Targets: {one_line(', '.join(run.targets), 300) or '-'}",
        f"Ports: {one_line(run.ports, 300) or '-'}",
        f"Rules: {run.rule_set or '-'}; trustscan {run.tool_version}",
        f"Compared with run {run.previous}" if run.previous else "The first run of its scope.",
    ]
    lines += [f"Not covered: {one_line(line, 300)}" for line in run.not_covered]
    if not findings:
        return "\n".join([*lines, "", "No finding."]) + "\n"
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.host, f.port or -1, f.rule_id))
    rows = []
    for f in ordered:
        first = first_seen.get(f.fingerprint, run.finished)
        age = days_between(first, run.finished)
        rows.append(
            (
                f.severity.value,
                _where(f.host, f.port),
                f.state + (", accepted" if f.accepted else ""),
                first[:10],
                f"{age:.0f}d",
                one_line(f.title, 90),
            )
        )
    head = ("SEVERITY", "WHERE", "STATE", "FIRST SEEN", "AGE", "TITLE")
    return "\n".join([*lines, "", *_columns(head, rows)]) + "\n"


def trends_text(trends: Trends) -> str:
    latest = trends.latest
    if latest is None:
        return f"No run of scope {trends.scope} in {trends.store}.\n"
    lines = [
        f"Scope {one_line(trends.scope, 80)} in {trends.store}: {len(trends.runs)} run(s) shown, "
        f"the last run {latest.id} at {latest.finished}.",
        "",
        "Open findings by run (critical/high/medium/low/info):",
    ]
    for point in trends.runs[-10:]:
        lines.append(
            f"  run {point.run:>5}  {point.finished[:10]}  " + "/".join(map(str, point.counts))
        )
    overdue = trends.overdue()
    lines += ["", "Time to fix (median, from first seen to the run that found it fixed):"]
    for fix in trends.fix_times:
        if fix.severity is Severity.INFO:
            continue
        median = f"{fix.median_days:.1f} days" if fix.median_days is not None else "-"
        deadline = trends.deadlines.get(fix.severity)
        due = (
            f"; deadline {deadline} days, {overdue.get(fix.severity, 0)} open past it"
            if deadline
            else ""
        )
        lines.append(f"  {fix.severity.value:<8} {fix.fixed:>5} fixed, median {median}{due}")
    if trends.open:
        lines += ["", "Oldest open findings:"]
        rows = [
            (
                f.severity.value,
                _where(f.host, f.port),
                f.first_seen[:10],
                f"{f.age_days:.0f}d",
                "accepted" if f.accepted else ("OVERDUE" if f.overdue else ""),
                one_line(f.title, 80),
            )
            for f in trends.open[:10]
        ]
        lines += [
            "  " + line
            for line in _columns(("SEVERITY", "WHERE", "FIRST SEEN", "AGE", "", "TITLE"), rows)
        ]
    lines += [
        "",
        f"Last run: {len(trends.new)} new, {len(trends.changed)} changed, "
        f"{len(trends.fixed)} fixed.",
    ]
    return "\n".join(lines) + "\n"
