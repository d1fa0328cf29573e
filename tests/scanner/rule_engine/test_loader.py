from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scanner.model import Confidence, Severity
from scanner.rule_engine.loader import RuleLoadError, RuleProblem, lint, load_file, load_rules
from scanner.support.errors import InputError
from scanner.support.resources import builtin_rules_dir
from tests.support import FIXTURES

BAD = FIXTURES / "rules-bad"

GOOD_RULE = """\
rules:
  - id: {rule_id}
    title: A rule that loads cleanly
    severity: low
    match:
      product: apache-httpd
    description: The server runs Apache httpd, which this test cares about.
    remediation: Nothing to do; this rule only exists for a test.
    references:
      - https://example.org/rule
    trust:
      data_at_stake: [customer accounts]
      impact: Nothing at all, this is a test rule.
"""


@pytest.mark.parametrize(
    ("name", "line", "says"),
    [
        ("invalid-yaml.yaml", 5, "not valid YAML"),
        ("unknown-severity.yaml", 5, "'urgent' is not one of"),
        ("missing-trust.yaml", 3, "'trust' is a required property"),
        ("two-key-condition.yaml", 7, "a condition is one key"),
        ("bad-version-specifier.yaml", 9, "'>>2.4' is not a version specifier"),
        ("host-rule-with-service-condition.yaml", 10, "`product` looks at a service"),
    ],
)
def test_bad_rule_file_problem_has_file_and_line(name: str, line: int, says: str) -> None:
    path = BAD / name
    rules, problems = load_file(path)
    assert rules == []
    assert len(problems) == 1
    (problem,) = problems
    assert (problem.path, problem.line) == (path, line)
    assert says in problem.message
    assert str(problem).startswith(f"{path}:{line}: ")


def test_lint_collects_every_problem_of_a_directory() -> None:
    rules, problems = lint([BAD])
    assert rules == []
    assert sorted((p.path.name, p.line) for p in problems) == [
        ("bad-version-specifier.yaml", 9),
        ("host-rule-with-service-condition.yaml", 10),
        ("invalid-yaml.yaml", 5),
        ("missing-trust.yaml", 3),
        ("two-key-condition.yaml", 7),
        ("unknown-severity.yaml", 5),
    ]


def test_load_rules_raises_with_every_problem() -> None:
    with pytest.raises(RuleLoadError) as info:
        load_rules([BAD])
    assert isinstance(info.value, InputError)
    assert len(info.value.problems) == 6
    assert "(and 5 more)" in str(info.value)


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_RULE.format(rule_id="same-rule"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        "# the same id again\n" + GOOD_RULE.format(rule_id="same-rule"), encoding="utf-8"
    )
    rules, problems = lint([tmp_path])
    assert [r.id for r in rules] == ["same-rule"]
    assert problems == [
        RuleProblem(
            tmp_path / "b.yml",
            3,
            f"rule id 'same-rule' is already defined at {tmp_path / 'a.yaml'}:2",
        )
    ]


def test_good_and_bad_files_together(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD_RULE.format(rule_id="good-rule"), encoding="utf-8")
    shutil.copy(BAD / "unknown-severity.yaml", tmp_path / "sub-bad.yaml")
    rules, problems = lint([tmp_path])
    assert [r.id for r in rules] == ["good-rule"]
    assert [(p.path.name, p.line) for p in problems] == [("sub-bad.yaml", 5)]


def test_loaded_rule_fields(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD_RULE.format(rule_id="good-rule"), encoding="utf-8")
    (rule,) = load_rules([tmp_path])
    assert rule.id == "good-rule"
    assert rule.severity is Severity.LOW
    assert rule.confidence is Confidence.HIGH
    assert rule.references == ("https://example.org/rule",)
    assert rule.trust.data_at_stake == ("customer accounts",)
    assert rule.source == f"{path}:2"


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    _, problems = lint([tmp_path])
    assert [(p.path, p.line) for p in problems] == [(tmp_path, 1)]
    assert "no .yaml rule files" in problems[0].message


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    _, problems = lint([tmp_path / "nope"])
    assert "not a directory" in problems[0].message


def test_non_utf8_rule_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"rules:\n  - id: caf\xe9\n")
    _, problems = load_file(path)
    assert [(p.line, p.message) for p in problems] == [(2, "rule file is not UTF-8 text")]


def test_unknown_key_in_rule_names_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        GOOD_RULE.format(rule_id="extra-key").replace(
            "    severity: low\n", "    severity: low\n    sevrity: high\n"
        ),
        encoding="utf-8",
    )
    _, problems = load_file(path)
    assert len(problems) == 1
    assert "'sevrity' was unexpected" in problems[0].message
    assert problems[0].line == 5  # the misspelt key


def test_builtin_rules_lint_clean() -> None:
    rules, problems = lint([builtin_rules_dir()])
    assert problems == []
    assert {r.id for r in rules} >= {"apache-httpd-eol", "apache-httpd-outdated"}
