"""The optional ACK-scan pass (`--firewall-probe ack`): nmap -sA on the hosts found.

An ACK probe is answered with a reset whether or not a port is open, unless
something filters it, so nmap can say per port "unfiltered" or "filtered"
without a service behind it. It sends raw packets, so it needs root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from scanner.discovery.nmap_process import (
    NmapProcesses,
    nmap_binary,
    nmap_pool,
    run_nmap,
    scratch_dir,
)
from scanner.discovery.nmap_runs import (
    DiscoveryOptions,
    batch_label,
    is_ipv6,
    make_batches,
    nmap_command,
    read_report,
    with_ports,
)
from scanner.model import Host, ProbeError, Target, TargetKind
from scanner.support.errors import InputError

NEEDS_ROOT = (
    "--firewall-probe ack needs root: nmap's ACK scan sends raw packets "
    "(run trustscan with sudo, or leave the option out)"
)


class FirewallProbe(str, Enum):
    NONE = "none"
    ACK = "ack"  # a second nmap pass, -sA, on the ports discovery probed


@dataclass(frozen=True)
class AckPass:
    hosts: dict[str, Host]  # address -> the host as the ACK scan saw it
    commands: tuple[str, ...]
    errors: tuple[ProbeError, ...]


def check_allowed() -> None:
    if os.geteuid() != 0:
        raise InputError(NEEDS_ROOT)


# The user's nmap options that also make sense for the ACK pass: timing and
# where packets go out; anything else (-sU, --script) belongs to discovery.
_CARRIED = (
    "-T",
    "--max-retries",
    "--host-timeout",
    "--min-rate",
    "--max-rate",
    "--initial-rtt-timeout",
    "--min-rtt-timeout",
    "--max-rtt-timeout",
    "--scan-delay",
    "--max-scan-delay",
    "-e",
    "-S",
)


def carried_options(extra_args: Sequence[str]) -> list[str]:
    """Timing and interface options of `extra_args`, with their values."""
    carried: list[str] = []
    take_next = False
    for arg in extra_args:
        if take_next:
            carried.append(arg)
            take_next = False
            continue
        name = arg.split("=", 1)[0]
        if name in _CARRIED or (arg.startswith("-T") and arg[2:].isdigit()):
            carried.append(arg)
            take_next = "=" not in arg and name in _CARRIED and name != "-T"
    return carried


def ack_arguments(options: DiscoveryOptions, ipv6: bool) -> list[str]:
    # -Pn: discovery already found these hosts up; --reason keeps the evidence.
    args = ["-sA", "-Pn", "-n", "--reason"] + (["-6"] if ipv6 else [])
    return args + carried_options(options.extra_args)


def _run(
    batch: tuple[Target, ...], options: DiscoveryOptions, binary: str, processes: NmapProcesses
) -> tuple[list[Host], str, ProbeError | None]:
    label = f"ACK scan of {batch_label(batch)}"
    arguments = nmap_command(ack_arguments(options, is_ipv6(batch[0])), options.ports, batch)
    with scratch_dir() as work:
        ended = run_nmap(binary, arguments, Path(work), options.batch_timeout or None, processes)
        if ended.cancelled:
            return [], "", None
        report, reason, message = read_report(ended, label, options.batch_timeout)
    if report is None:
        return [], "", ProbeError("firewall:ack", label, reason, f"{label}: {message}")
    return list(report.hosts), report.args, None


def ack_scan(hosts: Sequence[Host], options: DiscoveryOptions) -> AckPass:
    """ACK-scan the same ports discovery probed, on the hosts it found up."""
    targets = [Target(h.address, TargetKind.ADDRESS, "discovery") for h in hosts]
    if not targets:
        return AckPass({}, (), ())
    binary = nmap_binary(options.nmap_path)
    # The options discovery ran with already name their ports: then this is a no-op.
    options, _ = with_ports(options)
    batches = make_batches(targets, options)
    found: dict[str, Host] = {}
    commands: list[str] = []
    errors: list[ProbeError] = []
    with nmap_pool(min(options.parallel, len(batches))) as (pool, processes):
        runs = pool.map(lambda b: _run(b, options, binary, processes), batches)
        for seen, command, error in runs:
            found.update((h.address, h) for h in seen)
            if command:
                commands.append(command)
            if error is not None:
                errors.append(error)
    return AckPass(found, tuple(commands), tuple(errors))
