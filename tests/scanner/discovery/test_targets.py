from __future__ import annotations

from pathlib import Path

import pytest

from scanner.discovery.targets import DEFAULT_MAX_HOSTS, resolve_targets
from scanner.model import Target, TargetKind
from scanner.support.errors import InputError


def values(targets: tuple[Target, ...]) -> list[str]:
    return [t.value for t in targets]


def test_ipv4_address() -> None:
    assert resolve_targets(["127.0.0.1"]) == (Target("127.0.0.1", TargetKind.ADDRESS, "target"),)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("::1", "::1"), ("2001:DB8::0:1", "2001:db8::1"), ("fe80:0:0:0:0:0:0:5", "fe80::5")],
)
def test_ipv6_address_is_normalised(given: str, expected: str) -> None:
    (target,) = resolve_targets([given])
    assert target == Target(expected, TargetKind.ADDRESS, "target")


def test_hostname_is_lowercased_and_loses_trailing_dot() -> None:
    (target,) = resolve_targets(["WWW.Example.Test."])
    assert target == Target("www.example.test", TargetKind.HOSTNAME, "target")


def test_single_label_hostname() -> None:
    assert resolve_targets(["localhost"]) == (Target("localhost", TargetKind.HOSTNAME, "target"),)


def test_cidr_28_is_16_addresses_including_network_and_broadcast() -> None:
    targets = resolve_targets(["127.0.0.0/28"])
    assert values(targets) == [f"127.0.0.{i}" for i in range(16)]
    assert {t.kind for t in targets} == {TargetKind.ADDRESS}


def test_cidr_with_host_bits_set_is_the_whole_block() -> None:
    assert values(resolve_targets(["127.0.0.5/30"])) == [f"127.0.0.{i}" for i in range(4, 8)]


def test_ipv6_cidr() -> None:
    assert values(resolve_targets(["2001:db8::/126"])) == [
        "2001:db8::",
        "2001:db8::1",
        "2001:db8::2",
        "2001:db8::3",
    ]


def test_short_range() -> None:
    assert values(resolve_targets(["127.0.0.1-20"])) == [f"127.0.0.{i}" for i in range(1, 21)]


def test_full_range() -> None:
    assert values(resolve_targets(["127.0.0.1-127.0.0.5"])) == [f"127.0.0.{i}" for i in range(1, 6)]


def test_full_range_across_octets() -> None:
    assert values(resolve_targets(["10.0.0.254-10.0.1.1"])) == [
        "10.0.0.254",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
    ]


def test_dedup_keeps_first_occurrence_order() -> None:
    targets = resolve_targets(
        ["127.0.0.3", "127.0.0.1-4", "db.example.test", "127.0.0.2", "DB.example.test"]
    )
    assert values(targets) == [
        "127.0.0.3",
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.4",
        "db.example.test",
    ]


def test_target_file_with_comments_and_blank_lines(tmp_path: Path) -> None:
    targets_file = tmp_path / "targets.txt"
    targets_file.write_text(
        "# staging web tier\n"
        "\n"
        "127.0.0.10   # the Apache box\n"
        "   \n"
        "127.0.0.20-21 www.example.test\n"
        "#127.0.0.99\n"
        "127.0.0.10\n",
        encoding="utf-8",
    )
    targets = resolve_targets([f"@{targets_file}"])
    assert values(targets) == ["127.0.0.10", "127.0.0.20", "127.0.0.21", "www.example.test"]
    assert targets[0].source == f"{targets_file}:3"
    assert targets[-1].source == f"{targets_file}:5"
    assert targets[-1].kind is TargetKind.HOSTNAME


def test_target_file_mixed_with_arguments(tmp_path: Path) -> None:
    targets_file = tmp_path / "targets.txt"
    targets_file.write_text("127.0.0.2\n127.0.0.1\n", encoding="utf-8")
    assert values(resolve_targets(["127.0.0.1", f"@{targets_file}"])) == [
        "127.0.0.1",
        "127.0.0.2",
    ]


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        (["127.0.0.2"], ["127.0.0.1", "127.0.0.3", "127.0.0.4", "www.example.test"]),
        (["127.0.0.0/31"], ["127.0.0.2", "127.0.0.3", "127.0.0.4", "www.example.test"]),
        (["127.0.0.2-3"], ["127.0.0.1", "127.0.0.4", "www.example.test"]),
        (["127.0.0.3-127.0.0.9"], ["127.0.0.1", "127.0.0.2", "www.example.test"]),
        (["WWW.example.test"], ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]),
        (["::1"], ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "www.example.test"]),
    ],
    ids=["address", "cidr", "short-range", "full-range", "hostname", "other-family"],
)
def test_exclude(exclude: list[str], expected: list[str]) -> None:
    targets = resolve_targets(["127.0.0.1-4", "www.example.test"], exclude=exclude)
    assert values(targets) == expected


def test_exclude_from_file(tmp_path: Path) -> None:
    exclude_file = tmp_path / "exclude.txt"
    exclude_file.write_text("# keep the database out\n127.0.0.3\n", encoding="utf-8")
    assert values(resolve_targets(["127.0.0.1-4"], exclude=[f"@{exclude_file}"])) == [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.4",
    ]


def test_everything_excluded_is_an_error() -> None:
    with pytest.raises(InputError, match="excluded"):
        resolve_targets(["127.0.0.1-2"], exclude=["127.0.0.0/30"])


def test_no_targets_is_an_error() -> None:
    with pytest.raises(InputError, match="no targets"):
        resolve_targets([])


def test_exactly_max_hosts_is_allowed() -> None:
    assert len(resolve_targets(["127.0.0.0/28"], max_hosts=16)) == 16


def test_more_than_max_hosts_names_the_option() -> None:
    with pytest.raises(InputError, match="--max-hosts") as info:
        resolve_targets(["127.0.0.0/28"], max_hosts=15)
    assert "15" in str(info.value)


def test_max_hosts_counts_across_arguments() -> None:
    with pytest.raises(InputError, match="--max-hosts"):
        resolve_targets(["127.0.0.1-3", "127.0.1.1-3"], max_hosts=5)


def test_slash_8_with_default_limit_raises() -> None:
    # 16 million addresses: the limit must stop the expansion, not a MemoryError.
    with pytest.raises(InputError, match="--max-hosts") as info:
        resolve_targets(["127.0.0.0/8"])
    assert str(DEFAULT_MAX_HOSTS) in str(info.value)
    assert "127.0.0.0/8" in str(info.value)


def test_huge_ipv6_block_raises() -> None:
    with pytest.raises(InputError, match="--max-hosts"):
        resolve_targets(["2001:db8::/32"])


@pytest.mark.parametrize(
    "junk",
    [
        "999.1.1.1",
        "foo_bar",
        "127.0.0.5-2",
        "10.0.0.0/33",
        "127.0.0.1-300",
        "-foo",
        "127.0.0.1-::5",
    ],
)
def test_junk_target_is_named(junk: str) -> None:
    with pytest.raises(InputError) as info:
        resolve_targets(["127.0.0.1", junk])
    assert repr(junk) in str(info.value)
    assert str(info.value).startswith("target:")


def test_empty_target_is_rejected() -> None:
    with pytest.raises(InputError, match="empty target"):
        resolve_targets([""])


def test_junk_exclude_is_named() -> None:
    with pytest.raises(InputError, match=r"^--exclude: 'foo_bar'"):
        resolve_targets(["127.0.0.1"], exclude=["foo_bar"])


def test_junk_line_in_file_names_file_and_line(tmp_path: Path) -> None:
    targets_file = tmp_path / "targets.txt"
    targets_file.write_text("# scope\n127.0.0.1\n\n999.1.1.1  # typo\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        resolve_targets([f"@{targets_file}"])
    message = str(info.value)
    assert message.startswith(f"{targets_file}:4:")
    assert "'999.1.1.1'" in message


def test_nested_at_file_is_rejected(tmp_path: Path) -> None:
    inner = tmp_path / "inner.txt"
    inner.write_text("127.0.0.1\n", encoding="utf-8")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"127.0.0.2\n@{inner}\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot include other files") as info:
        resolve_targets([f"@{outer}"])
    assert str(info.value).startswith(f"{outer}:2:")


def test_missing_target_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match="cannot read target file") as info:
        resolve_targets([f"@{missing}"])
    assert str(missing) in str(info.value)


def test_target_file_not_utf8_names_line(tmp_path: Path) -> None:
    targets_file = tmp_path / "targets.txt"
    targets_file.write_bytes(b"127.0.0.1\n127.0.0.2\n\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        resolve_targets([f"@{targets_file}"])
    assert str(info.value).startswith(f"{targets_file}:3:")


def test_excluded_blocks_are_subtracted_before_counting() -> None:
    # 10.0.0.0/8 less everything but 10.255.240.0/20 leaves exactly 4096 addresses.
    excluded = ["10.0.0.0/9", "10.128.0.0/10", "10.192.0.0/11", "10.224.0.0/12", "10.240.0.0/13"]
    excluded += ["10.248.0.0/14", "10.252.0.0/15", "10.254.0.0/16", "10.255.0.0/17"]
    excluded += ["10.255.128.0/18", "10.255.192.0/19", "10.255.224.0/20"]
    targets = resolve_targets(["10.0.0.0/8", "10.255.240.7"], excluded)
    assert len(targets) == 4096
    assert targets[0].value == "10.255.240.0"
    assert targets[-1].value == "10.255.255.255"


def test_overlapping_blocks_count_each_address_once() -> None:
    targets = resolve_targets(["127.0.0.1-5", "127.0.0.3-8"], ["127.0.0.4"], max_hosts=7)
    assert [t.value for t in targets] == [f"127.0.0.{i}" for i in (1, 2, 3, 5, 6, 7, 8)]
