"""Time `trustscan scan` against plain `nmap -sV` on N demo HTTP targets.

Both run in the same process tree against the same targets and ports,
alternating, so machine noise hits both. Prints each run, the medians and the
ratio; the goal is trustscan within 1.25x of plain nmap.

    python -m bench.scan_vs_nmap [-n 32] [--rounds 3] [--prefix 127.0.20]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.lab.servers import load_targets, running_lab

GOAL = 1.25


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--targets", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="127.0.20", help="loopback block for the targets")
    parser.add_argument("--ports", default="80", help="ports for both tools")
    args = parser.parse_args(argv)
    if not 1 <= args.targets <= 250:
        parser.error("-n must be between 1 and 250")
    template = load_targets()[0]  # the CentOS 6 Apache
    targets = [
        dataclasses.replace(template, name=f"bench-{i}", octet=i)
        for i in range(1, args.targets + 1)
    ]
    spec = f"{args.prefix}.1-{args.targets}"
    with running_lab(args.prefix, targets) as lab, tempfile.TemporaryDirectory() as tmp:
        ports = ",".join(sorted({str(r.port) for r in lab.running}))
        if args.ports != "80":
            ports = args.ports
        trustscan = [
            sys.executable,
            "-m",
            "scanner",
            "scan",
            spec,
            "-p",
            ports,
            "-q",
            "--json",
            str(Path(tmp) / "result.json"),
        ]
        nmap = ["nmap", "-sV", "-p", ports, spec, "-oX", "-"]
        times: dict[str, list[float]] = {"trustscan": [], "nmap": []}
        for round_no in range(1, args.rounds + 1):
            # Alternate who goes first so warm caches favour neither.
            order = [("nmap", nmap), ("trustscan", trustscan)]
            if round_no % 2 == 0:
                order.reverse()
            for name, command in order:
                seconds = _timed(command)
                times[name].append(seconds)
                print(f"round {round_no}: {name:<9} {seconds:7.2f}s", flush=True)
    med_t = statistics.median(times["trustscan"])
    med_n = statistics.median(times["nmap"])
    ratio = med_t / med_n
    print(f"targets: {args.targets} on {spec} port(s) {ports}; rounds: {args.rounds}")
    print(
        f"median  trustscan {med_t:.2f}s  nmap -sV {med_n:.2f}s  ratio {ratio:.3f} (goal <= {GOAL})"
    )
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
