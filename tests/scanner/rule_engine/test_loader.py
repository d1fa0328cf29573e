from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from scanner.model import Confidence, Severity
from scanner.rule_engine.loader import RuleLoadError, RuleProblem, lint, load_file, load_rules
from scanner.support.errors import InputError
from scanner.support.resources import builtin_rules_dir
from tests.factories import rule_yaml
from tests.scanner.support.hostile_yaml import (
    PROPERTY,
    VALUES,
    alias_bomb,
    call_isolated,
    filled,
    line_with,
    written,
)
from tests.support import FIXTURES

BAD = FIXTURES / "rules-bad"


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
    (tmp_path / "a.yaml").write_text(rule_yaml("same-rule"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        "# the same id again\n" + rule_yaml("same-rule"), encoding="utf-8"
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
    (tmp_path / "good.yaml").write_text(rule_yaml("good-rule"), encoding="utf-8")
    shutil.copy(BAD / "unknown-severity.yaml", tmp_path / "sub-bad.yaml")
    rules, problems = lint([tmp_path])
    assert [r.id for r in rules] == ["good-rule"]
    assert [(p.path.name, p.line) for p in problems] == [("sub-bad.yaml", 5)]


def test_loaded_rule_fields(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(rule_yaml("good-rule"), encoding="utf-8")
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
        rule_yaml("extra-key").replace(
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


# --- hostile rule files -----------------------------------------------------

HEAD = """\
rules:
  - id: hostile-rule
    title: A rule someone made hostile
    severity: low
    match:
"""
TAIL = """\
    description: The server runs Apache httpd, which this test cares about.
    remediation: Nothing to do; this rule only exists for a test.
    references: [https://example.org/rule]
    trust:
      data_at_stake: [customer accounts]
      impact: Nothing at all, this is a test rule.
"""


def test_alias_bomb_in_a_rule_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    # 9 levels of 10 aliases in nested `any:`: 10**9 conditions once expanded,
    # which the schema validation walked for minutes before.
    text = HEAD + "      any:\n" + "\n".join(alias_bomb("        ", "{product: x}")) + "\n" + TAIL
    assert len(text) < 1024
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = call_isolated("scanner.rule_engine.loader", "load_file", path)
    assert outcome["problems"] == [
        f"{path}:{line_with(text, '&l4')}: aliases expand past 10000 nodes or 1048576 "
        "characters (an alias bomb?)"
    ]
    assert isinstance(outcome["seconds"], float)
    assert outcome["seconds"] < 5


def test_200_nested_all_is_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    lines = [f"{'    ' * depth}      - all:" for depth in range(1, 200)]
    nested = "      all:\n" + "\n".join(lines) + "\n" + "    " * 200 + "      - product: x\n"
    text = HEAD + nested + TAIL
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    rules, problems = load_file(path)
    # The first `all:` (line 6) is the 4th level, its list the 5th; each
    # `- all:` line below adds two levels: the 65th starts on line 6 + 31.
    assert rules == []
    assert problems == [RuleProblem(path, 6 + 31, "nested deeper than 64 levels")]
    with pytest.raises(RuleLoadError, match=r"deep\.yaml:37: nested deeper than 64 levels"):
        load_rules([tmp_path])


def test_nesting_the_built_in_rules_could_use_loads(tmp_path: Path) -> None:
    nested = "{all: [" * 30 + "{product: apache-httpd}" + "]}" * 30
    path = tmp_path / "nested.yaml"
    path.write_text(HEAD.replace("match:\n", f"match: {nested}\n") + TAIL, encoding="utf-8")
    (rule,) = load_rules([tmp_path])
    assert rule.id == "hostile-rule"


@pytest.mark.parametrize(
    ("insert", "message"),
    [
        ("    severity: high\n", "duplicate key 'severity' (first on line 4)"),
        ("    confidence: !secret high\n", "unknown YAML tag !secret"),
        ("    category: exposure\x1b[2J\n", "YAML does not allow the control character U+001B"),
        ("    data_as_of: " + "9" * 400 + "\n", "integer out of range"),
    ],
)
def test_hostile_lines_in_a_rule_name_file_and_line(
    tmp_path: Path, insert: str, message: str
) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(
        HEAD.replace("    match:\n", insert + "    match:\n") + "      product: x\n" + TAIL
    )
    rules, problems = load_file(path)
    assert rules == []
    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == (path, 5)
    assert problems[0].message.startswith(message)


CLASH = (
    """\
rules:
  - title: A rule of mine that took a built-in id
    id: apache-httpd-eol
    severity: low
    match:
      product: apache-httpd
"""
    + TAIL
)


def _builtin_source(rule_id: str) -> str:
    (rule,) = [r for r in load_rules([builtin_rules_dir()]) if r.id == rule_id]
    return rule.source


def test_lint_reports_an_id_a_built_in_rule_has(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(CLASH, encoding="utf-8")
    (tmp_path / "fine.yaml").write_text(rule_yaml("my-own-rule"), encoding="utf-8")
    rules, problems = lint([tmp_path])
    assert [r.id for r in rules] == ["my-own-rule"]
    source = _builtin_source("apache-httpd-eol")
    assert problems == [
        RuleProblem(
            tmp_path / "mine.yaml",
            3,  # the line of `id:`, not of the rule
            f"rule id 'apache-httpd-eol' is a built-in rule's id ({source}): "
            "give this rule its own id",
        )
    ]


def test_load_rules_with_the_built_in_ones_names_the_clash(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(CLASH, encoding="utf-8")
    with pytest.raises(RuleLoadError) as caught:
        load_rules([builtin_rules_dir(), tmp_path])
    assert isinstance(caught.value, InputError)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'mine.yaml'}:3: rule id 'apache-httpd-eol' is a built-in rule's id "
        f"({_builtin_source('apache-httpd-eol')}): give this rule its own id"
    ]


def test_load_rules_names_duplicate_ids_across_directories(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "r.yaml").write_text(rule_yaml("same-rule"))
    with pytest.raises(RuleLoadError) as caught:
        load_rules([tmp_path / "one", tmp_path / "two"])
    assert str(caught.value) == (
        f"invalid rule: {tmp_path / 'two' / 'r.yaml'}:2: rule id 'same-rule' is already "
        f"defined at {tmp_path / 'one' / 'r.yaml'}:2"
    )


def test_linting_part_of_the_built_in_rules_is_no_clash() -> None:
    rules, problems = lint([builtin_rules_dir() / "cve"])
    assert problems == []
    assert rules


# --- properties ---------------------------------------------------------------

_LEAF_CONDITIONS = st.sampled_from(
    [
        "{product: apache-httpd}", "{product: [nginx, x]}", "{version: '>=2.4,<2.4.60'}",
        "{version: '>>2'}", "{version: ['==1.0', '<0']}", "{port: 80}", "{port: 99999}",
        "{port: [1, 65535]}", "{version_known: false}", "{observation: {key: x, equals: y}}",
        "{state: open}", "{cpe: 'cpe:/a:apache'}", "{tunnel: ssl}", "{protocol: tcp}",
    ]
)  # fmt: skip
CONDITIONS = st.recursive(
    st.one_of(_LEAF_CONDITIONS, st.sampled_from(["*a", "*b"]), VALUES),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map(lambda xs: "{all: [" + ", ".join(xs) + "]}"),
        st.lists(inner, min_size=1, max_size=4).map(lambda xs: "{any: [" + ", ".join(xs) + "]}"),
        inner.map(lambda x: "{not: " + x + "}"),
        st.tuples(st.sampled_from(["a", "b"]), inner).map(lambda p: f"&{p[0]} {p[1]}"),
    ),
    max_leaves=24,
)
RULE_FILE = """\
rules:
  - id: {0}
    title: {1}
    severity: {2}
    scope: {3}
    match: {4}
    description: The server runs Apache httpd, which this test cares about.
    remediation: Nothing to do; this rule only exists for a test.
    references: {5}
    raise_severity: [{{when: {6}, severity: high, because: a reason to worry}}]
    trust:
      data_at_stake: {7}
      impact: Nothing at all, this is a test rule.
"""
RULE_FILES = filled(
    RULE_FILE,
    ("hostile-rule", VALUES),
    ("A rule under attack", VALUES),
    ("low", VALUES),
    ("service", st.one_of(st.just("host"), VALUES)),
    ("{product: apache-httpd}", CONDITIONS),
    ("[https://example.org/rule]", VALUES),
    ("{port: 443}", CONDITIONS),
    ("[customer accounts]", VALUES),
)


@PROPERTY
@given(document=RULE_FILES)
def test_a_rule_file_loads_or_names_its_problems(tmp_path: Path, document: bytes) -> None:
    path = written(tmp_path / "rule.yaml", document)
    try:
        rules, problems = load_file(path)
    except InputError:  # allowed, though load_file returns its problems
        return
    event("loaded" if rules else f"problem: {problems[0].message[:30]}")
    assert all(p.path == path and p.line >= 1 for p in problems)
    assert bool(rules) != bool(problems)


@settings(PROPERTY, max_examples=60)
@given(documents=st.lists(RULE_FILES, min_size=1, max_size=3))
def test_lint_of_a_directory_collects_or_loads(tmp_path: Path, documents: list[bytes]) -> None:
    directory = tmp_path / "rules"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    for index, document in enumerate(documents):
        written(directory / f"rule-{index}.yaml", document)
    rules, problems = lint([directory])
    assert all(p.line >= 1 for p in problems)
    assert len({r.id for r in rules}) == len(rules)
