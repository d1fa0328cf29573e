"""The asset inventory: loading, file:line problems and host matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.assessment.inventory import Asset, Inventory, InventoryError, load_inventory
from scanner.support.errors import InputError
from scanner.support.resources import inventory_schema_path
from tests.support import FIXTURES

DEMO = FIXTURES / "inventory" / "demo-assets.yaml"
BAD = FIXTURES / "inventory" / "bad-assets.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_schema_ships_with_the_reports() -> None:
    assert inventory_schema_path().is_file()
    assert inventory_schema_path().parent.name == "reports"


def test_the_demo_inventory_loads() -> None:
    inventory = load_inventory(DEMO)
    assert inventory.source == str(DEMO)
    db = inventory.lookup("127.0.0.16")
    assert db is not None
    assert db.system == "customer-db (open-postgresql)"
    assert db.environment == "production"
    assert db.customer_records == 120000
    assert "iban" in db.data_categories
    assert [s.name for s in db.segments] == [
        "customers with a stored payment card",
        "customers with an expired card on file",
        "customers with no card on file",
    ]
    assert "card-number" not in db.segments[0].data_categories
    assert db.source.endswith("demo-assets.yaml:51")
    for octet in range(10, 17):
        asset = inventory.lookup(f"127.0.0.{octet}")
        assert asset is not None, octet
        assert asset.system != "demo-lab", octet


def test_a_bad_inventory_names_file_and_line() -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(BAD)
    assert isinstance(caught.value, InputError)
    assert caught.value.exit_code == 2
    lines = [str(p) for p in caught.value.problems]
    assert lines[0].startswith(f"{BAD}:5: assets.0.environment")
    assert any(line.startswith(f"{BAD}:8: ") and "shoe-size" in line for line in lines)
    assert any(line.startswith(f"{BAD}:9: assets.2.cidr") for line in lines)
    assert str(caught.value).startswith(f"invalid inventory: {BAD}:5:")


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("assets:\n  - system: x\n    address: 10.0.0.1\n    colour: red\n", 4, "colour"),
        ("assets:\n  - system: x\n    address: 10.0.0.1\n    cidr: 10.0.0.0/8\n", 2, "exactly one"),
        ("assets:\n  - system: x\n", 2, "exactly one"),
        ("assets:\n  - system: x\n    address: 10.0.0.300\n", 3, "not an IP address"),
        ("assets:\n  - address: 10.0.0.1\n    customer_records: -1\n", 2, "system"),
        ("assets:\n  - system: x\n    address: 10.0.0.1\n    customer_records: -1\n", 4, "-1"),
        ("assets: [\n", 2, "not valid YAML"),
        ("hosts: []\n", 1, "assets"),
        (
            "assets:\n  - system: x\n    address: 10.0.0.1\n    segments:\n"
            "      - name: s\n        customers: 3\n        data_categories: [shoe-size]\n",
            7,
            "shoe-size",
        ),
    ],
)
def test_each_problem_points_at_its_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    first = str(caught.value.problems[0])
    assert first.startswith(f"{path}:{line}: "), first
    assert needle in first


def test_a_segment_may_narrow_the_asset_categories() -> None:
    shop = load_inventory(FIXTURES / "inventory" / "shop.yaml").assets[0]
    stored, expired, none = shop.segments
    assert (stored.name, stored.customers, stored.data_categories) == (
        "customers with a stored payment card",
        30000,
        (),
    )
    assert expired.data_categories == ()
    assert none.data_categories == ("email", "name", "address", "password")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read inventory file"):
        load_inventory(tmp_path / "nope.yaml")


def _inventory(*assets: Asset) -> Inventory:
    return Inventory("test", assets)


def test_match_by_address() -> None:
    inventory = _inventory(Asset("db", address="10.0.0.5"))
    assert inventory.lookup("10.0.0.5") is not None
    assert inventory.lookup("10.0.0.6") is None


def test_match_by_cidr() -> None:
    inventory = _inventory(Asset("dmz", cidr="192.0.2.0/28"))
    assert inventory.lookup("192.0.2.14") is not None
    assert inventory.lookup("192.0.2.16") is None
    assert inventory.lookup("not-an-address") is None


def test_match_by_hostname_pattern() -> None:
    inventory = _inventory(Asset("dbs", hostname="db*.example.test"))
    assert inventory.lookup("10.0.0.1", ("db01.example.test",)) is not None
    assert inventory.lookup("10.0.0.1", ("DB02.Example.Test",)) is not None
    assert inventory.lookup("10.0.0.1", ("web.example.test",)) is None
    assert inventory.lookup("10.0.0.1") is None


def test_the_first_match_wins() -> None:
    inventory = _inventory(
        Asset("named", hostname="*.example.test"),
        Asset("single", address="10.0.0.1"),
        Asset("network", cidr="10.0.0.0/8"),
    )
    assert inventory.lookup("10.0.0.1", ("a.example.test",)).system == "named"  # type: ignore[union-attr]
    assert inventory.lookup("10.0.0.1").system == "single"  # type: ignore[union-attr]
    assert inventory.lookup("10.9.9.9").system == "network"  # type: ignore[union-attr]
