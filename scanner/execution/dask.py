"""The executor on a Dask cluster: each batch (nmap and its probes) is one
task, sent to a worker that offers the batch's site (`--site`), and its
outcome streams back as it finishes (`as_completed`) into the checkpoint.

With no `--scheduler`, a `LocalCluster` of `local_workers` worker processes
starts for the scan and stops with it. A worker that dies under a batch:
the scheduler runs the batch again on another worker, and the outcome says
how many attempts it took (counted in the scheduler's metadata, which
outlives the worker). A batch whose site no worker offers is not covered,
and said. A scheduler that goes away stops the scan (`ScanFailed`): the
batches that finished are already in the checkpoint for `--resume`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from scanner.discovery.nmap_process import one_line
from scanner.discovery.nmap_runs import (
    BatchOutcome,
    Discovery,
    DiscoveryObserver,
    DiscoveryOptions,
    assemble,
    batch_label,
    plan_batches,
)
from scanner.execution.options import ExecutionOptions
from scanner.execution.work import BatchWork, run_work
from scanner.model import ProbeError, Target
from scanner.probes.context import ProbeContext
from scanner.support.errors import ScanFailed

CONNECT_SECONDS = 30  # how long a named scheduler is waited for
POLL_SECONDS = 2.0  # how often the link to the scheduler is looked at
LOST_SECONDS = 20.0  # how long the link may be down before the scan stops


def run_on_worker(work: BatchWork, scan: str) -> BatchOutcome:
    """The task a worker runs: the batch, and how many times it was started
    (a worker lost under it leaves its attempt counted in the scheduler)."""
    import distributed

    dist: Any = distributed  # untyped
    client = dist.get_client()
    key = ["trustscan", scan, str(work.index)]
    attempt = int(client.get_metadata(key, default=0)) + 1
    client.set_metadata(key, attempt)
    outcome = run_work(work)
    return replace(outcome, attempts=attempt, worker=dist.get_worker().address)


@contextmanager
def _client(execution: ExecutionOptions, threads: int) -> Iterator[Any]:
    import distributed

    dist: Any = distributed  # untyped

    if execution.scheduler is not None:
        try:
            client = dist.Client(execution.scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ScanFailed(
                f"cannot reach the Dask scheduler at {execution.scheduler}: {exc}"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = dist.LocalCluster(
        n_workers=execution.local_workers,
        threads_per_worker=threads,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = dist.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _site_name(execution: ExecutionOptions, batch: Sequence[Target]) -> str:
    site = execution.site_of(batch[0].value)  # a batch never spans two sites
    return site.name if site is not None else ""


def _offered(client: Any) -> set[str]:
    """The resources the cluster's workers offer (`site-dmz`)."""
    workers = client.scheduler_info().get("workers", {})
    return {name for worker in workers.values() for name in worker.get("resources", {})}


def run_dask(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    probes: ProbeContext,
    execution: ExecutionOptions,
    observers: Sequence[DiscoveryObserver] = (),
    completed: Sequence[BatchOutcome] = (),
) -> Discovery:

    by_site: dict[str, list[Target]] = {}
    for target in targets:
        by_site.setdefault(_site_name(execution, [target]), []).append(target)
    groups = list(by_site.values())
    plan = plan_batches(targets, options, completed, groups)
    site_of_batch = [_site_name(execution, batch) for batch in plan.batches]
    done = plan.done
    for observer in observers:
        observer.batch_done(None, done, plan.total)
    finished: list[tuple[int, BatchOutcome]] = []

    def record(index: int, outcome: BatchOutcome) -> None:
        nonlocal done
        finished.append((index, outcome))
        done += len(outcome.targets)
        for observer in observers:
            observer.batch_done(outcome, done, plan.total)

    scan = uuid.uuid4().hex
    threads = max(1, options.parallel // max(1, execution.local_workers))
    with _client(execution, threads) as client:
        offered = _offered(client)
        futures: dict[Any, int] = {}
        for index, batch in enumerate(plan.batches):
            site = site_of_batch[index]
            if site and f"site-{site}" not in offered:
                label = batch_label(batch, index)
                error = ProbeError(
                    "discovery",
                    label,
                    "no-worker",
                    f"no Dask worker offers site {site} (resource site-{site}): "
                    f"{len(batch)} target(s) not scanned",
                )
                record(index, BatchOutcome(batch, None, error, label=label))
                continue
            work = BatchWork(index, batch, plan.options, probes, site)
            future = client.submit(
                run_on_worker,
                work,
                scan,
                key=f"trustscan-{scan}-batch-{index}",
                pure=False,
                resources={f"site-{site}": 1} if site else None,
            )
            futures[future] = index
        try:
            for future in _as_finished(client, futures, execution):
                index = futures[future]
                record(index, _outcome(future, plan.batches[index], index, execution))
        except BaseException:
            client.cancel(list(futures))
            raise
    ordered = [o for _, o in sorted(finished, key=lambda item: item[0])]
    return assemble([*completed, *ordered])


def _as_finished(
    client: Any, futures: dict[Any, int], execution: ExecutionOptions
) -> Iterator[Any]:
    """The futures as they finish, watching the link to the scheduler: a
    client that lost it retries quietly and its futures may never finish, so
    a link down for LOST_SECONDS stops the scan."""
    import distributed

    wait: Any = distributed.wait  # untyped
    pending = set(futures)
    down_since: float | None = None
    cancelled: Any = distributed.client.FuturesCancelledError
    while pending:
        try:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except (cancelled, OSError) as exc:  # the client gave the link up
            raise ScanFailed(_lost(execution, len(pending), exc)) from None
        yield from done
        if client.status == "running":
            down_since = None
            continue
        down_since = down_since if down_since is not None else time.monotonic()
        if client.status in ("closed", "closing", "failed") or (
            time.monotonic() - down_since > LOST_SECONDS
        ):
            raise ScanFailed(_lost(execution, len(pending), None))


def _lost(execution: ExecutionOptions, unfinished: int, exc: BaseException | None) -> str:
    where = execution.scheduler or "the local Dask cluster"
    why = (
        f" ({one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)})"
        if exc
        else ""
    )
    return (
        f"lost the Dask scheduler at {where}{why}: {unfinished} batch(es) unfinished; the "
        "batches that finished are saved beside --json: run the same command with --resume "
        "once the scheduler is back"
    )


def _outcome(
    future: Any, batch: tuple[Target, ...], index: int, execution: ExecutionOptions
) -> BatchOutcome:
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    label = batch_label(batch, index)
    try:
        outcome: BatchOutcome = future.result()
    except KilledWorker as exc:
        error = ProbeError(
            "discovery", label, "worker-lost", f"every worker that ran it died ({exc})"
        )
        return BatchOutcome(batch, None, error, label=label)
    except (FutureCancelledError, OSError, TimeoutError) as exc:
        raise ScanFailed(_lost(execution, 1, exc)) from None
    return outcome
