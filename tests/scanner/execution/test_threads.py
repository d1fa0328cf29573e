"""The threads executor streams: a batch's probes run as soon as its nmap is
done, in its own thread, while the next batches' nmap runs go on; they do
not wait for every batch to finish. Real nmap on loopback, one port."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from scanner.discovery import nmap_runs
from scanner.discovery.nmap_runs import BatchOutcome, DiscoveryOptions
from scanner.execution import threads
from scanner.model import Target, TargetKind
from scanner.probes.context import ProbeContext
from tests.support import requires_nmap

pytestmark = requires_nmap


def _targets(*addresses: str) -> list[Target]:
    return [Target(a, TargetKind.ADDRESS, "test") for a in addresses]


def test_each_batch_is_probed_before_the_next_nmap_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events: list[str] = []
    lock = threading.Lock()
    real_batch = nmap_runs.run_batch
    real_probed = threads.probed  # type: ignore[attr-defined]

    def logged_batch(batch: tuple[Target, ...], *args: object) -> BatchOutcome | None:
        with lock:
            events.append(f"nmap {batch[0].value}")
        return real_batch(batch, *args)  # type: ignore[arg-type]

    def logged_probed(outcome: BatchOutcome, context: ProbeContext) -> BatchOutcome:
        with lock:
            events.append(f"probes {outcome.targets[0].value}")
        return real_probed(outcome, context)

    monkeypatch.setattr(nmap_runs, "run_batch", logged_batch)
    monkeypatch.setattr(threads, "probed", logged_probed)
    options = DiscoveryOptions(ports="9", batch_size=1, parallel=1, assume_up=True)
    found = threads.run_threads(
        _targets("127.0.0.1", "127.0.0.2", "127.0.0.3"), options, ProbeContext()
    )
    assert [h.address for h in found.hosts] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    # One nmap at a time: each batch's probes come before the next batch's nmap.
    assert events == [
        "nmap 127.0.0.1",
        "probes 127.0.0.1",
        "nmap 127.0.0.2",
        "probes 127.0.0.2",
        "nmap 127.0.0.3",
        "probes 127.0.0.3",
    ]
