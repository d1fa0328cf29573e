"""A fast start (issue 17), kept without timing anything: what a fresh
`import scanner.cli` and `--help` leave out of `sys.modules`, and which
commands take rules from the cache (`rules list`) or never (`rules lint`).
The times themselves are bench/startup.py's."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import click
import pytest

from scanner.cli.scan import scan
from scanner.discovery.ack_scan import FirewallProbe
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rule_cache import RuleCache
from tests.factories import rule_yaml
from tests.support import trustscan

# What only running a command needs: data-store drivers, the history's
# database layer, Dask, schema validation, YAML, nmap, and trustscan's stages.
HEAVY = (
    "jsonschema",
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "pymongo",
    "redis",
    "requests",
    "distributed",
    "dask",
    "yaml",
    "nmap",
    "jinja2",
    "scanner.pipeline",
    "scanner.rule_engine.loader",
    "scanner.discovery.nmap_runs",
    "scanner.probes.registry",
    "scanner.probes.runner",
    "scanner.history",
    "scanner.assessment.inventory",
    "scanner.assessment.baseline",
    "scanner.outputs.files",
    "scanner.result_io",
)

_MODULES_AFTER = """\
import json, sys
sys.argv = ["trustscan", *json.loads(sys.argv[1])]
try:
    from scanner.cli import main
    if len(sys.argv) > 1:
        main()
finally:
    sys.stdout.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after `import scanner.cli` and,
    with `args`, after running `trustscan ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy_in(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )


@pytest.mark.parametrize(
    "args",
    [(), ("--help",), ("scan", "--help"), ("history", "--help"), ("rules", "--help")],
    ids=lambda args: " ".join(args) or "import",
)
def test_the_command_line_starts_without_the_stages(args: tuple[str, ...]) -> None:
    modules = _modules_after(*args)
    assert "scanner.cli.scan" in modules  # the check sees what it should
    assert _heavy_in(modules) == []


def test_the_check_would_see_a_stage_imported() -> None:
    """The same check, on a command that runs a stage, finds it."""
    assert "scanner.rule_engine.loader" in _heavy_in(_modules_after("rules", "list"))


def test_the_firewall_probe_option_offers_the_enum_s_values() -> None:
    """Written out in `cli.options` so that `--help` need not import nmap's runner."""
    (option,) = [p for p in scan.params if p.name == "firewall_probe"]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == [p.value for p in FirewallProbe]
    assert option.default == FirewallProbe.NONE.value


def test_rules_lint_never_takes_rules_from_the_cache(tmp_path: Path) -> None:
    """An entry for a file's exact bytes is served by `load_rules` (so `rules
    list` shows it), but `rules lint` reads and validates the file itself."""
    rules = tmp_path / "rules"
    rules.mkdir()
    path = rules / "local.yaml"
    path.write_text(rule_yaml("local-rule", "low", "Written by the user"))
    (good,) = load_rules([rules])
    # The file turns invalid; the cache is made to hold a valid rule for its new bytes.
    path.write_text(rule_yaml("local-rule", "urgent", "Written by the user"))
    cache = RuleCache.open(rules)
    cache.put(path, path.read_bytes(), [(replace(good, title="Served from the cache"), 2)])
    cache.save()

    listed = trustscan("rules", "list", "--rules", str(rules))
    assert listed.code == 0, listed.err
    assert "Served from the cache" in listed.out

    linted = trustscan("rules", "lint", str(rules))
    assert linted.code == 2
    assert f"{path}:4: rules.0.severity: 'urgent' is not one of" in linted.err
    assert "Served from the cache" not in linted.out + linted.err


def test_rules_list_is_the_same_from_a_cold_and_a_warm_cache(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    cold = trustscan("rules", "list", env=env)
    assert list((tmp_path / "cache" / "trustscan").iterdir())
    warm = trustscan("rules", "list", env=env)
    uncached = trustscan("rules", "list", env={**env, "TRUSTSCAN_NO_CACHE": "1"})
    assert cold.code == warm.code == uncached.code == 0
    assert cold.out == warm.out == uncached.out
    assert cold.err == warm.err == uncached.err
