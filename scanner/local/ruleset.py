"""Host firewall rulesets as data, and what they do to one new inbound connection.

The parsers (`nftables.parse_nft_json`, `iptables.parse_iptables_save`) turn a
tool's output into a `Ruleset`; this module answers questions about the
rulesets without knowing where they came from.

The question `port_access` answers is narrow on purpose: is a NEW connection
to `port`, from an arbitrary remote address, arriving on a non-loopback
interface, let in? A rule that applies to only some of that traffic (one
source network, one interface, a rate limit, anything not understood) is
"narrowed": an accept it makes is remembered as "accepted from some sources"
and a drop it makes is not assumed to apply. Netfilter runs every base chain
hooked at input, so the packet must be accepted by all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Literal

MAX_TEXT_CHARS = 300
MAX_REASON_CHARS = 1000
MAX_JUMP_DEPTH = 16
# Rules looked at for one (port, chain) question; exploring jumps that apply to
# only some traffic could otherwise grow with the number of such jumps.
MAX_STEPS = 100_000
MAX_PORT = 65535

# nft families whose input hook sees IPv4 / IPv6 traffic. bridge, netdev and
# arp chains are not at the IP layer and are left out of the input questions.
_FAMILY_COVERS: dict[str, frozenset[str]] = {
    "ip": frozenset({"ipv4"}),
    "ip6": frozenset({"ipv6"}),
    "inet": frozenset({"ipv4", "ipv6"}),
}
IP_FAMILIES = frozenset(_FAMILY_COVERS)
TRAFFIC_FAMILIES = ("ipv4", "ipv6")


class Action(str, Enum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    JUMP = "jump"
    GOTO = "goto"
    RETURN = "return"
    NONE = "none"  # a rule with no verdict: counter, log, mark


class RulesetError(ValueError):
    """A ruleset that cannot be read: one line, naming where it came from."""

    def __init__(self, message: str, origin: str, line: int | None = None) -> None:
        self.message = one_line(message)
        self.origin = one_line(origin)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.origin if self.line is None else f"{self.origin}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= MAX_PORT:
            raise ValueError(f"bad port range {self.low}-{self.high}")

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class FilterRule:
    action: Action
    target: str = ""  # chain for jump/goto
    protocols: frozenset[str] | None = None  # None: any protocol
    dports: tuple[PortRange, ...] | None = None  # None: any port
    # Matches that make the rule apply to only some inbound traffic; see the
    # `narrow_*` helpers for the vocabulary the evaluator understands.
    narrowed_by: tuple[str, ...] = ()
    text: str = ""  # the rule as the tool printed it, bounded, for evidence
    line: int = 0  # iptables-save line number; 0 for nft


@dataclass(frozen=True)
class Chain:
    family: str  # nft family (ip, ip6, inet, ...); iptables: ip, ip6tables: ip6
    table: str
    name: str
    hook: str | None  # None: a user chain, reached only by jump/goto
    policy: Action | None  # None: user chain, or nft base chain printed without one
    rules: tuple[FilterRule, ...]

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class Ruleset:
    backend: str  # "nftables" | "iptables" | "ip6tables"
    origin: str
    chains: tuple[Chain, ...]

    def input_chains(self) -> tuple[Chain, ...]:
        """Base chains hooked at input in the IP families (ip, ip6, inet)."""
        return tuple(c for c in self.chains if c.hook == "input" and c.family in IP_FAMILIES)

    def chain(self, family: str, table: str, name: str) -> Chain | None:
        return self._index.get((family, table, name))

    @cached_property
    def _index(self) -> dict[tuple[str, str, str], Chain]:
        return {(c.family, c.table, c.name): c for c in self.chains}

    def label(self, chain: Chain) -> str:
        if self.backend == "nftables":
            return f"nftables {chain.family} {chain.table} {chain.name}"
        return f"{self.backend} {chain.table} {chain.name}"


@dataclass(frozen=True)
class PortAccess:
    open_to_all: bool
    reason: str  # one human sentence


# --- the narrowing vocabulary -------------------------------------------------
# Parsers describe the matches they see with these, so the evaluator can tell
# the matches that exclude a new connection from a remote address (loopback
# interface, established/related only, the other address family) from those
# that only narrow the traffic.


def narrow_source(addr: str) -> str:
    return f"source {addr}"


def narrow_destination(addr: str) -> str:
    return f"destination {addr}"


def narrow_interface(name: str) -> str:
    return f"interface {name}"


def narrow_ct_state(states: Sequence[str]) -> str:
    return "ct state " + ",".join(s.lower() for s in states)


def narrow_family(family: str) -> str:
    """`family ipv4` / `family ipv6`: the rule sees only that address family."""
    return f"family {family}"


def narrow_unmodelled(expr: str) -> str:
    return "unmodelled: " + bounded(expr, 120)


_Applies = Literal["never", "always", "some"]
_ANY_SOURCE = frozenset({"0.0.0.0/0", "::/0"})


def _classify(item: str, family: str) -> _Applies:
    """How one narrowing match treats a new connection from a remote address."""
    kind, _, value = item.partition(" ")
    if kind == "family":
        return "always" if value == family else "never"
    if kind == "interface":
        return "never" if value == "lo" else "some"
    if item.startswith("ct state "):
        states = item.removeprefix("ct state ").split(",")
        return "always" if "new" in states else "never"
    if kind == "source" and value in _ANY_SOURCE:
        return "always"
    return "some"


# --- small text helpers ---------------------------------------------------------


def one_line(text: str) -> str:
    """Control characters (newlines included) replaced: evidence stays one line."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def bounded(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the evaluator ------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    location: str  # where the rule lives
    rule: FilterRule
    conditions: tuple[str, ...]  # the narrowing that applies to this packet


@dataclass(frozen=True)
class _Result:
    kind: Literal["accept", "deny", "return"]
    hit: _Hit | None = None


@dataclass
class _Walk:
    ruleset: Ruleset
    protocol: str
    port: int
    family: str
    conditional_accepts: list[_Hit] = field(default_factory=list)
    conditional_denies: list[_Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps: int = 0


def _location(chain: Chain, rule: FilterRule) -> str:
    where = "" if chain.is_base else f"chain {chain.name}"
    if rule.line:
        where = f"{where}, line {rule.line}" if where else f"line {rule.line}"
    return where


def _matches_packet(rule: FilterRule, walk: _Walk) -> bool:
    if rule.protocols is not None and walk.protocol not in rule.protocols:
        return False
    return rule.dports is None or any(r.contains(walk.port) for r in rule.dports)


def _applies(rule: FilterRule, family: str) -> tuple[_Applies, tuple[str, ...]]:
    some: list[str] = []
    for item in rule.narrowed_by:
        verdict = _classify(item, family)
        if verdict == "never":
            return "never", ()
        if verdict == "some":
            some.append(item)
    return ("some" if some else "always"), tuple(some)


def _eval_chain(
    walk: _Walk,
    chain: Chain,
    stack: tuple[str, ...],
    inherited: tuple[str, ...],
) -> _Result:
    """Walk `chain` for the packet; `inherited` is the narrowing of the jumps
    that led here (non-empty when exploring a jump that applies to only some
    traffic: verdicts found there are then only conditional)."""
    for rule in chain.rules:
        walk.steps += 1
        if walk.steps > MAX_STEPS:
            if not walk.notes or not walk.notes[-1].startswith("stopped"):
                walk.notes.append(f"stopped after {MAX_STEPS} rules")
            return _Result("return")
        if rule.action is Action.NONE or not _matches_packet(rule, walk):
            continue
        applies, own = _applies(rule, walk.family)
        if applies == "never":
            continue
        conditions = inherited + own
        hit = _Hit(_location(chain, rule), rule, conditions)
        narrowed = applies == "some"
        if rule.action is Action.RETURN:
            if narrowed:
                continue  # returns for some traffic only: assume not this packet
            return _Result("return")
        if rule.action in (Action.ACCEPT, Action.DROP, Action.REJECT):
            kind: Literal["accept", "deny"] = "accept" if rule.action is Action.ACCEPT else "deny"
            if narrowed:
                bucket = walk.conditional_accepts if kind == "accept" else walk.conditional_denies
                bucket.append(hit)
                continue
            return _Result(kind, hit)
        # jump / goto
        target = walk.ruleset.chain(chain.family, chain.table, rule.target)
        if target is None:
            walk.notes.append(f"{rule.action.value} to missing chain {rule.target} not followed")
            continue
        if target.name in stack or len(stack) > MAX_JUMP_DEPTH:
            walk.notes.append(
                f"{rule.action.value} to {rule.target} not followed (loop or deeper than "
                f"{MAX_JUMP_DEPTH})"
            )
            continue
        sub = _eval_chain(walk, target, (*stack, target.name), conditions)
        if narrowed:
            # Only some traffic goes there: what it decides is conditional.
            if sub.hit is not None and sub.kind == "accept":
                walk.conditional_accepts.append(sub.hit)
            elif sub.hit is not None and sub.kind == "deny":
                walk.conditional_denies.append(sub.hit)
            continue
        if sub.kind != "return":
            return sub
        if rule.action is Action.GOTO:
            return _Result("return")
    return _Result("return")


def _quote(hit: _Hit, extra: str = "") -> str:
    where = "; ".join(part for part in (hit.location, extra) if part)
    return f"`{hit.rule.text or hit.rule.action.value}`" + (f" ({where})" if where else "")


def _condition_words(conditions: tuple[str, ...]) -> str:
    if conditions and all(c.startswith("source ") for c in conditions):
        return "from some sources"
    return "only when: " + "; ".join(conditions)


def _conditional_accepts_words(hits: Sequence[_Hit]) -> str:
    if len(hits) == 1:
        return f"only {_quote(hits[0])} lets it in, {_condition_words(hits[0].conditions)}"
    shown = [_quote(h, _condition_words(h.conditions)) for h in hits[:3]]
    more = f" and {len(hits) - 3} more" if len(hits) > 3 else ""
    return f"only {', '.join(shown)}{more} let it in"


_VERB = {Action.DROP: "drops", Action.REJECT: "rejects"}


def _chain_sentence(walk: _Walk, label: str, chain: Chain, result: _Result) -> tuple[bool, str]:
    """(accepted by this chain, the sentence saying why)."""
    service = f"{walk.protocol}/{walk.port}"
    notes = f" ({'; '.join(walk.notes[:3])})" if walk.notes else ""
    if result.hit is not None:
        hit = result.hit
        if result.kind == "accept":
            return True, f"{label}: {_quote(hit)} accepts {service} from any source{notes}"
        verb = _VERB.get(hit.rule.action, "drops")
        sentence = f"{label}: {_quote(hit)} {verb} {service}"
        if walk.conditional_accepts:
            sentence += "; before it, " + _conditional_accepts_words(walk.conditional_accepts)
        return False, sentence + notes
    policy = chain.policy or Action.ACCEPT
    shown = "accept (none set)" if chain.policy is None else policy.value
    if policy is Action.ACCEPT:
        sentence = f"{label}: policy {shown} and no rule drops {service} for every source"
        if walk.conditional_denies:
            hit = walk.conditional_denies[0]
            sentence += f"; {_quote(hit)} may stop it, {_condition_words(hit.conditions)}"
        return True, sentence + notes
    if walk.conditional_accepts:
        return False, f"{label}: policy {shown}; " + _conditional_accepts_words(
            walk.conditional_accepts
        ) + notes
    return False, f"{label}: policy {shown} and no rule accepts {service}{notes}"


def _input_chains_for(rulesets: Sequence[Ruleset], family: str) -> list[tuple[Ruleset, Chain]]:
    return [
        (rs, chain)
        for rs in rulesets
        for chain in rs.input_chains()
        if family in _FAMILY_COVERS[chain.family]
    ]


def port_access(
    rulesets: Sequence[Ruleset], protocol: str, port: int, family: str = "ipv4"
) -> PortAccess:
    """Is a new `protocol` connection from an arbitrary remote `family` address
    to `port` let in by every input base chain?"""
    if family not in TRAFFIC_FAMILIES:
        raise ValueError(f"family must be one of {', '.join(TRAFFIC_FAMILIES)}: {family!r}")
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"port out of range: {port}")
    protocol = protocol.lower()
    chains = _input_chains_for(rulesets, family)
    if not chains:
        if any(rs.input_chains() for rs in rulesets):
            return PortAccess(
                True, f"no {family} input chain: nothing filters inbound {family} traffic"
            )
        return PortAccess(True, "no input chain: nothing filters inbound traffic")
    sentences: list[str] = []
    for rs, chain in chains:
        walk = _Walk(rs, protocol, port, family)
        result = _eval_chain(walk, chain, (chain.name,), ())
        accepted, sentence = _chain_sentence(walk, rs.label(chain), chain, result)
        if not accepted:  # a drop in any base chain is final
            return PortAccess(False, bounded(sentence, MAX_REASON_CHARS))
        sentences.append(sentence)
    return PortAccess(True, bounded("; ".join(sentences), MAX_REASON_CHARS))


def input_policy(rulesets: Sequence[Ruleset]) -> tuple[tuple[str, Action], ...]:
    """(chain label, policy) for every input base chain; nft's default is accept."""
    return tuple(
        (rs.label(chain), chain.policy or Action.ACCEPT)
        for rs in rulesets
        for chain in rs.input_chains()
    )


def _has_deny(rs: Ruleset, base: Chain) -> bool:
    """A drop/reject rule in `base` or any chain reachable from it by jumps."""
    seen = {base.name}
    todo = [base]
    while todo:
        chain = todo.pop()
        for rule in chain.rules:
            if rule.action in (Action.DROP, Action.REJECT):
                return True
            if rule.action in (Action.JUMP, Action.GOTO) and rule.target not in seen:
                target = rs.chain(chain.family, chain.table, rule.target)
                if target is not None:
                    seen.add(target.name)
                    todo.append(target)
    return False


def has_input_filtering(rulesets: Sequence[Ruleset]) -> bool:
    """Any input base chain with a drop/reject policy, or a drop/reject rule
    in it or in a chain it jumps to."""
    for rs in rulesets:
        for chain in rs.input_chains():
            if chain.policy in (Action.DROP, Action.REJECT) or _has_deny(rs, chain):
                return True
    return False
