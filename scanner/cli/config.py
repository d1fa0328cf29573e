"""`--config FILE` and `TRUSTSCAN_<OPTION>`: a command's options from a YAML
file and the environment, so that a scheduled job is
`trustscan scan --config staging.yaml`.

The file holds the options of the command it is given to, flat: its keys are
the long option names with underscores (`fail_on: high`, `nmap_arg: [-T4]`),
and the arguments by their names (`targets: [...]`, `result_file: ...`). One
file is one job; there are no sections per command, as `local` is both a
command and an option of `scan`, and a section nobody reads would be a typo
nobody sees. The keys are the command's real parameters, so a new option is a
valid key (and reads its variable) without a line here. A key that is not an
option, or a value its option's own type refuses, is an error with the file
and line. A path in the file is read from the current directory, as on the
command line and in the environment, so that moving an option between the
three never changes what it means.

Precedence is Click's own order of sources: the command line, then the
option's `envvar` (each gets `TRUSTSCAN_<KEY>`), then the context's
`default_map` (the file, set by the eager `--config` before any other option
is read), then the option's default. A repeatable option from one source
replaces, never extends, the lists of the sources below it. In the
environment a repeatable option's values are split at spaces (directories, as
`--rules`, at `:` like PATH), and quotes are refused rather than read wrongly:
a value with a space in it goes on the command line or in the file. A flag's
variable reads 1/0, true/false, yes/no or on/off, so `TRUSTSCAN_QUIET=0`
turns off a file's `quiet: true`.

No secret belongs here: the file is committed and shown in CI logs. A key
named like a password, secret or token is refused; `credentials: FILE` names
the credentials file (`--credentials`) instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from scanner.support.errors import InputError
from scanner.support.problems import FileProblem, FileProblems

if TYPE_CHECKING:
    import yaml

# The YAML reader is imported where a config file is read: `trustscan --help`
# imports this module (every command gets --config) and reads no file.

ENV_PREFIX = "TRUSTSCAN_"
_URL_PASSWORD = re.compile(r"://[^/@:]*:[^/@]*@")  # user:password@ in a URL
_MAX_CONFIG_BYTES = 1024 * 1024
_SECRET_WORDS = ("password", "passwd", "secret", "token")
# Options a file may not set, and why.
_NOT_IN_FILE = {
    "config": "a config file does not name another one",
    "today": "a date fixed in a file would keep expired acceptances valid for ever; "
    "give --today or TRUSTSCAN_TODAY for one run",
}

CONFIG_HELP = (
    "A YAML file of this command's options, for a scheduled job: the long option names "
    "with underscores as keys (fail_on: high, rules: [DIR, ...], targets: [...] for the "
    f"arguments). Every option also reads {ENV_PREFIX}<OPTION> from the environment "
    f"({ENV_PREFIX}FAIL_ON). The command line wins over the environment, the environment "
    "over the file. No passwords: name a credentials file (credentials: FILE)."
)


class ConfigError(FileProblems):
    what = "config file"


def option_key(param: click.Parameter) -> str:
    """A parameter's key in a config file: the long option name with
    underscores (`--fail-on`: `fail_on`), or an argument's name."""
    if isinstance(param, click.Option):
        long = next((opt for opt in param.opts if opt.startswith("--")), None)
        if long is not None:
            return long[2:].replace("-", "_")
    return (param.name or "").replace("-", "_")


def env_name(param: click.Parameter) -> str:
    return ENV_PREFIX + option_key(param).upper()


def option_keys(command: click.Command) -> dict[str, click.Parameter]:
    """The keys a config file for `command` may hold, and their parameters."""
    return {
        option_key(param): param
        for param in command.params
        if param.name and param.expose_value and option_key(param) not in _NOT_IN_FILE
    }


def configurable(*commands: click.Command) -> None:
    """Give each command `--config` and every parameter its `TRUSTSCAN_<KEY>`
    variable (one it already has is kept: `--nmap` reads TRUSTSCAN_NMAP)."""
    for command in commands:
        if any(param.name == "config" for param in command.params):
            continue  # already done
        for param in command.params:
            if not param.envvar:
                param.envvar = env_name(param)
            if _repeatable(param):
                _refuse_quotes_from_env(param)
        command.params.insert(0, _config_option())


def _config_option() -> click.Option:
    return click.Option(
        ["--config"],
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="FILE",
        envvar=ENV_PREFIX + "CONFIG",
        is_eager=True,  # read before every other option, which may take a default from it
        expose_value=False,
        callback=_use_config,
        help=CONFIG_HELP,
    )


def _use_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **load_config(value, ctx.command, ctx)}


def _repeatable(param: click.Parameter) -> bool:
    return param.multiple or param.nargs == -1


def _refuse_quotes_from_env(param: click.Parameter) -> None:
    """Click splits a repeatable option's variable at spaces: `"a b"` would
    reach nmap as two words with quotes in them. Refused, not guessed."""
    callback = param.callback

    def checked(ctx: click.Context, this: click.Parameter, value: Any) -> Any:
        if ctx.get_parameter_source(this.name or "") is ParameterSource.ENVIRONMENT and any(
            quote in str(item) for item in value or () for quote in "\"'"
        ):
            raise InputError(
                f"{this.envvar}: a repeatable option's variable is split at spaces and "
                "quotes are not read; give a value with a space in it on the command line "
                "or in the config file"
            )
        return callback(ctx, this, value) if callback is not None else value

    param.callback = checked


def load_config(
    path: Path, command: click.Command, ctx: click.Context | None = None
) -> dict[str, Any]:
    """The file's values for `command`, checked by each option's own type, as
    Click's `default_map` (keyed by parameter name); `ConfigError` with the
    file and line of every problem."""
    from scanner.support.yaml_files import YamlFileError, line_of, read_yaml

    try:
        node, data = read_yaml(path, _MAX_CONFIG_BYTES, "config file")
    except YamlFileError as exc:
        raise ConfigError([exc.problem]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([FileProblem(path, 1, _NOT_A_MAPPING)])
    ctx = ctx if ctx is not None else click.Context(command, info_name=command.name)
    keys = option_keys(command)
    lines = _key_lines(node)
    problems: list[FileProblem] = []
    defaults: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        try:
            param = _param_for(key, keys, command)
        except _Problem as problem:
            problems.append(FileProblem(path, lines.get(key, 1), f"{_shown(key)}: {problem}"))
            continue
        try:
            defaults[param.name or key] = _checked(param, value, ctx, node, key)
            if key == "history" and _URL_PASSWORD.search(str(value)):
                raise _Problem(
                    "a config file holds no passwords (it is committed and CI logs show it): "
                    "leave the password out of the URL and put it in PGPASSWORD or ~/.pgpass"
                )
        except _Problem as problem:
            line = problem.line or line_of(node, [key])
            problems.append(FileProblem(path, line, f"{key}: {problem}"))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line))
    return defaults


_NOT_A_MAPPING = (
    "a config file is a mapping of option names to values (fail_on: high), "
    "for the command it is given to"
)


_SHOWN = 60  # characters of an unknown key a message quotes


def _shown(key: str) -> str:
    return key if len(key) <= _SHOWN else key[: _SHOWN - 3] + "..."


class _Problem(Exception):
    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


def _param_for(key: str, keys: Mapping[str, click.Parameter], command: click.Command) -> Any:
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        raise _Problem(
            "a config file holds no passwords, secrets or tokens (it is committed and CI "
            "logs show it): put data-store passwords in a credentials file and name it "
            "here with `credentials: FILE`"
        )
    if key in _NOT_IN_FILE:
        raise _Problem(_NOT_IN_FILE[key])
    param = keys.get(key)
    if param is None:
        # Only a key of an option's length can be a typo of one (and difflib is quadratic).
        close = difflib.get_close_matches(key, list(keys), n=1) if len(key) <= _SHOWN else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _Problem(f"not an option of `trustscan {command.name}`{hint}")
    return param


def _checked(
    param: click.Parameter,
    value: Any,
    ctx: click.Context,
    node: yaml.Node | None,
    key: str,
) -> Any:
    """The value as Click would take it from the command line, refused with
    its line when the option's type refuses it."""
    from scanner.support.yaml_files import line_of

    if value is None:
        raise _Problem("no value: give one, or leave the key out")
    if isinstance(param, click.Option) and param.is_flag:
        if not isinstance(value, bool):
            raise _Problem("true or false")
        return value
    if _repeatable(param):
        items = value if isinstance(value, list) else [value]
        texts = []
        for index, item in enumerate(items):
            line = line_of(node, [key, index]) if isinstance(value, list) else 0
            text = _scalar(item, line)
            _convert(param, text, ctx, line)
            texts.append(text)
        return texts
    text = _scalar(value, 0)
    _convert(param, text, ctx, 0)
    return text


def _scalar(value: Any, line: int) -> str:
    """A single value as the command line would give it: text."""
    if isinstance(value, bool):
        raise _Problem("a value, not true or false (which only a flag takes)", line)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value)
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else ""
    raise _Problem(f"one value, not {kind or 'this'}", line)


def _convert(param: click.Parameter, text: str, ctx: click.Context, line: int) -> None:
    try:
        param.type(text, param, ctx)
    except click.BadParameter as exc:
        raise _Problem(exc.message, line) from None


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    """Each top-level key's own line (an unknown key is pointed at, not its value)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        key.value: key.start_mark.line + 1
        for key, _value in node.value
        if isinstance(key, yaml.ScalarNode)
    }
