"""The rules of a directory as the loader last built them, so that a scan of
an unchanged rules directory skips reading YAML and validating it against the
schema (most of the time `trustscan rules list` took).

One cache file per rules directory (`scanner.support.user_cache`), holding,
by each valid rule file's path, its SHA-256 and the rules built from it (with
the line of each rule's id). A file whose bytes hash the same gets its rules back; any
other file is loaded for real, and the cache rewritten. The bytes are hashed,
not their (mtime, size): hashing all 266 built-in files takes about 2 ms,
little beside the rest, and a content hash cannot be fooled by an edit in the
same second or a copy that keeps the mtime. A file with problems is never
cached: it is read again, so its problems are reported as they are.

A rule is built from its file and from more than its file: the rule schema,
CISA's KEV catalogue (which marks the vulnerabilities) and the code that
builds it. The cache file's stamp covers them all, and trustscan's version,
Python's and `packaging`'s (the specifiers are its objects), and the
directory as given (a rule's `source` names its file by that path); a stamp
that differs makes every entry stale. The stamp hashes the code's source
files as well as naming the version: in a checkout the code changes while the
version stays.

Pickle, not JSON: the rules are frozen dataclasses of conditions and
`packaging` specifiers, which pickle as they are and unpickle in about 20 ms
for the 326 built-in rules (the model's JSON codec would need a tagged form of every condition, and
would be slower). Unpickling runs code named in the file, so it is only done
with a file that can only have come from this user: `user_cache` reads an
entry only from a directory the user owns that nobody else may write, a
0600 file the user owns, under a checksum. Whoever can write there can
already change the user's shell start-up files; nobody else can have put it
there. `trustscan rules lint` never reads the cache.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import packaging

from scanner import __version__
from scanner.rule_engine.exploited import KEV_FILE
from scanner.rule_engine.rules import Rule
from scanner.support.resources import builtin_rules_dir, rule_schema_path
from scanner.support.user_cache import disabled, read_cached, write_cached

# Bumped when the form of the cached entries changes.
_FORMAT = "rules/1"
_ENGINE = Path(__file__).resolve().parent
_PACKAGE = _ENGINE.parent
# The code a rule is built by: its reading, its checks, its types.
_CODE = (
    _ENGINE / "loader.py",
    _ENGINE / "conditions.py",
    _ENGINE / "rules.py",
    _ENGINE / "exploited.py",
    _ENGINE / "rule_cache.py",
    _PACKAGE / "model.py",
    _PACKAGE / "support" / "yaml_files.py",
    _PACKAGE / "support" / "files.py",
)

# A file's rules, each with the line of its `id`.
Loaded = list[tuple[Rule, int]]


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _stamp(directory: Path) -> str | None:
    """What every entry of `directory`'s cache depends on besides its file;
    None when some of it cannot be read (then nothing is cached)."""
    kev = builtin_rules_dir() / KEV_FILE
    try:
        code = [path.read_bytes() for path in _CODE]
        schema = rule_schema_path().read_bytes()
        catalogue = kev.read_bytes() if kev.is_file() else b"no catalogue"
    except OSError:
        return None
    meta = "\0".join((_FORMAT, __version__, sys.version, packaging.__version__, str(directory)))
    return _digest(meta.encode(), schema, catalogue, *code)


def _name(directory: Path) -> str:
    # Per directory: the absolute path tells two directories of one relative
    # name apart, the path as given keeps the rules' `source` right.
    where = f"{Path.cwd() / directory}\0{directory}"
    return f"rules-{hashlib.sha256(where.encode()).hexdigest()[:32]}.pickle"


@dataclass
class RuleCache:
    """The cached rules of one directory, as the loader reads its files.

    `get` the rules of a file's bytes (None: load it), `put` what was loaded,
    then `save` once: the file is rewritten only when something changed."""

    directory: Path
    name: str = ""
    stamp: str | None = None
    entries: dict[str, tuple[str, Loaded]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    changed: bool = False

    @classmethod
    def open(cls, directory: Path) -> RuleCache:
        """The cache of `directory`; an empty one that is never written when
        caching is off (`TRUSTSCAN_NO_CACHE`) or cannot work."""
        stamp = None if disabled() else _stamp(directory)
        if stamp is None:
            return cls(directory)
        try:
            name = _name(directory)
        except OSError:  # the current directory is gone
            return cls(directory)
        return cls(directory, name, stamp, _entries(read_cached(name, stamp)))

    def get(self, path: Path, data: bytes) -> Loaded | None:
        if self.stamp is None:
            return None
        key = str(path)
        self.seen.add(key)
        entry = self.entries.get(key)
        if entry is None or entry[0] != hashlib.sha256(data).hexdigest():
            return None
        return list(entry[1])

    def put(self, path: Path, data: bytes, loaded: Loaded) -> None:
        if self.stamp is None:
            return
        key = str(path)
        self.seen.add(key)
        self.entries[key] = (hashlib.sha256(data).hexdigest(), list(loaded))
        self.changed = True

    def save(self) -> None:
        """Write the entries of the files seen (a removed file's are dropped)."""
        if self.stamp is None:
            return
        gone = self.entries.keys() - self.seen
        if not self.changed and not gone:
            return
        kept = {key: entry for key, entry in self.entries.items() if key in self.seen}
        write_cached(self.name, self.stamp, pickle.dumps(kept, pickle.HIGHEST_PROTOCOL))


def _entries(content: bytes | None) -> dict[str, tuple[str, Loaded]]:
    """The entries of a cache file; none when there is none or it is not
    what this code writes (then every file is loaded, and the cache rewritten)."""
    if content is None:
        return {}
    try:
        # Safe to unpickle: `read_cached` hands back only a file this user
        # owns, that nobody else may write, in a directory nobody else may
        # write, with this code's stamp and an intact checksum (see above).
        entries: Any = pickle.loads(content)  # noqa: S301
    except Exception:  # a cache is never worth failing for: whatever it holds, load the files
        return {}
    if not isinstance(entries, dict):
        return {}
    return {
        key: entry
        for key, entry in entries.items()
        if isinstance(key, str)
        and isinstance(entry, tuple)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], list)
        and all(
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], Rule)
            and isinstance(item[1], int)
            for item in entry[1]
        )
    }
