"""Run the probes that apply to a scan's hosts (see the package docstring:
redaction and time budgets)."""

from __future__ import annotations

import base64
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from scanner.model import Host, Observation, ProbeError, Service
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import DEFAULTS
from scanner.probes.evidence import Redactor

# Probes of different services run side by side: each waits on the network.
PROBE_WORKERS = 8
# How long past its time budget a probe may take to wrap up (its own bounds
# stop it at the budget; the last connect may still be under way) before the
# runner gives up on it: this plus the per-operation timeout.
GRACE = 2.0
MESSAGE_CHARS = 300  # of a probe's exception message, in its ProbeError
STOPPED = "stopped at the time budget"


def _redactor(spec: ProbeSpec, host: Host, service: Service, context: ProbeContext) -> Redactor:
    """The passwords this probe may have sent to this service, ready to be
    blanked: the user's credentials that apply (a store probe's name is its
    store's), their Basic tokens, and the vendor defaults when tried."""
    own = context.credentials_for(spec.name, host.address, service.port)
    tokens = [
        base64.b64encode(f"{c.username}:{c.password}".encode()).decode() for c in own if c.password
    ]
    # A default whose password is its user name (postgres, root, admin) is
    # named in the evidence on purpose; the others are public, but an echo
    # of one is not repeated either.
    public = [
        c.password
        for c in DEFAULTS
        if context.try_default_credentials and c.store == spec.name and c.password != c.username
    ]
    return Redactor.of((c.password for c in own), public, tokens)


def _scrubbed(found: Observation, hide: Redactor) -> Observation:
    # host, probe and key are ours (the address scanned, our vocabulary).
    return replace(found, value=hide.value(found.value), evidence=hide(found.evidence))


def _attempt(
    spec: ProbeSpec, host: Host, service: Service, context: ProbeContext
) -> tuple[tuple[Observation, ...], ProbeError | None]:
    hide = _redactor(spec, host, service, context)
    try:
        found = tuple(spec.run(host, service, context))
    except Exception as exc:  # a probe bug must not stop the scan: record it
        # Only the exception's type and first line: a driver's message may
        # quote what the target sent, so it is bounded like everything else,
        # after the blanking, so that no cut leaves part of a password behind.
        first = (str(exc)[: MESSAGE_CHARS * 8].splitlines() or [""])[0]
        return (), _error(spec, host, service, hide.value(type(exc).__name__), hide(first))
    return tuple(_scrubbed(o, hide) for o in found), None


def _error(spec: ProbeSpec, host: Host, service: Service, reason: str, message: str) -> ProbeError:
    return ProbeError(
        stage=f"probe:{spec.name}",
        target=host.address,
        port=service.port,
        reason=reason,
        message=message[:MESSAGE_CHARS] or reason,
    )


Outcome = tuple[tuple[Observation, ...], ProbeError | None]


@dataclass
class _Run:
    """One probe of one service, on a daemon thread of its own: a probe stuck
    past its budget is left behind, and a daemon thread is not waited for
    when the process exits (a ThreadPoolExecutor's workers would be)."""

    index: int
    spec: ProbeSpec
    host: Host
    service: Service
    context: ProbeContext
    finished: queue.SimpleQueue[_Run]
    outcome: Outcome | None = None
    ends: float = 0.0  # when the runner stops waiting, on the monotonic clock
    thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        ceiling = self.context.time_budget + self.context.timeout + GRACE
        self.ends = time.monotonic() + ceiling
        name = f"probe {self.spec.name} {self.host.address}:{self.service.port}"
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            self.outcome = _attempt(self.spec, self.host, self.service, self.context)
        finally:
            self.finished.put(self)

    def stopped(self) -> Outcome:
        budget = f"{STOPPED} ({self.context.time_budget:g}s): the probe did not return"
        return (), _error(self.spec, self.host, self.service, "TimeBudget", budget)


def run_probes(
    hosts: Iterable[Host],
    context: ProbeContext,
    registry: Mapping[str, ProbeSpec] | None = None,
) -> tuple[tuple[Observation, ...], tuple[ProbeError, ...]]:
    """Run every applicable probe (of `registry`, default every probe), at
    most PROBE_WORKERS at a time, none for longer than its time budget (and
    GRACE); results keep the hosts' and services' order."""
    if registry is None:
        from scanner.probes.registry import REGISTRY

        registry = REGISTRY
    finished: queue.SimpleQueue[_Run] = queue.SimpleQueue()
    tasks = [
        (spec, host, service)
        for host in hosts
        for service in host.services
        for spec in registry.values()
        if spec.applies(service)
    ]
    waiting = deque(
        _Run(index, spec, host, service, context, finished)
        for index, (spec, host, service) in enumerate(tasks)
    )
    outcomes: dict[int, Outcome] = {}
    running: dict[int, _Run] = {}
    while waiting or running:
        while waiting and len(running) < PROBE_WORKERS:
            run = waiting.popleft()
            running[run.index] = run
            run.start()
        wait = min(r.ends for r in running.values()) - time.monotonic()
        try:
            done = finished.get(timeout=max(0.0, wait))
        except queue.Empty:
            done = None
        if done is not None and done.index in running and done.outcome is not None:
            outcomes[done.index] = done.outcome
            del running[done.index]
        now = time.monotonic()
        for late in [r for r in running.values() if r.ends <= now]:
            # Its slot is given to the next probe; the thread is left to end on its own.
            outcomes[late.index] = late.stopped()
            del running[late.index]
    ordered = [outcomes[i] for i in sorted(outcomes)]
    observations = tuple(o for found, _ in ordered for o in found)
    errors = tuple(error for _, error in ordered if error is not None)
    return observations, errors
