"""Load an asset inventory (`--inventory assets.yaml`) and match hosts to it.

The file is YAML validated against `reports/inventory.schema.json`; every
problem names its file and line (the same approach as `scanner.rule_engine.loader`),
and any problem stops the command with exit 2.

An asset names exactly one of `address` (one IP), `cidr` (a network) or
`hostname` (an fnmatch pattern such as `db*.example.test`, matched against a
host's names). Assets are tried in file order: the first that matches wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jsonschema

from scanner.support.resources import inventory_schema_path
from scanner.support.yaml_files import (
    FileProblem,
    FileProblems,
    YamlFileError,
    error_path,
    line_of,
    read_yaml,
    schema_validator,
)

_MAX_INVENTORY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Segment:
    """A group of customers a system serves; `data_categories` narrows the
    asset's categories to what this group has (no card for "no card on file")."""

    name: str
    customers: int
    data_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Asset:
    system: str
    address: str = ""
    cidr: str = ""
    hostname: str = ""
    owner: str = ""
    environment: str = ""
    internet_exposed: bool = False
    data_categories: tuple[str, ...] = ()
    customer_records: int | None = None
    segments: tuple[Segment, ...] = ()
    source: str = ""  # file:line

    def matches(self, address: str, hostnames: Iterable[str] = ()) -> bool:
        if self.address:
            return _same_address(self.address, address)
        if self.cidr:
            try:
                return ipaddress.ip_address(address) in ipaddress.ip_network(
                    self.cidr, strict=False
                )
            except ValueError:
                return False
        names = [address, *hostnames]
        return any(fnmatchcase(name.lower(), self.hostname.lower()) for name in names)


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


@dataclass(frozen=True)
class Inventory:
    source: str
    assets: tuple[Asset, ...]

    def lookup(self, address: str, hostnames: Iterable[str] = ()) -> Asset | None:
        """The first asset matching the host, or None."""
        names = tuple(hostnames)
        return next((a for a in self.assets if a.matches(address, names)), None)


InventoryProblem = FileProblem


class InventoryError(FileProblems):
    what = "inventory"


def _validator() -> jsonschema.protocols.Validator:
    return schema_validator(inventory_schema_path())


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "file"
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return f"{where}: an asset names exactly one of address, cidr or hostname"
    return f"{where}: {error.message}"


def load_inventory(path: Path) -> Inventory:
    """Load and validate an inventory file; raise `InventoryError` on any problem."""
    try:
        node, data = read_yaml(path, _MAX_INVENTORY_BYTES, "inventory file")
    except YamlFileError as exc:
        raise InventoryError([exc.problem]) from None

    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    problems = [InventoryProblem(path, line_of(node, error_path(e)), _describe(e)) for e in errors]
    items = data.get("assets") if isinstance(data, dict) else None
    assets: list[Asset] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        bad = _address_problem(item)
        if bad is not None:
            key, message = bad
            line = line_of(node, ["assets", index, key])
            problems.append(InventoryProblem(path, line, f"assets.{index}.{key}: {message}"))
        elif not problems:
            assets.append(_asset(item, f"{path}:{line_of(node, ['assets', index])}"))
    if problems:
        raise InventoryError(sorted(problems, key=lambda p: p.line))
    return Inventory(str(path), tuple(assets))


def _address_problem(item: dict[str, Any]) -> tuple[str, str] | None:
    if "address" in item:
        try:
            ipaddress.ip_address(item["address"])
        except (TypeError, ValueError):
            return "address", f"{item['address']!r} is not an IP address"
    if "cidr" in item:
        try:
            ipaddress.ip_network(item["cidr"], strict=False)
        except (TypeError, ValueError):
            return "cidr", f"{item['cidr']!r} is not a network (e.g. 10.0.0.0/24)"
    return None


def _asset(item: dict[str, Any], source: str) -> Asset:
    return Asset(
        system=item["system"],
        address=item.get("address", ""),
        cidr=item.get("cidr", ""),
        hostname=item.get("hostname", ""),
        owner=item.get("owner", ""),
        environment=item.get("environment", ""),
        internet_exposed=bool(item.get("internet_exposed", False)),
        data_categories=tuple(item.get("data_categories", ())),
        customer_records=item.get("customer_records"),
        segments=tuple(
            Segment(s["name"], s["customers"], tuple(s.get("data_categories", ())))
            for s in item.get("segments", ())
        ),
        source=source,
    )
