"""Packet-filter posture and `trustscan local`, in network namespaces the tests
create: one with an nftables input chain whose policy is drop (only Redis's
port accepted, and only from loopback addresses), one with an iptables
ruleset of the same shape, and one with no rules at all. Each runs a real
Redis on all its addresses; trustscan runs inside each namespace against its
loopback, and audits each from the inside.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.netns import Namespace, namespace, redis_command, requires_netns

pytestmark = [
    pytest.mark.integration,
    requires_netns("nft", "nmap", "redis-server", "iptables-restore"),
]

REDIS = 6379
# 150 ports and Redis: more than the 100 answers "no packet filter" needs.
# nmap gives up on a silent port after one retry and 100 ms, as loopback allows.
SCAN = [
    "scan", "127.0.0.1", "-p", f"1-150,{REDIS}",
    "--nmap-arg=-T5", "--nmap-arg=--max-retries=1",
    "--nmap-arg=--initial-rtt-timeout=50ms", "--nmap-arg=--max-rtt-timeout=100ms",
    "--firewall-probe", "ack", "-q",
]  # fmt: skip

DROP_POLICY = f"""\
table inet filter {{
  chain input {{
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport {REDIS} ip saddr 127.0.0.0/8 accept
  }}
}}
"""

IPTABLES_DROP = f"""\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport {REDIS} -j ACCEPT
COMMIT
"""


def _with_redis(ns: Namespace) -> Namespace:
    ns.start(redis_command(ns.workdir, REDIS), REDIS)
    return ns


@pytest.fixture(scope="module")
def filtered() -> Iterator[Namespace]:
    with namespace("f") as ns:
        ns.load_nft(DROP_POLICY)
        yield _with_redis(ns)


@pytest.fixture(scope="module")
def unfiltered() -> Iterator[Namespace]:
    with namespace("u") as ns:
        yield _with_redis(ns)


@pytest.fixture(scope="module")
def iptables_filtered() -> Iterator[Namespace]:
    with namespace("i") as ns:
        ns.load_iptables(IPTABLES_DROP)
        yield _with_redis(ns)


def _result(ns: Namespace, *args: str, unprivileged: bool = False, code: int = 0) -> dict[str, Any]:
    out = ns.workdir / f"result-{args[0]}-{'unprivileged' if unprivileged else 'root'}.json"
    run = ns.trustscan(*args, "--json", str(out), unprivileged=unprivileged)
    assert run.returncode == code, run.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _facts(result: dict[str, Any], port: int | None = None) -> dict[str, str]:
    return {o["key"]: o["value"] for o in result["observations"] if o["port"] == port}


def _findings(result: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, Any]]:
    return {(f["rule_id"], f["port"]): f for f in result["findings"]}


def test_drop_policy_is_reported_filtered(filtered: Namespace) -> None:
    result = _result(filtered, *SCAN)
    facts = _facts(result)
    assert facts["firewall.posture"] == "filtered"
    assert facts["firewall.filtered_ports"] == "150"
    # The ACK scan agrees: only the accepted port answers.
    assert facts["firewall.ack"] == "partially-filtered"
    assert facts["firewall.ack_filtered_ports"] == "150"
    findings = _findings(result)
    assert ("host-packet-filter-present", None) in findings
    assert ("host-no-packet-filter", None) not in findings
    reachable = findings[("datastore-reachable", REDIS)]
    assert reachable["severity"] == "medium"
    posture = next(o for o in result["observations"] if o["key"] == "firewall.posture")
    assert "(tcp 1-150,6379)" in posture["evidence"]
    assert "150 filtered: no-response 150" in posture["evidence"]
    assert any("-sA" in command for command in result["nmap"]["commands"])


def test_no_rules_is_reported_as_no_packet_filter(unfiltered: Namespace) -> None:
    result = _result(unfiltered, *SCAN)
    facts = _facts(result)
    assert facts["firewall.posture"] == "unfiltered"
    # 150 closed ports reset the SYN scan; all 151, Redis's too, reset the ACK scan.
    assert facts["firewall.answering_ports"] == "151"
    assert facts["firewall.ack"] == "unfiltered"
    findings = _findings(result)
    assert findings[("host-no-packet-filter", None)]["severity"] == "medium"
    reachable = findings[("datastore-reachable", REDIS)]
    # The same exposure is worse with nothing filtering the host.
    assert reachable["severity"] == "high"
    assert reachable["notes"][0].startswith("Severity raised from medium to high")


def test_local_audit_reads_the_drop_policy(filtered: Namespace) -> None:
    result = _result(filtered, "local")
    facts = _facts(result)
    assert facts["local.firewall"] == "default-deny"
    assert _facts(result, REDIS) == {"local.bind": "all-addresses", "local.listener": "restricted"}
    listener = next(o for o in result["observations"] if o["key"] == "local.listener")
    assert "127.0.0.0/8" in listener["evidence"]
    findings = _findings(result)
    assert ("local-firewall-default-deny", None) in findings
    assert ("local-datastore-unrestricted", REDIS) not in findings
    (host,) = result["hosts"]
    (service,) = host["services"]
    assert service["name"] == "redis"
    assert "redis-server" in service["extrainfo"]


def test_local_audit_reads_iptables(iptables_filtered: Namespace) -> None:
    result = _result(iptables_filtered, "local")
    assert _facts(result)["local.firewall"] == "default-deny"
    policy = next(o for o in result["observations"] if o["key"] == "local.firewall")
    assert "iptables filter INPUT: policy drop" in policy["evidence"]
    # The port is accepted from anywhere: the drop policy does not protect it.
    findings = _findings(result)
    assert findings[("local-datastore-unrestricted", REDIS)]["severity"] == "high"


def test_local_audit_without_rules(unfiltered: Namespace) -> None:
    result = _result(unfiltered, "local")
    assert _facts(result)["local.firewall"] == "none"
    findings = _findings(result)
    assert findings[("local-no-firewall", None)]["severity"] == "high"
    exposed = findings[("local-datastore-unrestricted", REDIS)]
    assert "no input chain" in " ".join(exposed["evidence"])


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing")
def test_local_audit_without_privileges_says_what_it_could_not_read(
    unfiltered: Namespace,
) -> None:
    # Exit 4: the rules it could not read are a part of the audit that did not happen.
    result = _result(unfiltered, "local", unprivileged=True, code=4)
    assert _facts(result)["local.firewall"] == "unknown"
    findings = _findings(result)
    assert ("local-firewall-unreadable", None) in findings
    assert ("local-no-firewall", None) not in findings
    unreadable = [e for e in result["probe_errors"] if e["reason"] == "unreadable"]
    assert unreadable
    assert all("as root" in e["message"] for e in unreadable)
