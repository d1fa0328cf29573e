"""Load rule files: YAML, validated against the JSON Schema in `rules/`.

Every problem is reported with its file and line, and all problems of a
directory are collected before failing, so `rules lint` shows them at once.
`load_rules` takes each unchanged valid file's rules from the user's cache
(`rule_cache`); `lint` always reads and validates every file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Confidence, Severity, TrustImpact, Vulnerability
from scanner.rule_engine.conditions import ConditionError, build, service_conditions_in
from scanner.rule_engine.exploited import known_exploited
from scanner.rule_engine.rule_cache import Loaded, RuleCache
from scanner.rule_engine.rules import Escalation, Rule, RuleScope
from scanner.support.files import FileReadError, decode_text, read_bytes
from scanner.support.problems import FileProblem, FileProblems
from scanner.support.resources import builtin_rules_dir, rule_schema_path

if TYPE_CHECKING:
    import jsonschema

# The YAML reader (and jsonschema, which it imports when a schema is first
# used) are imported where a file is read: rules taken from the cache need
# neither, and the CLI imports this module to declare its commands.

_MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
RULE_SUFFIXES = (".yaml", ".yml")


class RuleLoadError(FileProblems):
    what = "rule"


# A problem in a rule file: the file, the line and what is wrong.
RuleProblem = FileProblem


def _validator() -> jsonschema.protocols.Validator:
    from scanner.support.yaml_files import schema_validator

    return schema_validator(rule_schema_path())


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "file"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message}"
    if error.validator in ("oneOf", "maxProperties", "minProperties") and "match" in [
        str(p) for p in error.absolute_path
    ]:
        return (
            f"{where}: a condition is one key of all/any/not/product/service/version/"
            f"version_known/port/protocol/tunnel/cpe/state/observation/host_observation "
            f"({error.message})"
        )
    return f"{where}: {error.message}"


def load_file(path: Path) -> tuple[list[Rule], list[RuleProblem]]:
    """Load one rule file; problems are returned, not raised."""
    loaded, problems = _load_file(path)
    return [rule for rule, _ in loaded], problems


def _read(path: Path) -> bytes:
    return read_bytes(path, _MAX_RULE_FILE_BYTES, "rule file")


def _load_file(path: Path) -> tuple[Loaded, list[RuleProblem]]:
    """Each rule with the line of its `id`, or the file's problems."""
    try:
        return _load_bytes(path, _read(path))
    except FileReadError as exc:
        return [], [RuleProblem(path, exc.line, exc.problem)]


def _load_bytes(path: Path, content: bytes) -> tuple[Loaded, list[RuleProblem]]:
    """`_load_file` of the file's bytes, already read."""
    from scanner.support.yaml_files import YamlFileError, error_path, line_of, parse_yaml

    try:
        node, data = parse_yaml(decode_text(content, path, "rule file"), path)
    except FileReadError as exc:
        return [], [RuleProblem(path, exc.line, exc.problem)]
    except YamlFileError as exc:
        return [], [exc.problem]

    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    if errors:
        return [], [
            RuleProblem(path, line_of(node, error_path(error)), _describe(error))
            for error in errors
        ]

    rules: list[tuple[Rule, int]] = []
    problems: list[RuleProblem] = []
    for index, item in enumerate(data["rules"]):
        where: list[str | int] = ["rules", index]
        try:
            rule = _rule(item, path, line_of(node, where), where)
            rules.append((rule, line_of(node, [*where, "id"])))
        except ConditionError as exc:
            problems.append(RuleProblem(path, line_of(node, exc.path), str(exc)))
    return rules, problems


def _rule(item: dict[str, Any], path: Path, line: int, where: list[str | int]) -> Rule:
    trust = item["trust"]
    scope = RuleScope(item.get("scope", "service"))
    if scope is RuleScope.HOST:
        misplaced = service_conditions_in(item["match"], [*where, "match"])
        if misplaced is not None:
            raise misplaced
    return Rule(
        id=item["id"],
        title=item["title"],
        severity=Severity(item["severity"]),
        confidence=Confidence(item.get("confidence", "high")),
        category=item.get("category", ""),
        match=build(item["match"], [*where, "match"]),
        description=item["description"].strip(),
        remediation=item["remediation"].strip(),
        references=tuple(item["references"]),
        trust=TrustImpact(tuple(trust["data_at_stake"]), trust["impact"].strip()),
        data_as_of=str(item.get("data_as_of", "")),
        source=f"{path}:{line}",
        vulnerability=_vulnerability(item),
        scope=scope,
        escalations=tuple(
            Escalation(
                when=build(raw["when"], [*where, "raise_severity", i, "when"]),
                severity=Severity(raw["severity"]),
                because=raw["because"].strip(),
            )
            for i, raw in enumerate(item.get("raise_severity", ()))
        ),
    )


def _vulnerability(item: dict[str, Any]) -> Vulnerability | None:
    raw = item.get("vulnerability")
    if raw is None:
        return None
    cvss = raw.get("cvss") or {}
    return Vulnerability(
        id=raw["id"],
        severity=Severity(item["severity"]),
        cvss_score=float(cvss["score"]) if "score" in cvss else None,
        cvss_vector=cvss.get("vector", ""),
        vendor_severity=raw.get("vendor_severity", ""),
        fixed_in=tuple(raw.get("fixed_in", ())),
        references=tuple(item["references"]),
        # CISA's KEV catalogue, by the CVE id or an alias: only here are the
        # aliases at hand (a Vulnerability does not keep them).
        exploited=known_exploited(raw["id"], raw.get("aliases", ())),
    )


# YAML files of the built-in rules directory that hold data, not rules: the
# default scan's ports (scanner/discovery/ports.py).
DATA_FILES = frozenset({"ports.yaml"})


def rule_files(directory: Path) -> list[Path]:
    found = (p for p in directory.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
    builtin = directory.resolve() == builtin_rules_dir().resolve()
    return sorted(
        p for p in found if not (builtin and p.relative_to(directory).as_posix() in DATA_FILES)
    )


def lint(
    directories: Sequence[Path], *, against_builtin: bool = True
) -> tuple[list[Rule], list[RuleProblem]]:
    """Load every rule file under the directories; collect all problems.

    A rule may not take an id the built-in rules use (a finding's id must say
    which rule made it), even when the built-in directory is not among
    `directories`; `against_builtin=False` leaves that to the caller.

    Every file is read and validated: the cache is `load_rules`' alone."""
    return _gathered(directories, against_builtin=against_builtin, cached=False)


def _gathered(
    directories: Sequence[Path], *, against_builtin: bool, cached: bool
) -> tuple[list[Rule], list[RuleProblem]]:
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    first_seen: dict[str, Rule] = {}
    builtin = builtin_rules_dir().resolve()
    builtin_ids: dict[str, str] | None = None
    for directory in directories:
        if not directory.is_dir():
            problems.append(RuleProblem(directory, 1, "not a directory of rule files"))
            continue
        files = rule_files(directory)
        if not files:
            problems.append(RuleProblem(directory, 1, "holds no .yaml rule files"))
        cache = RuleCache.open(directory) if cached else None
        for path in files:
            loaded, found = _load_file(path) if cache is None else _cached_file(path, cache)
            problems.extend(found)
            # Resolved only for the id check: a resolve per file is a fifth of a warm load.
            check_ids = against_builtin and not path.resolve().is_relative_to(builtin)
            for rule, id_line in loaded:
                if rule.id in first_seen:
                    first = first_seen[rule.id].source
                    problems.append(RuleProblem(path, id_line, _clash(rule.id, first, builtin)))
                    continue
                if check_ids:
                    if builtin_ids is None:
                        builtin_ids = _builtin_ids(builtin)
                    if rule.id in builtin_ids:
                        clash = _clash(rule.id, builtin_ids[rule.id], builtin)
                        problems.append(RuleProblem(path, id_line, clash))
                        continue
                first_seen[rule.id] = rule
                rules.append(rule)
        if cache is not None:
            cache.save()
    return rules, problems


def _cached_file(path: Path, cache: RuleCache) -> tuple[Loaded, list[RuleProblem]]:
    """`_load_file`, the rules taken from the cache when the file's bytes are
    those it was built from; the bytes hashed are the bytes parsed."""
    try:
        content = _read(path)
    except FileReadError as exc:
        return [], [RuleProblem(path, exc.line, exc.problem)]
    hit = cache.get(path, content)
    if hit is not None:
        return hit, []
    loaded, problems = _load_bytes(path, content)
    if not problems:
        cache.put(path, content, loaded)
    return loaded, problems


def _clash(rule_id: str, first: str, builtin: Path) -> str:
    if Path(first.rsplit(":", 1)[0]).resolve().is_relative_to(builtin):
        return f"rule id {rule_id!r} is a built-in rule's id ({first}): give this rule its own id"
    return f"rule id {rule_id!r} is already defined at {first}"


@lru_cache(maxsize=2)
def _builtin_ids(builtin: Path) -> dict[str, str]:
    """Each built-in rule id and its file:line, read without the checks (the
    built-in rules are linted by their own tests)."""
    from scanner.support.yaml_files import YamlFileError, line_of, read_yaml

    ids: dict[str, str] = {}
    for path in rule_files(builtin):
        try:
            node, data = read_yaml(path, _MAX_RULE_FILE_BYTES, "rule file")
        except YamlFileError:
            continue
        items = data.get("rules") if isinstance(data, dict) else None
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                line = line_of(node, ["rules", index, "id"])
                ids.setdefault(item["id"], f"{path}:{line}")
    return ids


def rule_set_version(rules: Sequence[Rule], directories: Sequence[str | Path]) -> str:
    """Which rules judged a scan: "412 rules in 31 files, sha256 1a2b3c4d5e6f".

    The digest covers every rule file's path (relative to its directory) and
    bytes, so two reports with the same digest were judged by the same rules."""
    digest = hashlib.sha256()
    files = 0
    for directory in map(Path, directories):
        if not directory.is_dir():
            continue
        for path in rule_files(directory):
            files += 1
            digest.update(str(path.relative_to(directory)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"{len(rules)} rules in {files} files, sha256 {digest.hexdigest()[:12]}"


def load_rules(directories: Sequence[Path]) -> tuple[Rule, ...]:
    """Load rules for a scan; any problem stops it before nmap runs.

    The CLI gives the built-in directory first, so a rule of the user's that
    takes a built-in id is a duplicate here; rules loaded without the built-in
    ones (the tests') may reuse their ids.

    A valid file unchanged since a run that loaded it is not read again as
    YAML nor validated: its rules come from the user's cache (`rule_cache`;
    `TRUSTSCAN_NO_CACHE=1` reads every file)."""
    rules, problems = _gathered(directories, against_builtin=False, cached=True)
    if problems:
        raise RuleLoadError(problems)
    return tuple(rules)
