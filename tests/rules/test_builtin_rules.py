"""Every built-in rule against its fixture cases, semgrep-rules style.

`fixtures/rules/*.yaml` list cases: a rule id, a service as nmap reports it
(plus, optionally, observations probes made about it) and whether the rule
must match. One parametrised test runs every case; another makes sure every
rule in the built-in rules directory has a case that matches and one that
does not, so a rule added without fixtures fails the suite.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.model import Observation, Service
from scanner.resources import builtin_rules_dir
from scanner.rule_loader import load_rules
from scanner.rules import Rule, evaluate
from tests.factories import make_host, make_observation, make_service

CASES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
_EXPECT = ("match", "no-match")
_SERVICE_TYPES: dict[str, type] = {
    f.name: (int if f.name in ("port", "conf") else tuple if f.name == "cpes" else str)
    for f in dataclasses.fields(Service)
}


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    expect: str
    service: Service
    observations: tuple[Observation, ...]
    source: str


def _service(raw: Any, where: str) -> Service:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: 'service' must be a mapping")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        wanted = _SERVICE_TYPES.get(key)
        if wanted is None:
            raise ValueError(f"{where}: {key!r} is not a Service field")
        if wanted is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{where}: {key!r} must be a list of strings")
            value = tuple(value)
        elif not isinstance(value, wanted) or isinstance(value, bool):
            # YAML reads `version: 10.0` as a float: quote versions like that.
            raise ValueError(f"{where}: {key!r} must be {wanted.__name__}, got {value!r}")
        fields[key] = value
    return make_service(**fields)


def _observations(raw: Any, service: Service, where: str) -> tuple[Observation, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        raise ValueError(f"{where}: 'observations' must be a list of mappings")
    return tuple(make_observation(port=service.port, **o) for o in raw)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, raw in enumerate(data["cases"]):
            where = f"{path.name}: case {index}"
            if raw.get("expect") not in _EXPECT:
                raise ValueError(f"{where}: 'expect' must be one of {_EXPECT}")
            service = _service(raw.get("service", {}), where)
            cases.append(
                Case(
                    rule=str(raw["rule"]),
                    name=str(raw["name"]),
                    expect=raw["expect"],
                    service=service,
                    observations=_observations(raw.get("observations"), service, where),
                    source=where,
                )
            )
    return cases


def missing_cases(rule_ids: list[str], cases: list[Case]) -> list[str]:
    """Rules that lack a match case or a no-match case, as `id (expect)`."""
    covered = {(c.rule, c.expect) for c in cases}
    return sorted(
        f"{rule_id} ({expect})"
        for rule_id in rule_ids
        for expect in _EXPECT
        if (rule_id, expect) not in covered
    )


CASES = load_cases()


@pytest.fixture(scope="module")
def builtin_rules() -> dict[str, Rule]:
    return {rule.id: rule for rule in load_rules([builtin_rules_dir()])}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{c.expect}-{c.name}" for c in CASES])
def test_rule_case(case: Case, builtin_rules: dict[str, Rule]) -> None:
    assert case.rule in builtin_rules, f"{case.source}: no built-in rule {case.rule!r}"
    rule = builtin_rules[case.rule]
    host = make_host(services=(case.service,))
    findings = evaluate([host], case.observations, [rule])
    matched = [f for f in findings if f.rule_id == case.rule]
    if case.expect == "match":
        assert len(matched) == 1, f"{case.source}: {case.rule} did not match {case.service}"
        assert matched[0].port == case.service.port
    else:
        assert matched == [], f"{case.source}: {case.rule} matched {case.service}"


def test_there_are_cases() -> None:
    assert len(CASES) >= 2


def test_case_names_are_unique_per_rule() -> None:
    keys = [(c.rule, c.expect, c.name) for c in CASES]
    assert len(keys) == len(set(keys))


def test_every_builtin_rule_has_a_match_and_a_no_match_case(
    builtin_rules: dict[str, Rule],
) -> None:
    missing = missing_cases(list(builtin_rules), CASES)
    assert missing == [], f"rules without fixture cases in {CASES_DIR}: {missing}"


def test_coverage_check_notices_a_rule_without_cases(tmp_path: Path) -> None:
    # The check above is only worth something if a rule without cases fails it.
    (tmp_path / "cases.yaml").write_text(
        "cases:\n  - {rule: some-rule, name: a, expect: match, service: {version: '2.2.34'}}\n",
        encoding="utf-8",
    )
    cases = load_cases(tmp_path)
    assert missing_cases(["some-rule", "other-rule"], cases) == [
        "other-rule (match)",
        "other-rule (no-match)",
        "some-rule (no-match)",
    ]


def test_case_loader_rejects_a_float_version(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(
        "cases:\n  - {rule: r, name: iis, expect: match, service: {version: 10.0}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="'version' must be str"):
        load_cases(tmp_path)
