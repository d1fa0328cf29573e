"""The Dask executor against a real cluster: a `dask scheduler` and two `dask
worker` processes on loopback, scanning the lab with real nmap.

Same hosts and findings as the threads executor; a worker killed with
SIGKILL in the middle of a batch costs nothing (the batch runs again on the
other worker, and the result says so); a site no worker offers is not
covered; a scheduler that goes away stops the scan with the finished
batches saved for --resume.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.lab.servers import Lab
from tests.faults import PATIENCE, gone, wait_for
from tests.support import LAB_PREFIX, REPO, requires_nmap, trustscan

pytestmark = [pytest.mark.integration, requires_nmap]

# Lab targets with services on these ports (fixtures/lab/targets.yaml).
TARGETS = [f"{LAB_PREFIX}.{octet}" for octet in (10, 11, 12, 13)]
PORTS = "22,80,8080"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int, name: str = "") -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(pid), *(["-x", name] if name else [])],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(p) for p in found.stdout.split()]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait(PATIENCE)


def _start_cluster(logs: Path, workers: int = 2) -> Cluster:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(logs / "scheduler.log").open("wb"),
        env=env,
        cwd=REPO,
    )
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "2",
                "--no-nanny",  # the worker is this process: SIGKILL kills the worker
                "--no-dashboard",
                "--name",
                f"worker-{i}",
                "--resources",
                "site-lab=100",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"worker-{i}.log").open("wb"),
            env=env,
            cwd=REPO,
        )
        for i in range(workers)
    ]
    cluster = Cluster(address, scheduler, started)

    def ready() -> bool:
        import distributed

        client_class: Any = distributed.Client  # untyped
        try:
            with client_class(address, timeout=5) as client:
                return len(client.scheduler_info()["workers"]) == workers
        except OSError:
            return False

    try:
        wait_for(ready, f"{workers} Dask workers to join the scheduler")
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = _start_cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield running
    finally:
        running.stop()


def _scan(out: Path, *options: str) -> tuple[int, str, dict[str, object]]:
    result = out / "r.json"
    run = trustscan("scan", *TARGETS, "-p", PORTS, "--json", str(result), "--no-history", *options)
    data = json.loads(result.read_text(encoding="utf-8")) if result.exists() else {}
    return run.code, run.err, data


def _hosts(data: dict[str, object]) -> list[str]:
    hosts = data["hosts"]
    assert isinstance(hosts, list)
    return sorted(h["address"] for h in hosts)


def _findings(data: dict[str, object]) -> set[tuple[str, str]]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return {(f["fingerprint"], f["severity"]) for f in findings}


def test_dask_finds_what_threads_find(lab: Lab, cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "d").mkdir()
    code, err, threads = _scan(tmp_path / "t", "--batch-size", "1")
    assert code == 0, err
    code, err, dask = _scan(
        tmp_path / "d", "--batch-size", "1", "--executor", "dask", "--scheduler", cluster.address
    )
    assert code == 0, err
    assert _hosts(dask) == _hosts(threads) == TARGETS
    assert _findings(dask) == _findings(threads)
    assert len(_findings(dask)) > 4
    execution = dask["execution"]
    assert isinstance(execution, dict)
    assert execution["executor"] == "dask"
    assert execution["scheduler"] == cluster.address
    assert execution["retried"] == []


def test_a_local_cluster_starts_with_no_scheduler(lab: Lab, tmp_path: Path) -> None:
    code, err, data = _scan(tmp_path, "--executor", "dask", "--batch-size", "2")
    assert code == 0, err
    assert _hosts(data) == TARGETS


def test_a_site_no_worker_offers_is_not_covered(lab: Lab, cluster: Cluster, tmp_path: Path) -> None:
    code, err, data = _scan(
        tmp_path,
        "--executor",
        "dask",
        "--scheduler",
        cluster.address,
        "--site",
        f"{LAB_PREFIX}.12/31=branch",  # .12 and .13: no worker offers site-branch
        "--site",
        f"{LAB_PREFIX}.10/31=lab",
    )
    assert code == 4, err
    assert "no Dask worker offers site branch" in err
    assert _hosts(data) == TARGETS[:2]


# Each batch crawls (one probe every 2 s, 3 ports, a couple of retries): a
# worker is caught in the middle of one whatever the machine's speed.
SLOW = ("--batch-size", "1", "--nmap-arg=--scan-delay=2s", "--nmap-arg=--max-retries=0")


def test_a_worker_killed_mid_batch_costs_nothing(lab: Lab, tmp_path: Path) -> None:
    cluster = _start_cluster(tmp_path, workers=2)
    try:
        scan = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scanner",
                "scan",
                *TARGETS[:2],
                "-p",
                PORTS,
                "--json",
                str(tmp_path / "r.json"),
                "--no-history",
                "--executor",
                "dask",
                "--scheduler",
                cluster.address,
                *SLOW,
            ],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        victim: list[int] = []

        def nmap_on_a_worker() -> bool:
            victim[:] = [w.pid for w in cluster.workers if _children(w.pid, "nmap")]
            return bool(victim)

        wait_for(nmap_on_a_worker, "a worker to run nmap")
        nmaps = _children(victim[0], "nmap")
        os.kill(victim[0], signal.SIGKILL)
        _out, err = scan.communicate(timeout=PATIENCE * 6)
        assert scan.returncode == 0, err
        wait_for(lambda: all(gone(pid) for pid in nmaps), "the killed worker's nmap to exit")
        data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
        assert _hosts(data) == TARGETS[:2]  # none lost, none twice
        execution = data["execution"]
        assert isinstance(execution, dict)
        (retried,) = execution["retried"]
        assert "ran 2 times: a worker was lost" in retried
        assert "ran 2 times" in err
    finally:
        cluster.stop()


def test_the_scheduler_gone_stops_the_scan_and_it_resumes(lab: Lab, tmp_path: Path) -> None:
    def command(scheduler: str, *more: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "scanner",
            "scan",
            *TARGETS,
            "-p",
            "80",
            "--json",
            str(tmp_path / "r.json"),
            "--no-history",
            "--executor",
            "dask",
            "--scheduler",
            scheduler,
            "--batch-size",
            "1",
            "--parallel",
            "1",
            "--nmap-arg=--scan-delay=1s",
            *more,
        ]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    partial = tmp_path / "r.json.partial"
    cluster = _start_cluster(tmp_path, workers=1)
    try:
        scan = subprocess.Popen(
            command(cluster.address),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def one_saved() -> bool:
            return partial.exists() and len(partial.read_bytes().splitlines()) >= 2

        wait_for(one_saved, "the first batch to be saved")
        cluster.scheduler.kill()
        _out, err = scan.communicate(timeout=PATIENCE * 6)
        assert scan.returncode == 3, err
        assert "lost the Dask scheduler" in err
        assert "--resume" in err
        assert partial.exists()
    finally:
        cluster.stop()
    # A new scheduler (at another port), the same command with --resume: done.
    again = _start_cluster(tmp_path, workers=1)
    try:
        resumed = subprocess.run(
            command(again.address, "--resume"),
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=PATIENCE * 6,
            check=False,
        )
    finally:
        again.stop()
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert _hosts(data) == TARGETS
    assert not partial.exists()
