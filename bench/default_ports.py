"""What the default ports cost: trustscan's old default (nmap's 1,000 most
common TCP ports) against the new one (those and the data-store and
administration ports of rules/ports.yaml), on the same loopback hosts,
alternating, in one run.

The hosts are the demo lab on its own loopback block (Apache and OpenSSH
look-alikes, an open Redis and an open PostgreSQL where installed), an open
Memcached beside them, and a few addresses where nothing listens. Each round
times, in both orders: `trustscan scan` with the old default (given as `-p`,
the list nmap itself makes) and with the new one (no option), and plain
`nmap -sV` with each list, which separates what discovery costs from what
the probes of the newly found stores cost.

    python -m bench.default_ports [--rounds 3] [--prefix 127.0.70] [--empty 4]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fixtures.lab.servers import LabTarget, load_targets, running_lab
from scanner.discovery.nmap_runs import DiscoveryOptions, with_ports
from scanner.discovery.ports import compact, listed_by_nmap, parse_ports

MEMCACHED = LabTarget(
    name="open-memcached",
    description="Memcached from Debian's package, no authentication, fake customers cached",
    octet=17,
    port=11211,
    kind="memcached",
)
EMPTY_FIRST_OCTET = 200  # the empty addresses: <prefix>.200 onwards


@dataclass(frozen=True)
class Run:
    seconds: float
    services: int  # open services in the result (trustscan runs only)
    findings: int


def _loopback_prefix(prefix: str) -> str:
    """Only loopback: the benchmark scans whatever the prefix names."""
    try:
        address = ipaddress.ip_address(f"{prefix}.1")
    except ValueError:
        raise SystemExit(f"--prefix {prefix!r}: give three octets, e.g. 127.0.70") from None
    if not address.is_loopback:
        raise SystemExit(f"--prefix {prefix!r}: the benchmark scans loopback (127.x.y) only")
    return prefix


def _trustscan(targets: list[str], ports: list[str], out: Path) -> Run:
    command = [sys.executable, "-m", "scanner", "scan", *targets, *ports, "-q"]
    command += ["--json", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    result = json.loads(out.read_text(encoding="utf-8"))
    services = sum(
        1 for h in result["hosts"] for s in h["services"] if s.get("state", "open") == "open"
    )
    return Run(seconds, services, len(result["findings"]))


def _nmap(nmap: str, targets: list[str], ports: str) -> Run:
    command = [nmap, "-sV", "--reason", "-p", ports, *targets, "-oX", "-"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return Run(time.perf_counter() - start, 0, 0)


def _median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="127.0.70", help="loopback block for the hosts")
    parser.add_argument("--empty", type=int, default=4, help="addresses where nothing listens")
    args = parser.parse_args(argv)
    prefix = _loopback_prefix(args.prefix)
    if not 0 <= args.empty <= 50 or args.rounds < 1:
        parser.error("--empty must be 0-50 and --rounds at least 1")
    nmap = shutil.which("nmap")
    if nmap is None:
        parser.error("nmap is not installed")
    old_ports = compact(listed_by_nmap(nmap))
    new_ports = str(with_ports(DiscoveryOptions())[0].ports)
    added = len(parse_ports(new_ports, "-p")) - len(parse_ports(old_ports, "-p"))
    with (
        running_lab(prefix, [*load_targets(), MEMCACHED]) as lab,
        tempfile.TemporaryDirectory() as tmp,
    ):
        up = sorted([*lab.running, *lab.stores], key=lambda r: r.target.octet)
        for name, why in lab.skipped.items():
            print(f"skipped {name}: {why}", flush=True)
        targets = [r.address for r in up]
        targets += [f"{prefix}.{EMPTY_FIRST_OCTET + i}" for i in range(args.empty)]
        listening = ", ".join(f"{r.target.name} {r.address}:{r.port}" for r in up)
        print(f"hosts: {len(targets)} ({listening}; {args.empty} empty)", flush=True)
        print(f"ports: old {old_ports.count(',') + 1} items, new adds {added} ports", flush=True)
        runs: dict[str, list[Run]] = {
            "trustscan old": [],
            "trustscan new": [],
            "nmap -sV old": [],
            "nmap -sV new": [],
        }
        for round_no in range(1, args.rounds + 1):
            steps: list[tuple[str, Callable[[], Run]]] = [
                (
                    "trustscan old",
                    lambda: _trustscan(targets, ["-p", old_ports], Path(tmp) / "o.json"),
                ),
                ("trustscan new", lambda: _trustscan(targets, [], Path(tmp) / "n.json")),
                ("nmap -sV old", lambda: _nmap(nmap, targets, old_ports)),
                ("nmap -sV new", lambda: _nmap(nmap, targets, new_ports)),
            ]
            if round_no % 2 == 0:  # alternate who goes first: warm caches favour neither
                steps = [steps[1], steps[0], steps[3], steps[2]]
            for name, step in steps:
                run = step()
                runs[name].append(run)
                found = (
                    f"  {run.services} services, {run.findings} findings" if run.services else ""
                )
                print(f"round {round_no}: {name:<14} {run.seconds:7.2f}s{found}", flush=True)
    for kind in ("trustscan", "nmap -sV"):
        old, new = _median(runs[f"{kind} old"]), _median(runs[f"{kind} new"])
        print(
            f"median {kind:<9}  old default {old:6.2f}s  new default {new:6.2f}s  "
            f"cost {new - old:+6.2f}s ({(new / old - 1) * 100:+.0f}%)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
