"""`nft -j list ruleset` output, recorded in network namespaces (fixtures/firewall)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.local.nftables import MAX_JSON_BYTES, parse_nft_json
from scanner.local.ruleset import (
    Action,
    PortRange,
    Ruleset,
    RulesetError,
    has_input_filtering,
    input_policy,
    port_access,
)
from tests.netns import namespace, requires_netns
from tests.support import FIXTURES

FIREWALL = FIXTURES / "firewall"


def load(name: str) -> Ruleset:
    path = FIREWALL / name
    return parse_nft_json(path.read_text(), str(path))


def is_open(ruleset: Ruleset, port: int, family: str = "ipv4", protocol: str = "tcp") -> bool:
    return port_access([ruleset], protocol, port, family).open_to_all


# --- default drop --------------------------------------------------------------------


def test_default_drop_chains_and_rules() -> None:
    rs = load("nft-default-drop.json")
    assert rs.backend == "nftables"
    assert rs.origin.endswith("nft-default-drop.json")
    (chain,) = rs.input_chains()
    assert (chain.family, chain.table, chain.name, chain.hook) == (
        "inet",
        "filter",
        "input",
        "input",
    )
    assert chain.policy is Action.DROP
    texts = [r.text for r in chain.rules]
    assert texts == [
        'iifname "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
        "ip saddr 10.0.0.0/8 tcp dport 22 accept",
        "tcp dport 5432 ip saddr 10.0.0.0/8 accept",
        "tcp dport { 80, 443 } counter accept",
        "meta l4proto icmp accept",
        'log prefix "dropped: " counter',
    ]
    lo, established, invalid, ssh, postgres, web, icmp, log = chain.rules
    assert ssh.narrowed_by == ("family ipv4", "source 10.0.0.0/8")
    assert lo.narrowed_by == ("interface lo",)
    assert established.narrowed_by == ("ct state established,related",)
    assert invalid.action is Action.DROP
    assert postgres.protocols == frozenset({"tcp"})
    assert postgres.dports == (PortRange(5432, 5432),)
    assert postgres.narrowed_by == ("family ipv4", "source 10.0.0.0/8")
    assert web.dports == (PortRange(80, 80), PortRange(443, 443))
    assert web.narrowed_by == ()
    assert icmp.protocols == frozenset({"icmp"})
    assert log.action is Action.NONE
    assert all(r.line == 0 for r in chain.rules)


def test_default_drop_verdicts() -> None:
    rs = load("nft-default-drop.json")
    postgres = port_access([rs], "tcp", 5432)
    assert not postgres.open_to_all  # only 10.0.0.0/8 is accepted, policy drop
    assert postgres.reason == (
        "nftables inet filter input: policy drop; only `tcp dport 5432 ip saddr 10.0.0.0/8 "
        "accept` lets it in, from some sources"
    )
    assert not is_open(rs, 22)
    assert is_open(rs, 80)
    assert is_open(rs, 443)
    assert is_open(rs, 443, "ipv6")  # inet table: both families
    mysql = port_access([rs], "tcp", 3306)
    assert not mysql.open_to_all
    assert mysql.reason == "nftables inet filter input: policy drop and no rule accepts tcp/3306"
    assert not is_open(rs, 80, protocol="udp")
    # `ip saddr` is IPv4 only: for IPv6 the ssh rule does not apply at all.
    assert port_access([rs], "tcp", 22, "ipv6").reason.endswith("no rule accepts tcp/22")
    assert input_policy([rs]) == (("nftables inet filter input", Action.DROP),)
    assert has_input_filtering([rs])


# --- jumps, gotos, verdict maps ----------------------------------------------------------


def test_jump_fixture_chains() -> None:
    rs = load("nft-jump.json")
    assert [c.name for c in rs.chains] == ["services", "admin", "tail", "input"]
    services = rs.chain("inet", "filter", "services")
    assert services is not None
    assert services.hook is None
    assert services.policy is None
    (input_chain,) = rs.input_chains()
    vmap_rules = input_chain.rules[:3]  # `ct state vmap { ... }` is one rule per element
    assert [(r.action, r.narrowed_by) for r in vmap_rules] == [
        (Action.DROP, ("ct state invalid",)),
        (Action.ACCEPT, ("ct state established",)),
        (Action.ACCEPT, ("ct state related",)),
    ]
    assert input_chain.rules[3].narrowed_by == ("interface lo",)  # `iif "lo"`
    assert input_chain.rules[3].text == 'iif "lo" accept'
    goto = input_chain.rules[6]
    assert (goto.action, goto.target) == (Action.GOTO, "tail")
    assert goto.narrowed_by == ("unmodelled: tcp dport != 9000",)
    assert goto.protocols == frozenset({"tcp"})


def test_jump_fixture_verdicts() -> None:
    rs = load("nft-jump.json")
    smtp = port_access([rs], "tcp", 25)
    assert smtp.open_to_all
    assert smtp.reason == (
        "nftables inet filter input: `tcp dport { 25, 587, 1000-2000 } accept` "
        "(chain services) accepts tcp/25 from any source"
    )
    assert is_open(rs, 1500)
    assert is_open(rs, 8443)
    assert is_open(rs, 9000)
    # 8050 returns from `services` before anything accepts it.
    assert not is_open(rs, 8050)
    ssh = port_access([rs], "tcp", 22, "ipv6")
    assert not ssh.open_to_all
    assert ssh.reason == (
        "nftables inet filter input: `tcp dport 22 reject with tcp reset` (chain admin) "
        "rejects tcp/22; before it, only `ip6 saddr fd00::/8 tcp dport 22 accept` "
        "(chain admin) lets it in, from some sources"
    )
    assert not is_open(rs, 3306)


def test_named_sets_and_maps_are_resolved() -> None:
    rs = load("nft-misc.json")
    (chain, nat_input) = rs.input_chains()
    by_text = {r.text: r for r in chain.rules}
    web = by_text["tcp dport @web_ports accept"]
    assert web.dports == (PortRange(80, 80), PortRange(443, 443), PortRange(8000, 8099))
    admins = by_text["ip saddr @admins tcp dport 5432 accept"]
    assert admins.narrowed_by == ("family ipv4", "source @admins")
    assert is_open(rs, 8050)
    assert is_open(rs, 8888)  # map element 8888 : accept
    assert not is_open(rs, 8889)  # map element 8889 : drop
    assert is_open(rs, 7005)  # anonymous vmap range 7000-7010 : accept
    assert not is_open(rs, 23)
    assert not is_open(rs, 5432)
    assert not is_open(rs, 3306)
    assert nat_input.table == "nat"


def test_misc_matches() -> None:
    rs = load("nft-misc.json")
    assert is_open(rs, 22)  # ct state new
    assert is_open(rs, 2222)  # ct state established,new
    assert not is_open(rs, 9100)  # only on eth1
    assert not is_open(rs, 8443)  # only to one destination address
    assert not is_open(rs, 25, "ipv4")  # meta nfproto ipv6
    assert is_open(rs, 25, "ipv6")
    assert is_open(rs, 110, "ipv4")  # ip protocol tcp
    assert not is_open(rs, 110, "ipv6")
    assert is_open(rs, 4000)  # th dport
    assert is_open(rs, 4000, protocol="udp")
    assert not is_open(rs, 9200)  # limit and tcp flags are not modelled
    assert is_open(rs, 1194)  # fib daddr type local
    assert is_open(rs, 9080)  # a mark does not change the verdict
    assert is_open(rs, 9081, "ipv4")  # ip saddr 0.0.0.0/0
    assert not is_open(rs, 9081, "ipv6")
    assert not is_open(rs, 9082)  # ct state != ... is not modelled
    assert is_open(rs, 9083)  # rule with a comment
    # the nat-type chain hooked at input drops 1234 for IPv4
    nat = port_access([rs], "tcp", 1234, "ipv4")
    assert not nat.open_to_all
    # bridge and netdev chains are left out of the input questions
    assert {c.family for c in rs.input_chains()} == {"inet", "ip"}
    ratelimited = port_access([rs], "tcp", 9200)
    assert "unmodelled: limit rate 10/second" in ratelimited.reason


# --- policy accept, several tables, nothing at input ---------------------------------


def test_policy_accept_verdicts() -> None:
    rs = load("nft-policy-accept.json")
    assert input_policy([rs]) == (("nftables ip filter input", Action.ACCEPT),)
    mysql = port_access([rs], "tcp", 3306)
    assert mysql.open_to_all  # policy accept and no drop rule names it
    assert mysql.reason == (
        "nftables ip filter input: policy accept and no rule drops tcp/3306 for every source; "
        "`ip saddr 192.0.2.0/24 drop` may stop it, from some sources"
    )
    telnet = port_access([rs], "tcp", 23)
    assert not telnet.open_to_all
    assert telnet.reason == "nftables ip filter input: `tcp dport 23 drop` drops tcp/23"
    nfs = port_access([rs], "tcp", 2049)
    assert not nfs.open_to_all
    assert "`tcp dport { 111, 2049 } reject with icmp port-unreachable` rejects" in nfs.reason
    assert is_open(rs, 161)  # the drop is for udp
    assert not is_open(rs, 161, protocol="udp")
    redis = port_access([rs], "tcp", 6379)
    assert redis.open_to_all  # `ip saddr != 127.0.0.0/8` is not modelled: may not apply
    assert "may stop it" in redis.reason
    # an ip-family table does not see IPv6
    assert port_access([rs], "tcp", 23, "ipv6").reason.startswith("no ipv6 input chain")


def test_two_tables_must_both_accept() -> None:
    rs = load("nft-two-tables.json")
    assert len(rs.input_chains()) == 2
    assert not is_open(rs, 3306, "ipv6")  # the first table drops it
    assert is_open(rs, 80, "ipv6")  # first accepts by policy, second by rule
    assert not is_open(rs, 22, "ipv6")  # second: policy drop
    assert is_open(rs, 22, "ipv4")  # the ip6 table does not see IPv4
    assert not is_open(rs, 3306, "ipv4")


def test_empty_ruleset() -> None:
    rs = load("nft-empty.json")
    assert rs.chains == ()
    access = port_access([rs], "tcp", 22)
    assert access.open_to_all
    assert access.reason == "no input chain: nothing filters inbound traffic"
    assert input_policy([rs]) == ()
    assert not has_input_filtering([rs])


def test_no_input_chain() -> None:
    rs = load("nft-no-input.json")
    assert [c.hook for c in rs.chains] == ["forward", "output"]
    assert rs.input_chains() == ()
    assert is_open(rs, 25)  # the drop is on output
    assert port_access([rs], "tcp", 25).reason == "no input chain: nothing filters inbound traffic"


# --- rules written by iptables-nft --------------------------------------------------------


def test_iptables_nft_rules_show_opaque_xt_matches() -> None:
    rs = load("nft-via-iptables-ufw.json")
    user_input = rs.chain("ip", "filter", "ufw-user-input")
    assert user_input is not None
    multiport = user_input.rules[1]
    assert multiport.narrowed_by == ("unmodelled: xt match multiport",)
    assert multiport.dports is None
    # the comment match matches everything
    assert user_input.rules[3].narrowed_by == ("source 192.0.2.10",)
    assert is_open(rs, 22)
    web = port_access([rs], "tcp", 80)
    assert not web.open_to_all  # the ports are inside the opaque multiport match
    assert "unmodelled: xt match multiport" in web.reason


def test_iptables_nft_reject_target() -> None:
    rs = load("nft-via-iptables-reject.json")
    filter_input = rs.chain("ip", "filter", "INPUT")
    assert filter_input is not None
    assert filter_input.rules[0].action is Action.REJECT
    assert not is_open(rs, 23)
    assert not is_open(rs, 3389)  # goto blocked -> drop
    assert is_open(rs, 22)


# --- malformed and hostile input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nft-truncated.json", ":1: not JSON: "),
        ("nft-not-nft.json", ': not `nft -j list ruleset` output: no top-level {"nftables"'),
        ("nft-expr-not-list.json", ": nftables[3] rule: 'expr' is not a list of objects"),
        (
            "nft-rule-unknown-chain.json",
            ": nftables[3] rule: rule for unknown chain ip filter nosuchchain",
        ),
    ],
)
def test_malformed_fixtures(name: str, message: str) -> None:
    path = FIREWALL / "malformed" / name
    with pytest.raises(RulesetError) as caught:
        parse_nft_json(path.read_text(), str(path))
    text = str(caught.value)
    assert text.startswith(str(path))
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "no top-level"),
        ('{"nftables": {}}', "no top-level"),
        ('{"nftables": [1]}', "nftables[0]: not an object with one key"),
        ('{"nftables": [{"chain": []}]}', "nftables[0]: chain is not an object"),
        ('{"nftables": [{"chain": {"family": "ip", "table": "t"}}]}', "non-string 'name'"),
        (
            '{"nftables": [{"chain": {"family": "ip", "table": "t", "name": "c", '
            '"hook": "input", "policy": "maybe"}}]}',
            "unknown policy 'maybe'",
        ),
        (
            '{"nftables": [{"chain": {"family": "ip", "table": "t", "name": "c"}}, '
            '{"chain": {"family": "ip", "table": "t", "name": "c"}}]}',
            "listed twice",
        ),
        (
            '{"nftables": [{"chain": {"family": "ip", "table": "t", "name": "c"}}, '
            '{"rule": {"family": "ip", "table": "t", "chain": "c", '
            '"expr": [{"jump": {"target": "gone"}}]}}]}',
            "jump to unknown chain 'gone'",
        ),
        (
            '{"nftables": [{"chain": {"family": "ip", "table": "t", "name": "c"}}, '
            '{"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"goto": {}}]}}]}',
            "goto without a target chain",
        ),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_bad_shapes_are_one_line_errors(document: str, message: str) -> None:
    with pytest.raises(RulesetError, match=r"^doc\.json: ") as caught:
        parse_nft_json(document, "doc.json")
    assert message in str(caught.value)


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(RulesetError, match=r"larger than 16777216 bytes"):
        parse_nft_json(" " * (MAX_JSON_BYTES + 1), "big.json")


def test_hostile_strings_stay_one_bounded_line() -> None:
    document = {
        "nftables": [
            {"chain": {"family": "inet", "table": "t", "name": "in", "hook": "input",
                       "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": [
                {"match": {"op": "==", "left": {"meta": {"key": "iifname"}},
                           "right": "eth0\n<script>" + "x" * 1000}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                           "right": 22}},
                {"accept": None},
            ]}},
        ]
    }  # fmt: skip
    rs = parse_nft_json(json.dumps(document), "hostile.json")
    (rule,) = rs.chains[0].rules
    assert "\n" not in rule.text
    assert len(rule.text) <= 300
    assert all(len(item) <= 130 for item in rule.narrowed_by)
    access = port_access([rs], "tcp", 22)
    assert not access.open_to_all
    assert "\n" not in access.reason


def test_unknown_statements_narrow_and_unknown_objects_are_skipped() -> None:
    document = {
        "nftables": [
            {"metainfo": {"version": "9.9"}},
            {"flowtable": {"family": "inet", "name": "f", "table": "t"}},
            {"chain": {"family": "inet", "table": "t", "name": "in", "hook": "input",
                       "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": [
                {"quota": {"val": 10, "val_unit": "mbytes"}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                           "right": True}},
                {"accept": None},
            ]}},
        ]
    }  # fmt: skip
    (chain,) = parse_nft_json(json.dumps(document), "x.json").chains
    (rule,) = chain.rules
    assert rule.action is Action.ACCEPT
    assert rule.dports is None  # `true` is not a port
    assert rule.protocols == frozenset({"tcp"})
    assert len(rule.narrowed_by) == 2
    assert all(item.startswith("unmodelled: ") for item in rule.narrowed_by)


def _paths(node: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@pytest.mark.parametrize("name", ["nft-jump.json", "nft-misc.json"])
def test_any_corrupted_value_gives_a_ruleset_or_a_ruleset_error(name: str) -> None:
    """Every value in a recorded document swapped for a wrong-typed one: the
    parser and the evaluator may refuse it, but only with RulesetError."""
    original = (FIREWALL / name).read_text()
    wrong: tuple[object, ...] = (None, [1], {"x": {}}, "@x", 10**30)
    for path in list(_paths(json.loads(original)))[1:]:
        for value in wrong:
            document = json.loads(original)
            node = document
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
            try:
                rs = parse_nft_json(json.dumps(document), "corrupt.json")
            except RulesetError:
                continue
            for family in ("ipv4", "ipv6"):
                port_access([rs], "tcp", 22, family)
            has_input_filtering([rs])


# --- live: the installed nft, in a throwaway namespace -------------------------------------


@requires_netns("nft")
def test_installed_nft_output_reads_the_same() -> None:
    source = FIREWALL / "src" / "nft-default-drop.nft"
    with namespace("nft") as ns:
        ns.load_nft(source.read_text())
        listed = ns.run(["nft", "-j", "list", "ruleset"]).stdout
    live = parse_nft_json(listed, f"netns {ns.name}")
    recorded = load("nft-default-drop.json")
    assert [c.rules for c in live.chains] == [c.rules for c in recorded.chains]
    assert not port_access([live], "tcp", 5432).open_to_all
    assert port_access([live], "tcp", 80).open_to_all


def test_fixture_sources_exist_next_to_recordings() -> None:
    for recording in FIREWALL.glob("nft-*.json"):
        stem = recording.stem.removeprefix("nft-via-")
        candidates = [
            FIREWALL / "src" / f"{recording.stem}.nft",
            FIREWALL / "src" / f"{stem}.rules",
        ]
        assert any(Path(c).exists() for c in candidates), recording
