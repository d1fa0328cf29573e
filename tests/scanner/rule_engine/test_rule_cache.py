"""The rules cache: `load_rules` of an unchanged directory reads no YAML and
gives the rules a fresh load gives; any change to a file, the schema, the
catalogue or the version is seen; a damaged cache is rebuilt, never trusted."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.rule_engine import rule_cache
from scanner.rule_engine.loader import RuleLoadError, lint, load_rules
from scanner.rule_engine.rule_cache import RuleCache
from scanner.support import yaml_files
from scanner.support.resources import builtin_rules_dir, rule_schema_path
from scanner.support.user_cache import write_cached
from tests.factories import rule_yaml


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of the test's own, empty."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TRUSTSCAN_NO_CACHE", raising=False)
    return tmp_path / "cache" / "trustscan"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files parsed as YAML, in order (the loader imports the parser per call)."""
    seen: list[Path] = []
    real = yaml_files.parse_yaml

    def spy(text: str, path: Path, **kwargs: Any) -> tuple[Any, Any]:
        seen.append(path)
        return real(text, path, **kwargs)

    monkeypatch.setattr(yaml_files, "parse_yaml", spy)
    return seen


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    for name in ("a", "b"):
        (directory / f"{name}.yaml").write_text(rule_yaml(f"rule-{name}"))
    return directory


def _cache_file(cache_home: Path) -> Path:
    (only,) = cache_home.iterdir()
    return only


def test_a_warm_load_reads_no_yaml_and_equals_a_fresh_one(
    rules_dir: Path, parsed: list[Path]
) -> None:
    cold = load_rules([rules_dir])
    assert parsed == [rules_dir / "a.yaml", rules_dir / "b.yaml"]
    parsed.clear()
    warm = load_rules([rules_dir])
    assert parsed == []
    fresh, problems = lint([rules_dir])
    assert problems == []
    assert warm == cold == tuple(fresh)
    assert [r.source for r in warm] == [f"{rules_dir}/a.yaml:2", f"{rules_dir}/b.yaml:2"]


def test_the_builtin_rules_come_back_whole(parsed: list[Path]) -> None:
    directories = [builtin_rules_dir()]
    cold = load_rules(directories)
    parsed.clear()
    warm = load_rules(directories)
    assert parsed == []
    assert warm == cold
    assert [r.source for r in warm] == [r.source for r in cold]
    # The KEV marks are made while loading: they come back with the rules.
    marked = [r.id for r in warm if r.vulnerability and r.vulnerability.exploited]
    assert marked == [r.id for r in cold if r.vulnerability and r.vulnerability.exploited]
    assert marked


def test_an_edited_file_is_read_again_though_its_size_and_mtime_are_the_same(
    rules_dir: Path, parsed: list[Path]
) -> None:
    load_rules([rules_dir])
    edited = rules_dir / "a.yaml"
    before = edited.stat()
    edited.write_text(rule_yaml("rule-a").replace("cleanly", "CLEANLY"))
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert edited.stat().st_size == before.st_size
    parsed.clear()
    rules = load_rules([rules_dir])
    assert parsed == [edited]  # b.yaml came from the cache
    assert [r.title for r in rules] == ["A rule that loads CLEANLY", "A rule that loads cleanly"]


def test_an_added_file_is_loaded_and_a_removed_one_forgotten(
    rules_dir: Path, parsed: list[Path]
) -> None:
    load_rules([rules_dir])
    added = rules_dir / "sub" / "c.yaml"
    added.parent.mkdir()
    added.write_text(rule_yaml("rule-c"))
    parsed.clear()
    assert [r.id for r in load_rules([rules_dir])] == ["rule-a", "rule-b", "rule-c"]
    assert parsed == [added]

    removed = rules_dir / "b.yaml"
    text = removed.read_text()
    removed.unlink()
    parsed.clear()
    assert [r.id for r in load_rules([rules_dir])] == ["rule-a", "rule-c"]
    assert parsed == []
    # Its entry went with it: put back, it is read again.
    removed.write_text(text)
    assert [r.id for r in load_rules([rules_dir])] == ["rule-a", "rule-b", "rule-c"]
    assert parsed == [removed]


def test_a_file_with_problems_is_never_cached(rules_dir: Path, parsed: list[Path]) -> None:
    bad = rules_dir / "bad.yaml"
    bad.write_text(rule_yaml("rule-bad").replace("severity: low", "severity: urgent"))
    for _ in range(2):
        parsed.clear()
        with pytest.raises(RuleLoadError) as info:
            load_rules([rules_dir])
        assert [(p.path, p.line) for p in info.value.problems] == [(bad, 4)]
        assert bad in parsed
    assert parsed == [bad]  # the good files came from the cache the second time


def test_one_relative_name_in_two_places_keeps_them_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for place in ("one", "two", "one"):
        monkeypatch.chdir(tmp_path)
        rules = tmp_path / place / "rules"
        rules.mkdir(parents=True, exist_ok=True)
        (rules / "x.yaml").write_text(rule_yaml(f"rule-{place}"))
        monkeypatch.chdir(tmp_path / place)
        (rule,) = load_rules([Path("rules")])
        assert (rule.id, rule.source) == (f"rule-{place}", "rules/x.yaml:2")


def test_the_cache_is_the_users_alone(rules_dir: Path, cache_home: Path) -> None:
    load_rules([rules_dir])
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(_cache_file(cache_home).stat().st_mode) == 0o600


def _header_stamp(path: Path) -> str:
    return path.read_bytes().split(b"\n", 1)[0].split(b" ")[1].decode()


def _rewritten(payload: bytes) -> Callable[[Path], None]:
    """Damage that keeps the file's own stamp and a right checksum: the
    content itself is what this code cannot read."""

    def damage(path: Path) -> None:
        assert write_cached(path.name, _header_stamp(path), payload)

    return damage


def _flip_a_bit(path: Path) -> None:
    """In the last rule's text, say: it still unpickles."""
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))


def _wrong_shape(path: Path) -> None:
    """An entry for a.yaml's very bytes, but not a list of (rule, line)."""
    rule_file = path.parent.parent.parent / "rules" / "a.yaml"
    digest = hashlib.sha256(rule_file.read_bytes()).hexdigest()
    _rewritten(pickle.dumps({str(rule_file): (digest, "rules")}))(path)


DAMAGE: dict[str, Callable[[Path], object]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "a flipped bit": _flip_a_bit,
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(os.urandom(4096)),
    "not a pickle": _rewritten(b"not a pickle at all"),
    "a pickle of something else": _rewritten(pickle.dumps(["not", "entries"])),
    "entries of the wrong shape": _wrong_shape,
    "a class this code lacks": _rewritten(b"cscanner.rule_engine.rules\nNoSuchRule\n."),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_cache_is_rebuilt_silently(
    rules_dir: Path, cache_home: Path, parsed: list[Path], damage: Callable[[Path], object]
) -> None:
    expected = load_rules([rules_dir])
    cached = _cache_file(cache_home)
    damage(cached)
    parsed.clear()
    assert load_rules([rules_dir]) == expected
    assert len(parsed) == 2  # read for real
    parsed.clear()
    assert load_rules([rules_dir]) == expected
    assert parsed == []  # and cached again
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_a_cache_others_may_write_is_not_read(
    rules_dir: Path, cache_home: Path, parsed: list[Path]
) -> None:
    load_rules([rules_dir])
    cached = _cache_file(cache_home)
    cached.chmod(0o666)
    parsed.clear()
    load_rules([rules_dir])
    assert len(parsed) == 2
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600  # replaced by one of our own

    cache_home.chmod(0o777)  # anyone may put a file in the directory: not used at all
    parsed.clear()
    load_rules([rules_dir])
    load_rules([rules_dir])
    assert len(parsed) == 4


def test_a_poisoned_entry_is_served_only_for_the_bytes_it_was_made_from(
    rules_dir: Path, parsed: list[Path]
) -> None:
    """What the cache holds is trusted for those bytes alone (`lint` trusts it
    never: tests/scanner/cli/test_startup.py)."""
    (first, _second) = load_rules([rules_dir])
    path = rules_dir / "a.yaml"
    cache = RuleCache.open(rules_dir)
    cache.put(path, path.read_bytes(), [(replace(first, title="from the cache"), 2)])
    cache.get(rules_dir / "b.yaml", (rules_dir / "b.yaml").read_bytes())
    cache.save()
    assert load_rules([rules_dir])[0].title == "from the cache"
    assert lint([rules_dir])[0][0].title == "A rule that loads cleanly"
    path.write_text(path.read_text() + "\n")
    assert load_rules([rules_dir])[0].title == "A rule that loads cleanly"


def _other_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = tmp_path / "rule.schema.json"
    schema.write_bytes(rule_schema_path().read_bytes() + b"\n")
    monkeypatch.setattr(rule_cache, "rule_schema_path", lambda: schema)


def _other_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = tmp_path / "builtin"
    (builtin / "kev").mkdir(parents=True)
    (builtin / "kev" / "known-exploited.json").write_text("{}")
    monkeypatch.setattr(rule_cache, "builtin_rules_dir", lambda: builtin)


def _other_version(_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rule_cache, "__version__", "99.0.0")


CHANGES: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "the rule schema": _other_schema,
    "the KEV catalogue": _other_catalogue,
    "trustscan's version": _other_version,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_what_every_rule_depends_on_makes_the_whole_cache_stale(
    rules_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parsed: list[Path],
    change: Callable[[Path, pytest.MonkeyPatch], None],
) -> None:
    load_rules([rules_dir])
    change(tmp_path, monkeypatch)
    parsed.clear()
    load_rules([rules_dir])
    assert len(parsed) == 2


def test_no_cache_reads_every_file_and_keeps_nothing(
    rules_dir: Path, cache_home: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTSCAN_NO_CACHE", "1")
    assert load_rules([rules_dir]) == load_rules([rules_dir])
    assert len(parsed) == 4
    assert not cache_home.exists()
