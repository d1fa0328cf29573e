"""The CI recipes of examples/ci (docs/ci.md): each file parses as its CI
reads it, and every trustscan command line in it is accepted by the real CLI,
with the config file it names, as that job would run it.

Command lines are parsed by the commands' own Click parsers (options, types,
the --config file) and their outputs are planned as the command plans them
(format and suffix, one standard output); nothing is scanned.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from scanner.cli import cli
from scanner.cli.options import output_plan
from scanner.support.errors import InputError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ci"
CONFIG = EXAMPLES / "staging.yaml"

# `$([ -f previous.json ] && echo --baseline previous.json)`: the first night
# has no baseline; both nights are checked.
_IF_FILE = re.compile(r"\$\(\[ -f \S+ \] && echo ([^)]*)\)")


def _variants(line: str) -> Iterator[str]:
    line = line.replace("$(date +%F)", "2027-01-31")
    match = _IF_FILE.search(line)
    if match is None:
        yield line
        return
    for text in ("", match.group(1)):
        yield from _variants(line[: match.start()] + text + line[match.end() :])


def _commands(shell: str) -> list[list[str]]:
    """The trustscan command lines of a piece of shell, split as sh would."""
    found = []
    for raw in shell.splitlines():
        for line in _variants(raw):
            for part in re.split(r"&&|;|\|\|", line):
                if part.strip().startswith("trustscan "):
                    found.append(shlex.split(part))
    return found


def _parsed(argv: list[str]) -> click.Context:
    """The command's context as its parser leaves it, the config file read."""
    assert argv[0] == "trustscan"
    command = cli.commands[argv[1]]
    args = ["examples-config" if a.endswith("staging.yaml") else a for a in argv[2:]]
    args = [str(CONFIG) if a == "examples-config" else a for a in args]
    parent = click.Context(cli, info_name="trustscan")
    return command.make_context(argv[1], args, parent=parent)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRUSTSCAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # outputs are planned here


def _runs(argv: list[str]) -> dict[str, Any]:
    ctx = _parsed(argv)
    params = ctx.params
    # What the command checks before it scans: where each output goes.
    output_plan(
        params["formats"],
        params["output_dir"],
        params["output"],
        params["json_path"],
        params["sarif_path"],
        params["junit_path"],
        params["markdown_path"],
    )
    return params


def test_the_config_file_is_a_valid_scan_config() -> None:
    params = _parsed(["trustscan", "scan", "--config", str(CONFIG)]).params
    assert params["targets"]
    assert params["fail_on_new"] == "high"
    assert params["accept_file"] == Path(".trustscan-accept.yaml")


def _github() -> dict[Any, Any]:
    data = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_github_actions_workflow() -> None:
    workflow = _github()
    triggers: Any = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads `on:` as true
    assert triggers["schedule"][0]["cron"]
    steps = workflow["jobs"]["scan"]["steps"]
    shell = "\n".join(s.get("run", "") for s in steps)
    commands = _commands(shell)
    assert len(commands) == 2  # with a baseline, and the first night without
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action"))
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    for argv in commands:
        params = _runs(argv)
        assert params["sarif_path"] == upload["with"]["sarif_file"]
        assert params["fail_on_new"] == "high"
        assert params["baseline_value"] in (None, restore["with"]["path"])
        assert params["json_path"] == "result.json"
    assert upload["with"]["category"]
    assert "cp result.json baseline.json" in shell


def test_gitlab_ci_job() -> None:
    data = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    job = data["trustscan"]
    commands = _commands("\n".join(job["script"]))
    assert len(commands) == 2
    for argv in commands:
        params = _runs(argv)
        assert params["junit_path"] == job["artifacts"]["reports"]["junit"]
        assert {params["json_path"], params["output"]} <= set(job["artifacts"]["paths"])
        assert params["baseline_value"] in (None, *job["cache"]["paths"])


def test_systemd_service_and_timer() -> None:
    service = configparser.ConfigParser(interpolation=None)
    service.read(EXAMPLES / "trustscan-nightly.service", encoding="utf-8")
    start = service["Service"]["ExecStart"]
    script = shlex.split(start)[2]  # /bin/sh -c '...'
    # systemd turns %% into %, before sh sees the line.
    commands = _commands(script.replace("%%", "%"))
    assert len(commands) == 2
    for argv in commands:
        _runs(argv)
    timer = configparser.ConfigParser(interpolation=None)
    timer.read(EXAMPLES / "trustscan-nightly.timer", encoding="utf-8")
    assert timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_crontab_entry() -> None:
    lines = [
        line
        for line in (EXAMPLES / "crontab").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=5)
    assert all(re.fullmatch(r"[\d*/,-]+", f) for f in fields[:5])
    commands = _commands(fields[5])
    assert len(commands) == 2
    for argv in commands:
        _runs(argv)


def test_a_wrong_command_line_would_be_caught() -> None:
    # The check above is worth something only if a typo fails it.
    with pytest.raises(click.NoSuchOption):
        _runs(["trustscan", "scan", "--config", str(CONFIG), "--fail-on-neww", "high"])
    with pytest.raises(InputError, match="named as json"):
        _runs(["trustscan", "scan", "--format", "sarif", "-o", "result.json"])
