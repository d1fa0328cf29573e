"""One history store: open (and migrate) it, record a run, read runs back.

A store is opened once per command. SQLite runs in WAL mode with every
transaction taken as a writer (`BEGIN IMMEDIATE`), so two trustscans on one
machine queue instead of failing half-way, and wait `BUSY_SECONDS` for
each other at most; PostgreSQL takes an advisory lock while it migrates.
What cannot be reached, is locked for too long or is too new is a
`HistoryError`, whose message never holds a password.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from scanner.assessment.baseline import systems_of
from scanner.history import schema
from scanner.history.location import StoreLocation
from scanner.history.stored_result import DamagedResult, read_result, write_result
from scanner.model import BaselineState, Finding, FirstSeen, RunPoint, ScanResult, Severity
from scanner.result_io import loads
from scanner.support.errors import TrustscanError
from scanner.support.exit_codes import ExitCode
from scanner.support.progress import QUIET, Progress

BUSY_SECONDS = 10.0  # how long a locked SQLite file is waited for
CONNECT_SECONDS = 10  # how long a PostgreSQL server is waited for
POINTS = 30  # runs the report's sparkline shows
_LOCK_KEY = 0x7472757374  # "trust": the advisory lock of migrations
_SEVERITIES = tuple(sorted(Severity, key=lambda s: -s.rank))  # critical first, as `counts`
_ATTEMPTS = 3  # a deadlock between two writers is tried again
ROWS = 5000  # rows a statement writes, or a read fetches at a time
RECORDING = "recording the history"
T = TypeVar("T")


class HistoryError(TrustscanError):
    """The history could not be used: unreachable, locked, too new."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class RunRow:
    """A recorded run, without its result."""

    id: int
    scope: str
    command: str
    started: str
    finished: str
    targets: tuple[str, ...]
    ports: str
    rule_set: str
    tool_version: str
    exit_code: int
    not_covered: tuple[str, ...]
    hosts: int
    counts: tuple[int, int, int, int, int]
    previous: int | None

    @property
    def findings(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Sighting:
    """A finding's life in one scope."""

    fingerprint: str
    first_seen: str
    last_seen: str
    fixed_at: str | None
    severity: Severity
    rule_id: str
    host: str
    port: int | None
    title: str


@dataclass(frozen=True)
class FindingRow:
    """A finding as a run recorded it."""

    fingerprint: str
    rule_id: str
    host: str
    port: int | None
    protocol: str
    severity: Severity
    confidence: str
    title: str
    accepted: bool
    state: str
    subject: str = ""
    cves: frozenset[str] = frozenset()


def counts_of(findings: Iterable[Finding]) -> tuple[int, int, int, int, int]:
    counts = dict.fromkeys(_SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    a, b, c, d, e = (counts[s] for s in _SEVERITIES)
    return (a, b, c, d, e)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _message(exc: BaseException, location: StoreLocation) -> str:
    """A driver's error in one line, with no password in it."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    password = _password(location)
    return line.replace(password, "***") if password else line


def _password(location: StoreLocation) -> str:
    if location.path is not None:
        return ""
    from sqlalchemy.engine import make_url

    return make_url(location.url).password or ""


def _wal(dbapi: Any) -> None:
    """WAL mode. Two connections turning a new file to WAL at once may
    deadlock over its lock, which SQLite reports at once, without waiting
    for the busy timeout: try again until that has passed."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            dbapi.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(location: StoreLocation, path: Path) -> Engine:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Findings say where the weak spots are: the file is the user's alone.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    except OSError as exc:
        raise HistoryError(f"history {path}: {exc.strerror or exc}") from None
    engine = create_engine(location.url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's
        dbapi.execute("PRAGMA foreign_keys=ON")
        dbapi.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        _wal(dbapi)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(location: StoreLocation) -> Engine:
    return create_engine(
        location.url,
        connect_args={"connect_timeout": CONNECT_SECONDS, "application_name": "trustscan"},
        pool_size=1,
        max_overflow=0,
    )


class HistoryStore:
    """An open, migrated history store."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        try:
            self.engine = (
                _sqlite_engine(location, location.path)
                if location.path is not None
                else _postgresql_engine(location)
            )
            self.version = migrate(self.engine)
        except HistoryError as exc:
            self.engine.dispose()
            raise HistoryError(f"history {location.shown}: {exc}") from None
        except SQLAlchemyError as exc:
            if hasattr(self, "engine"):
                self.engine.dispose()
            raise HistoryError(f"history {location.shown}: {_message(exc, location)}") from None

    @property
    def shown(self) -> str:
        return self.location.shown

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise HistoryError(f"history {self.shown}: {_message(exc, self.location)}") from None

    def _reading(self) -> Any:
        return self._writing()

    # Reading ------------------------------------------------------------

    def runs(self, scope: str | None = None, limit: int = 50) -> list[RunRow]:
        """The newest runs first, of one scope or all."""
        query = select(schema.runs).order_by(schema.runs.c.finished.desc(), schema.runs.c.id.desc())
        if scope is not None:
            query = query.where(schema.runs.c.scope == scope)
        with self._reading() as conn:
            return [_run_row(r) for r in conn.execute(query.limit(limit))]

    def scopes(self) -> list[tuple[str, int, str]]:
        """Each scope with its number of runs and its last run's time, newest first."""
        query = (
            select(schema.runs.c.scope, func.count(), func.max(schema.runs.c.finished))
            .group_by(schema.runs.c.scope)
            .order_by(func.max(schema.runs.c.finished).desc())
        )
        with self._reading() as conn:
            return [(r[0], int(r[1]), str(r[2])) for r in conn.execute(query)]

    def run(self, ref: str, scope: str | None = None) -> RunRow:
        """A run by number, or `last` (of the scope, when one is given)."""
        with self._reading() as conn:
            return self._run(conn, ref, scope)

    def _run(self, conn: Connection, ref: str, scope: str | None) -> RunRow:
        query = select(schema.runs)
        if ref == "last":
            if scope is not None:
                query = query.where(schema.runs.c.scope == scope)
            query = query.order_by(schema.runs.c.finished.desc(), schema.runs.c.id.desc())
        elif ref.isdigit() and len(ref) < 12:
            query = query.where(schema.runs.c.id == int(ref))
        else:
            raise HistoryError(f"run {ref[:40]!r}: give a run number (history list) or last")
        row = conn.execute(query.limit(1)).first()
        if row is None:
            where = f" of scope {scope}" if scope is not None else ""
            what = "no run is recorded" if ref == "last" else f"no run {ref}"
            raise HistoryError(f"history {self.shown}: {what}{where}")
        return _run_row(row)

    def latest(self, scope: str) -> RunRow | None:
        try:
            return self.run("last", scope)
        except HistoryError as exc:
            if "no run is recorded" in str(exc):
                return None
            raise

    def result_of(self, run_id: int) -> ScanResult:
        try:
            with self._reading() as conn:
                data = read_result(conn, run_id)
        except DamagedResult as exc:
            raise HistoryError(f"history {self.shown}: run {run_id}: {exc}") from None
        if data is None:
            raise HistoryError(f"history {self.shown}: run {run_id} has no stored result")
        text = data.decode("utf-8")
        del data  # the text alone, while it is parsed
        return loads(text, f"history run {run_id}")

    def findings_of(self, run_id: int) -> list[FindingRow]:
        return list(self.each_finding_of(run_id))

    def each_finding_of(self, run_id: int) -> Iterator[FindingRow]:
        """The run's findings one at a time, as they are read: a large run's
        are never all in memory."""
        with self._reading() as conn:
            rows = conn.execute(
                select(schema.findings)
                .where(schema.findings.c.run_id == run_id)
                .execution_options(yield_per=ROWS)
            )
            for r in rows:
                yield FindingRow(
                    r.fingerprint,
                    r.rule_id,
                    r.host,
                    r.port,
                    r.protocol,
                    Severity(r.severity),
                    r.confidence,
                    r.title,
                    bool(r.accepted),
                    r.state,
                    r.subject,
                    frozenset(c for c in r.cves.split(",") if c),
                )

    def systems(self, run_id: int) -> dict[str, str]:
        """The run's hosts' inventory systems (address: system)."""
        with self._reading() as conn:
            text = conn.execute(
                select(schema.runs.c.systems).where(schema.runs.c.id == run_id)
            ).scalar()
        value = json.loads(text) if text else {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def fixed_of(self, run_id: int) -> list[Sighting]:
        with self._reading() as conn:
            rows = conn.execute(
                select(schema.fixed, schema.runs.c.finished)
                .join(schema.runs, schema.runs.c.id == schema.fixed.c.run_id)
                .where(schema.fixed.c.run_id == run_id)
            ).all()
        return [
            Sighting(
                r.fingerprint,
                "",
                "",
                r.finished,
                Severity(r.severity),
                r.rule_id,
                r.host,
                r.port,
                r.title,
            )
            for r in rows
        ]

    def sightings(self, scope: str) -> list[Sighting]:
        with self._reading() as conn:
            rows = conn.execute(
                select(schema.sightings).where(schema.sightings.c.scope == scope)
            ).all()
        return [
            Sighting(
                r.fingerprint,
                r.first_seen,
                r.last_seen,
                r.fixed_at,
                Severity(r.severity),
                r.rule_id,
                r.host,
                r.port,
                r.title,
            )
            for r in rows
        ]

    def points(self, scope: str, limit: int = POINTS) -> list[RunPoint]:
        """The scope's last runs, oldest first, with their counts."""
        return [RunPoint(r.id, r.finished, r.counts) for r in reversed(self.runs(scope, limit))]

    # Writing ------------------------------------------------------------

    def record(
        self,
        result: ScanResult,
        facts: RunFacts,
        states: Mapping[str, BaselineState],
        gone: Sequence[FindingRow],
        progress: Progress = QUIET,
    ) -> tuple[int, ScanResult]:
        """Record one run: `states` are its findings' states (by fingerprint)
        against the previous run of the scope (`facts.previous`), `gone` the
        previous run's findings it found fixed. Returns the run's number and
        the result with its history (`ScanResult.history`), as stored.
        `progress` hears of the findings written, then of the result stored."""
        from scanner.history.recording import with_history  # the result's view of it

        uid = str(uuid.uuid4())
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._writing() as conn:
                    return self._record(
                        conn, uid, result, facts, states, gone, with_history, progress
                    )
            except HistoryError as exc:
                if not _retryable(exc) or attempt == _ATTEMPTS:
                    raise
                with self._reading() as conn:  # it may have landed before the error
                    row = conn.execute(
                        select(schema.runs.c.id).where(schema.runs.c.uid == uid)
                    ).first()
                if row is not None:
                    return int(row[0]), self.result_of(int(row[0]))
        raise HistoryError(f"history {self.shown}: the run could not be recorded")

    def _record(
        self,
        conn: Connection,
        uid: str,
        result: ScanResult,
        facts: RunFacts,
        states: Mapping[str, BaselineState],
        gone: Sequence[FindingRow],
        with_history: Any,
        progress: Progress,
    ) -> tuple[int, ScanResult]:
        finished = result.finished or now()
        inserted = conn.execute(
            schema.runs.insert().values(
                uid=uid,
                scope=facts.scope,
                command=facts.command,
                started=result.started or finished,
                finished=finished,
                recorded=now(),
                targets=json.dumps(list(result.targets)),
                ports=result.port_choice or "; ".join(result.nmap.commands)[:2000],
                rule_set=result.rule_set,
                tool_version=result.tool_version,
                exit_code=facts.exit_code,
                not_covered=json.dumps(list(facts.not_covered)),
                hosts=len(result.hosts),
                counts=json.dumps(list(counts_of(result.findings))),
                previous=facts.previous,
                systems=json.dumps(systems_of(result), sort_keys=True),
            )
        ).inserted_primary_key
        run_id = int(inserted[0]) if inserted is not None else 0
        unique = {f.fingerprint: f for f in result.findings}  # one row a fingerprint
        gone_unique = {f.fingerprint: f for f in gone if f.fingerprint not in unique}
        if gone_unique:
            for rows in _batches(gone_unique.values(), ROWS):
                conn.execute(schema.fixed.insert(), [_fixed_row(run_id, f) for f in rows])
            for chunk in _chunks(sorted(gone_unique), 500):
                conn.execute(
                    update(schema.sightings)
                    .where(
                        and_(
                            schema.sightings.c.scope == facts.scope,
                            schema.sightings.c.fingerprint.in_(chunk),
                        )
                    )
                    .values(fixed_at=finished)
                )
        # A few thousand rows a statement, each finding's row and its sighting
        # together, in fingerprint order (two writers lock sightings alike).
        done = 0
        for prints in _batches(sorted(unique), ROWS):
            found = [unique[p] for p in prints]
            conn.execute(schema.findings.insert(), [_finding_row(run_id, f, states) for f in found])
            self._sighted(conn, facts.scope, finished, found)
            done += len(found)
            progress.step(RECORDING, done, len(unique), "findings")
        points = [
            RunPoint(r.id, r.finished, _counts(r.counts))
            for r in conn.execute(
                select(schema.runs.c.id, schema.runs.c.finished, schema.runs.c.counts)
                .where(schema.runs.c.scope == facts.scope)
                .order_by(schema.runs.c.finished.desc(), schema.runs.c.id.desc())
                .limit(POINTS)
            )
        ]
        stored = with_history(
            result,
            self.shown,
            facts.scope,
            run_id,
            tuple(reversed(points)),
            self._first_seen(conn, facts.scope, unique),
        )
        write_result(conn, run_id, stored, progress)
        return run_id, stored

    def _first_seen(
        self, conn: Connection, scope: str, unique: Mapping[str, Finding]
    ) -> tuple[FirstSeen, ...]:
        """When the scope first saw each of the run's findings, by fingerprint.
        The strings are the findings' own, and one of each date."""
        dates: dict[str, str] = {}
        first = [
            FirstSeen(
                unique[r.fingerprint].fingerprint, dates.setdefault(r.first_seen, r.first_seen)
            )
            for r in conn.execute(
                select(schema.sightings.c.fingerprint, schema.sightings.c.first_seen)
                .where(schema.sightings.c.scope == scope)
                .execution_options(yield_per=ROWS)
            )
            if r.fingerprint in unique
        ]
        first.sort(key=_by_fingerprint)
        return tuple(first)

    def _sighted(self, conn: Connection, scope: str, when: str, found: Sequence[Finding]) -> None:
        """First seen stays; last seen, severity and title follow the run; a
        finding seen again is no longer fixed."""
        if not found:
            return
        rows = [
            {
                "scope": scope,
                "fingerprint": f.fingerprint,
                "first_seen": when,
                "last_seen": when,
                "fixed_at": None,
                "severity": f.severity.value,
                "rule_id": f.rule_id,
                "host": f.host,
                "port": f.port,
                "title": f.title,
            }
            for f in found
        ]
        if self.location.is_postgresql:
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        statement = upsert(schema.sightings)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[schema.sightings.c.scope, schema.sightings.c.fingerprint],
            set_={
                # A run recorded late (an older scan) moves first seen back, never forward.
                "first_seen": func.min(schema.sightings.c.first_seen, excluded.first_seen)
                if not self.location.is_postgresql
                else func.least(schema.sightings.c.first_seen, excluded.first_seen),
                # ... and last seen forward, never back.
                "last_seen": func.max(schema.sightings.c.last_seen, excluded.last_seen)
                if not self.location.is_postgresql
                else func.greatest(schema.sightings.c.last_seen, excluded.last_seen),
                "fixed_at": None,
                "severity": excluded.severity,
                "rule_id": excluded.rule_id,
                "host": excluded.host,
                "port": excluded.port,
                "title": excluded.title,
            },
        )
        conn.execute(statement, rows)

    def set_exit_code(self, run_id: int, code: int) -> None:
        """The exit code changed after the run was recorded (its outputs could not be written)."""
        with self._writing() as conn:
            conn.execute(
                update(schema.runs).where(schema.runs.c.id == run_id).values(exit_code=code)
            )

    def prune(self, before: str, scope: str | None = None) -> tuple[int, int]:
        """Delete the runs that finished before `before` (ISO time), except
        each scope's latest; first-seen dates stay. Returns (deleted, kept)."""
        with self._writing() as conn:
            # A run with a later one in its scope (as `run("last")` orders them:
            # by finish, then number) is not the scope's latest.
            runs, later = schema.runs, schema.runs.alias("later")
            superseded = (
                select(later.c.id)
                .where(
                    and_(
                        later.c.scope == runs.c.scope,
                        or_(
                            later.c.finished > runs.c.finished,
                            and_(later.c.finished == runs.c.finished, later.c.id > runs.c.id),
                        ),
                    )
                )
                .exists()
            )
            query = select(runs.c.id).where(and_(runs.c.finished < before, superseded))
            if scope is not None:
                query = query.where(schema.runs.c.scope == scope)
            doomed = [int(r[0]) for r in conn.execute(query)]
            for chunk in _chunks(doomed, 500):
                for table in (schema.results, schema.result_parts, schema.findings, schema.fixed):
                    conn.execute(delete(table).where(table.c.run_id.in_(chunk)))
                conn.execute(delete(schema.runs).where(schema.runs.c.id.in_(chunk)))
                # A later run compared with a deleted one no longer names it.
                conn.execute(
                    update(schema.runs)
                    .where(schema.runs.c.previous.in_(chunk))
                    .values(previous=None)
                )
            kept = int(conn.execute(select(func.count()).select_from(schema.runs)).scalar() or 0)
        return len(doomed), kept


@dataclass(frozen=True)
class RunFacts:
    """What the run row records besides the result."""

    scope: str
    command: str
    exit_code: int
    not_covered: tuple[str, ...] = ()
    previous: int | None = None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size`: rows are made a batch at a time, never all."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _by_fingerprint(seen: FirstSeen) -> str:
    return seen.fingerprint


def _finding_row(run_id: int, f: Finding, states: Mapping[str, BaselineState]) -> dict[str, object]:
    return {
        "run_id": run_id,
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "host": f.host,
        "port": f.port,
        "protocol": f.protocol,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "title": f.title,
        "subject": f.subject,
        "cves": ",".join(sorted({v.id for v in f.vulnerabilities})),
        "accepted": f.accepted is not None and not f.accepted.expired,
        "state": states.get(f.fingerprint, BaselineState.NEW).value,
    }


def _fixed_row(run_id: int, f: FindingRow) -> dict[str, object]:
    return {
        "run_id": run_id,
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "host": f.host,
        "port": f.port,
        "severity": f.severity.value,
        "title": f.title,
    }


def _counts(text: str) -> tuple[int, int, int, int, int]:
    values = [int(v) for v in json.loads(text)][:5]
    values += [0] * (5 - len(values))
    a, b, c, d, e = values
    return (a, b, c, d, e)


def _run_row(row: Any) -> RunRow:
    return RunRow(
        id=int(row.id),
        scope=row.scope,
        command=row.command,
        started=row.started,
        finished=row.finished,
        targets=tuple(json.loads(row.targets)),
        ports=row.ports,
        rule_set=row.rule_set,
        tool_version=row.tool_version,
        exit_code=int(row.exit_code),
        not_covered=tuple(json.loads(row.not_covered)),
        hosts=int(row.hosts),
        counts=_counts(row.counts),
        previous=row.previous,
    )


def _retryable(exc: HistoryError) -> bool:
    text = str(exc).lower()
    return "deadlock" in text or "could not serialize" in text


def migrate(engine: Engine, to: int = schema.LATEST) -> int:
    """Bring the database to version `to` (the latest), each migration in a
    transaction of its own; refuse one newer than this trustscan knows."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        schema.meta.create(conn, checkfirst=True)
        version = _version(conn)
        if version > schema.LATEST:
            raise HistoryError(
                f"the history database is at schema version {version}, written by a newer "
                f"trustscan (this one knows up to {schema.LATEST}): upgrade trustscan, or "
                "give another --history"
            )
        for number, _what, step in schema.MIGRATIONS:
            if version < number <= to:
                step(conn)
                _set_version(conn, number)
                version = number
    return version


def _version(conn: Connection) -> int:
    value = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).scalar()
    try:
        return int(value) if value is not None else 0
    except ValueError:
        raise HistoryError(
            f"the history database's schema version {value!r} is not a number"
        ) from None


def _set_version(conn: Connection, number: int) -> None:
    done = conn.execute(
        update(schema.meta).where(schema.meta.c.key == "schema_version").values(value=str(number))
    ).rowcount
    if not done:
        conn.execute(schema.meta.insert().values(key="schema_version", value=str(number)))
