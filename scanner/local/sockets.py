"""Listening TCP sockets of this machine and the processes that own them.

Read from /proc/net/tcp and /proc/net/tcp6, with owners found through /proc/<pid>/fd;
where there is no /proc, from `ss -H -ltnp`.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from scanner.local.commands import Runner, run_command
from scanner.local.frontends import one_line

MAX_PROC_NET_BYTES = 8 * 1024 * 1024
MAX_LINES = 100_000
MAX_FD_LINKS = 1_000_000  # descriptors examined across all processes
MAX_COMM_BYTES = 64
_TCP_LISTEN = "0A"
_WILDCARDS = frozenset({"0.0.0.0", "::", "::ffff:0.0.0.0"})  # noqa: S104 - compared, not bound
_KERNEL_ENDPOINT = re.compile(r"([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})")
_DECIMAL = re.compile(r"[0-9]{1,20}")
_SOCKET_LINK = re.compile(r"socket:\[([0-9]{1,20})\]")
_SS_OWNER = re.compile(r'users:\(\("([^"]{0,64})",pid=([0-9]{1,10}),')

Family = Literal["ipv4", "ipv6"]
ByteOrder = Literal["little", "big"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Listener:
    protocol: str  # "tcp"
    family: str  # "ipv4" | "ipv6"
    address: str  # printable: "0.0.0.0", "::", "127.0.0.1", "::1", "::ffff:0.0.0.0"
    port: int
    inode: int  # 0 when unknown (read from ss)
    process: str = ""  # comm name, "" when unknown
    pid: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.address in _WILDCARDS

    @property
    def loopback(self) -> bool:
        ip = _parse_ip(self.address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_loopback
        return ip is not None and ip.is_loopback


@dataclass(frozen=True)
class ListenerScan:
    listeners: tuple[Listener, ...]
    notes: tuple[str, ...]  # what could not be read, and why


# ------------------------------------------------------------------ /proc/net/tcp


def parse_proc_net_tcp(
    text: str, family: str, byteorder: ByteOrder = sys.byteorder
) -> tuple[Listener, ...]:
    """Sockets in state LISTEN from /proc/net/tcp (family "ipv4") or tcp6 ("ipv6").

    Malformed lines are skipped; lines after the first MAX_LINES are ignored.
    """
    if family not in ("ipv4", "ipv6"):
        raise ValueError(f"family must be 'ipv4' or 'ipv6', not {family!r}")
    width = 8 if family == "ipv4" else 32
    lines = text.split("\n", MAX_LINES + 1)[: MAX_LINES + 1]  # + 1: the header line
    found = (_parse_tcp_line(line, family, width, byteorder) for line in lines)
    return tuple(listener for listener in found if listener is not None)


def _parse_tcp_line(line: str, family: str, width: int, byteorder: ByteOrder) -> Listener | None:
    # "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ..."
    fields = line.split()
    if len(fields) < 10 or not fields[0].endswith(":") or fields[3].upper() != _TCP_LISTEN:
        return None
    endpoint = _KERNEL_ENDPOINT.fullmatch(fields[1])
    if endpoint is None or len(endpoint.group(1)) != width or not _DECIMAL.fullmatch(fields[9]):
        return None
    address = _kernel_address(bytes.fromhex(endpoint.group(1)), byteorder)
    return Listener("tcp", family, address, int(endpoint.group(2), 16), int(fields[9]))


def _kernel_address(raw: bytes, byteorder: ByteOrder) -> str:
    # The kernel prints each 32-bit word of the address as a host-order integer.
    if byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return _printable(ipaddress.ip_address(raw))


def _printable(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # Python before 3.13 prints ::ffff:0.0.0.0 as "::ffff:0:0".
        return f"::ffff:{ip.ipv4_mapped}"
    return ip.compressed


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# -------------------------------------------------------------------------- ss


def parse_ss(text: str) -> tuple[Listener, ...]:
    """Listening TCP sockets from `ss -H -ltnp` output; inode is 0 (ss does not print it)."""
    lines = text.split("\n", MAX_LINES)[:MAX_LINES]
    found = (_parse_ss_line(line) for line in lines)
    return tuple(listener for listener in found if listener is not None)


def _parse_ss_line(line: str) -> Listener | None:
    fields = line.split()
    if fields[:1] == ["tcp"]:  # a Netid column, present when ss lists several kinds
        fields = fields[1:]
    if len(fields) < 5 or fields[0] != "LISTEN":
        return None
    endpoint = _ss_endpoint(fields[3])
    if endpoint is None:
        return None
    family, address, port = endpoint
    owner = _SS_OWNER.search(line)
    if owner is None:
        return Listener("tcp", family, address, port, 0)
    return Listener(
        "tcp", family, address, port, 0, _clean_name(owner.group(1)), int(owner.group(2))
    )


def _ss_endpoint(text: str) -> tuple[Family, str, int] | None:
    host, _, port_text = text.rpartition(":")
    if not _DECIMAL.fullmatch(port_text) or int(port_text) > 65535:
        return None
    # "127.0.0.1%lo": bound to a device; "[::1]": brackets around IPv6.
    host = host.split("%", 1)[0].strip("[]")
    if host == "*":  # iproute2 prints an IPv6 wildcard socket that also accepts IPv4 as "*"
        return "ipv6", "::", int(port_text)
    ip = _parse_ip(host)
    if ip is None:
        return None
    return ("ipv4" if ip.version == 4 else "ipv6"), _printable(ip), int(port_text)


# ------------------------------------------------------------------- read_listeners


def read_listeners(proc: Path = Path("/proc"), run: Runner = run_command) -> ListenerScan:
    """Listening TCP sockets with their owners; failures become notes, never exceptions."""
    tcp, tcp6 = proc / "net" / "tcp", proc / "net" / "tcp6"
    if not os.path.exists(tcp) and not os.path.exists(tcp6):
        return _read_with_ss(run)
    notes: list[str] = []
    listeners = [*_read_table(tcp, "ipv4", notes), *_read_table(tcp6, "ipv6", notes)]
    owned = _attach_owners(listeners, proc, notes)
    return ListenerScan(tuple(sorted(owned, key=_order)), tuple(notes))


def _read_table(path: Path, family: Family, notes: list[str]) -> list[Listener]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PROC_NET_BYTES + 1)
    except FileNotFoundError:
        notes.append(f"{path} is absent: no {family} listeners were listed")
        return []
    except OSError as exc:
        notes.append(f"cannot read {path}: {exc.strerror or exc}")
        return []
    if len(data) > MAX_PROC_NET_BYTES:
        data = data[:MAX_PROC_NET_BYTES].rpartition(b"\n")[0]  # drop the cut line
        notes.append(f"{path} is larger than {MAX_PROC_NET_BYTES} bytes; only its start was read")
    return list(parse_proc_net_tcp(data.decode("ascii", errors="replace"), family))


def _attach_owners(listeners: list[Listener], proc: Path, notes: list[str]) -> list[Listener]:
    wanted = {listener.inode for listener in listeners}
    owners, denied = _socket_owners(proc, wanted, notes)
    names = {pid: _read_comm(proc, pid) for pid in set(owners.values())}
    owned = [
        replace(item, pid=owners[item.inode], process=names[owners[item.inode]])
        if item.inode in owners
        else item
        for item in listeners
    ]
    unowned = sum(1 for item in owned if item.pid is None)
    if unowned and (denied or not _is_root()):
        notes.append(
            f"process names of {unowned} listening socket(s) could not be read: "
            "other users' processes can only be inspected as root"
        )
    elif unowned:
        notes.append(
            f"{unowned} listening socket(s) have no owner process visible here "
            "(kernel sockets, or a process in another PID namespace)"
        )
    return owned


def _socket_owners(proc: Path, wanted: set[int], notes: list[str]) -> tuple[dict[int, int], bool]:
    """inode -> lowest pid holding it (pre-forked servers share sockets); and whether
    some process's descriptors could not be read."""
    owners: dict[int, int] = {}
    denied = False
    budget = MAX_FD_LINKS
    for pid in _pids(proc):
        if len(owners) == len(wanted):
            break
        try:
            with os.scandir(proc / str(pid) / "fd") as listing:
                entries = list(itertools.islice(listing, budget + 1))
        except PermissionError:
            denied = True
            continue
        except OSError:  # the process exited meanwhile
            continue
        if len(entries) > budget:
            notes.append(f"stopped looking for socket owners after {MAX_FD_LINKS} descriptors")
            break
        budget -= len(entries)
        for entry in entries:
            inode = _socket_inode(entry.path)
            if inode in wanted:
                owners.setdefault(inode, pid)
    return owners, denied


def _pids(proc: Path) -> list[int]:
    try:
        names = [entry.name for entry in os.scandir(proc)]
    except OSError:
        return []
    return sorted(int(name) for name in names if _DECIMAL.fullmatch(name))


def _socket_inode(link: str) -> int | None:
    try:
        target = os.readlink(link)
    except OSError:
        return None
    match = _SOCKET_LINK.fullmatch(target)
    return int(match.group(1)) if match else None


def _read_comm(proc: Path, pid: int) -> str:
    try:
        with (proc / str(pid) / "comm").open("rb") as handle:
            raw = handle.read(MAX_COMM_BYTES)
    except OSError:
        return ""
    return _clean_name(raw.decode("utf-8", errors="replace").rstrip("\n"))


def _clean_name(name: str) -> str:
    # A process chooses its own name: keep it short, printable and on one line.
    return one_line(name, limit=MAX_COMM_BYTES)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _order(listener: Listener) -> tuple[int, str, str, int]:
    return (listener.port, listener.family, listener.address, listener.inode)


def _read_with_ss(run: Runner) -> ListenerScan:
    out = run(["ss", "-H", "-ltnp"])
    if out.missing:
        return ListenerScan((), ("no /proc/net/tcp and no ss command: listening sockets unknown",))
    if out.returncode != 0:
        said = one_line(out.stderr or out.stdout or "no output", limit=200)
        return ListenerScan((), (f"no /proc/net/tcp, and ss -H -ltnp failed: {said}",))
    listeners = parse_ss(out.stdout)
    notes = ["no /proc/net/tcp: listening sockets were read from ss -H -ltnp"]
    unowned = sum(1 for item in listeners if item.pid is None)
    if unowned:
        notes.append(f"ss could not name the process of {unowned} listening socket(s) (needs root)")
    return ListenerScan(tuple(sorted(listeners, key=_order)), tuple(notes))
