"""How a scan's batches are run: `--executor`, `--scheduler`, `--site`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum

from scanner.support.errors import InputError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Executor(str, Enum):
    THREADS = "threads"  # this machine: nmap processes and probe threads
    DASK = "dask"  # a Dask cluster, or a LocalCluster started for the scan


@dataclass(frozen=True)
class Site:
    """A block of targets only some workers can reach: its batches run on
    workers that offer the resource `site-NAME`."""

    network: Network
    name: str

    @property
    def resource(self) -> str:
        return f"site-{self.name}"


@dataclass(frozen=True)
class ExecutionOptions:
    executor: Executor = Executor.THREADS
    scheduler: str | None = None  # tcp://HOST:8786; None with dask: a LocalCluster
    sites: tuple[Site, ...] = ()
    local_workers: int = 2  # workers of the LocalCluster

    def site_of(self, address: str) -> Site | None:
        """The most specific site whose block holds the address."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        holding = [s for s in self.sites if ip.version == s.network.version and ip in s.network]
        return max(holding, key=lambda s: s.network.prefixlen, default=None)


_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def parse_site(value: str) -> Site:
    """`10.1.0.0/16=dmz`."""
    block, sep, name = value.partition("=")
    name = name.strip().lower()
    if not sep or not name or not set(name) <= _NAME_CHARS or len(name) > 40:
        raise InputError(
            f"--site {value[:60]!r}: give BLOCK=NAME, as 10.1.0.0/16=dmz "
            "(a name of letters, digits, - and _)"
        )
    try:
        network = ipaddress.ip_network(block.strip(), strict=False)
    except ValueError:
        raise InputError(
            f"--site {value[:60]!r}: {block.strip()[:40]!r} is not a CIDR block"
        ) from None
    return Site(network, name)


def execution_options(
    executor: str, scheduler: str | None, sites: tuple[str, ...]
) -> ExecutionOptions:
    chosen = Executor(executor)
    parsed = tuple(parse_site(s) for s in sites)
    if chosen is Executor.THREADS and (scheduler or parsed):
        option = "--scheduler" if scheduler else "--site"
        raise InputError(f"{option} is for --executor dask")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InputError(
            f"--scheduler {scheduler[:60]}: give the scheduler's address, as tcp://HOST:8786"
        )
    return ExecutionOptions(chosen, scheduler, parsed)
