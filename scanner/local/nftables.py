"""Read `nft -j list ruleset` into a `Ruleset`.

Facts about nft 1.0.6's JSON this relies on, checked against the recorded
fixtures in fixtures/firewall/:

- `ct state established,related` is `{"op": "in", "right": ["established",
  "related"]}`; a single state is a bare string with op "in"; after `!=` the
  states come as `{"|": [...]}`.
- `iif "lo"` is `{"meta": {"key": "iif"}}` (not iifname).
- nft drops the `meta l4proto tcp` dependency it adds itself: `tcp dport 22`
  alone implies tcp.
- `ct state vmap {...}` and `tcp dport vmap @map` are verdict maps; each element
  becomes one `FilterRule` here (the elements are disjoint, so the order is moot).
- Rules added by iptables-nft show their xtables matches as opaque
  `{"xt": {"type": "match", "name": "conntrack"}}`: the match details are not in
  the JSON, so such rules are narrowed by "unmodelled: xt match conntrack".
  iptables-save reads those tables exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.local.ruleset import (
    Action,
    Chain,
    FilterRule,
    PortRange,
    Ruleset,
    RulesetError,
    bounded,
    narrow_ct_state,
    narrow_destination,
    narrow_family,
    narrow_interface,
    narrow_source,
    narrow_unmodelled,
)

MAX_JSON_BYTES = 16 * 1024 * 1024
_MAX_RENDER_DEPTH = 12

_PROTOCOL_NUMBERS = {
    1: "icmp",
    6: "tcp",
    17: "udp",
    33: "dccp",
    58: "ipv6-icmp",
    132: "sctp",
    136: "udplite",
}
_PORT_PROTOCOLS = frozenset({"tcp", "udp", "udplite", "sctp", "dccp"})
_PROTOCOL_ALIASES = {"icmpv6": "ipv6-icmp"}
_FAMILY_OF_PAYLOAD = {"ip": "ipv4", "ip6": "ipv6"}
_FAMILY_OF_NFPROTO = {"ipv4": "ipv4", "ipv6": "ipv6", "ip": "ipv4", "ip6": "ipv6"}
_UNQUALIFIED_META = frozenset({"iif", "iifname", "oif", "oifname", "iiftype", "oiftype"})
_INTERFACE_META = frozenset({"iif", "iifname", "oif", "oifname"})
# xtables matches (iptables-nft rules) that match every packet.
_NEUTRAL_XT_MATCHES = frozenset({"comment"})
_NEUTRAL_STATEMENTS = frozenset({"counter", "log", "mangle", "set", "notrack", "ct helper"})
_VERDICTS = {
    "accept": Action.ACCEPT,
    "drop": Action.DROP,
    "reject": Action.REJECT,
    "jump": Action.JUMP,
    "goto": Action.GOTO,
    "return": Action.RETURN,
    "continue": Action.NONE,
}
_POLICIES = {"accept": Action.ACCEPT, "drop": Action.DROP}
# Statements that end a rule without a filtering verdict of their own.
_TERMINAL_OTHER = frozenset({"queue", "dnat", "snat", "masquerade", "redirect", "tproxy", "fwd"})


def parse_nft_json(text: str, origin: str) -> Ruleset:
    """Parse the output of `nft -j list ruleset`; RulesetError if it is not that."""
    if len(text) > MAX_JSON_BYTES or len(text.encode("utf-8", "replace")) > MAX_JSON_BYTES:
        raise RulesetError(f"larger than {MAX_JSON_BYTES} bytes", origin)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesetError(f"not JSON: {exc.msg}", origin, exc.lineno) from None
    except RecursionError:
        raise RulesetError("not JSON nft prints: nested too deeply", origin) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nftables"), list):
        raise RulesetError(
            'not `nft -j list ruleset` output: no top-level {"nftables": [...]}', origin
        )
    return _Reader(origin).read(doc["nftables"])


@dataclass
class _ChainBuilder:
    family: str
    table: str
    name: str
    hook: str | None
    policy: Action | None
    rules: list[FilterRule] = field(default_factory=list)


Key = tuple[str, str, str]


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.chains: dict[Key, _ChainBuilder] = {}
        self.sets: dict[Key, list[Any]] = {}
        self.maps: dict[Key, list[Any]] = {}

    def fail(self, where: str, message: str) -> RulesetError:
        return RulesetError(f"{where}: {message}", self.origin)

    def read(self, items: list[Any]) -> Ruleset:
        for index, item in enumerate(items):
            where = f"nftables[{index}]"
            if not isinstance(item, dict) or len(item) != 1:
                raise self.fail(where, "not an object with one key")
            ((kind, body),) = item.items()
            if kind not in ("set", "map", "chain", "rule"):
                continue  # metainfo, tables, flowtables, named counters: nothing to evaluate
            if not isinstance(body, dict):
                raise self.fail(where, f"{kind} is not an object")
            where = f"{where} {kind}"
            if kind == "chain":
                self.add_chain(where, body)
            elif kind == "rule":
                self.add_rule(where, body)
            else:
                self.add_set(where, kind, body)
        for chain in self.chains.values():
            for rule in chain.rules:
                if rule.action in (Action.JUMP, Action.GOTO) and (
                    (chain.family, chain.table, rule.target) not in self.chains
                ):
                    raise self.fail(
                        f"chain {chain.family} {chain.table} {chain.name}",
                        f"{rule.action.value} to unknown chain {rule.target!r}",
                    )
        return Ruleset(
            backend="nftables",
            origin=self.origin,
            chains=tuple(
                Chain(c.family, c.table, c.name, c.hook, c.policy, tuple(c.rules))
                for c in self.chains.values()
            ),
        )

    def key(self, where: str, body: Mapping[str, Any], name_field: str = "name") -> Key:
        values = []
        for name in ("family", "table", name_field):
            value = body.get(name)
            if not isinstance(value, str) or not value:
                raise self.fail(where, f"missing or non-string {name!r}")
            values.append(value)
        return values[0], values[1], values[2]

    def add_set(self, where: str, kind: str, body: Mapping[str, Any]) -> None:
        key = self.key(where, body)
        elems = body.get("elem", [])
        if not isinstance(elems, list):
            raise self.fail(where, "'elem' is not a list")
        if kind == "set":
            self.sets[key] = elems
        elif body.get("map") == "verdict":
            self.maps[key] = elems

    def add_chain(self, where: str, body: Mapping[str, Any]) -> None:
        key = self.key(where, body)
        if key in self.chains:
            raise self.fail(where, f"chain {' '.join(key)} listed twice")
        hook = body.get("hook")
        if hook is not None and not isinstance(hook, str):
            raise self.fail(where, "'hook' is not a string")
        policy_name = body.get("policy")
        policy: Action | None = None
        if policy_name is not None:
            if not isinstance(policy_name, str) or policy_name not in _POLICIES:
                raise self.fail(where, f"unknown policy {bounded(str(policy_name), 40)!r}")
            policy = _POLICIES[policy_name]
        self.chains[key] = _ChainBuilder(*key, hook=hook, policy=policy)

    def add_rule(self, where: str, body: Mapping[str, Any]) -> None:
        key = self.key(where, body, "chain")
        chain = self.chains.get(key)
        if chain is None:
            raise self.fail(where, f"rule for unknown chain {' '.join(key)}")
        exprs = body.get("expr", [])
        if not isinstance(exprs, list) or not all(isinstance(e, dict) for e in exprs):
            raise self.fail(where, "'expr' is not a list of objects")
        context = _Context(key[0], key[1], self.sets, self.maps)
        try:
            chain.rules.extend(_rules_from_exprs(exprs, context))
        except _BadRule as exc:
            raise self.fail(where, str(exc)) from None


class _BadRule(Exception):
    pass


@dataclass(frozen=True)
class _Context:
    family: str
    table: str
    sets: Mapping[Key, list[Any]]
    maps: Mapping[Key, list[Any]]

    def named(self, store: Mapping[Key, list[Any]], ref: str) -> list[Any] | None:
        return store.get((self.family, self.table, ref[1:]))


@dataclass
class _Builder:
    protocols: frozenset[str] | None = None
    dports: tuple[PortRange, ...] | None = None
    narrowed: list[str] = field(default_factory=list)

    def copy(self) -> _Builder:
        return _Builder(self.protocols, self.dports, list(self.narrowed))

    def only_protocols(self, protocols: frozenset[str]) -> None:
        self.protocols = protocols if self.protocols is None else self.protocols & protocols

    def only_ports(self, ports: tuple[PortRange, ...]) -> None:
        if self.dports is None:
            self.dports = ports
            return
        both = []
        for a in self.dports:
            for b in ports:
                low, high = max(a.low, b.low), min(a.high, b.high)
                if low <= high:
                    both.append(PortRange(low, high))
        self.dports = tuple(both)

    def rule(self, action: Action, target: str, text: str) -> FilterRule:
        return FilterRule(
            action=action,
            target=target,
            protocols=self.protocols,
            dports=self.dports,
            narrowed_by=tuple(dict.fromkeys(self.narrowed)),
            text=text,
        )


def _rules_from_exprs(exprs: list[dict[str, Any]], context: _Context) -> list[FilterRule]:
    text = bounded(" ".join(_render_statement(e) for e in exprs))
    builder = _Builder()
    for expr in exprs:
        if len(expr) != 1:
            builder.narrowed.append(narrow_unmodelled(_render_statement(expr)))
            continue
        ((kind, body),) = expr.items()
        if kind == "match":
            _apply_match(builder, body, context)
        elif kind in _VERDICTS:
            action = _VERDICTS[kind]
            target = ""
            if action in (Action.JUMP, Action.GOTO):
                target_value = body.get("target") if isinstance(body, dict) else None
                if not isinstance(target_value, str) or not target_value:
                    raise _BadRule(f"{kind} without a target chain")
                target = target_value
            return [builder.rule(action, target, text)]
        elif kind == "vmap":
            return _vmap_rules(builder, body, context, text)
        elif kind == "xt":
            xt_type = _text(body.get("type")) if isinstance(body, dict) else None
            xt_name = _text(body.get("name")) if isinstance(body, dict) else None
            if xt_type == "target":
                action = Action.REJECT if xt_name == "REJECT" else Action.NONE
                return [builder.rule(action, "", text)]
            if xt_name not in _NEUTRAL_XT_MATCHES:
                builder.narrowed.append(narrow_unmodelled(f"xt {xt_type} {xt_name}"))
        elif kind in _TERMINAL_OTHER:
            builder.narrowed.append(narrow_unmodelled(kind))
            return [builder.rule(Action.NONE, "", text)]
        elif kind not in _NEUTRAL_STATEMENTS:
            # limit, quota, meter, anything new: it narrows what the rule applies to.
            builder.narrowed.append(narrow_unmodelled(_render_statement(expr)))
    return [builder.rule(Action.NONE, "", text)]


def _vmap_rules(builder: _Builder, body: Any, context: _Context, text: str) -> list[FilterRule]:
    key = body.get("key") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    elements: list[Any] | None = None
    if isinstance(data, dict) and isinstance(data.get("set"), list):
        elements = data["set"]
    elif isinstance(data, str) and data.startswith("@"):
        elements = context.named(context.maps, data)
    if key is None or elements is None:
        builder.narrowed.append(narrow_unmodelled("verdict map not understood"))
        return [builder.rule(Action.NONE, "", text)]
    rules = []
    for element in elements:
        if not (isinstance(element, list) and len(element) == 2):
            continue
        value, verdict = element
        if not (isinstance(verdict, dict) and len(verdict) == 1):
            continue
        ((verdict_kind, verdict_body),) = verdict.items()
        if verdict_kind not in _VERDICTS:
            continue
        branch = builder.copy()
        _apply_match(branch, {"op": "==", "left": key, "right": value}, context)
        target = ""
        if isinstance(verdict_body, dict) and isinstance(verdict_body.get("target"), str):
            target = verdict_body["target"]
        action = _VERDICTS[verdict_kind]
        if action in (Action.JUMP, Action.GOTO) and not target:
            raise _BadRule(f"{verdict_kind} without a target chain in a verdict map")
        rules.append(branch.rule(action, target, text))
    return rules


def _apply_match(builder: _Builder, body: Any, context: _Context) -> None:
    if not isinstance(body, dict):
        raise _BadRule("match is not an object")
    op, left, right = body.get("op"), body.get("left"), body.get("right")
    rendered = _render_statement({"match": body})
    unmodelled = narrow_unmodelled(rendered)
    positive = op in ("==", "in")
    if not isinstance(left, dict) or len(left) != 1:
        builder.narrowed.append(unmodelled)
        return
    ((kind, spec),) = left.items()
    spec = spec if isinstance(spec, dict) else {}
    if kind == "payload":
        _apply_payload(builder, spec, positive, right, context, unmodelled)
    elif kind == "meta":
        _apply_meta(builder, _text(spec.get("key")), positive, right, unmodelled)
    elif kind == "ct" and spec.get("key") == "state" and positive and "dir" not in spec:
        states = _strings(right)
        builder.narrowed.append(narrow_ct_state(states) if states else unmodelled)
    elif (
        kind == "fib"
        and positive
        and spec.get("result") == "type"
        and spec.get("flags") == ["daddr"]
        and right == "local"
    ):
        pass  # every packet at the input hook of a TCP connection is addressed to us
    else:
        builder.narrowed.append(unmodelled)


def _apply_payload(
    builder: _Builder,
    spec: Mapping[str, Any],
    positive: bool,
    right: Any,
    context: _Context,
    unmodelled: str,
) -> None:
    protocol, field_name = _text(spec.get("protocol")), _text(spec.get("field"))
    if protocol == "th" or protocol in _PORT_PROTOCOLS:
        # Matching a transport header implies the protocol, even with `!=`.
        builder.only_protocols(_PORT_PROTOCOLS if protocol == "th" else frozenset({protocol}))
        ports = _ports(right, context) if positive and field_name == "dport" else None
        if ports is not None:
            builder.only_ports(ports)
        elif positive and field_name == "sport":
            builder.narrowed.append(f"source port {bounded(_render_value(right), 80)}")
        else:
            builder.narrowed.append(unmodelled)
        return
    if protocol in _FAMILY_OF_PAYLOAD:
        if context.family not in _FAMILY_OF_PAYLOAD:  # inet (bridge, netdev)
            builder.narrowed.append(narrow_family(_FAMILY_OF_PAYLOAD[protocol]))
        value = bounded(_render_value(right), 120)
        if positive and field_name == "saddr":
            builder.narrowed.append(narrow_source(value))
        elif positive and field_name == "daddr":
            builder.narrowed.append(narrow_destination(value))
        elif positive and field_name in ("protocol", "nexthdr"):
            protocols = _protocols(right)
            if protocols is None:
                builder.narrowed.append(unmodelled)
            else:
                builder.only_protocols(protocols)
        else:
            builder.narrowed.append(unmodelled)
        return
    builder.narrowed.append(unmodelled)


def _apply_meta(
    builder: _Builder, key: str | None, positive: bool, right: Any, unmodelled: str
) -> None:
    if positive and key == "l4proto":
        protocols = _protocols(right)
        if protocols is not None:
            builder.only_protocols(protocols)
            return
    elif positive and key in ("iif", "iifname") and isinstance(right, str):
        builder.narrowed.append(narrow_interface(bounded(right, 40)))
        return
    elif positive and key in ("nfproto", "protocol") and _text(right) in _FAMILY_OF_NFPROTO:
        builder.narrowed.append(narrow_family(_FAMILY_OF_NFPROTO[right]))
        return
    builder.narrowed.append(unmodelled)


def _text(value: Any) -> str | None:
    """`value` if it is a string: JSON from outside may put a list where a name goes."""
    return value if isinstance(value, str) else None


def _elements(value: Any) -> list[Any]:
    """A set's elements, unwrapping `{"elem": {"val": ...}}` (elements with comments)."""
    items = value["set"] if isinstance(value, dict) and "set" in value else value
    items = items if isinstance(items, list) else [items]
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("elem"), dict):
            item = item["elem"].get("val")
        out.append(item)
    return out


def _port(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    return None


def _ports(right: Any, context: _Context) -> tuple[PortRange, ...] | None:
    if isinstance(right, str) and right.startswith("@"):
        named = context.named(context.sets, right)
        if named is None:
            return None
        right = {"set": named}
    ranges = []
    for item in _elements(right):
        if isinstance(item, dict) and isinstance(item.get("range"), list):
            bounds = item["range"]
            low, high = (_port(bounds[0]), _port(bounds[1])) if len(bounds) == 2 else (None, None)
        else:
            low = high = _port(item)
        if low is None or high is None or low > high:
            return None
        ranges.append(PortRange(low, high))
    return tuple(ranges) if ranges else None


def _protocols(right: Any) -> frozenset[str] | None:
    names = set()
    for item in _elements(right):
        if isinstance(item, str):
            names.add(_PROTOCOL_ALIASES.get(item, item))
        elif isinstance(item, int) and not isinstance(item, bool) and item in _PROTOCOL_NUMBERS:
            names.add(_PROTOCOL_NUMBERS[item])
        else:
            return None
    return frozenset(names) if names else None


def _strings(right: Any) -> list[str] | None:
    """`"new"`, `["established", "related"]`, `{"set": [...]}`, `{"|": [...]}`."""
    if isinstance(right, dict) and isinstance(right.get("|"), list):
        right = right["|"]
    items = _elements(right)
    if items and all(isinstance(i, str) for i in items):
        return [str(i) for i in items]
    return None


# --- compact rendering, for evidence --------------------------------------------


def _render_value(value: Any, depth: int = 0) -> str:
    if depth > _MAX_RENDER_DEPTH:
        return "..."
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[1], dict) and _is_verdict(value[1]):
            return (
                f"{_render_value(value[0], depth + 1)} : {_render_statement(value[1], depth + 1)}"
            )
        return ",".join(_render_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return _render_object(value, depth)
    return "?"


def _is_verdict(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in _VERDICTS


def _render_object(value: Mapping[str, Any], depth: int) -> str:
    if len(value) != 1:
        return (
            "{" + ", ".join(f"{k}: {_render_value(v, depth + 1)}" for k, v in value.items()) + "}"
        )
    ((kind, body),) = value.items()
    spec = body if isinstance(body, dict) else {}
    if kind == "set":
        items = body if isinstance(body, list) else [body]
        return "{ " + ", ".join(_render_value(v, depth + 1) for v in items) + " }"
    if kind == "range" and isinstance(body, list):
        return "-".join(_render_value(v, depth + 1) for v in body)
    if kind == "prefix":
        return f"{_render_value(spec.get('addr'), depth + 1)}/{_render_value(spec.get('len'))}"
    if kind == "payload":
        if "protocol" in spec:
            return f"{_render_value(spec.get('protocol'))} {_render_value(spec.get('field'))}"
        return "@" + ",".join(_render_value(spec.get(k)) for k in ("base", "offset", "len"))
    if kind == "meta":
        key = _render_value(spec.get("key"))
        return key if key in _UNQUALIFIED_META else f"meta {key}"
    if kind == "ct":
        return f"ct {_render_value(spec.get('key'))}"
    if kind == "fib":
        flags = spec.get("flags")
        flag_text = (
            " . ".join(_render_value(f, depth + 1) for f in flags)
            if isinstance(flags, list)
            else _render_value(flags)
        )
        return f"fib {flag_text} {_render_value(spec.get('result'))}"
    if kind == "|" and isinstance(body, list):
        return ",".join(_render_value(v, depth + 1) for v in body)
    if kind == "elem":
        return _render_value(spec.get("val"), depth + 1)
    if kind in _VERDICTS:
        return _render_statement(value, depth)
    return f"{kind} {_render_value(body, depth + 1)}".strip()


def _render_statement(expr: Mapping[str, Any], depth: int = 0) -> str:
    if len(expr) != 1:
        return _render_value(dict(expr), depth + 1)
    ((kind, body),) = expr.items()
    spec = body if isinstance(body, dict) else {}
    if kind == "match":
        op = spec.get("op")
        left = _render_value(spec.get("left"), depth + 1)
        right = _render_value(spec.get("right"), depth + 1)
        if isinstance(spec.get("right"), str) and isinstance(spec.get("left"), dict):
            meta = spec["left"].get("meta")
            if isinstance(meta, dict) and _text(meta.get("key")) in _INTERFACE_META:
                right = f'"{right}"'
        middle = " " if op in ("==", "in") else f" {_render_value(op)} "
        return f"{left}{middle}{right}"
    if kind in ("jump", "goto"):
        return f"{kind} {_render_value(spec.get('target'))}"
    if kind == "reject":
        reject_type = spec.get("type")
        if reject_type == "tcp reset":
            return "reject with tcp reset"
        detail = " ".join(_render_value(spec.get(k)) for k in ("type", "expr") if spec.get(k))
        return f"reject with {detail}" if detail else "reject"
    if kind in _VERDICTS or kind == "counter":
        return kind
    if kind == "log":
        prefix = spec.get("prefix")
        return f'log prefix "{_render_value(prefix)}"' if prefix else "log"
    if kind == "limit":
        return f"limit rate {_render_value(spec.get('rate'))}/{_render_value(spec.get('per'))}"
    if kind == "vmap":
        key = _render_value(spec.get("key"), depth + 1)
        return f"{key} vmap {_render_value(spec.get('data'), depth + 1)}"
    if kind == "mangle":
        key = _render_value(spec.get("key"), depth + 1)
        return f"{key} set {_render_value(spec.get('value'), depth + 1)}"
    if kind == "xt":
        return f"xt {_render_value(spec.get('type'))} {_render_value(spec.get('name'))}"
    return _render_value(dict(expr), depth + 1)
