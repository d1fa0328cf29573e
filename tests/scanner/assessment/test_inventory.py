"""The asset inventory: loading, file:line problems and host matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from scanner.assessment.inventory import Asset, Inventory, InventoryError, load_inventory
from scanner.support.errors import InputError
from scanner.support.resources import inventory_schema_path
from tests.scanner.support.hostile_yaml import (
    PROPERTY,
    VALUES,
    bomb_list,
    call_isolated,
    filled,
    line_with,
)
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


# --- hostile inventories ------------------------------------------------------

ASSET = "assets:\n  - system: shop\n    address: 10.0.0.1\n"


def test_alias_bomb_in_an_inventory_is_refused_not_a_hang(tmp_path: Path) -> None:
    # The schema's error message quoted the 10**9-element list before.
    text = "\n".join(bomb_list("categories")) + "\n" + ASSET + "    data_categories: *l8\n"
    assert len(text) < 1024
    path = _write(tmp_path, text)
    outcome = call_isolated("scanner.assessment.inventory", "load_inventory", path)
    assert outcome["error"] == (
        f"invalid inventory: {path}:{line_with(text, '&l3')}: aliases expand past 10000 "
        "nodes or 1048576 characters (an alias bomb?)"
    )
    assert isinstance(outcome["seconds"], float)
    assert outcome["seconds"] < 5


@pytest.mark.parametrize("digits", [400, 5000])
def test_huge_record_counts_are_refused_at_load(tmp_path: Path, digits: int) -> None:
    path = _write(tmp_path, ASSET + "    customer_records: " + "9" * digits + "\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value) == (
        f"invalid inventory: {path}:4: integer out of range (trustscan reads -2**63 to 2**63 - 1)"
    )


def test_a_huge_segment_count_is_refused_at_load(tmp_path: Path) -> None:
    text = ASSET + "    segments:\n      - name: all\n        customers: 1" + "0" * 400 + "\n"
    with pytest.raises(InventoryError, match=r"assets\.yaml:6: integer out of range"):
        load_inventory(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (ASSET + "    system: crm\n", 4, "duplicate key 'system' (first on line 2)"),
        (ASSET + "    owner: !person bob\n", 4, "unknown YAML tag !person"),
        (ASSET + "    owner: bob\x1b]0;pwned\x07\n", 4, "YAML does not allow the control"),
        ("assets:\n  - " + "[" * 100 + "]" * 100 + "\n", 2, "nested deeper than 64 levels"),
    ],
)
def test_hostile_inventories_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"invalid inventory: {path}:{line}: {message}")


INVENTORY_FILE = """\
assets:
  - system: {0}
    address: {1}
    environment: {2}
    internet_exposed: {3}
    data_categories: {4}
    customer_records: {5}
    segments:
      - name: {6}
        customers: {7}
  - system: network
    cidr: {8}
  - system: names
    hostname: {9}
"""
INVENTORY_FILES = filled(
    INVENTORY_FILE,
    ("shop", VALUES),
    ("10.0.0.1", st.one_of(VALUES, st.sampled_from(["10.0.0.300", "::1", "fe80::1%eth0", "4"]))),
    ("production", VALUES),
    ("true", VALUES),
    ("[email, name]", VALUES),
    ("1000", VALUES),
    ("everyone", VALUES),
    ("1000", VALUES),
    ("10.0.0.0/8", st.one_of(VALUES, st.sampled_from(["10.0.0.0/33", "[10, 8]", "::/0"]))),
    ("'db*.example.test'", VALUES),
)


@PROPERTY
@given(document=INVENTORY_FILES)
def test_an_inventory_loads_or_is_an_input_error(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "assets.yaml"
    path.write_bytes(document)
    try:
        inventory = load_inventory(path)
    except InputError as exc:  # InventoryError, or anything else the user must fix
        event(f"refused: {str(exc).split(': ', 2)[-1][:30]}")
        return
    event("loaded")
    assert all(asset.source.startswith(f"{path}:") for asset in inventory.assets)
