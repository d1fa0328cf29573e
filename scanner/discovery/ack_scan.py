"""The optional ACK-scan pass (`--firewall-probe ack`): nmap -sA on the hosts found.

An ACK probe is answered with a reset whether or not a port is open, unless
something filters it, so nmap can say per port "unfiltered" or "filtered"
without a service behind it. It sends raw packets, so it needs root.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

import nmap

from scanner.discovery.nmap_runs import (
    DiscoveryOptions,
    is_ipv6,
    make_batches,
    message_of,
    one_line,
    scanner_for,
)
from scanner.discovery.nmap_xml import NmapXmlError, parse_bytes
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


def ack_arguments(options: DiscoveryOptions, ipv6: bool) -> str:
    # -Pn: discovery already found these hosts up; --reason keeps the evidence.
    args = ["-sA", "-Pn", "-n", "--reason"] + (["-6"] if ipv6 else [])
    return " ".join(shlex.quote(a) for a in args + carried_options(options.extra_args))


def _run(
    batch: tuple[Target, ...], options: DiscoveryOptions
) -> tuple[list[Host], str, ProbeError | None]:
    ipv6 = is_ipv6(batch[0])
    scanner = scanner_for(options)
    label = f"ACK scan of {batch[0].value}" + (f" .. {batch[-1].value}" if len(batch) > 1 else "")
    try:
        scanner.scan(
            hosts=" ".join(shlex.quote(t.value) for t in batch),
            ports=options.ports,
            arguments=ack_arguments(options, ipv6),
            timeout=int(options.batch_timeout) if options.batch_timeout else 0,
        )
        output = scanner.get_nmap_last_output()
        report = parse_bytes(output.encode() if isinstance(output, str) else output, label)
    except nmap.PortScannerTimeout:
        reason, text = "timeout", f"did not finish within {options.batch_timeout:g}s"
    except nmap.PortScannerError as exc:
        reason, text = "nmap-error", one_line(message_of(exc))
    except NmapXmlError as exc:
        reason, text = "bad-xml", str(exc)
    else:
        if report.error:
            return [], report.args, ProbeError("firewall:ack", label, "nmap-error", report.error)
        return list(report.hosts), report.args, None
    return [], "", ProbeError("firewall:ack", label, reason, f"nmap {label}: {text}")


def ack_scan(hosts: Sequence[Host], options: DiscoveryOptions) -> AckPass:
    """ACK-scan the same ports discovery probed, on the hosts it found up."""
    targets = [Target(h.address, TargetKind.ADDRESS, "discovery") for h in hosts]
    if not targets:
        return AckPass({}, (), ())
    batches = make_batches(targets, options)
    found: dict[str, Host] = {}
    commands: list[str] = []
    errors: list[ProbeError] = []
    with ThreadPoolExecutor(max_workers=max(1, min(options.parallel, len(batches)))) as pool:
        for seen, command, error in pool.map(lambda b: _run(b, options), batches):
            found.update((h.address, h) for h in seen)
            if command:
                commands.append(command)
            if error is not None:
                errors.append(error)
    return AckPass(found, tuple(commands), tuple(errors))
