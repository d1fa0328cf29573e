"""Time trustscan's full scan of a few web servers and data stores against
`nmap -sV` with the NSE scripts that cover the same checks.

The hosts, real servers from the Debian packages on their own loopback
addresses (default 127.0.98.1-8): Apache (plain HTTP with a directory
listing of customer dumps and an open /server-status), three nginx HTTPS
servers (well configured, self-signed certificate, TLS 1.0 and 1.1 still
accepted), and open PostgreSQL, MariaDB, Redis and Memcached seeded with
the fake customers of `fixtures/datastores/customers.py`.

Against them, on the same hosts and ports, in one run, alternating who goes
first, each a fresh process:

- `nmap`: `nmap -sV --script mysql-empty-password,redis-info,memcached-info,
  http-enum,http-server-header,ssl-enum-ciphers`, one process;
- `trustscan REV`: `python -m scanner scan ... --inspect-data --no-history`
  (discovery, every probe, data sampled), from the tree of each `--rev`
  (`WORKTREE` is the checkout as it is; any other revision is checked out
  in a temporary git worktree). By default 6d98f32, the last commit before
  issue 17 (every probe after all of discovery), and WORKTREE (each batch
  probed as soon as its nmap is done).

Prints each run, the medians and each trustscan's ratio to nmap+NSE;
goal: at most 1.0x.

    python -m bench.full_scan_vs_nse [--rounds 3] [--prefix 127.0.98] [--rev REV ...]
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
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.large_result import WORKTREE, checkout
from fixtures.datastores.customers import stored_passwords
from fixtures.datastores.servers import (
    PORTS as STORE_PORTS,
)
from fixtures.datastores.servers import (
    RunningStore,
    StartFailed,
    StoreSpec,
    Unavailable,
    start_store,
)
from fixtures.web.servers import SPECS as SITE_SPECS
from fixtures.web.servers import Sites
from fixtures.web.servers import start as start_sites

GOAL = 1.0
BEFORE_STREAMING = "6d98f32"  # the last commit before issue 17: probes after all of discovery
NSE_SCRIPTS = (
    "mysql-empty-password",
    "redis-info",
    "memcached-info",
    "http-enum",
    "http-server-header",
    "ssl-enum-ciphers",
)
# octet -> web site of fixtures/web/servers.py, or data store of fixtures/datastores
SITES = {1: "apache", 2: "nginx-valid", 3: "nginx-self-signed", 4: "nginx-legacy-tls"}
STORES = {5: "postgresql", 6: "mysql", 7: "redis", 8: "memcached"}
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
NMAP = "nmap"


# --- the servers --------------------------------------------------------------


@dataclass
class Servers:
    addresses: list[str]  # what runs, in octet order
    ports: list[int]  # every port something listens on
    what: list[str]  # "127.0.98.1 apache (80)"
    skipped: list[str]


def _start_store(spec: StoreSpec) -> RunningStore | Exception:
    try:
        return start_store(spec)
    except (Unavailable, StartFailed, OSError) as exc:
        return exc


@contextlib.contextmanager
def running_servers(prefix: str) -> Iterator[Servers]:
    stored_passwords()  # hash once, before the seeding threads all want them
    by_name = {spec.name: spec for spec in SITE_SPECS}
    specs = [dataclasses.replace(by_name[n], prefix=prefix, octet=o) for o, n in SITES.items()]
    store_specs = [
        StoreSpec(kind, "open", f"{prefix}.{octet}", STORE_PORTS[kind])
        for octet, kind in STORES.items()
    ]
    sites: Sites | None = None
    stores: list[RunningStore] = []
    try:
        with ThreadPoolExecutor(max_workers=len(store_specs) + 1) as pool:
            web = pool.submit(start_sites, specs)
            outcomes = list(pool.map(_start_store, store_specs))
            sites = web.result()
        servers = Servers([], [], [], [])
        found: dict[int, tuple[str, str, tuple[int, ...]]] = {}
        for spec in specs:
            if spec.name in sites.running:
                found[spec.octet] = (spec.address, spec.name, spec.ports)
            else:
                servers.skipped.append(f"{spec.name}: {sites.problems[spec.name]}")
        for store, outcome in zip(store_specs, outcomes, strict=True):
            if isinstance(outcome, RunningStore):
                stores.append(outcome)
                octet = int(store.address.rsplit(".", 1)[1])
                found[octet] = (store.address, f"{store.kind} (open, seeded)", (store.port,))
            elif isinstance(outcome, Unavailable):
                servers.skipped.append(f"{store.kind}: {outcome}")
            else:
                raise outcome  # installed but broken: say so
        for octet in sorted(found):
            address, name, ports = found[octet]
            servers.addresses.append(address)
            servers.ports.extend(ports)
            servers.what.append(f"{address} {name} ({','.join(map(str, ports))})")
        servers.ports = sorted(set(servers.ports))
        yield servers
    finally:
        for running in stores:
            running.stop()
        if sites is not None:
            sites.stop()


# --- the runs -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    name: str
    wall_s: float
    peak_mib: float
    summary: str


def _timed(
    command: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int, str]:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    # stderr is small (-q; nmap's warnings): it fits the pipe, so wait first.
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), err


def _summary(result: Path) -> str:
    data = json.loads(result.read_text())
    findings = data.get("findings", [])
    errors = data.get("probe_errors", [])
    observations = data.get("observations", [])
    return f"{len(findings)} findings, {len(observations)} observations, {len(errors)} errors"


@dataclass(frozen=True)
class Tool:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str] | None
    result: Path | None  # trustscan's JSON

    def run(self) -> Run:
        if self.result is not None:
            self.result.unlink(missing_ok=True)
        wall, peak, code, err = _timed(self.command, self.cwd, self.env)
        if code not in (0, 1):  # trustscan: 1 when findings reach the gate
            raise SystemExit(f"{self.name} exited {code}: {err[-2000:]}")
        summary = _summary(self.result) if self.result is not None else ""
        return Run(self.name, wall, peak, summary)


def trustscan_tool(
    rev: str, tree: Path, targets: str, ports: str, scratch: Path, extra: Sequence[str]
) -> Tool:
    cache = scratch / f"cache-{len(rev)}-{abs(hash(rev))}"
    cache.mkdir(exist_ok=True)
    result = scratch / f"result-{len(rev)}-{abs(hash(rev))}.json"
    env = {**os.environ, "PYTHONPATH": str(tree), "XDG_CACHE_HOME": str(cache)}
    command = [sys.executable, "-m", "scanner", "scan", targets, "-p", ports]
    command += ["--inspect-data", "--no-history", "-q", "--json", str(result), *extra]
    # Fill this revision's rules cache first, so no round pays for a cold one.
    subprocess.run(
        [sys.executable, "-m", "scanner", "rules", "list"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    label = "trustscan " + (rev if rev != WORKTREE else "WORKTREE")
    return Tool(label, command, tree, env, result)


def short_rev(rev: str) -> str:
    if rev == WORKTREE:
        return rev
    done = subprocess.run(
        ["git", "rev-parse", "--short", rev], capture_output=True, text=True, check=False
    )
    short = done.stdout.strip()
    return f"{rev} ({short})" if done.returncode == 0 and short != rev else rev


def table(runs: Sequence[Run], names: Sequence[str]) -> list[str]:
    medians = {
        n: statistics.median(r.wall_s for r in runs if r.name == n)
        for n in names
        if any(r.name == n for r in runs)
    }
    base = medians.get(NMAP)
    lines = [f"{'tool':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'ratio':>6}"]
    for name, median in medians.items():
        mine = [r for r in runs if r.name == name]
        ratio = f"{median / base:5.2f}x" if base else ""
        peak = statistics.median(r.peak_mib for r in mine)
        lines.append(
            f"{name:<28} {median:9.2f} {min(r.wall_s for r in mine):7.2f} "
            f"{max(r.wall_s for r in mine):7.2f} {peak:9.0f} {ratio:>6}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.full_scan_vs_nse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="127.0.98", help="loopback /24 for the hosts")
    parser.add_argument(
        "--rev",
        action="append",
        help=f"a git revision of trustscan, or {WORKTREE} "
        f"(repeatable; default: {BEFORE_STREAMING} and {WORKTREE})",
    )
    parser.add_argument(
        "--trustscan-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra option for every trustscan run, e.g. --trustscan-arg=--parallel=8",
    )
    parser.add_argument("--no-nmap", action="store_true", help="leave nmap+NSE out")
    args = parser.parse_args(argv)
    try:
        network = ipaddress.IPv4Network(f"{args.prefix}.0/24")
    except ValueError:
        parser.error(f"--prefix {args.prefix!r}: give three octets, as 127.0.98")
    if not network.subnet_of(LOOPBACK):
        parser.error("--prefix must be inside 127.0.0.0/8: scans go to loopback only")
    revs = args.rev or [BEFORE_STREAMING, WORKTREE]
    runs: list[Run] = []
    with (
        contextlib.ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="trustscan-nse-") as tmp,
    ):
        servers = stack.enter_context(running_servers(args.prefix))
        scratch = Path(tmp)
        for line in servers.what:
            print(f"  {line}")
        for line in servers.skipped:
            print(f"  not running: {line}")
        last = servers.addresses[-1].rsplit(".", 1)[1]
        targets = f"{servers.addresses[0]}-{last}"
        ports = ",".join(map(str, servers.ports))
        tools: list[Tool] = []
        if not args.no_nmap:
            nmap = [NMAP, "-sV", "--script", ",".join(NSE_SCRIPTS), "-p", ports, targets]
            tools.append(Tool(NMAP, [*nmap, "-oX", "-"], scratch, None, None))
        for rev in revs:
            tree = stack.enter_context(checkout(rev))
            tool = trustscan_tool(rev, tree, targets, ports, scratch, args.trustscan_arg)
            tools.append(dataclasses.replace(tool, name=f"trustscan {short_rev(rev)}"))
        print(f"{len(servers.addresses)} hosts ({targets}), ports {ports}; {args.rounds} rounds")
        for tool in tools:
            print(f"  {tool.name}: {' '.join(tool.command[2 if tool.result else 0 :])}")
        for round_no in range(1, args.rounds + 1):
            # Rotate who goes first, so warm caches and a busy moment favour none.
            shift = (round_no - 1) % len(tools)
            for tool in tools[shift:] + tools[:shift]:
                run = tool.run()
                runs.append(run)
                print(
                    f"round {round_no}: {run.name:<28} {run.wall_s:7.2f} s  "
                    f"peak {run.peak_mib:4.0f} MiB  {run.summary}",
                    flush=True,
                )
    print()
    print(f"medians of {args.rounds} round(s), {len(servers.addresses)} hosts:")
    for line in table(runs, [t.name for t in tools]):
        print(line)
    nmap_runs = [r.wall_s for r in runs if r.name == NMAP]
    if not nmap_runs:
        return 0
    missed = False
    for tool in tools:
        if tool.result is None:
            continue
        mine = statistics.median(r.wall_s for r in runs if r.name == tool.name)
        ratio = mine / statistics.median(nmap_runs)
        missed |= ratio > GOAL
        verdict = "met" if ratio <= GOAL else "missed"
        print(f"{tool.name}: {ratio:.2f}x nmap+NSE (goal <= {GOAL:g}x: {verdict})")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
