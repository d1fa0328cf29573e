"""`trustscan local` on recorded command outputs and a fake /proc: the verdict,
which listeners no rule restricts, and what is said when nothing can be read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner import pipeline
from scanner.local.audit import (
    FirewallVerdict,
    LocalAudit,
    audit_local,
    firewall_verdict,
    may_read_rulesets,
    read_rulesets,
)
from scanner.local.commands import CommandOutput
from scanner.model import Finding
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
from tests.scanner.local.procfs import HEADER, make_proc, tcp_line
from tests.support import REPO

RULESETS = REPO / "fixtures" / "firewall"
LOCAL = REPO / "fixtures" / "local"

NFT = ("nft", "-j", "list", "ruleset")
IPT = ("iptables-save",)
IP6T = ("ip6tables-save",)
UFW = ("ufw", "status", "verbose")
FIREWALLD = ("firewall-cmd", "--state")
MISSING = CommandOutput(127, "", "not found", missing=True)


def ok(name: str) -> CommandOutput:
    return CommandOutput(0, (RULESETS / name).read_text(encoding="utf-8"), "")


def recorded(name: str) -> CommandOutput:
    read = (LOCAL / name).with_suffix
    return CommandOutput(
        int(read(".rc").read_text()), read(".stdout").read_text(), read(".stderr").read_text()
    )


class Runner:
    """Answers each command from a table; anything else is not installed."""

    def __init__(self, answers: dict[tuple[str, ...], CommandOutput]) -> None:
        self.answers = answers

    def __call__(self, argv: Sequence[str]) -> CommandOutput:
        return self.answers.get(tuple(argv), MISSING)


# Sockets on all addresses: PostgreSQL, Redis, a web server; MariaDB on loopback only.
TCP = "\n".join(
    [
        HEADER,
        tcp_line("00000000:1538", inode="5432"),  # 0.0.0.0:5432
        tcp_line("00000000:18EB", inode="6379"),  # 0.0.0.0:6379
        tcp_line("00000000:0050", inode="80"),  # 0.0.0.0:80
        tcp_line("0100007F:0CEA", inode="3306"),  # 127.0.0.1:3306
    ]
)
PROCESSES = {
    100: ("postgres", ["socket:[5432]"]),
    200: ("redis-server", ["socket:[6379]"]),
    300: ("nginx", ["socket:[80]"]),
    400: ("mariadbd", ["socket:[3306]"]),
}


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    return make_proc(tmp_path / "proc", TCP, HEADER + "\n", PROCESSES)


def _audit(proc: Path, answers: dict[tuple[str, ...], CommandOutput]) -> LocalAudit:
    return audit_local(Runner(answers), proc)


def _facts(audit: LocalAudit, port: int | None = None) -> dict[str, str]:
    return {o.key: o.value for o in audit.observations if o.port == port}


def _findings(audit: LocalAudit) -> dict[tuple[str, int | None], Finding]:
    result = pipeline.local_scan(load_rules([builtin_rules_dir()]), ["builtin"], audit)
    return {(f.rule_id, f.port): f for f in result.findings}


def test_ufw_host_read_through_iptables(proc: Path) -> None:
    # iptables-nft: nft shows the same tables again, its matches hidden in `xt`
    # expressions; the iptables-save copy is the one that counts.
    audit = _audit(
        proc,
        {
            NFT: ok("nft-via-iptables-ufw.json"),
            IPT: ok("iptables-ufw.txt"),
            IP6T: ok("ip6tables.txt"),
            UFW: recorded("ufw_status_verbose_active"),
        },
    )
    assert _facts(audit)["local.firewall"] == "default-deny"
    assert _facts(audit)["local.ufw"] == "active"
    assert _facts(audit, 80)["local.listener"] == "unrestricted"
    assert _facts(audit, 5432)["local.listener"] == "restricted"
    assert _facts(audit, 6379)["local.listener"] == "restricted"
    assert 3306 not in {s.port for s in audit.host.services}  # loopback only
    services = {s.port: s for s in audit.host.services}
    assert services[5432].name == "postgresql"
    assert services[5432].extrainfo == "on 0.0.0.0; process postgres (pid 100)"
    assert services[6379].state == "listening"
    findings = _findings(audit)
    assert ("local-firewall-default-deny", None) in findings
    assert not any(rule == "local-datastore-unrestricted" for rule, _ in findings)


def test_dedup_keeps_native_nft_tables() -> None:
    reading = read_rulesets(
        "host", Runner({NFT: ok("nft-default-drop.json"), IPT: ok("iptables-accept-all.txt")})
    )
    backends = sorted(rs.backend for rs in reading.rulesets if rs.input_chains())
    assert backends == ["iptables", "nftables"]


def test_no_rules_at_all(proc: Path) -> None:
    audit = _audit(proc, {NFT: ok("nft-empty.json"), IPT: CommandOutput(0, "", ""), IP6T: MISSING})
    assert _facts(audit)["local.firewall"] == "none"
    findings = _findings(audit)
    assert findings[("local-no-firewall", None)].severity.value == "high"
    exposed = findings[("local-datastore-unrestricted", 6379)]
    assert "no input chain" in " ".join(exposed.evidence)
    assert ("local-datastore-unrestricted", 5432) in findings
    assert ("local-datastore-unrestricted", 80) not in findings  # not a data store


def test_accept_policy_with_drop_rules(proc: Path) -> None:
    audit = _audit(proc, {NFT: ok("nft-policy-accept.json")})
    assert _facts(audit)["local.firewall"] == "accepting-policy"
    assert ("local-input-policy-accept", None) in _findings(audit)


def test_input_chains_that_accept_everything_are_no_firewall(proc: Path) -> None:
    audit = _audit(proc, {IPT: ok("iptables-accept-all.txt")})
    verdict = _facts(audit)["local.firewall"]
    assert verdict == "none"
    why = next(o.evidence for o in audit.observations if o.key == "local.firewall")
    assert why == "iptables filter INPUT: policy accept; no rule drops or rejects anything"


def test_without_root_nothing_is_guessed(proc: Path) -> None:
    audit = _audit(
        proc,
        {
            NFT: recorded("nft_list_ruleset_nonroot"),
            IPT: recorded("iptables_save_nonroot"),
            IP6T: recorded("ip6tables_save_nonroot"),
            UFW: recorded("ufw_status_verbose_nonroot"),
        },
    )
    assert _facts(audit)["local.firewall"] == "unknown"
    assert _facts(audit, 6379)["local.listener"] == "unknown"
    assert _facts(audit)["local.ufw"] == "unknown"
    messages = [e.message for e in audit.errors if e.reason == "unreadable"]
    assert len(messages) == 3
    assert messages[0].startswith("nft -j list ruleset: ")
    assert "Operation not permitted" in messages[0]
    findings = _findings(audit)
    assert ("local-firewall-unreadable", None) in findings
    assert ("local-no-firewall", None) not in findings
    assert not any(rule == "local-datastore-unrestricted" for rule, _ in findings)


def test_no_tools_installed(proc: Path) -> None:
    reading = read_rulesets("host", Runner({}))
    assert reading.missing == ("nft", "iptables-save", "ip6tables-save")
    verdict, why = firewall_verdict(reading)
    assert verdict is FirewallVerdict.UNKNOWN
    assert why == "no ruleset could be read: neither nft nor iptables-save is installed"


@pytest.mark.parametrize(
    ("command", "name"),
    [(NFT, "nft-truncated.json"), (IPT, "iptables-rule-outside-table.txt")],
)
def test_unparsable_output_is_a_probe_error(
    proc: Path, command: tuple[str, ...], name: str
) -> None:
    audit = _audit(proc, {command: ok(f"malformed/{name}")})
    (error,) = [e for e in audit.errors if e.reason == "unparsable"]
    assert error.stage.startswith("local:")
    assert "\n" not in error.message
    assert _facts(audit)["local.firewall"] == "unknown"


@pytest.mark.parametrize(
    ("cap_eff", "expected"),
    [("000001ffffffffff", True), ("0000000000000000", False), ("0000000000001000", True)],
)
def test_reading_rulesets_needs_cap_net_admin(tmp_path: Path, cap_eff: str, expected: bool) -> None:
    status = tmp_path / "status"
    status.write_text(f"Name:\tpython3\nCapInh:\t0\nCapEff:\t{cap_eff}\n", encoding="ascii")
    assert may_read_rulesets(status) is expected
