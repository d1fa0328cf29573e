"""`--config FILE` and `TRUSTSCAN_<OPTION>`: every key kind, file:line
problems, hostile files, and the precedence command line > environment >
file, resolved by Click itself (`make_context`) and seen end to end in a
real `trustscan` process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from scanner.cli import report as report_module
from scanner.cli import scan as scan_module
from scanner.cli.config import ConfigError, env_name, load_config, option_key, option_keys
from scanner.result_io import write
from scanner.support.errors import InputError
from tests.factories import make_result
from tests.scanner.support.hostile_yaml import (
    PROPERTY,
    VALUES,
    bomb_list,
    call_isolated,
    filled,
    line_with,
)
from tests.support import FIXTURES, trustscan

SCAN: click.Command = scan_module.scan
LOCAL: click.Command = scan_module.local
REPORT: click.Command = report_module.report
STAGING = FIXTURES / "config" / "staging.yaml"
BAD = FIXTURES / "config" / "bad.yaml"
NO_NMAP = {"TRUSTSCAN_NMAP": "/nonexistent/nmap"}


@pytest.fixture(autouse=True)
def _no_trustscan_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the tests set, and nothing a CI job set before them."""
    for name in list(os.environ):
        if name.startswith("TRUSTSCAN_"):
            monkeypatch.delenv(name)


def _write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _params(command: click.Command, *args: str) -> dict[str, Any]:
    """What Click hands the command for these arguments and the environment:
    parsed and resolved exactly as a run would, but not run."""
    with command.make_context(command.name, list(args)) as ctx:
        return dict(ctx.params)


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- keys are the commands' own options --------------------------------------------


def test_every_option_has_a_key_and_its_variable() -> None:
    for command in (SCAN, LOCAL, REPORT):
        keys = option_keys(command)
        assert "config" not in keys
        for param in command.params:
            if param.name in ("config", "today"):
                continue
            key = option_key(param)
            assert keys[key] is param
            assert param.envvar == env_name(param) == f"TRUSTSCAN_{key.upper()}", key
    scan_keys = option_keys(SCAN)
    for key in ("targets", "ports", "fail_on", "rules", "nmap_arg", "inspect_data", "accept"):
        assert key in scan_keys
    assert "result_file" in option_keys(REPORT)
    assert "targets" not in option_keys(REPORT)
    # The variable --nmap always read is its key's variable.
    assert option_keys(SCAN)["nmap"].envvar == "TRUSTSCAN_NMAP"


def test_a_new_option_is_a_key_with_no_line_in_the_config_module() -> None:
    @click.command("demo")
    @click.option("--brand-new-option", type=click.IntRange(1, 9))
    def demo(brand_new_option: int | None) -> None:
        raise AssertionError("not run")

    from scanner.cli.config import configurable

    configurable(demo)
    assert demo.params[0].name == "config"
    assert demo.params[1].envvar == "TRUSTSCAN_BRAND_NEW_OPTION"
    assert option_keys(demo) == {"brand_new_option": demo.params[1]}


def test_the_staging_example_has_every_kind_of_key() -> None:
    defaults = load_config(STAGING, SCAN)
    assert defaults == {
        "targets": ["10.20.0.0/24", "staging-db.example.test"],  # the argument
        "exclude": ["10.20.0.1"],  # one value of a repeatable option
        "ports": "1-1024",
        "extra_ports": "5432,6379",
        "rule_dirs": ["fixtures/rules-extra"],  # keyed by the parameter's name for Click
        "nmap_args": ["-T4", "--max-retries=1"],
        "max_hosts": "512",
        "batch_timeout": "900.5",
        "fail_on": "high",
        "accept_file": "fixtures/accept/accepted.yaml",
        "inspect_data": True,
        "cost_per_record": "150",
        "formats": ["json", "sarif"],
        "output_dir": "out",
        "credentials_file": "staging-credentials.yaml",
    }


def test_the_staging_example_as_click_resolves_it() -> None:
    params = _params(SCAN, "--config", str(STAGING))
    assert params["targets"] == ("10.20.0.0/24", "staging-db.example.test")
    assert params["exclude"] == ("10.20.0.1",)
    assert params["rule_dirs"] == (Path("fixtures/rules-extra"),)
    assert params["nmap_args"] == ("-T4", "--max-retries=1")
    assert (params["max_hosts"], params["batch_timeout"]) == (512, 900.5)
    assert (params["fail_on"], params["inspect_data"], params["cost_per_record"]) == (
        "high",
        True,
        150.0,
    )
    assert params["accept_file"] == Path("fixtures/accept/accepted.yaml")
    assert params["credentials_file"] == Path("staging-credentials.yaml")
    # What the file does not set keeps its default.
    assert (params["parallel"], params["try_default_credentials"]) == (4, False)


def test_report_takes_its_own_options_and_argument(tmp_path: Path) -> None:
    path = _write(tmp_path, "result_file: r.json\nmin_severity: high\nhost: [10.0.0.0/8]\n")
    params = _params(REPORT, "--config", str(path))
    assert (params["result_file"], params["min_severity"], params["hosts"]) == (
        Path("r.json"),
        "high",
        ("10.0.0.0/8",),
    )


def test_an_empty_file_sets_nothing(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "# nothing yet\n"), SCAN) == {}


# --- problems, with file and line ------------------------------------------------


def test_every_problem_of_a_bad_file_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(BAD, SCAN)
    assert isinstance(caught.value, InputError)
    assert [str(p) for p in caught.value.problems] == [
        f"{BAD}:2: fail_on: 'hgh' is not one of 'never', 'info', 'low', 'medium', 'high', "
        "'critical'.",
        f"{BAD}:3: portz: not an option of `trustscan scan` (did you mean ports?)",
        f"{BAD}:6: format: 'xlsx' is not one of 'html', 'json', 'sarif', 'junit', 'markdown'.",
        f"{BAD}:7: db_password: a config file holds no passwords, secrets or tokens (it is "
        "committed and CI logs show it): put data-store passwords in a credentials file and "
        "name it here with `credentials: FILE`",
        f"{BAD}:8: today: a date fixed in a file would keep expired acceptances valid for "
        "ever; give --today or TRUSTSCAN_TODAY for one run",
        f"{BAD}:9: quiet: true or false",
        f"{BAD}:10: max_hosts: one value, not a list",
    ]
    assert str(caught.value).startswith(f"invalid config file: {BAD}:2: fail_on: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("ports: '80'\nfail-on: high\n", 2, "fail-on: not an option of `trustscan scan` "
         "(did you mean fail_on?)"),
        ("max_hosts: 0\n", 1, "max_hosts: 0 is not in the range x>=1."),
        ("batch_timeout: soon\n", 1, "batch_timeout: 'soon' is not a valid float range."),
        ("parallel: 2.5\n", 1, "parallel: '2.5' is not a valid integer range."),
        ("ports: true\n", 1, "ports: a value, not true or false (which only a flag takes)"),
        ("ports:\n", 1, "ports: no value: give one, or leave the key out"),
        ("ports: {a: 1}\n", 1, "ports: one value, not a mapping"),
        ("exclude:\n  - 10.0.0.1\n  - [10.0.0.2]\n", 3, "exclude: one value, not a list"),
        ("ca_file: /nonexistent/ca.pem\n", 1, "ca_file: File '/nonexistent/ca.pem' does not"),
        ("config: other.yaml\n", 1, "config: a config file does not name another one"),
        ("API_TOKEN: abc\n", 1, "API_TOKEN: a config file holds no passwords"),
        ("secret: abc\n", 1, "secret: a config file holds no passwords"),
        ("password: hunter2\n", 1, "password: a config file holds no passwords"),
        ("- ports: '80'\n", 1, "a config file is a mapping of option names"),
        ("result_file: r.json\n", 1, "result_file: not an option of `trustscan scan`"),
        ("ports: '80'\nports: '443'\n", 2, "duplicate key 'ports' (first on line 1)"),
        ("p" * 100 + ": 1\n", 1, "p" * 57 + "...: not an option of `trustscan scan`"),
    ],
)  # fmt: skip
def test_each_problem_points_at_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, SCAN)
    first = str(caught.value.problems[0])
    assert first.startswith(f"{path}:{line}: {message}"), first


def test_a_secret_key_is_refused_without_quoting_its_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "ports: '80'\nredis_password: hunter2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, SCAN)
    assert "hunter2" not in str(caught.value)
    assert [p.line for p in caught.value.problems] == [2]


def test_a_bad_value_in_the_file_stops_the_run_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets: [127.0.0.1]\nfail_on: hgh\n")
    run = trustscan("scan", "--config", str(path), env=NO_NMAP)
    assert run.code == 2
    assert _one_error_line(run.err) == (
        f"trustscan: error: invalid config file: {path}:2: fail_on: 'hgh' is not one of "
        "'never', 'info', 'low', 'medium', 'high', 'critical'."
    )


def test_an_unknown_key_stops_the_run_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets: [127.0.0.1]\n\nnmap_args: [-T4]\n")
    run = trustscan("scan", "--config", str(path), env=NO_NMAP)
    assert run.code == 2
    assert _one_error_line(run.err) == (
        f"trustscan: error: invalid config file: {path}:3: nmap_args: not an option of "
        "`trustscan scan` (did you mean nmap_arg?)"
    )


def test_a_config_file_that_cannot_be_read(tmp_path: Path) -> None:
    run = trustscan("scan", "--config", str(tmp_path / "nope.yaml"), env=NO_NMAP)
    assert run.code == 2
    assert "cannot read config file" in _one_error_line(run.err)


# --- precedence: command line > environment > file > default ---------------------


def test_a_scalar_option_from_each_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "ports: '1-100'\nfail_on: low\n")
    assert _params(SCAN)["ports"] is None
    assert _params(SCAN, "--config", str(path))["ports"] == "1-100"
    monkeypatch.setenv("TRUSTSCAN_PORTS", "200-300")
    both = _params(SCAN, "--config", str(path))
    assert (both["ports"], both["fail_on"]) == ("200-300", "low")
    assert _params(SCAN, "--config", str(path), "-p", "22")["ports"] == "22"
    monkeypatch.setenv("TRUSTSCAN_FAIL_ON", "critical")
    assert _params(SCAN, "--config", str(path))["fail_on"] == "critical"
    assert _params(SCAN, "--config", str(path), "--fail-on", "info")["fail_on"] == "info"


def test_a_repeatable_option_from_each_source_replaces_the_lower_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "nmap_arg: [--max-retries=1, -T2]\nrules: [a, b]\n")
    from_file = _params(SCAN, "--config", str(path))
    assert from_file["nmap_args"] == ("--max-retries=1", "-T2")
    assert from_file["rule_dirs"] == (Path("a"), Path("b"))
    monkeypatch.setenv("TRUSTSCAN_NMAP_ARG", "-T4  --min-rate 100")
    monkeypatch.setenv("TRUSTSCAN_RULES", f"c{os.pathsep}d e")  # directories: split as PATH
    from_env = _params(SCAN, "--config", str(path))
    assert from_env["nmap_args"] == ("-T4", "--min-rate", "100")
    assert from_env["rule_dirs"] == (Path("c"), Path("d e"))
    on_line = _params(SCAN, "--config", str(path), "--nmap-arg=-T5", "--rules", "f")
    assert (on_line["nmap_args"], on_line["rule_dirs"]) == (("-T5",), (Path("f"),))


def test_a_flag_from_each_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "inspect_data: true\n")
    assert _params(SCAN)["inspect_data"] is False
    assert _params(SCAN, "--config", str(path))["inspect_data"] is True
    monkeypatch.setenv("TRUSTSCAN_INSPECT_DATA", "0")  # turns off the file's true
    assert _params(SCAN, "--config", str(path))["inspect_data"] is False
    assert _params(SCAN, "--config", str(path), "--inspect-data")["inspect_data"] is True
    monkeypatch.setenv("TRUSTSCAN_INSPECT_DATA", "yes")
    assert _params(SCAN)["inspect_data"] is True


def test_the_targets_argument_from_each_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "targets: [10.0.0.1, 10.0.0.2]\n")
    assert _params(SCAN)["targets"] == ()
    assert _params(SCAN, "--config", str(path))["targets"] == ("10.0.0.1", "10.0.0.2")
    monkeypatch.setenv("TRUSTSCAN_TARGETS", "10.0.0.3 10.0.0.4")
    assert _params(SCAN, "--config", str(path))["targets"] == ("10.0.0.3", "10.0.0.4")
    assert _params(SCAN, "--config", str(path), "10.0.0.5")["targets"] == ("10.0.0.5",)


def test_the_config_file_itself_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "ports: '443'\n")
    monkeypatch.setenv("TRUSTSCAN_CONFIG", str(path))
    assert _params(SCAN)["ports"] == "443"


def test_quotes_in_a_repeatable_variable_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTSCAN_NMAP_ARG", '--script-args "user=a b"')
    with pytest.raises(InputError, match="TRUSTSCAN_NMAP_ARG: a repeatable option's variable"):
        _params(SCAN)
    # On the command line the same words are one value each, and the variable is not read.
    assert _params(SCAN, "--nmap-arg", '"quoted"')["nmap_args"] == ('"quoted"',)


def test_precedence_end_to_end_in_a_real_run(tmp_path: Path) -> None:
    """`report` runs without a network: what it wrote shows which source won."""
    saved = tmp_path / "result.json"
    write(make_result(probe_errors=()), saved)  # complete: exit 0 unless the gate trips
    out = tmp_path / "out.json"
    job = _write(
        tmp_path,
        f"result_file: {saved}\njson: {out}\nmin_severity: critical\nquiet: true\n"
        "host: [127.0.0.10]\n",
    )

    def reported(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
        run = trustscan("report", "--config", str(job), *args, env=env)
        assert run.code == 0, run.err
        findings = json.loads(out.read_text(encoding="utf-8"))["findings"]
        return {f"{f['host']} {f['severity']}" for f in findings}, run.err

    # The file alone: critical findings of 127.0.0.10 (none), and quiet.
    assert reported() == (set(), "")
    # The environment over the file: a scalar, a repeatable option and a flag.
    env = {"TRUSTSCAN_MIN_SEVERITY": "high", "TRUSTSCAN_HOST": "127.0.0.11", "TRUSTSCAN_QUIET": "0"}
    found, err = reported(env=env)
    assert found == {"127.0.0.11 critical"}
    assert "finding(s)" in err  # the summary line: not quiet
    # The command line over both.
    found, err = reported("--min-severity", "info", "--host", "127.0.0.10", "-q", env=env)
    assert found == {"127.0.0.10 high", "127.0.0.10 medium"}
    assert err == ""


def test_targets_from_each_source_in_a_real_run(tmp_path: Path) -> None:
    """Stopped by a missing nmap right after the options: exit 3 means the
    targets were read and valid; a junk target names the source that won."""
    job = _write(tmp_path, "targets: [127.0.0.1]\nports: '80'\n")
    assert trustscan("scan", "--config", str(job), env=NO_NMAP).code == 3
    from_env = trustscan(
        "scan", "--config", str(job), env={**NO_NMAP, "TRUSTSCAN_TARGETS": "999.1.1.1"}
    )
    assert from_env.code == 2
    assert "'999.1.1.1'" in _one_error_line(from_env.err)
    on_line = trustscan(
        "scan", "--config", str(job), "foo_bar", env={**NO_NMAP, "TRUSTSCAN_TARGETS": "999.1.1.1"}
    )
    assert on_line.code == 2
    assert "'foo_bar'" in _one_error_line(on_line.err)


def test_the_help_of_config_states_the_precedence() -> None:
    run = trustscan("scan", "--help")
    assert run.code == 0
    text = " ".join(run.out.split())
    assert "--config FILE" in text
    assert "The command line wins over the environment, the environment over the file." in text
    assert "TRUSTSCAN_<OPTION>" in text


# --- hostile files -----------------------------------------------------------------


def test_an_alias_bomb_is_refused_not_a_hang(tmp_path: Path) -> None:
    text = "\n".join(bomb_list("exclude")) + "\nports: '80'\n"
    path = _write(tmp_path, text)
    outcome = call_isolated("tests.scanner.cli.test_config", "load_scan_config", path)
    assert outcome["error"] == (
        f"invalid config file: {path}:{line_with(text, '&l3')}: aliases expand past 10000 "
        "nodes or 1048576 characters (an alias bomb?)"
    )
    assert isinstance(outcome["seconds"], float)
    assert outcome["seconds"] < 5


def load_scan_config(path: Path) -> dict[str, Any]:
    """`load_config` for `scan`, by a path alone (for `call_isolated`)."""
    return load_config(path, SCAN)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("max_hosts: " + "9" * 5000 + "\n", 1, "integer out of range"),
        ("ports: !!python/object/apply:os.system [id]\n", 1, "unsupported YAML tag"),
        ("ports: '80'\x1b[2J\n", 1, "YAML does not allow the control"),
        ("exclude: " + "[" * 100 + "]" * 100 + "\n", 1, "nested deeper than 64 levels"),
    ],
)
def test_hostile_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, SCAN)
    assert str(caught.value).startswith(f"invalid config file: {path}:{line}: {message}")


CONFIG_FILE = """\
targets: {0}
ports: {1}
max_hosts: {2}
fail_on: {3}
nmap_arg: {4}
inspect_data: {5}
{6}: {7}
"""
CONFIG_FILES = filled(
    CONFIG_FILE,
    ("[127.0.0.1, db.example.test]", VALUES),
    ("'1-1024'", VALUES),
    ("100", st.one_of(VALUES, st.sampled_from(["0", "-1", "1.5", "4096"]))),
    ("high", st.one_of(VALUES, st.sampled_from(["HIGH", "hgh", "never"]))),
    ("[-T4]", VALUES),
    ("true", VALUES),
    ("batch_timeout", st.sampled_from(["password", "nmap_args", "today", "config", "x"])),
    ("60", VALUES),
)


@PROPERTY
@given(document=CONFIG_FILES)
def test_a_config_file_loads_or_is_an_input_error(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "job.yaml"
    path.write_bytes(document)
    try:
        defaults = load_config(path, SCAN)
    except InputError as exc:  # ConfigError, or anything else the user must fix
        event(f"refused: {str(exc).split(': ', 2)[-1][:30]}")
        return
    event("loaded")
    # Whatever loaded, Click takes as it is: no value it would refuse got through.
    with SCAN.make_context("scan", [], default_map=defaults) as ctx:
        assert set(defaults) <= set(ctx.params)
