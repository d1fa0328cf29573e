"""iptables-save / ip6tables-save output, recorded in network namespaces (fixtures/firewall)."""

from __future__ import annotations

import pytest

from scanner.local.iptables import MAX_SAVE_BYTES, parse_iptables_save
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


def load(name: str, family: str = "ip") -> Ruleset:
    path = FIREWALL / name
    return parse_iptables_save(path.read_text(), str(path), family)


def is_open(ruleset: Ruleset, port: int, protocol: str = "tcp") -> bool:
    family = "ipv6" if ruleset.backend == "ip6tables" else "ipv4"
    return port_access([ruleset], protocol, port, family).open_to_all


# --- ufw-like layout ----------------------------------------------------------------------


def test_ufw_layout_chains() -> None:
    rs = load("iptables-ufw.txt")
    assert rs.backend == "iptables"
    assert [c.name for c in rs.chains] == [
        "INPUT",
        "FORWARD",
        "OUTPUT",
        "ufw-after-input",
        "ufw-before-input",
        "ufw-logging-deny",
        "ufw-user-input",
    ]
    assert {c.table for c in rs.chains} == {"filter"}
    assert {c.family for c in rs.chains} == {"ip"}
    (chain,) = rs.input_chains()
    assert (chain.name, chain.hook, chain.policy) == ("INPUT", "input", Action.DROP)
    assert [(r.action, r.target, r.line) for r in chain.rules] == [
        (Action.JUMP, "ufw-before-input", 10),
        (Action.JUMP, "ufw-user-input", 11),
        (Action.JUMP, "ufw-after-input", 12),
    ]
    forward = rs.chain("ip", "filter", "FORWARD")
    assert forward is not None
    assert forward.hook == "forward"
    user = rs.chain("ip", "filter", "ufw-user-input")
    assert user is not None
    assert (user.hook, user.policy) == (None, None)
    ssh, web, postgres, mysql, log = user.rules
    assert ssh.text == "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT"
    assert ssh.line == 23
    assert ssh.protocols == frozenset({"tcp"})
    assert ssh.dports == (PortRange(22, 22),)
    assert web.dports == (PortRange(80, 80), PortRange(443, 443), PortRange(8000, 8080))
    assert postgres.narrowed_by == ("source 10.0.0.0/8",)
    assert mysql.narrowed_by == ("source 192.0.2.10/32",)  # the comment is not a narrowing
    assert log.action is Action.NONE  # -j LOG
    assert log.narrowed_by == ("unmodelled: -m tcp ! --dport 1:1023", "ct state new")
    before = rs.chain("ip", "filter", "ufw-before-input")
    assert before is not None
    assert before.rules[0].narrowed_by == ("interface lo",)
    assert before.rules[1].narrowed_by == ("ct state related,established",)
    assert before.rules[5].narrowed_by == ("source port 67",)


def test_ufw_layout_verdicts() -> None:
    rs = load("iptables-ufw.txt")
    ssh = port_access([rs], "tcp", 22)
    assert ssh.open_to_all
    assert ssh.reason == (
        "iptables filter INPUT: `-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT` "
        "(chain ufw-user-input, line 23) accepts tcp/22 from any source"
    )
    assert is_open(rs, 80)
    assert is_open(rs, 443)
    assert is_open(rs, 8080)
    assert not is_open(rs, 8081)
    postgres = port_access([rs], "tcp", 5432)
    assert not postgres.open_to_all  # only from 10.0.0.0/8, policy drop
    assert postgres.reason == (
        "iptables filter INPUT: policy drop; only `-A ufw-user-input -s 10.0.0.0/8 -p tcp "
        "-m tcp --dport 5432 -j ACCEPT` (chain ufw-user-input, line 25) lets it in, "
        "from some sources"
    )
    mysql = port_access([rs], "tcp", 3306)
    assert not mysql.open_to_all
    assert "line 26" in mysql.reason
    closed = port_access([rs], "tcp", 3389)
    assert not closed.open_to_all
    assert closed.reason == "iptables filter INPUT: policy drop and no rule accepts tcp/3389"
    assert not is_open(rs, 68, "udp")  # only from source port 67
    assert not is_open(rs, 22, "udp")
    assert input_policy([rs]) == (("iptables filter INPUT", Action.DROP),)
    assert has_input_filtering([rs])


# --- everything accepted ----------------------------------------------------------------


def test_accept_all() -> None:
    rs = load("iptables-accept-all.txt")
    assert [(c.name, c.policy, c.rules) for c in rs.chains] == [
        ("INPUT", Action.ACCEPT, ()),
        ("FORWARD", Action.ACCEPT, ()),
        ("OUTPUT", Action.ACCEPT, ()),
    ]
    access = port_access([rs], "tcp", 3306)
    assert access.open_to_all
    assert access.reason == (
        "iptables filter INPUT: policy accept and no rule drops tcp/3306 for every source"
    )
    assert input_policy([rs]) == (("iptables filter INPUT", Action.ACCEPT),)
    assert not has_input_filtering([rs])


# --- reject rules, goto, and a nat table ----------------------------------------------------


def test_reject_fixture() -> None:
    rs = load("iptables-reject.txt")
    # the nat table (with its own INPUT chain) is read but not kept
    assert {c.table for c in rs.chains} == {"filter"}
    assert len(rs.input_chains()) == 1
    telnet = port_access([rs], "tcp", 23)
    assert not telnet.open_to_all
    assert telnet.reason == (
        "iptables filter INPUT: `-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with "
        "tcp-reset` (line 7) rejects tcp/23"
    )
    (chain,) = rs.input_chains()
    reject = chain.rules[0]
    assert reject.action is Action.REJECT
    assert reject.line == 7
    assert chain.rules[1].narrowed_by == ("unmodelled: ! -s 127.0.0.0/8",)
    assert not is_open(rs, 139)  # multiport range 137:139
    assert not is_open(rs, 445)
    assert is_open(rs, 136)
    # `-g blocked`: blocked drops 3389; the ACCEPT after the goto is never reached
    rdp = port_access([rs], "tcp", 3389)
    assert not rdp.open_to_all
    assert "(chain blocked, line 12) drops tcp/3389" in rdp.reason
    assert chain.rules[3].action is Action.GOTO
    assert chain.rules[3].target == "blocked"
    redis = port_access([rs], "tcp", 6379)
    assert redis.open_to_all  # the reject is only for some sources, policy accept
    assert "may stop it, only when: unmodelled: ! -s 127.0.0.0/8" in redis.reason
    assert is_open(rs, 3306)
    assert is_open(rs, 25)  # the nat table's RETURN does not matter
    assert has_input_filtering([rs])


# --- ip6tables ------------------------------------------------------------------------------


def test_ip6tables() -> None:
    rs = load("ip6tables.txt", "ip6")
    assert rs.backend == "ip6tables"
    (chain,) = rs.input_chains()
    assert chain.family == "ip6"
    assert chain.rules[1].narrowed_by == ("ct state related,established",)  # -m state
    assert chain.rules[2].protocols == frozenset({"ipv6-icmp"})
    assert is_open(rs, 443)
    ssh = port_access([rs], "tcp", 22, "ipv6")
    assert not ssh.open_to_all
    assert "only `-A INPUT -s fd00::/8 -p tcp -m tcp --dport 22 -j ACCEPT` (line 9)" in ssh.reason
    assert input_policy([rs]) == (("ip6tables filter INPUT", Action.DROP),)
    # read as IPv4 rules by mistake, the same text answers IPv4 questions instead
    as_v4 = load("ip6tables.txt")
    assert port_access([as_v4], "tcp", 443, "ipv6").open_to_all
    assert port_access([as_v4], "tcp", 443, "ipv6").reason.startswith("no ipv6 input chain")


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="family"):
        parse_iptables_save("", "x", "inet")


# --- parsing details --------------------------------------------------------------------------


def parse_filter(*rules: str, chains: str = "") -> Ruleset:
    declarations = [chains] if chains else []
    text = "\n".join(["*filter", ":INPUT DROP [0:0]", *declarations, *rules, "COMMIT", ""])
    return parse_iptables_save(text, "inline")


def only_rule(*rules: str, chains: str = "") -> tuple[Action, str, object, object, tuple[str, ...]]:
    rs = parse_filter(*rules, chains=chains)
    chain = rs.input_chains()[0]
    rule = chain.rules[0]
    return rule.action, rule.target, rule.protocols, rule.dports, rule.narrowed_by


def test_port_forms() -> None:
    assert only_rule("-A INPUT -p tcp -m tcp --dport 1000:2000 -j ACCEPT")[3] == (
        PortRange(1000, 2000),
    )
    assert only_rule("-A INPUT -p tcp -m tcp --dport :1023 -j ACCEPT")[3] == (PortRange(0, 1023),)
    assert only_rule("-A INPUT -p udp -m udp --dport 1024: -j ACCEPT")[3] == (
        PortRange(1024, 65535),
    )
    action, _, protocols, dports, narrowed = only_rule("-A INPUT -p tcp --dport ssh -j ACCEPT")
    assert (action, protocols, dports) == (Action.ACCEPT, frozenset({"tcp"}), None)
    assert narrowed == ("unmodelled: --dport ssh",)
    assert only_rule("-A INPUT -p 6 -j ACCEPT")[2] == frozenset({"tcp"})
    assert only_rule("-A INPUT -p all -j ACCEPT")[2] is None


def test_targets() -> None:
    assert only_rule('-A INPUT -j LOG --log-prefix "x"')[0] is Action.NONE
    assert only_rule("-A INPUT -j NFQUEUE --queue-num 1")[0] is Action.NONE
    assert only_rule("-A INPUT -j RETURN")[0] is Action.RETURN
    assert only_rule('-A INPUT -m comment --comment "no target"')[0] is Action.NONE
    assert only_rule("-A INPUT -j side", chains=":side - [0:0]")[:2] == (Action.JUMP, "side")
    assert only_rule("-A INPUT -g side", chains=":side - [0:0]")[:2] == (Action.GOTO, "side")


def test_negations_and_unknown_matches_are_unmodelled() -> None:
    narrowed = only_rule(
        "-A INPUT ! -i lo -p tcp -m tcp --tcp-flags FIN,SYN SYN -m recent --rcheck -j DROP"
    )[4]
    assert narrowed == (
        "unmodelled: ! -i lo",
        "unmodelled: -m tcp --tcp-flags FIN,SYN SYN",
        "unmodelled: -m recent --rcheck",
    )
    assert only_rule("-A INPUT ! -p tcp -j DROP")[2] is None


def test_counters_and_comments_are_skipped() -> None:
    text = "\n".join(
        [
            "# Generated by iptables-save v1.8.9 (nf_tables) on Wed Nov 25 12:24:43 2026",
            "*filter",
            ":INPUT DROP [12:3456]",
            "# a comment in the middle",
            "",
            "[5:300] -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
            "COMMIT",
            "# Completed on Wed Nov 25 12:24:43 2026",
        ]
    )
    rs = parse_iptables_save(text, "counted")
    (rule,) = rs.input_chains()[0].rules
    assert rule.line == 6
    assert is_open(rs, 80)


def test_empty_text_has_no_chains() -> None:
    rs = parse_iptables_save("", "empty")
    assert rs.chains == ()
    assert port_access([rs], "tcp", 22).reason == "no input chain: nothing filters inbound traffic"


def test_rule_text_is_bounded() -> None:
    long_comment = "y" * 1000
    rs = parse_filter(f'-A INPUT -m comment --comment "{long_comment}" -j ACCEPT')
    assert len(rs.input_chains()[0].rules[0].text) == 300


# --- malformed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("iptables-rule-outside-table.txt", ":2: rule outside a table"),
        ("iptables-garbage-line.txt", ":13: not iptables-save output: 'this is not a rule'"),
        ("iptables-no-commit.txt", ":21: table filter (line 2) has no COMMIT"),
        ("iptables-unbalanced-quote.txt", ":7: cannot split rule: No closing quotation"),
    ],
)
def test_malformed_fixtures(name: str, message: str) -> None:
    path = FIREWALL / "malformed" / name
    with pytest.raises(RulesetError) as caught:
        parse_iptables_save(path.read_text(), str(path))
    text = str(caught.value)
    assert text.startswith(f"{path}:")
    assert message in text
    assert "\n" not in text
    assert caught.value.line == int(message.split(":")[1])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("*filter\n*nat\n", 2, "table nat starts before filter's COMMIT"),
        ("*filter\nCOMMIT\n*filter\nCOMMIT\n", 3, "table filter listed twice"),
        ("*fil ter\n", 1, "bad table name"),
        ("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", 2, "bad chain declaration"),
        ("*filter\n:INPUT DROP [x:0]\nCOMMIT\n", 2, "bad counters"),
        ("*filter\n:INPUT DROP\n:INPUT DROP\nCOMMIT\n", 3, "declared twice"),
        ("*filter\n:INPUT DROP\n-A OTHER -j DROP\nCOMMIT\n", 3, "undeclared chain 'OTHER'"),
        ("*filter\n:INPUT DROP\n-I INPUT -j DROP\nCOMMIT\n", 3, "not a -A rule"),
        ("*filter\n:INPUT DROP\n-A INPUT -p tcp stray -j DROP\nCOMMIT\n", 3, "unexpected 'stray'"),
        ("*filter\n:INPUT DROP\n-A INPUT -j\nCOMMIT\n", 3, "-j without a target"),
        ("*filter\n:INPUT DROP\n-A INPUT -g nowhere\nCOMMIT\n", 3, "goto to undeclared chain"),
        ("*filter\n:INPUT DROP\n-A INPUT -s\nCOMMIT\n", 3, "-s without its argument"),
        ("COMMIT\n", 1, "COMMIT outside a table"),
        (":INPUT DROP [0:0]\n", 1, "chain declaration outside a table"),
        ("*nat\n:PREROUTING ACCEPT\n-A PREROUTING -p\nCOMMIT\n", 3, "-p without its argument"),
    ],
)
def test_bad_lines_name_their_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RulesetError) as caught:
        parse_iptables_save(text, "bad.txt")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"bad.txt:{line}: ")
    assert message in str(caught.value)


def test_oversized_input_is_refused() -> None:
    with pytest.raises(RulesetError, match="larger than"):
        parse_iptables_save("#" * (MAX_SAVE_BYTES + 1), "big.txt")


def test_hostile_garbage_is_quoted_bounded() -> None:
    with pytest.raises(RulesetError) as caught:
        parse_iptables_save("\x1b[31m" + "z" * 500 + "\n", "evil.txt")
    text = str(caught.value)
    assert "\x1b" not in text
    assert len(text) < 150


def test_any_corrupted_word_gives_a_ruleset_or_a_ruleset_error() -> None:
    lines = (FIREWALL / "iptables-ufw.txt").read_text().split("\n")
    for number, line in enumerate(lines):
        words = line.split(" ")
        for index in range(len(words)):
            for value in ("!", "-j", "-m", '"', ":", "*x", "COMMIT", "1:0", "99999", "\x00", ""):
                changed = " ".join([*words[:index], value, *words[index + 1 :]])
                text = "\n".join([*lines[:number], changed, *lines[number + 1 :]])
                try:
                    rs = parse_iptables_save(text, "corrupt.txt")
                except RulesetError:
                    continue
                port_access([rs], "tcp", 22)
                has_input_filtering([rs])


# --- live: the installed iptables, in a throwaway namespace ------------------------------------


@requires_netns("iptables-save", "iptables-restore")
def test_installed_iptables_save_reads_the_same() -> None:
    source = (FIREWALL / "src" / "iptables-ufw.rules").read_text()
    with namespace("ipt") as ns:
        ns.load_iptables(source)
        live = parse_iptables_save(ns.run(["iptables-save"]).stdout, f"netns {ns.name}")
    recorded = load("iptables-ufw.txt")
    assert [(c.name, c.policy, c.rules) for c in live.chains] == [
        (c.name, c.policy, c.rules) for c in recorded.chains
    ]
    assert is_open(live, 22)
    assert not is_open(live, 5432)
