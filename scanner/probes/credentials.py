"""Credentials for data stores, from a file the user names (`--credentials FILE`).

Never from the command line, where they would land in shell history and in
the process list. The file is YAML:

    credentials:
      - store: postgresql        # or mysql, redis, memcached, mongodb, elasticsearch, "*"
        host: 10.0.0.5           # an address or "*" (default "*")
        port: 5432               # optional
        username: auditor
        password: "..."
        database: shop           # optional: where to connect first

Passwords are kept out of every `repr`, log line and output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.support.errors import InputError
from scanner.support.files import FileReadError, read_text

STORES = frozenset({"postgresql", "mysql", "redis", "memcached", "mongodb", "elasticsearch", "*"})
_MAX_FILE_BYTES = 1024 * 1024
_KEYS = frozenset({"store", "host", "port", "username", "password", "database"})


@dataclass(frozen=True)
class StoreCredential:
    store: str
    username: str
    password: str = field(default="", repr=False)
    host: str = "*"
    port: int | None = None
    database: str = ""
    source: str = "supplied"  # supplied | default

    def applies(self, store: str, host: str, port: int) -> bool:
        return (
            self.store in ("*", store)
            and self.host in ("*", host)
            and (self.port is None or self.port == port)
        )

    @property
    def label(self) -> str:
        """Who, for evidence: the user name and where it came from, never the password."""
        kind = "a vendor default" if self.source == "default" else "your credentials file"
        return f"user {self.username or '(none)'} from {kind}"


# Vendor defaults tried only with --try-default-credentials: installers and
# images ship these, and attackers try them first.
DEFAULTS: tuple[StoreCredential, ...] = (
    StoreCredential("postgresql", "postgres", "postgres", source="default"),
    StoreCredential("mysql", "root", "root", source="default"),
    StoreCredential("mysql", "root", "password", source="default"),
    StoreCredential("redis", "default", "foobared", source="default"),  # redis.conf's example
    StoreCredential("mongodb", "admin", "admin", source="default"),
    StoreCredential("elasticsearch", "elastic", "changeme", source="default"),  # before 6.8
)


def _problem(path: Path, line: int, message: str) -> InputError:
    return InputError(f"{path}:{line}: {message}")


def load_credentials(path: Path) -> tuple[StoreCredential, ...]:
    try:
        text = read_text(path, _MAX_FILE_BYTES, "credentials file")
    except FileReadError as exc:
        raise _problem(path, exc.line, exc.problem) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _problem(
            path, mark.line + 1 if mark else 1, f"not valid YAML: {exc.problem}"
        ) from None
    if not isinstance(root, yaml.MappingNode):
        raise _problem(path, 1, "expected a mapping with a `credentials:` list")
    entries = next(
        (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "credentials"),
        None,
    )
    if not isinstance(entries, yaml.SequenceNode):
        raise _problem(path, root.start_mark.line + 1, "expected `credentials:` with a list")
    loaded: list[StoreCredential] = []
    for node in entries.value:
        line = node.start_mark.line + 1
        data: Any = yaml.safe_load(yaml.serialize(node))
        loaded.append(_credential(data, path, line))
    return tuple(loaded)


def _credential(data: Any, path: Path, line: int) -> StoreCredential:
    if not isinstance(data, dict):
        raise _problem(path, line, "each credential is a mapping (store, username, password)")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise _problem(
            path, line, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_KEYS))})"
        )
    store = str(data.get("store", "*"))
    if store not in STORES:
        raise _problem(path, line, f"store {store!r} is not one of {', '.join(sorted(STORES))}")
    if not isinstance(data.get("username", ""), str) or not isinstance(
        data.get("password", ""), str
    ):
        raise _problem(path, line, "username and password must be strings (quote them)")
    port = data.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        raise _problem(path, line, f"port {port!r} is not a port number")
    return StoreCredential(
        store=store,
        username=data.get("username", ""),
        password=data.get("password", ""),
        host=str(data.get("host", "*")),
        port=port,
        database=str(data.get("database", "")),
    )
