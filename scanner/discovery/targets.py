"""Turn what the user typed into a deduplicated, bounded list of targets.

A target is an IP address, a hostname, a CIDR block (`127.0.0.0/28`), a range
(`127.0.0.1-20` or `127.0.0.1-127.0.0.20`) or `@file` with one of those a
line and `#` comments. Blocks are never expanded past the host limit, so a
typo such as `/8` fails fast instead of eating memory.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner.model import Target, TargetKind
from scanner.support.errors import InputError
from scanner.support.files import read_text

DEFAULT_MAX_HOSTS = 4096
_MAX_TARGET_FILE_BYTES = 16 * 1024 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SHORT_RANGE = re.compile(r"^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})-(\d{1,3})$")


@dataclass(frozen=True)
class _Spec:
    """One parsed target expression: a span of addresses or one hostname."""

    text: str
    source: str
    first: IPAddress | None = None
    last: IPAddress | None = None
    hostname: str | None = None


def _is_hostname(text: str) -> bool:
    if len(text) > 253:
        return False
    labels = text.rstrip(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    # An all-numeric last label is a mistyped address (999.1.1.1), not a name.
    return not labels[-1].isdigit()


def _network_span(network: IPNetwork) -> tuple[IPAddress, IPAddress]:
    first, last = network.network_address, network.broadcast_address
    # nmap scans the whole block, network and broadcast addresses included;
    # do the same so that `/28` means 16 addresses in both tools.
    return first, last


def parse_spec(text: str, source: str) -> _Spec:
    """Parse one target expression; raise InputError naming it when it is junk."""
    value = text.strip()
    if not value:
        raise InputError(f"{source}: empty target")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return _Spec(value, source, address, address)
    if "/" in value:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise InputError(f"{source}: {value!r} is not a valid CIDR block ({exc})") from None
        first, last = _network_span(network)
        return _Spec(value, source, first, last)
    short = _SHORT_RANGE.match(value)
    if short:
        prefix, low, high = short.groups()
        return _range_spec(value, source, prefix + low, prefix + high)
    if "-" in value and value.count("-") == 1:
        low, high = value.split("-")
        if _looks_like_address(low) and _looks_like_address(high):
            return _range_spec(value, source, low, high)
    if _is_hostname(value):
        return _Spec(value, source, hostname=value.rstrip(".").lower())
    raise InputError(f"{source}: {value!r} is not an IP address, hostname, CIDR block or range")


def _looks_like_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _range_spec(text: str, source: str, low: str, high: str) -> _Spec:
    try:
        first = ipaddress.ip_address(low)
        last = ipaddress.ip_address(high)
    except ValueError:
        raise InputError(f"{source}: {text!r} is not a valid address range") from None
    if first.version != last.version or int(first) > int(last):
        raise InputError(f"{source}: {text!r} is not a valid address range (end before start)")
    return _Spec(text, source, first, last)


def _read_target_file(path_text: str, source: str) -> list[_Spec]:
    path = Path(path_text)
    text = read_text(path, _MAX_TARGET_FILE_BYTES, "target file")
    specs: list[_Spec] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        where = f"{path}:{number}"
        if content.startswith("@"):
            raise InputError(f"{where}: target files cannot include other files ({content!r})")
        for word in content.split():
            specs.append(parse_spec(word, where))
    return specs


def _expand_args(args: Iterable[str], what: str) -> list[_Spec]:
    specs: list[_Spec] = []
    for arg in args:
        if arg.startswith("@"):
            specs.extend(_read_target_file(arg[1:], what))
        else:
            specs.append(parse_spec(arg, what))
    return specs


class _Intervals:
    """Disjoint, sorted integer intervals: address blocks without expanding them."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def subtract(self, low: int, high: int) -> list[tuple[int, int]]:
        """The parts of [low, high] not already in the set."""
        pieces: list[tuple[int, int]] = []
        current = low
        i = bisect_left(self._ends, low)
        while i < len(self._starts) and self._starts[i] <= high and current <= high:
            if self._starts[i] > current:
                pieces.append((current, self._starts[i] - 1))
            current = max(current, self._ends[i] + 1)
            i += 1
        if current <= high:
            pieces.append((current, high))
        return pieces

    def add(self, low: int, high: int) -> None:
        i = bisect_left(self._ends, low - 1)
        j = i
        while j < len(self._starts) and self._starts[j] <= high + 1:
            low, high = min(low, self._starts[j]), max(high, self._ends[j])
            j += 1
        self._starts[i:j] = [low]
        self._ends[i:j] = [high]


def _too_many(max_hosts: int, spec: _Spec) -> InputError:
    return InputError(
        f"the targets expand to more than {max_hosts} addresses (at {spec.text!r}); "
        "pass --max-hosts N to scan more"
    )


def resolve_targets(
    args: Sequence[str],
    exclude: Sequence[str] = (),
    max_hosts: int = DEFAULT_MAX_HOSTS,
) -> tuple[Target, ...]:
    """Parse, exclude and deduplicate, then expand; keep the user's order.

    Blocks are counted as intervals before any address is listed, so a huge
    block fails at once and a block that `--exclude` removes costs nothing.
    """
    if not args:
        raise InputError("no targets given: name an address, hostname, CIDR, range or @file")
    specs = _expand_args(args, "target")
    excluded = _expand_args(exclude, "--exclude")
    excluded_names = {spec.hostname for spec in excluded if spec.hostname}
    blocked = {4: _Intervals(), 6: _Intervals()}
    for spec in excluded:
        if spec.first is not None and spec.last is not None:
            blocked[spec.first.version].add(int(spec.first), int(spec.last))

    taken = {4: _Intervals(), 6: _Intervals()}
    names: set[str] = set()
    plan: list[tuple[_Spec, list[tuple[int, int]]]] = []
    count = 0
    for spec in specs:
        if spec.hostname is not None:
            if spec.hostname in excluded_names or spec.hostname in names:
                continue
            names.add(spec.hostname)
            count += 1
            plan.append((spec, []))
        elif spec.first is not None and spec.last is not None:
            family = spec.first.version
            pieces = [
                piece
                for low, high in blocked[family].subtract(int(spec.first), int(spec.last))
                for piece in taken[family].subtract(low, high)
            ]
            for low, high in pieces:
                taken[family].add(low, high)
                count += high - low + 1
            plan.append((spec, pieces))
        if count > max_hosts:
            raise _too_many(max_hosts, spec)

    targets: list[Target] = []
    for spec, pieces in plan:
        if spec.hostname is not None or spec.first is None:
            targets.append(Target(spec.hostname or spec.text, TargetKind.HOSTNAME, spec.source))
            continue
        make = type(spec.first)
        for low, high in pieces:
            targets.extend(
                Target(str(make(value)), TargetKind.ADDRESS, spec.source)
                for value in range(low, high + 1)
            )
    if not targets:
        raise InputError("every target was excluded: nothing to scan")
    return tuple(targets)
