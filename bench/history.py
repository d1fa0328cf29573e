"""Time the scan history: recording a 10,000-finding run (the first of its
scope, and a second one compared with it, as every nightly run is), and
computing and rendering the trends page over 100 runs.

Sends no packet: the runs are synthetic results (`bench.html_render.build`),
recorded as `trustscan scan` records them (`scanner.history.recording`), with
a share of findings fixed and new between runs so that the trends have
something to show. SQLite in a temporary directory by default; `--history
postgresql://...` measures a PostgreSQL server instead (its database must be
empty or a bench's own).

    python -m bench.history [--findings 10000] [--runs 100] [--run-findings 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.html_render import build
from scanner.formats.trends_html import render_trends
from scanner.history.recording import open_session, record
from scanner.history.trends import trends
from scanner.model import ScanResult

SCOPE = "bench"


def _at(result: ScanResult, day: int) -> ScanResult:
    when = datetime(2026, 1, 1, 2, 17, tzinfo=UTC) + timedelta(days=day)
    started = (when - timedelta(minutes=40)).isoformat(timespec="seconds")
    return replace(result, started=started, finished=when.isoformat(timespec="seconds"))


def _pool(findings: int, hosts: int, seed: int) -> ScanResult:
    """Findings to draw new ones from: fingerprints of their own."""
    result = build(findings=findings, hosts=hosts, seed=seed)
    return replace(
        result,
        findings=tuple(
            replace(f, fingerprint=hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()[:24])
            for i, f in enumerate(result.findings)
        ),
    )


def _churned(result: ScanResult, rng: random.Random, share: float, pool: ScanResult) -> ScanResult:
    """`share` of the findings fixed, as many new ones from `pool`."""
    kept = [f for f in result.findings if rng.random() >= share]
    have = {f.fingerprint for f in kept}
    fresh = [f for f in pool.findings if f.fingerprint not in have]
    rng.shuffle(fresh)
    return replace(result, findings=tuple(kept + fresh[: len(result.findings) - len(kept)]))


def _timed(label: str, action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.2f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--run-findings", type=int, default=2_000)
    parser.add_argument("--history", help="a store URL (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trustscan-bench-history-") as scratch:
        url = args.history or f"sqlite:///{Path(scratch) / 'history.sqlite'}"
        big = build(findings=args.findings, hosts=500)
        session = open_session(url)
        try:
            _timed(
                f"record a {args.findings:,}-finding run (first of its scope)",
                lambda: record(session, _at(big, 0), f"{SCOPE}-big", "scan", 0, ()),
            )
            seeded = random.Random(1)  # noqa: S311 - a seeded sample, not a secret
            again = _churned(big, seeded, 0.05, _pool(args.findings, 500, 7))
            _timed(
                f"record a {args.findings:,}-finding run compared with the previous one",
                lambda: record(session, _at(again, 1), f"{SCOPE}-big", "scan", 0, ()),
            )
            assert not session.problem, session.problem
            rng = random.Random(2011)  # noqa: S311 - a seeded sample, not a secret
            pool = _pool(args.run_findings * 3, 200, 99)
            current = build(findings=args.run_findings, hosts=200)
            start = time.perf_counter()
            for day in range(args.runs):
                record(session, _at(current, day), SCOPE, "scan", 0, ())
                current = _churned(current, rng, 0.03, pool)
            print(
                f"({args.runs} runs of {args.run_findings:,} findings recorded in "
                f"{time.perf_counter() - start:.1f} s)",
                flush=True,
            )
            store = session.store
            assert store is not None
            page: list[str] = []
            _timed(
                f"trends over {args.runs} runs: computed and rendered",
                lambda: page.append(render_trends(trends(store, SCOPE, runs=args.runs), "bench")),
            )
            print(f"(trends page: {len(page[0]) / 1e6:.2f} MB)")
        finally:
            session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
