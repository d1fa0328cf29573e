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

import logging
import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.support.errors import InputError
from scanner.support.yaml_files import YamlFileError, read_yaml

log = logging.getLogger("trustscan")

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
    # Messages name keys and lines, never a value: any value may be a password.
    return InputError(f"{path}:{line}: {message}")


def permission_warning(path: Path) -> str | None:
    """A one-line warning when others than the owner may read or change the
    file (ssh refuses such key files), or None; None too when it cannot be
    stat'ed, which reading it will report."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    if os.name != "posix" or not mode & 0o077:
        return None
    who = " and ".join(
        name for name, bits in (("its group", 0o070), ("others", 0o007)) if mode & bits
    )
    how = "readable" if mode & 0o044 else "writable" if mode & 0o022 else "open"
    quoted = shlex.quote(str(path))
    return f"{path} is {how} by {who} (mode {mode:04o}): chmod 600 {quoted}"


def load_credentials(path: Path) -> tuple[StoreCredential, ...]:
    """The file's credentials; a file others may read is loaded with a warning."""
    warning = permission_warning(path)
    if warning is not None:
        log.warning(warning)
    try:
        root, data = read_yaml(path, _MAX_FILE_BYTES, "credentials file", secret=True)
    except YamlFileError as exc:
        raise _problem(path, exc.problem.line, exc.problem.message) from None
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise _problem(path, 1, "expected a mapping with a `credentials:` list")
    entries = next(
        (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "credentials"),
        None,
    )
    items = data.get("credentials")
    if not isinstance(entries, yaml.SequenceNode) or not isinstance(items, list):
        raise _problem(path, root.start_mark.line + 1, "expected `credentials:` with a list")
    return tuple(
        _credential(item, node, path) for node, item in zip(entries.value, items, strict=True)
    )


def _key_line(node: yaml.Node, key: str) -> int:
    """The line of `key` in the entry's mapping, or of the entry."""
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return int(key_node.start_mark.line) + 1
    return int(node.start_mark.line) + 1


def _credential(data: Any, node: yaml.Node, path: Path) -> StoreCredential:
    line = node.start_mark.line + 1
    if not isinstance(data, dict):
        raise _problem(path, line, "each credential is a mapping (store, username, password)")
    unknown = [key for key in data if key not in _KEYS]
    if unknown:
        raise _problem(
            path,
            _key_line(node, str(unknown[0])),
            f"unknown key (allowed: {', '.join(sorted(_KEYS))})",
        )
    store = str(data.get("store", "*"))
    if store not in STORES:
        raise _problem(
            path, _key_line(node, "store"), f"store is not one of {', '.join(sorted(STORES))}"
        )
    for key in ("username", "password"):
        if not isinstance(data.get(key, ""), str):
            raise _problem(path, _key_line(node, key), f"{key} must be a string (quote it)")
    port = data.get("port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
    ):
        raise _problem(path, _key_line(node, "port"), "port is not a port number (1-65535)")
    return StoreCredential(
        store=store,
        username=data.get("username", ""),
        password=data.get("password", ""),
        host=str(data.get("host", "*")),
        port=port,
        database=str(data.get("database", "")),
    )
