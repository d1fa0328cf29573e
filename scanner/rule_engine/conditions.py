"""The declarative match conditions of a rule, and how they are evaluated.

A condition is built once from a rule's `match:` block and evaluated against
one service at a time; each leaf that holds says why, so the finding can show
the evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scanner.banners.products import ProductVersion
from scanner.model import Observation, Service


@dataclass(frozen=True)
class MatchContext:
    service: Service
    product: ProductVersion
    observations: tuple[Observation, ...]
    # Facts about the whole host (port None), e.g. its packet-filter posture.
    host_observations: tuple[Observation, ...] = ()


@dataclass(frozen=True)
class Verdict:
    matched: bool
    evidence: tuple[str, ...] = ()
    used_version: bool = False


_NO = Verdict(False)


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        evidence: list[str] = []
        used_version = False
        for item in self.items:
            verdict = item.evaluate(ctx)
            if not verdict.matched:
                return _NO
            evidence.extend(verdict.evidence)
            used_version = used_version or verdict.used_version
        return Verdict(True, tuple(evidence), used_version)


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        for item in self.items:
            verdict = item.evaluate(ctx)
            if verdict.matched:
                return verdict
        return _NO


@dataclass(frozen=True)
class Not:
    item: Condition

    def evaluate(self, ctx: MatchContext) -> Verdict:
        verdict = self.item.evaluate(ctx)
        return _NO if verdict.matched else Verdict(True, (), verdict.used_version)


@dataclass(frozen=True)
class ProductIs:
    products: frozenset[str]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        if ctx.product.product in self.products:
            label = ctx.product.label or ctx.service.product
            return Verdict(True, (f"product: {label} ({ctx.product.product})",))
        return _NO


@dataclass(frozen=True)
class ServiceIs:
    names: frozenset[str]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        return Verdict(ctx.service.name in self.names)


_ORDERED = frozenset({"<", "<=", ">", ">="})
# Stands for "any later patch" when a banner hides the patch level.
_ANY_PATCH = 999999


def satisfies(specifier: SpecifierSet, version: Version) -> bool:
    """Like SpecifierSet.contains, but by plain version order for < <= > >=.

    PEP 440 says `<1.3.6` excludes 1.3.6rc2 and `>9.2` excludes 9.2.post1
    (OpenSSH 9.2p1); for a banner both are simply older or newer releases.
    """
    for spec in specifier:
        if spec.operator in _ORDERED:
            bound = Version(spec.version)
            ok = {
                "<": version < bound,
                "<=": version <= bound,
                ">": version > bound,
                ">=": version >= bound,
            }[spec.operator]
        else:
            ok = spec.contains(version, prereleases=True)
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class VersionIn:
    """The version is in any one of the specifier sets."""

    specifiers: tuple[SpecifierSet, ...]
    # Which specifier (its index, or None) a version falls in, per version:
    # a scan of many hosts asks the same few versions millions of times.
    _seen: dict[tuple[Version, bool], int | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def _matching(self, version: Version, partial: bool) -> int | None:
        key = (version, partial)
        if key in self._seen:
            return self._seen[key]
        # `2.4` may be any 2.4.x: only a verdict that holds for all of them counts.
        highest = Version(f"{version.base_version}.{_ANY_PATCH}")
        found = next(
            (
                i
                for i, specifier in enumerate(self.specifiers)
                if satisfies(specifier, version) and (not partial or satisfies(specifier, highest))
            ),
            None,
        )
        self._seen[key] = found
        return found

    def evaluate(self, ctx: MatchContext) -> Verdict:
        parsed = ctx.product.version
        version = parsed.version
        if version is None:
            return Verdict(False, (), used_version=True)
        index = self._matching(version, ctx.product.partial)
        if index is None:
            return Verdict(False, (), used_version=True)
        shown = f"{parsed.raw} (read as {version})" if parsed.raw != str(version) else parsed.raw
        wording = ", any patch level of it," if ctx.product.partial else ""
        evidence = f"version: {shown}{wording} is {_describe_specifier(self.specifiers[index])}"
        return Verdict(True, (evidence,), used_version=True)


def _describe_specifier(specifier: SpecifierSet) -> str:
    # Lower bound first reads better than SpecifierSet's sorted order.
    return ",".join(sorted((str(s) for s in specifier), key=lambda s: not s.startswith(">")))


@dataclass(frozen=True)
class VersionKnown:
    known: bool

    def evaluate(self, ctx: MatchContext) -> Verdict:
        return Verdict(ctx.product.version.known == self.known)


@dataclass(frozen=True)
class PortIs:
    ports: frozenset[int]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        return Verdict(ctx.service.port in self.ports)


@dataclass(frozen=True)
class ProtocolIs:
    protocol: str

    def evaluate(self, ctx: MatchContext) -> Verdict:
        return Verdict(ctx.service.protocol == self.protocol)


@dataclass(frozen=True)
class TunnelIs:
    tunnel: str

    def evaluate(self, ctx: MatchContext) -> Verdict:
        actual = ctx.service.tunnel or "none"
        return Verdict(actual == self.tunnel)


@dataclass(frozen=True)
class CpePrefix:
    prefix: str

    def evaluate(self, ctx: MatchContext) -> Verdict:
        for cpe in ctx.service.cpes:
            if cpe.lower().startswith(self.prefix.lower()):
                return Verdict(True, (f"cpe: {cpe}",))
        return _NO


@dataclass(frozen=True)
class StateIs:
    """nmap's port state (`open`) or a local socket's (`listening`)."""

    states: frozenset[str]

    def evaluate(self, ctx: MatchContext) -> Verdict:
        return Verdict(ctx.service.state in self.states)


def _at_least(value: str, minimum: int) -> bool:
    try:
        return int(value) >= minimum
    except ValueError:
        return False


@dataclass(frozen=True)
class ObservationIs:
    """An observation on the service's port (or, with `on_host`, on the host)."""

    key: str
    equals: str | None
    at_least: int | None = None
    on_host: bool = False

    def evaluate(self, ctx: MatchContext) -> Verdict:
        for obs in ctx.host_observations if self.on_host else ctx.observations:
            if obs.key != self.key:
                continue
            if self.equals is not None and obs.value != self.equals:
                continue
            if self.at_least is not None and not _at_least(obs.value, self.at_least):
                continue
            shown = obs.evidence or f"{obs.key} = {obs.value}"
            return Verdict(True, (f"{obs.probe}: {shown}",))
        return _NO


Condition = (
    All
    | AnyOf
    | Not
    | ProductIs
    | ServiceIs
    | VersionIn
    | VersionKnown
    | PortIs
    | ProtocolIs
    | TunnelIs
    | CpePrefix
    | StateIs
    | ObservationIs
)


class ConditionError(ValueError):
    """A condition that passed the schema but means nothing (a bad specifier)."""

    def __init__(self, message: str, path: Sequence[str | int]) -> None:
        super().__init__(message)
        self.path = tuple(path)


def _strings(value: str | list[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def _ints(value: int | list[int]) -> frozenset[int]:
    return frozenset([value] if isinstance(value, int) else value)


def build(raw: Mapping[str, Any], path: Sequence[str | int] = ()) -> Condition:
    """Build a condition from a schema-valid `match:` mapping."""
    ((key, value),) = raw.items()
    here = [*path, key]
    builders: dict[str, Callable[[], Condition]] = {
        "all": lambda: All(tuple(build(v, [*here, i]) for i, v in enumerate(value))),
        "any": lambda: AnyOf(tuple(build(v, [*here, i]) for i, v in enumerate(value))),
        "not": lambda: Not(build(value, here)),
        "product": lambda: ProductIs(_strings(value)),
        "service": lambda: ServiceIs(_strings(value)),
        "version": lambda: VersionIn(
            tuple(
                _specifier(v, [*here, i] if isinstance(value, list) else here)
                for i, v in enumerate([value] if isinstance(value, str) else value)
            )
        ),
        "version_known": lambda: VersionKnown(bool(value)),
        "port": lambda: PortIs(_ints(value)),
        "protocol": lambda: ProtocolIs(str(value)),
        "tunnel": lambda: TunnelIs(str(value)),
        "cpe": lambda: CpePrefix(str(value)),
        "state": lambda: StateIs(_strings(value)),
        "observation": lambda: _observation(value, on_host=False),
        "host_observation": lambda: _observation(value, on_host=True),
    }
    return builders[key]()


def _observation(value: Mapping[str, Any], on_host: bool) -> ObservationIs:
    at_least = value.get("at_least")
    return ObservationIs(
        str(value["key"]),
        value.get("equals"),
        int(at_least) if at_least is not None else None,
        on_host,
    )


# The conditions a host-scope rule may use: it has no service to look at.
HOST_CONDITIONS = frozenset({"all", "any", "not", "host_observation"})


def service_conditions_in(
    raw: Mapping[str, Any], path: Sequence[str | int] = ()
) -> ConditionError | None:
    """The first service-level condition in a `match:` block, as an error for a host rule."""
    ((key, value),) = raw.items()
    here = [*path, key]
    if key not in HOST_CONDITIONS:
        return ConditionError(
            f"`{key}` looks at a service, but this rule has `scope: host`: "
            "a host rule matches `host_observation` (under all/any/not) only",
            here,
        )
    children = value if key in ("all", "any") else [value] if key == "not" else []
    for index, child in enumerate(children):
        found = service_conditions_in(child, [*here, index] if key != "not" else here)
        if found is not None:
            return found
    return None


def _specifier(text: str, path: Sequence[str | int]) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ConditionError(
            f"{text!r} is not a version specifier (write e.g. '>=2.4.0,<2.4.68')", path
        ) from None
