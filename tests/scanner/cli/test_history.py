"""`trustscan history` and the history options of `scan`, through the CLI:
runs recorded by `scan --nmap-xml` (no nmap needed) into a SQLite store in
the test's own directory, then listed, shown, compared, rendered, pruned."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.result_io import read
from tests.support import FIXTURES, Run, trustscan

CENTOS = FIXTURES / "nmap" / "apache-centos.xml"


@dataclass(frozen=True)
class Store:
    url: str
    directory: Path

    def scan(self, xml: Path, name: str, *options: str) -> Run:
        return trustscan(
            "scan",
            "--nmap-xml",
            str(xml),
            "--history",
            self.url,
            "--scope",
            "shop",
            "--json",
            str(self.directory / f"{name}.json"),
            *options,
        )

    def history(self, *args: str) -> Run:
        return trustscan("history", *args, "--history", self.url)


def _upgraded(tmp_path: Path) -> Path:
    """The CentOS box's Apache 2.2.15 replaced by 2.4.49: its end-of-life
    finding is fixed, its CVE finding changed (another CVE list)."""
    text = CENTOS.read_text(encoding="utf-8").replace("2.2.15", "2.4.49")
    path = tmp_path / "upgraded.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'history.sqlite'}", tmp_path)


@pytest.fixture
def two_runs(store: Store, tmp_path: Path) -> Store:
    first = store.scan(CENTOS, "first")
    assert first.code == 0, first.err
    assert f"recorded as run 1 in {tmp_path / 'history.sqlite'}" in first.err
    second = store.scan(_upgraded(tmp_path), "second", "--baseline", "last")
    assert second.code == 0, second.err
    assert "recorded as run 2 in" in second.err
    return store


def test_list_shows_both_runs_newest_first(two_runs: Store) -> None:
    run = two_runs.history("list")
    assert run.code == 0, run.err
    rows = [line.split() for line in run.out.splitlines()[1:-1]]
    assert [r[0] for r in rows] == ["2", "1"]
    assert all(r[-1] == "shop" for r in rows)
    assert run.out.splitlines()[-1].startswith("(2 run(s) in ")


def test_baseline_last_compares_with_the_previous_run_of_the_scope(two_runs: Store) -> None:
    second = read(two_runs.directory / "second.json")
    assert second.baseline is not None
    assert second.baseline.source.endswith("run 1")
    fixed = {f.rule_id for f in second.baseline.fixed}
    assert "apache-httpd-eol" in fixed
    states = {f.rule_id: f.baseline for f in second.findings}
    assert states["apache-httpd-known-vulnerabilities"] is not None
    assert states["apache-httpd-known-vulnerabilities"].value == "changed"
    # The result carries its history: this run, the scope's runs, first sightings.
    assert second.history is not None
    assert (second.history.run, second.history.scope) == (2, "shop")
    assert [p.run for p in second.history.runs] == [1, 2]
    first = read(two_runs.directory / "first.json")
    kept = {f.fingerprint for f in first.findings} & {f.fingerprint for f in second.findings}
    seen = {s.fingerprint: s.first_seen for s in second.history.first_seen}
    assert kept
    assert all(seen[fp] == first.finished for fp in kept)


def test_show_lists_states_and_first_sightings(two_runs: Store) -> None:
    run = two_runs.history("show", "last")
    assert run.code == 0, run.err
    assert run.out.startswith("Run 2 of scope shop: `trustscan scan`")
    assert "Compared with run 1" in run.out
    rows = [line for line in run.out.splitlines() if line.startswith(("high", "medium", "crit"))]
    assert any(" changed " in row for row in rows)
    assert all(re.search(r" \d{4}-\d{2}-\d{2} +\d+d ", row) for row in rows)


def test_diff_of_two_runs_agrees_with_the_saved_baseline(two_runs: Store) -> None:
    run = two_runs.history("diff", "1", "2")
    assert run.code == 0, run.err
    second = read(two_runs.directory / "second.json")
    assert second.baseline is not None
    counts = run.out.splitlines()[1]
    assert counts.startswith(
        f"{second.baseline.new} new, {second.baseline.changed} changed, "
        f"{second.baseline.unchanged} unchanged, {len(second.baseline.fixed)} fixed"
    )


def test_report_renders_a_past_run_in_any_format(two_runs: Store, tmp_path: Path) -> None:
    sarif = tmp_path / "run1.sarif"
    run = two_runs.history("report", "1", "--sarif", str(sarif))
    assert run.code == 0, run.err
    data = json.loads(sarif.read_text(encoding="utf-8"))
    assert data["runs"][0]["automationDetails"]["id"] == "trustscan/shop/"
    rules = {r["ruleId"] for r in data["runs"][0]["results"]}
    assert "apache-httpd-eol" in rules  # as it was then: the old Apache's finding


def test_trends_text_and_page(two_runs: Store, tmp_path: Path) -> None:
    run = two_runs.history("trends")
    assert run.code == 0, run.err
    assert "Scope shop in " in run.out
    assert "Last run: " in run.out
    page = tmp_path / "trends.html"
    run = two_runs.history("trends", "-o", str(page))
    assert run.code == 0, run.err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "Content-Security-Policy" in html


def test_prune_keeps_the_latest_run_and_first_sightings(two_runs: Store) -> None:
    run = two_runs.history("prune", "--older-than", "2999-01-01")
    assert run.code == 0, run.err
    assert "deleted 1 run(s)" in run.err
    listed = two_runs.history("list")
    assert [line.split()[0] for line in listed.out.splitlines()[1:-1]] == ["2"]
    shown = two_runs.history("show", "2")
    first = read(two_runs.directory / "first.json")
    # The CVE finding was first seen by the pruned run, and still is.
    assert first.finished[:10] in shown.out


def test_no_history_records_nothing(store: Store) -> None:
    run = store.scan(CENTOS, "quiet", "--no-history")
    assert run.code == 0, run.err
    assert "recorded" not in run.err
    listed = store.history("list")
    assert "No run is recorded" in listed.out


def test_the_history_url_comes_from_the_environment(store: Store) -> None:
    run = trustscan(
        "scan",
        "--nmap-xml",
        str(CENTOS),
        "--json",
        str(store.directory / "env.json"),
        env={"TRUSTSCAN_HISTORY": store.url},
    )
    assert run.code == 0, run.err
    assert f"recorded as run 1 in {store.directory / 'history.sqlite'}" in run.err
    listed = trustscan("history", "list", env={"TRUSTSCAN_HISTORY": store.url})
    assert listed.out.splitlines()[1].startswith("1 ")


def test_a_password_in_a_config_files_history_url_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text("history: postgresql://scanner:hunter2@db.example.test/h\n")
    run = trustscan("scan", "--config", str(config), "--nmap-xml", str(CENTOS))
    assert run.code == 2
    assert "hunter2" not in run.err + run.out
    assert f"{config}:1: history: a config file holds no passwords" in run.err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://db/h", "the history is sqlite:///PATH or postgresql://"),
        ("postgresql://db.example.test", "name the database"),
    ],
)
def test_a_bad_history_url_is_one_line_and_exit_2(value: str, message: str) -> None:
    run = trustscan("history", "list", "--history", value)
    assert run.code == 2
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_baseline_last_on_report_is_refused(store: Store) -> None:
    store.scan(CENTOS, "one")
    run = trustscan("report", str(store.directory / "one.json"), "--baseline", "last")
    assert run.code == 2
    assert "--baseline last is the previous run in the scan history" in run.err


def test_prune_refuses_a_bad_age(store: Store) -> None:
    run = store.history("prune", "--older-than", "soon")
    assert run.code == 2
    assert "give an age (400d, 52w) or a date" in run.err
