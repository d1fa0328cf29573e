"""Time `trustscan scan --executor threads` against `--executor dask` (a
LocalCluster of 2 worker processes) on 1,024 loopback targets.

The targets are a /22 of loopback addresses (default 127.0.100.0/22): every
8th address an HTTP look-alike of the demo lab (the four Apache banners of
`fixtures/lab/targets.yaml` in turn, on 80 or 8080), every 64th an OpenSSH
look-alike on 22; every other address answers with closed ports (all of
127.0.0.0/8 is this machine). Both executors scan the same ports with the
same `--parallel` and `--batch-size`, alternating (threads, dask, threads,
...), each run a fresh `python -m scanner scan ... --no-history` process.

Memory, per run:

- `wait4`: the kernel's peak RSS of the scan process as wait4 returns it,
  which is the larger of the process's own peak and the peaks of the
  children it waited for (nmap, the LocalCluster's workers). A maximum,
  not a sum.
- `tree`: the peak of the whole process tree's summed RSS and PSS, read
  from /proc every `--sample` seconds (the scan process, its nmap children,
  Dask's worker processes and their nmap children). PSS shares shared pages
  out between the processes that map them; RSS counts them in each.
- `main`: the scan process's own high-water mark (VmHWM), last read before
  it exited.

The scans run from the tree of `--rev` (default `WORKTREE`, the checkout
as it is; any other revision in a temporary git worktree, as
`bench.large_result` does).

    python -m bench.executors [--block 127.0.100.0/22] [--rounds 3] [--parallel 4] [--rev REV]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.large_result import WORKTREE, checkout
from fixtures.lab.servers import Lab, LabTarget, load_targets, start

GOAL_OVERHEAD = 10.0  # percent: Dask within 10% of threads on one machine
EXECUTORS = ("threads", "dask")
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


# --- the targets -----------------------------------------------------------


def lab_targets(
    block: ipaddress.IPv4Network, http_every: int, ssh_every: int
) -> dict[str, list[LabTarget]]:
    """The look-alikes of the block, by /24 prefix ("127.0.100"): an HTTP
    server on every `http_every`th address (the lab's Apache banners in
    turn), an SSH server on every `ssh_every`th (offset so they never share
    an address with an HTTP one)."""
    templates = load_targets()
    http = [t for t in templates if t.kind == "http"]
    ssh = next(t for t in templates if t.kind == "ssh")
    chosen: dict[str, list[LabTarget]] = {}
    for i, address in enumerate(block):
        prefix, octet = str(address).rsplit(".", 1)
        if i % http_every == 1:
            template = http[(i // http_every) % len(http)]
        elif ssh_every and i % ssh_every == 5:
            template = ssh
        else:
            continue
        name = f"bench-{str(address).replace('.', '-')}"
        chosen.setdefault(prefix, []).append(
            dataclasses.replace(template, name=name, octet=int(octet))
        )
    return chosen


@contextlib.contextmanager
def running_labs(by_prefix: dict[str, list[LabTarget]], per_lab: int = 8) -> Iterator[list[Lab]]:
    """The look-alikes, `per_lab` servers a lab. Stopping a server waits up to
    half a second for its loop, so the labs stop side by side (144 servers
    stopped one by one took over a minute)."""
    labs: list[Lab] = []
    try:
        for prefix, targets in by_prefix.items():
            for i in range(0, len(targets), per_lab):
                labs.append(start(prefix, targets[i : i + per_lab]))
        yield labs
    finally:
        with ThreadPoolExecutor(max_workers=max(1, len(labs))) as pool:
            list(pool.map(Lab.stop, labs))


# --- memory of a process tree ------------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                kids.extend(int(k) for k in text.split())
    return kids


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(_children(current))
    return seen


def _kib(path: str, *names: str) -> dict[str, int]:
    """`Name:   123 kB` lines of a /proc file, in KiB."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in names:
                found[key] = int(rest.split()[0])
    return found


@dataclass
class TreeSampler:
    """Samples a process tree's summed RSS and PSS until stopped."""

    pid: int
    interval: float
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    main_hwm_kib: int = 0
    most_processes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pids = _tree(self.pid)
        rss = pss = 0
        for pid in pids:
            rss += _kib(f"/proc/{pid}/status", "VmRSS").get("VmRSS", 0)
            pss += _kib(f"/proc/{pid}/smaps_rollup", "Pss").get("Pss", 0)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.most_processes = max(self.most_processes, len(pids))
        hwm = _kib(f"/proc/{self.pid}/status", "VmHWM").get("VmHWM", 0)
        self.main_hwm_kib = max(self.main_hwm_kib, hwm)


# --- one run -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    executor: str
    wall_s: float
    wait4_mib: float
    tree_rss_mib: float
    tree_pss_mib: float
    main_mib: float
    processes: int
    hosts: int
    services: int
    findings: int

    def rate(self, targets: int) -> float:
        return targets / self.wall_s


def scan_command(
    spec: str,
    executor: str,
    ports: str,
    parallel: int,
    batch_size: int,
    out: Path,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scanner",
        "scan",
        spec,
        "-p",
        ports,
        "--executor",
        executor,
        "--parallel",
        str(parallel),
        "--batch-size",
        str(batch_size),
        "--no-history",
        "-q",
        "--json",
        str(out),
        *extra,
    ]


def _counts(result: Path) -> tuple[int, int, int]:
    data = json.loads(result.read_text())
    hosts = data.get("hosts", [])
    services = sum(
        1 for h in hosts for s in h.get("services", []) if s.get("state", "open") == "open"
    )
    return len(hosts), services, len(data.get("findings", []))


def measure(
    command: Sequence[str],
    executor: str,
    out: Path,
    interval: float,
    tree: Path,
    env: dict[str, str],
) -> Run:
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sampler = TreeSampler(process.pid, interval)
    sampler.start()
    # stderr is read on its own thread so a chatty run cannot block on a full pipe.
    err: list[bytes] = []
    reader = threading.Thread(
        target=lambda: err.append(process.stderr.read() if process.stderr else b""), daemon=True
    )
    reader.start()
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    finally:
        sampler.stop()
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if process.returncode not in (0, 1):  # 1: findings at or above the gate
        raise SystemExit(
            f"{executor} scan exited {process.returncode}: {b''.join(err).decode()[-2000:]}"
        )
    hosts, services, findings = _counts(out)
    return Run(
        executor=executor,
        wall_s=wall,
        wait4_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        tree_rss_mib=sampler.peak_rss_kib / 1024,
        tree_pss_mib=sampler.peak_pss_kib / 1024,
        main_mib=sampler.main_hwm_kib / 1024,
        processes=sampler.most_processes,
        hosts=hosts,
        services=services,
        findings=findings,
    )


# --- the report -------------------------------------------------------------------


def _median(runs: Sequence[Run], name: str) -> float:
    return float(statistics.median(float(getattr(r, name)) for r in runs))


def table(runs: Sequence[Run], targets: int) -> list[str]:
    lines = [
        f"{'executor':<9} {'wall s':>8} {'hosts/s':>8} {'wait4 MiB':>10} {'main MiB':>9} "
        f"{'tree RSS':>9} {'tree PSS':>9} {'procs':>6} {'hosts':>6} {'svcs':>5} {'finds':>6}",
    ]
    medians: dict[str, float] = {}
    for executor in EXECUTORS:
        mine = [r for r in runs if r.executor == executor]
        if not mine:
            continue
        wall = _median(mine, "wall_s")
        medians[executor] = wall
        lines.append(
            f"{executor:<9} {wall:8.2f} {targets / wall:8.1f} {_median(mine, 'wait4_mib'):10.0f} "
            f"{_median(mine, 'main_mib'):9.0f} {_median(mine, 'tree_rss_mib'):9.0f} "
            f"{_median(mine, 'tree_pss_mib'):9.0f} {max(r.processes for r in mine):6d} "
            f"{mine[0].hosts:6d} {mine[0].services:5d} {mine[0].findings:6d}"
        )
    if len(medians) == 2:
        overhead = (medians["dask"] / medians["threads"] - 1) * 100
        verdict = "met" if overhead <= GOAL_OVERHEAD else "missed"
        lines.append(
            f"dask overhead: {overhead:+.1f}% of threads' wall time "
            f"(goal <= {GOAL_OVERHEAD:g}%: {verdict})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.executors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--block", default="127.0.100.0/22", help="loopback block to scan (default: %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each executor")
    parser.add_argument("--ports", default="22,80,443,8080", help="-p for every run")
    parser.add_argument("--parallel", type=int, default=4, help="--parallel for both executors")
    parser.add_argument(
        "--batch-size", type=int, default=0, help="--batch-size for both (0: trustscan chooses)"
    )
    parser.add_argument(
        "--http-every", type=int, default=8, help="an HTTP server every N addresses"
    )
    parser.add_argument(
        "--ssh-every", type=int, default=64, help="an SSH server every N addresses (0: none)"
    )
    parser.add_argument(
        "--sample", type=float, default=0.2, help="seconds between /proc memory samples"
    )
    parser.add_argument(
        "--rev", default=WORKTREE, help=f"the git revision to run (default: {WORKTREE})"
    )
    parser.add_argument(
        "--trustscan-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra option for every scan, e.g. --trustscan-arg=--nmap-arg=-n (no reverse DNS)",
    )
    parser.add_argument(
        "--executor", action="append", choices=EXECUTORS, help="run only this one (repeatable)"
    )
    args = parser.parse_args(argv)
    block = ipaddress.ip_network(args.block, strict=False)
    if not isinstance(block, ipaddress.IPv4Network) or not block.subnet_of(LOOPBACK):
        parser.error("--block must be inside 127.0.0.0/8: scans go to loopback only")
    if args.http_every < 2 or args.rounds < 1:
        parser.error("--http-every must be at least 2 and --rounds at least 1")
    executors = [e for e in EXECUTORS if e in (args.executor or EXECUTORS)]
    by_prefix = lab_targets(block, args.http_every, args.ssh_every)
    servers = sum(len(t) for t in by_prefix.values())
    runs: list[Run] = []
    with (
        running_labs(by_prefix) as labs,
        tempfile.TemporaryDirectory() as tmp,
        checkout(args.rev) as tree,
    ):
        listening = sorted({r.port for lab in labs for r in lab.running})
        print(
            f"{block.num_addresses:,} targets ({block}), {servers} look-alike servers on "
            f"ports {','.join(map(str, listening))}; scanning -p {args.ports}, "
            f"--parallel {args.parallel} --batch-size {args.batch_size} "
            f"{' '.join(args.trustscan_arg)}; trustscan {args.rev}",
            flush=True,
        )
        # A cache directory of the bench's own, filled before the first round, so
        # no run pays for a cold rules cache and the user's cache is left alone.
        env = {**os.environ, "PYTHONPATH": str(tree), "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        warm = [sys.executable, "-m", "scanner", "rules", "list"]
        subprocess.run(warm, cwd=tree, env=env, capture_output=True, check=True)
        for round_no in range(1, args.rounds + 1):
            for executor in executors:
                command = scan_command(
                    str(block),
                    executor,
                    args.ports,
                    args.parallel,
                    args.batch_size,
                    Path(tmp) / "result.json",
                    args.trustscan_arg,
                )
                result = Path(tmp) / "result.json"
                run = measure(command, executor, result, args.sample, tree, env)
                runs.append(run)
                print(
                    f"round {round_no}: {executor:<7} {run.wall_s:7.2f} s "
                    f"{run.rate(block.num_addresses):6.1f} hosts/s  wait4 {run.wait4_mib:5.0f} MiB"
                    f"  main {run.main_mib:5.0f} MiB  tree RSS {run.tree_rss_mib:5.0f} MiB"
                    f" PSS {run.tree_pss_mib:5.0f} MiB ({run.processes} processes at most)  "
                    f"{run.hosts} hosts, {run.services} services, {run.findings} findings",
                    flush=True,
                )
    print()
    print(f"medians of {args.rounds} round(s), {block.num_addresses:,} targets:")
    for line in table(runs, block.num_addresses):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
