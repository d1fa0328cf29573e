"""The ACK-scan pass: what it asks nmap, and that it needs root (the scan itself
runs in tests/integration/test_firewall_netns.py)."""

from __future__ import annotations

import pytest

from scanner.discovery.ack_scan import NEEDS_ROOT, ack_arguments, carried_options, check_allowed
from scanner.discovery.nmap_runs import DiscoveryOptions
from scanner.support.errors import InputError


def test_timing_options_carry_over_and_others_do_not() -> None:
    extra = ("-T4", "--max-retries", "1", "--script=vuln", "-sU", "--host-timeout=30s", "-e", "lo")
    assert carried_options(extra) == [
        "-T4",
        "--max-retries",
        "1",
        "--host-timeout=30s",
        "-e",
        "lo",
    ]


def test_ack_arguments() -> None:
    options = DiscoveryOptions(extra_args=("--max-rtt-timeout=100ms",))
    assert ack_arguments(options, ipv6=False) == [
        "-sA",
        "-Pn",
        "-n",
        "--reason",
        "--max-rtt-timeout=100ms",
    ]
    assert ack_arguments(DiscoveryOptions(), ipv6=True) == ["-sA", "-Pn", "-n", "--reason", "-6"]


def test_ack_scan_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(InputError, match="needs root") as info:
        check_allowed()
    assert info.value.exit_code == 2
    assert str(info.value) == NEEDS_ROOT
    monkeypatch.setattr("os.geteuid", lambda: 0)
    check_allowed()
