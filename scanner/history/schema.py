"""The history's tables and the migrations that build them, on SQLite and
PostgreSQL alike (SQLAlchemy Core, no dialect-only SQL).

Each migration takes the database from one version to the next in one
transaction; `trustscan_meta` holds the version reached. A database newer
than this trustscan is refused, never written: an older tool does not know
what the newer tables mean.

1. `runs` (one row a run, with the targets, ports, rule set, exit status and
   what was not covered), `results` (the whole `ScanResult`, compressed JSON,
   so a past report renders again), `findings` (per run: fingerprint,
   severity, confidence, acceptance, state against the previous run of the
   scope) and `fixed` (per run: what it no longer found where it looked).
2. `sightings`: per scope and fingerprint, first and last seen and when it
   was fixed, kept when old runs are pruned; filled from the runs already
   recorded.
3. `result_parts`: the whole result as the same compressed stream, in parts
   written as it is made (`stored_result`): a large scan's result never held
   whole, nor one value near the databases' 1 GB limit. The runs recorded
   before keep theirs in `results`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

metadata = MetaData()

meta = Table(
    "trustscan_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # A run's own id, made before it is written: a retried write finds it
    # there instead of landing twice.
    Column("uid", String(36), nullable=False, unique=True),
    Column("scope", String(200), nullable=False),
    Column("command", String(16), nullable=False),
    Column("started", String(40), nullable=False),
    Column("finished", String(40), nullable=False),
    Column("recorded", String(40), nullable=False),
    Column("targets", Text, nullable=False),  # JSON list
    Column("ports", Text, nullable=False),
    Column("rule_set", Text, nullable=False),
    Column("tool_version", String(40), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("not_covered", Text, nullable=False),  # JSON list of lines
    Column("hosts", Integer, nullable=False),
    Column("counts", String(80), nullable=False),  # JSON [critical, high, medium, low, info]
    Column("previous", Integer, nullable=True),  # the run compared with
    # Each host's inventory system (JSON {address: system}): the next run
    # follows a finding keyed by its system to the system's address then.
    Column("systems", Text, nullable=False),
    Index("runs_scope_finished", "scope", "finished"),
)

results = Table(
    "results",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("data", LargeBinary, nullable=False),  # zlib-compressed ScanResult JSON
)

# Consecutive pieces of one zlib stream, by `part` (0, 1, ...): see `stored_result`.
result_parts = Table(
    "result_parts",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("part", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("rule_id", String(200), nullable=False),
    Column("host", String(300), nullable=False),
    Column("port", Integer, nullable=True),
    Column("protocol", String(8), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("confidence", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("subject", String(200), nullable=False),  # part of the fingerprint
    Column("cves", Text, nullable=False),  # sorted, comma-separated
    Column("accepted", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # new, changed, unchanged
)

fixed = Table(
    "fixed",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("rule_id", String(200), nullable=False),
    Column("host", String(300), nullable=False),
    Column("port", Integer, nullable=True),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
)

sightings = Table(
    "sightings",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("first_seen", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("fixed_at", String(40), nullable=True),  # gone since; cleared when it returns
    Column("severity", String(16), nullable=False),  # as last seen
    Column("rule_id", String(200), nullable=False),
    Column("host", String(300), nullable=False),
    Column("port", Integer, nullable=True),
    Column("title", Text, nullable=False),
)


def _version_1(conn: Connection) -> None:
    for table in (runs, results, findings, fixed):
        table.create(conn)


def _version_2(conn: Connection) -> None:
    sightings.create(conn)
    # Every finding already recorded: first and last seen per scope.
    seen = (
        select(
            runs.c.scope,
            findings.c.fingerprint,
            func.min(runs.c.finished).label("first_seen"),
            func.max(runs.c.finished).label("last_seen"),
        )
        .join(runs, runs.c.id == findings.c.run_id)
        .group_by(runs.c.scope, findings.c.fingerprint)
    )
    rows = conn.execute(seen).all()
    if not rows:
        return
    latest: dict[tuple[str, str], dict[str, object]] = {}
    detail = select(
        runs.c.scope,
        runs.c.finished,
        findings.c.fingerprint,
        findings.c.severity,
        findings.c.rule_id,
        findings.c.host,
        findings.c.port,
        findings.c.title,
    ).join(runs, runs.c.id == findings.c.run_id)
    for found in conn.execute(detail.order_by(runs.c.finished)):
        latest[(found.scope, found.fingerprint)] = dict(found._mapping)
    gone: dict[tuple[str, str], str] = {}
    for fix in conn.execute(
        select(runs.c.scope, runs.c.finished, fixed.c.fingerprint)
        .join(runs, runs.c.id == fixed.c.run_id)
        .order_by(runs.c.finished)
    ):
        gone[(fix.scope, fix.fingerprint)] = fix.finished
    conn.execute(
        insert(sightings),
        [
            {
                "scope": row.scope,
                "fingerprint": row.fingerprint,
                "first_seen": row.first_seen,
                "last_seen": row.last_seen,
                # Fixed only when the fix came after it was last seen.
                "fixed_at": (
                    gone[(row.scope, row.fingerprint)]
                    if gone.get((row.scope, row.fingerprint), "") > row.last_seen
                    else None
                ),
                "severity": latest[(row.scope, row.fingerprint)]["severity"],
                "rule_id": latest[(row.scope, row.fingerprint)]["rule_id"],
                "host": latest[(row.scope, row.fingerprint)]["host"],
                "port": latest[(row.scope, row.fingerprint)]["port"],
                "title": latest[(row.scope, row.fingerprint)]["title"],
            }
            for row in rows
        ],
    )


def _version_3(conn: Connection) -> None:
    result_parts.create(conn)


# (version, what it does, how): applied in order, each in its own transaction.
MIGRATIONS: tuple[tuple[int, str, Callable[[Connection], None]], ...] = (
    (1, "runs, results, findings, fixed", _version_1),
    (2, "sightings: first and last seen per finding, kept through pruning", _version_2),
    (3, "result_parts: the stored result written in parts", _version_3),
)
LATEST = MIGRATIONS[-1][0]
