"""What `scan` does with the history, on SQLite and PostgreSQL: the session
opened before the scan, the previous run as `--baseline last`, the run
recorded and said so; and a store that is off, unreachable or locked, which
never costs the scan its outputs. The CLI runs `scan --nmap-xml` (no nmap
needed) with XDG_DATA_HOME in the test's directory."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scanner.history import store as store_module
from scanner.history.location import location
from scanner.history.recording import last_baseline, open_session, record
from scanner.history.store import HistoryStore
from scanner.support.errors import InputError
from tests.scanner.history.runs import EOL, SCOPE, record_run, result_on
from tests.support import FIXTURES, Run, trustscan

CENTOS = FIXTURES / "nmap" / "apache-centos.xml"
PASSWORD = "s3cret-pw"  # noqa: S105  # a password no output may hold


def _scan(tmp_path: Path, out: str, *options: str) -> Run:
    """`trustscan scan` of the recorded CentOS box, its JSON result in `out`."""
    return trustscan(
        "scan",
        "--nmap-xml",
        str(CENTOS),
        "--json",
        str(tmp_path / out),
        *options,
        env={"XDG_DATA_HOME": str(tmp_path)},
    )


def _recorded_run(tmp_path: Path, out: str) -> int:
    history = json.loads((tmp_path / out).read_text(encoding="utf-8"))["history"]
    return int(history["run"])


def _with_password(url: str) -> str:
    """The URL with a password in it (the test server's trust auth ignores it)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


# -- the session, in the process -------------------------------------------------


def test_no_history_opens_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    session = open_session(None, enabled=False)

    assert (session.enabled, session.store, session.problem) == (False, None, "")
    assert record(session, result_on(0, (EOL,)), SCOPE, "scan", 0, ()) == result_on(0, (EOL,))
    assert session.run == 0
    assert not (tmp_path / "trustscan").exists()


def test_the_default_store_is_made_under_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    session = open_session(None)
    try:
        assert session.store is not None
        assert session.store.shown == str(tmp_path / "trustscan" / "history.sqlite")
    finally:
        session.close()
    # Findings say where the weak spots are: the file is the user's alone.
    assert (tmp_path / "trustscan" / "history.sqlite").stat().st_mode & 0o077 == 0


def test_a_malformed_url_is_an_input_error() -> None:
    with pytest.raises(InputError, match="the history is sqlite:///PATH or postgresql://"):
        open_session("mysql://db.example.test/shop")


def test_an_unreachable_store_is_a_problem_without_the_password() -> None:
    session = open_session(f"postgresql://u:{PASSWORD}@127.0.0.1:1/x")

    assert session.enabled
    assert session.store is None
    assert session.problem.startswith("history postgresql://u:***@127.0.0.1:1/x: ")
    assert PASSWORD not in session.problem
    # The scan goes on: nothing is recorded, the result is unchanged.
    result = result_on(0, (EOL,))
    assert record(session, result, SCOPE, "scan", 0, ()) is result
    assert last_baseline(session, SCOPE) is None
    assert session.notes == [
        f"--baseline last: no history to compare with ({session.problem}); "
        "every finding counts as new"
    ]


def test_baseline_last_is_the_previous_run_of_the_scope(history_url: str) -> None:
    session = open_session(history_url)
    try:
        assert session.store is not None
        assert last_baseline(session, SCOPE) is None
        assert session.notes == [
            f"--baseline last: no earlier run of scope {SCOPE} in {session.store.shown}; "
            "every finding counts as new"
        ]
        run, stored = record_run(session.store, result_on(0, (EOL,)))

        baseline = last_baseline(session, SCOPE)

        assert baseline is not None
        assert baseline.source == f"{session.store.shown} run {run}"
        assert baseline.result == stored
        assert last_baseline(session, "production") is None
    finally:
        session.close()


def test_a_locked_store_is_a_problem_when_recording(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    session = open_session(url)
    assert session.store is not None
    record_run(session.store, result_on(0, (EOL,)))
    session.store.close()  # its next connection waits 0.2 s at most
    holder = sqlite3.connect(tmp_path / "history.sqlite", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = result_on(1, (EOL,))

        assert record(session, result, SCOPE, "scan", 0, ()) is result
    finally:
        holder.close()
        session.close()

    assert session.problem == f"history {tmp_path / 'history.sqlite'}: database is locked"
    assert session.run == 0


# -- the CLI -------------------------------------------------------------------------


def test_scan_records_each_run_and_says_where(history_url: str, tmp_path: Path) -> None:
    url = _with_password(history_url)
    shown = location(url).shown

    first = _scan(tmp_path, "first.json", "--history", url)
    second = _scan(tmp_path, "second.json", "--history", url)

    assert (first.code, second.code) == (0, 0), first.err + second.err
    assert f"; recorded as run {_recorded_run(tmp_path, 'first.json')} in {shown}\n" in first.err
    assert f"; recorded as run {_recorded_run(tmp_path, 'second.json')} in {shown}\n" in second.err
    for run, out in ((first, "first.json"), (second, "second.json")):
        assert PASSWORD not in run.out + run.err + (tmp_path / out).read_text(encoding="utf-8")
    store = HistoryStore(location(url))
    try:
        runs = store.runs()
        assert [r.id for r in runs] == [
            _recorded_run(tmp_path, "second.json"),
            _recorded_run(tmp_path, "first.json"),
        ]
        assert runs[0].previous == runs[1].id
        assert {r.command for r in runs} == {"scan"}
        assert {r.state for r in store.findings_of(runs[0].id)} == {"unchanged"}
        assert len(store.findings_of(runs[0].id)) == 3
    finally:
        store.close()


def test_scan_without_history_url_records_in_the_default_file(tmp_path: Path) -> None:
    run = _scan(tmp_path, "result.json")

    path = tmp_path / "trustscan" / "history.sqlite"
    assert run.code == 0, run.err
    assert f"; recorded as run 1 in {path}\n" in run.err
    assert _recorded_run(tmp_path, "result.json") == 1


def test_no_history_records_nothing(history_url: str, tmp_path: Path) -> None:
    with_url = _scan(tmp_path, "named.json", "--history", history_url, "--no-history")
    default = _scan(tmp_path, "default.json", "--no-history")

    for run in (with_url, default):
        assert run.code == 0, run.err
        assert "recorded" not in run.err
    assert not (tmp_path / "trustscan").exists()
    assert json.loads((tmp_path / "named.json").read_text(encoding="utf-8"))["history"] is None
    store = HistoryStore(location(history_url))
    try:
        assert store.runs() == []
    finally:
        store.close()


@pytest.mark.parametrize(("options", "code"), [((), 4), (("--allow-incomplete",), 0)])
def test_an_unreachable_store_costs_the_scan_nothing_but_completeness(
    tmp_path: Path, options: tuple[str, ...], code: int
) -> None:
    url = f"postgresql://u:{PASSWORD}@127.0.0.1:1/x"

    run = _scan(tmp_path, "result.json", "--history", url, *options)

    assert run.code == code, run.err
    written = (tmp_path / "result.json").read_text(encoding="utf-8")
    assert json.loads(written)["findings"]
    assert "trustscan: not recorded: history postgresql://u:***@127.0.0.1:1/x: " in run.err
    assert "recorded as" not in run.err
    assert PASSWORD not in run.out + run.err + written


def test_a_locked_sqlite_store_is_waited_for_then_given_up(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    url = f"sqlite:///{path}"
    store = HistoryStore(location(url))
    record_run(store, result_on(0, (EOL,)))
    store.close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        # Both wait BUSY_SECONDS for the lock, side by side.
        with ThreadPoolExecutor(2) as pool:
            strict, lenient = pool.map(
                lambda case: _scan(tmp_path, f"{case[0]}.json", "--history", url, *case[1]),
                [("strict", ()), ("lenient", ("--allow-incomplete",))],
            )
    finally:
        holder.close()

    assert (strict.code, lenient.code) == (4, 0), strict.err + lenient.err
    for run, name in ((strict, "strict"), (lenient, "lenient")):
        assert f"trustscan: not recorded: history {path}: database is locked" in run.err
        assert json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["findings"]
    store = HistoryStore(location(url))
    try:
        assert len(store.runs()) == 1
    finally:
        store.close()


def test_two_scans_at_once_are_both_recorded(history_url: str, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(
                lambda out: _scan(tmp_path, out, "--history", history_url),
                ["one.json", "two.json"],
            )
        )

    assert [r.code for r in runs] == [0, 0], runs[0].err + runs[1].err
    ids = {_recorded_run(tmp_path, "one.json"), _recorded_run(tmp_path, "two.json")}
    store = HistoryStore(location(history_url))
    try:
        listed = store.runs()
        assert {r.id for r in listed} == ids
        assert len(ids) == 2
        assert len({r.scope for r in listed}) == 1
        for run in listed:
            assert len(store.findings_of(run.id)) == 3
        assert len(store.sightings(listed[0].scope)) == 3
    finally:
        store.close()
