"""Network namespaces the tests create: each is a host of its own, with its own
loopback, its own packet filter and its own listening sockets.

Creating one needs root and `ip` (iproute2); loading a ruleset needs `nft` or
`iptables-restore`. Tests that need them skip with the reason otherwise.
Everything runs inside the namespace, so nothing the tests do reaches the
machine's own network or firewall.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_TIMEOUT = 120.0


def missing_for_netns(*tools: str) -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", *tools):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (.ci/run installs it)"
    return None


def requires_netns(*tools: str) -> pytest.MarkDecorator:
    reason = missing_for_netns(*tools)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


@dataclass
class Namespace:
    name: str
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def argv(self, command: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *command]

    def run(
        self, command: Sequence[str], unprivileged: bool = False, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        inner = list(command)
        if unprivileged:
            # Root without any capability: what a user without the rights to
            # read firewall rules gets, with this environment's Python still
            # reachable (it may live under /root).
            inner = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", *inner]
        done = subprocess.run(
            self.argv(inner),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            cwd=REPO,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(inner)} in {self.name} exited {done.returncode}: "
                f"{done.stderr.strip()[-2000:]}"
            )
        return done

    def trustscan(self, *args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
        """Run trustscan inside the namespace, as this Python runs it."""
        command = [sys.executable, "-m", "scanner", *args]
        return self.run(command, unprivileged=unprivileged, check=False)

    def load_nft(self, ruleset: str) -> None:
        path = self.workdir / "ruleset.nft"
        path.write_text(ruleset, encoding="utf-8")
        self.run(["nft", "-f", str(path)])

    def load_iptables(self, rules: str) -> None:
        path = self.workdir / "rules.v4"
        path.write_text(rules, encoding="utf-8")
        self.run(["sh", "-c", f"iptables-restore < {path}"])

    def start(self, command: Sequence[str], port: int) -> None:
        """Start a server in the namespace and wait until `port` accepts on its loopback."""
        log = (self.workdir / f"server-{port}.log").open("wb")
        process = subprocess.Popen(
            self.argv(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.workdir,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"{command[0]} in {self.name} exited: "
                    + (self.workdir / f"server-{port}.log").read_text(errors="replace")[-2000:]
                )
            probe = self.run([sys.executable, "-c", _CONNECT.format(port=port)], check=False)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"{command[0]} in {self.name} never listened on {port}")


# Connects from inside the namespace, where the filter may drop other ports but
# lets established replies back.
_CONNECT = (
    "import socket,sys\n"
    "s=socket.socket();s.settimeout(1)\n"
    "sys.exit(0 if s.connect_ex(('127.0.0.1',{port}))==0 else 1)"
)


@contextlib.contextmanager
def namespace(label: str) -> Iterator[Namespace]:
    """A fresh namespace with its loopback up; removed with all it ran."""
    name = f"ts{os.getpid() % 100000}{label}"[:15]
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"trustscan-{name}-"))
    ns = Namespace(name, workdir)
    try:
        ns.run(["ip", "link", "set", "lo", "up"])
        yield ns
    finally:
        for process in ns.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        # Anything else still inside (a daemon that forked) goes too.
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def redis_command(workdir: Path, port: int = 6379) -> list[str]:
    """Redis on all addresses of the namespace: the data store the tests expose."""
    program = shutil.which("redis-server") or "/usr/bin/redis-server"
    return [
        program,
        "--bind", "0.0.0.0",
        "--port", str(port),
        "--protected-mode", "no",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--daemonize", "no",
    ]  # fmt: skip
