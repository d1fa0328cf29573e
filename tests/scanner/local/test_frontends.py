from __future__ import annotations

from collections.abc import Sequence

import pytest

from scanner.local.commands import CommandOutput
from scanner.local.frontends import (
    MAX_DETAIL_CHARS,
    FrontendState,
    firewalld_state,
    one_line,
    parse_zone_listing,
    ufw_state,
)
from tests.support import FIXTURES

LOCAL = FIXTURES / "local"
MISSING = CommandOutput(127, "", "not found", missing=True)


def recorded(name: str) -> CommandOutput:
    """A command's recorded stdout, stderr and exit status (see fixtures/local/README.md)."""
    read = (LOCAL / name).with_suffix
    return CommandOutput(
        int(read(".rc").read_text()),
        read(".stdout").read_text(encoding="utf-8"),
        read(".stderr").read_text(encoding="utf-8"),
    )


class FakeRunner:
    """Answers each argv from a table and remembers what was asked."""

    def __init__(self, answers: dict[tuple[str, ...], CommandOutput]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> CommandOutput:
        self.calls.append(tuple(argv))
        return self.answers[tuple(argv)]


UFW = ("ufw", "status", "verbose")
STATE = ("firewall-cmd", "--state")
ZONE = ("firewall-cmd", "--get-default-zone")
LIST_ALL = ("firewall-cmd", "--list-all")


# --------------------------------------------------------------------------- ufw


def test_ufw_recorded_active() -> None:
    run = FakeRunner({UFW: recorded("ufw_status_verbose_active")})
    assert ufw_state(run) == FrontendState(
        "ufw",
        installed=True,
        active=True,
        detail="Status: active; Default: deny (incoming), allow (outgoing), disabled (routed)",
    )
    assert run.calls == [UFW]


def test_ufw_recorded_inactive() -> None:
    state = ufw_state(FakeRunner({UFW: recorded("ufw_status_verbose_inactive")}))
    assert (state.installed, state.active, state.detail, state.note) == (
        True,
        False,
        "Status: inactive",
        "",
    )


def test_ufw_recorded_non_root_error_is_unknown_not_inactive() -> None:
    out = recorded("ufw_status_verbose_nonroot")
    assert out.returncode == 1
    assert "root" in out.stderr
    state = ufw_state(FakeRunner({UFW: out}))
    assert (state.installed, state.active) == (True, None)
    assert state.note == "ufw status can only be read as root"


def test_ufw_not_installed() -> None:
    state = ufw_state(FakeRunner({UFW: MISSING}))
    assert (state.name, state.installed, state.active) == ("ufw", False, False)


@pytest.mark.parametrize(
    ("stdout", "stderr", "note"),
    [
        ("", "", "ufw status verbose exited 0: no output"),
        ("Status: aktiv\n", "", "ufw status verbose exited 0: Status: aktiv"),
        ("Status: active-ish\n", "", "ufw status verbose exited 0: Status: active-ish"),
        ("x" * 5000, "", "ufw status verbose exited 0: " + "x" * 170 + "…"),
        (
            "",
            "Traceback (most recent call last):\n...",
            "ufw status verbose exited 0: Traceback (most recent call last):",
        ),
    ],
)
def test_ufw_unrecognised_output_is_unknown(stdout: str, stderr: str, note: str) -> None:
    state = ufw_state(FakeRunner({UFW: CommandOutput(0, stdout, stderr)}))
    assert (state.installed, state.active, state.note) == (True, None, note[:200])
    assert len(state.note) <= 200


def test_ufw_status_line_on_stderr_is_not_trusted() -> None:
    out = CommandOutput(1, "", "Status: active\n")
    assert ufw_state(FakeRunner({UFW: out})).active is None


# --------------------------------------------------------------------- firewalld


def test_firewalld_running_summarises_the_default_zone() -> None:
    run = FakeRunner(
        {
            STATE: recorded("firewalld_state_running"),
            ZONE: recorded("firewalld_get_default_zone"),
            LIST_ALL: recorded("firewalld_list_all_public"),
        }
    )
    assert firewalld_state(run) == FrontendState(
        "firewalld",
        installed=True,
        active=True,
        detail="running; default zone: public; target: default; "
        "services: cockpit dhcpv6-client ssh; ports: (none)",
    )
    assert run.calls == [STATE, ZONE, LIST_ALL]


def test_firewalld_v2_listing_with_continuation_lines() -> None:
    run = FakeRunner(
        {
            STATE: recorded("firewalld_state_running"),
            ZONE: CommandOutput(0, "drop\n", ""),
            LIST_ALL: recorded("firewalld_list_all_drop_v2"),
        }
    )
    assert firewalld_state(run).detail == (
        "running; default zone: drop; target: DROP; services: ssh; ports: 5432/tcp 6379/tcp"
    )


def test_firewalld_not_running_asks_nothing_more() -> None:
    run = FakeRunner({STATE: recorded("firewalld_state_not_running")})
    state = firewalld_state(run)
    assert (state.installed, state.active, state.detail, state.note) == (
        True,
        False,
        "not running",
        "",
    )
    assert run.calls == [STATE]


def test_firewalld_not_running_recognised_by_text_alone() -> None:
    run = FakeRunner({STATE: CommandOutput(1, "not running\n", "")})
    assert firewalld_state(run).active is False


def test_firewalld_refused_by_polkit_is_unknown() -> None:
    state = firewalld_state(FakeRunner({STATE: recorded("firewalld_state_not_authorized")}))
    assert (state.installed, state.active) == (True, None)
    assert "polkit" in state.note
    assert "root" in state.note


def test_firewalld_refusal_recognised_by_text() -> None:
    out = CommandOutput(1, "", "NotAuthorizedException: Not Authorized(uid 1000)\n")
    assert firewalld_state(FakeRunner({STATE: out})).note.startswith("firewall-cmd was refused")


def test_firewalld_failed_state_is_unknown_with_reason() -> None:
    state = firewalld_state(FakeRunner({STATE: recorded("firewalld_state_failed")}))
    assert (state.active, state.detail) == (None, "failed")
    assert "FAILED" in state.note


def test_firewalld_not_installed() -> None:
    state = firewalld_state(FakeRunner({STATE: MISSING}))
    assert (state.name, state.installed, state.active) == ("firewalld", False, False)


def test_firewalld_unrecognised_state() -> None:
    state = firewalld_state(FakeRunner({STATE: CommandOutput(0, "sleeping\n", "")}))
    assert (state.active, state.note) == (None, "firewall-cmd --state exited 0: sleeping")


def test_firewalld_running_but_zone_unreadable_keeps_active_and_says_why() -> None:
    refused = recorded("firewalld_state_not_authorized")
    run = FakeRunner({STATE: recorded("firewalld_state_running"), ZONE: refused, LIST_ALL: refused})
    state = firewalld_state(run)
    assert (state.active, state.detail) == (True, "running")
    assert state.note == (
        "firewall-cmd --get-default-zone exited 253: Authorization failed. "
        "firewall-cmd --list-all exited 253: Authorization failed."
    )


def test_firewalld_detail_is_bounded() -> None:
    many = " ".join(f"service-{index}" for index in range(500))
    run = FakeRunner(
        {
            STATE: recorded("firewalld_state_running"),
            ZONE: CommandOutput(0, "public\n", ""),
            LIST_ALL: CommandOutput(0, f"public\n  target: default\n  services: {many}\n", ""),
        }
    )
    detail = firewalld_state(run).detail
    assert len(detail) == MAX_DETAIL_CHARS
    assert detail.startswith("running; default zone: public; target: default; services: service-0")
    assert detail.endswith("…")


def test_parse_zone_listing_skips_name_and_continuation_lines() -> None:
    fields = parse_zone_listing(recorded("firewalld_list_all_drop_v2").stdout)
    assert fields["target"] == "DROP"
    assert fields["ports"] == "5432/tcp 6379/tcp"
    assert fields["rich rules"] == ""
    assert fields["sources"] == ""
    assert "drop (active)" not in fields
    assert "rule family" not in fields
    assert not any(key.startswith("port=") for key in fields)


# ------------------------------------------------------------------------ one_line


def test_one_line_flattens_and_bounds() -> None:
    assert one_line("a\n\tb\x1b[0m  c\x00") == "a b [0m c"
    assert one_line("x" * 10, limit=5) == "xxxx…"
    assert one_line("x" * 5, limit=5) == "xxxxx"
