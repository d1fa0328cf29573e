"""The evaluator, on hand-built rulesets and on recorded ones combined."""

from __future__ import annotations

import dataclasses

import pytest

from scanner.local.iptables import parse_iptables_save
from scanner.local.nftables import parse_nft_json
from scanner.local.ruleset import (
    Action,
    Chain,
    FilterRule,
    PortRange,
    Ruleset,
    RulesetError,
    has_input_filtering,
    input_policy,
    port_access,
)
from tests.support import FIXTURES

FIREWALL = FIXTURES / "firewall"
TCP = frozenset({"tcp"})


def tcp(port: int, action: Action, *narrowed: str, target: str = "") -> FilterRule:
    return FilterRule(
        action=action,
        target=target,
        protocols=TCP,
        dports=(PortRange(port, port),),
        narrowed_by=narrowed,
        text=f"tcp dport {port} {action.value}",
    )


def nft(*chains: Chain) -> Ruleset:
    return Ruleset("nftables", "test", chains)


def base(*rules: FilterRule, policy: Action | None = Action.DROP, family: str = "inet") -> Chain:
    return Chain(family, "filter", "input", "input", policy, rules)


def user(name: str, *rules: FilterRule, family: str = "inet") -> Chain:
    return Chain(family, "filter", name, None, None, rules)


def recorded_nft(name: str) -> Ruleset:
    path = FIREWALL / name
    return parse_nft_json(path.read_text(), str(path))


def recorded_iptables(name: str, family: str = "ip") -> Ruleset:
    path = FIREWALL / name
    return parse_iptables_save(path.read_text(), str(path), family)


# --- model -----------------------------------------------------------------------


def test_port_range_contains_its_bounds_only() -> None:
    ports = PortRange(1000, 2000)
    assert ports.contains(1000)
    assert ports.contains(2000)
    assert not ports.contains(999)
    assert not ports.contains(2001)
    assert str(ports) == "1000-2000"
    assert str(PortRange(22, 22)) == "22"


@pytest.mark.parametrize(("low", "high"), [(10, 9), (-1, 5), (0, 65536)])
def test_port_range_rejects_impossible_ranges(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="bad port range"):
        PortRange(low, high)


def test_model_is_frozen() -> None:
    rule = tcp(22, Action.ACCEPT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.action = Action.DROP  # type: ignore[misc]


def test_ruleset_error_is_one_line_with_origin_and_line() -> None:
    error = RulesetError("bad\nthing", "rules.txt", 7)
    assert str(error) == "rules.txt:7: bad?thing"
    assert isinstance(error, ValueError)
    assert (error.origin, error.line, error.message) == ("rules.txt", 7, "bad?thing")
    assert str(RulesetError("empty", "x.json")) == "x.json: empty"


def test_input_chains_are_base_chains_hooked_at_input_in_ip_families() -> None:
    rs = nft(
        base(),
        user("services"),
        Chain("inet", "filter", "output", "output", Action.ACCEPT, ()),
        Chain("bridge", "br", "input", "input", Action.DROP, ()),
    )
    assert [c.name for c in rs.input_chains()] == ["input"]


# --- port_access ------------------------------------------------------------------


def test_no_input_chain_means_nothing_filters() -> None:
    access = port_access([nft()], "tcp", 22)
    assert access.open_to_all
    assert access.reason == "no input chain: nothing filters inbound traffic"
    assert port_access([], "tcp", 22).open_to_all


def test_policy_drop_without_rules_closes_every_port() -> None:
    access = port_access([nft(base())], "tcp", 3306)
    assert not access.open_to_all
    assert access.reason == ("nftables inet filter input: policy drop and no rule accepts tcp/3306")


def test_missing_nft_policy_means_accept() -> None:
    access = port_access([nft(base(policy=None))], "tcp", 3306)
    assert access.open_to_all
    assert "policy accept (none set)" in access.reason


def test_accept_only_from_some_sources_is_not_open_to_all() -> None:
    rule = tcp(5432, Action.ACCEPT, "source 10.0.0.0/8")
    access = port_access([nft(base(rule))], "tcp", 5432)
    assert not access.open_to_all
    assert access.reason == (
        "nftables inet filter input: policy drop; only `tcp dport 5432 accept` "
        "lets it in, from some sources"
    )


def test_accept_from_any_source_prefix_is_open() -> None:
    rule = tcp(5432, Action.ACCEPT, "family ipv4", "source 0.0.0.0/0")
    assert port_access([nft(base(rule))], "tcp", 5432).open_to_all
    assert not port_access([nft(base(rule))], "tcp", 5432, "ipv6").open_to_all


def test_protocol_and_port_must_both_match() -> None:
    ruleset = nft(base(tcp(53, Action.ACCEPT)))
    assert port_access([ruleset], "tcp", 53).open_to_all
    assert not port_access([ruleset], "udp", 53).open_to_all
    assert not port_access([ruleset], "tcp", 54).open_to_all


def test_loopback_and_established_rules_never_apply() -> None:
    any_traffic = FilterRule(Action.ACCEPT, narrowed_by=("interface lo",), text="iif lo accept")
    established = FilterRule(Action.ACCEPT, narrowed_by=("ct state established,related",))
    access = port_access([nft(base(any_traffic, established))], "tcp", 22)
    assert not access.open_to_all
    assert access.reason.endswith("policy drop and no rule accepts tcp/22")


def test_new_state_rule_applies_fully() -> None:
    rule = tcp(22, Action.ACCEPT, "ct state new")
    assert port_access([nft(base(rule))], "tcp", 22).open_to_all


def test_narrowed_drop_is_not_assumed_to_apply() -> None:
    drop = tcp(6379, Action.DROP, "unmodelled: ip saddr != 127.0.0.0/8")
    access = port_access([nft(base(drop, policy=Action.ACCEPT))], "tcp", 6379)
    assert access.open_to_all
    assert "may stop it, only when: unmodelled: ip saddr != 127.0.0.0/8" in access.reason


def test_first_matching_rule_wins() -> None:
    chain = base(tcp(23, Action.DROP), tcp(23, Action.ACCEPT), policy=Action.ACCEPT)
    access = port_access([nft(chain)], "tcp", 23)
    assert not access.open_to_all
    assert "`tcp dport 23 drop` drops tcp/23" in access.reason


def test_reject_is_a_denial() -> None:
    chain = base(tcp(23, Action.REJECT), policy=Action.ACCEPT)
    access = port_access([nft(chain)], "tcp", 23)
    assert not access.open_to_all
    assert "rejects tcp/23" in access.reason


def test_jump_returns_to_the_caller_and_goto_does_not() -> None:
    jump = FilterRule(Action.JUMP, target="side")
    goto = FilterRule(Action.GOTO, target="side")
    side = user("side", tcp(80, Action.ACCEPT))
    after = tcp(443, Action.ACCEPT)
    with_jump = nft(base(jump, after), side)
    with_goto = nft(base(goto, after), side)
    assert port_access([with_jump], "tcp", 80).open_to_all
    assert port_access([with_jump], "tcp", 443).open_to_all  # came back after the jump
    assert port_access([with_goto], "tcp", 80).open_to_all
    # goto: the end of `side` ends the base chain too, so the policy decides.
    assert not port_access([with_goto], "tcp", 443).open_to_all


def test_return_in_user_chain_resumes_the_caller() -> None:
    side = user("side", tcp(8080, Action.RETURN), FilterRule(Action.DROP, text="drop"))
    ruleset = nft(base(FilterRule(Action.JUMP, target="side"), tcp(8080, Action.ACCEPT)), side)
    assert port_access([ruleset], "tcp", 8080).open_to_all
    access = port_access([ruleset], "tcp", 8081)
    assert not access.open_to_all
    assert "`drop` (chain side) drops tcp/8081" in access.reason


def test_narrowed_jump_only_gives_conditional_accepts() -> None:
    jump = FilterRule(Action.JUMP, target="office", narrowed_by=("source 192.0.2.0/24",))
    office = user("office", tcp(3389, Action.ACCEPT))
    access = port_access([nft(base(jump), office)], "tcp", 3389)
    assert not access.open_to_all
    assert "only `tcp dport 3389 accept` (chain office) lets it in, from some sources" in (
        access.reason
    )


def test_jump_loops_and_missing_chains_are_not_followed() -> None:
    loop = user("a", FilterRule(Action.JUMP, target="b"))
    back = user("b", FilterRule(Action.JUMP, target="a"), tcp(22, Action.ACCEPT))
    missing = FilterRule(Action.JUMP, target="nowhere")
    ruleset = nft(base(missing, FilterRule(Action.JUMP, target="a")), loop, back)
    access = port_access([ruleset], "tcp", 22)
    assert access.open_to_all  # a -> b -> (a skipped) -> accept
    assert "jump to missing chain nowhere not followed" in access.reason
    assert "jump to a not followed (loop" in access.reason


def test_jump_depth_is_bounded() -> None:
    chains = [user(f"c{i}", FilterRule(Action.JUMP, target=f"c{i + 1}")) for i in range(40)]
    chains.append(user("c40", tcp(22, Action.ACCEPT)))
    ruleset = nft(base(FilterRule(Action.JUMP, target="c0")), *chains)
    access = port_access([ruleset], "tcp", 22)
    assert not access.open_to_all
    assert "deeper than 16" in access.reason


def test_every_input_base_chain_must_accept() -> None:
    accepting = base(tcp(80, Action.ACCEPT))
    dropping = Chain("inet", "other", "input", "input", Action.DROP, ())
    access = port_access([nft(accepting, dropping)], "tcp", 80)
    assert not access.open_to_all
    assert access.reason.startswith("nftables inet other input: policy drop")


def test_families_select_the_chains_that_see_the_traffic() -> None:
    only_v4 = nft(base(policy=Action.DROP, family="ip"))
    assert not port_access([only_v4], "tcp", 22, "ipv4").open_to_all
    v6 = port_access([only_v4], "tcp", 22, "ipv6")
    assert v6.open_to_all
    assert v6.reason == "no ipv6 input chain: nothing filters inbound ipv6 traffic"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="family"):
        port_access([], "tcp", 22, "ipx")
    with pytest.raises(ValueError, match="port"):
        port_access([], "tcp", 70000)


def test_reason_is_bounded_and_one_line() -> None:
    rule = dataclasses.replace(tcp(22, Action.DROP), text="x" * 300)
    access = port_access([nft(base(rule, policy=Action.ACCEPT))], "tcp", 22)
    assert "\n" not in access.reason
    assert len(access.reason) < 500


# --- policy and filtering summaries ---------------------------------------------


def test_input_policy_lists_every_input_base_chain() -> None:
    rulesets = [
        nft(base(policy=None), Chain("ip6", "t6", "in6", "input", Action.DROP, ())),
        recorded_iptables("iptables-ufw.txt"),
    ]
    assert input_policy(rulesets) == (
        ("nftables inet filter input", Action.ACCEPT),
        ("nftables ip6 t6 in6", Action.DROP),
        ("iptables filter INPUT", Action.DROP),
    )


def test_has_input_filtering() -> None:
    assert not has_input_filtering([nft()])
    assert not has_input_filtering([nft(base(policy=Action.ACCEPT))])
    assert has_input_filtering([nft(base(policy=Action.DROP))])
    assert has_input_filtering([nft(base(tcp(23, Action.REJECT), policy=Action.ACCEPT))])
    # a drop in a chain the input chain jumps to counts too
    side = user("side", tcp(23, Action.DROP))
    jumping = base(FilterRule(Action.JUMP, target="side"), policy=Action.ACCEPT)
    assert has_input_filtering([nft(jumping, side)])
    # an output-only drop does not
    assert not has_input_filtering([recorded_nft("nft-no-input.json")])
    assert not has_input_filtering([recorded_iptables("iptables-accept-all.txt")])
    assert has_input_filtering([recorded_nft("nft-policy-accept.json")])


# --- recorded rulesets combined ----------------------------------------------------


def test_iptables_and_native_nft_tables_must_both_accept() -> None:
    ufw = recorded_iptables("iptables-ufw.txt")  # accepts 22 and 80 from anywhere
    native = recorded_nft("nft-policy-accept.json")  # policy accept
    strict = recorded_nft("nft-default-drop.json")  # 22 only from 10.0.0.0/8
    assert port_access([ufw, native], "tcp", 22).open_to_all
    both = port_access([ufw, strict], "tcp", 22)
    assert not both.open_to_all
    assert both.reason.startswith("nftables inet filter input: policy drop; only `ip saddr")
    assert port_access([ufw, strict], "tcp", 80).open_to_all


def test_ip6tables_does_not_judge_ipv4_traffic() -> None:
    v6 = recorded_iptables("ip6tables.txt", "ip6")
    access = port_access([v6], "tcp", 80, "ipv4")
    assert access.open_to_all
    assert access.reason == "no ipv4 input chain: nothing filters inbound ipv4 traffic"
    assert not port_access([v6], "tcp", 80, "ipv6").open_to_all


def test_reason_stays_bounded_with_many_chains() -> None:
    chains = [
        Chain("inet", f"t{i}", "input", "input", Action.ACCEPT, (tcp(22, Action.ACCEPT),))
        for i in range(50)
    ]
    access = port_access([nft(*chains)], "tcp", 22)
    assert access.open_to_all
    assert len(access.reason) == 1000
    assert access.reason.endswith("...")
