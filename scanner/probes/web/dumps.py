"""What a dump file holds: CSV or SQL (CREATE TABLE, INSERT, COPY) read into
tables, and their columns summarised through `scanner.probes.personal_data`, masked. Values
are sampled only when asked to (`inspect`); without it the column names
alone give the categories. At most `MAX_DUMP` (64 KiB) of a dump is read."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from scanner.probes.evidence import NAME_CHARS
from scanner.probes.personal_data import FieldReport, summarise_field

MAX_DUMP = 64 * 1024


@dataclass(frozen=True)
class Table:
    """Rows read from a dump: a CSV file or one SQL table."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]  # at most the sample size kept
    records: int  # rows seen in the bytes read


def _complete_lines(text: str, truncated: bool) -> str:
    # The last line of a cut file is cut too: it is not a record.
    return text.rsplit("\n", 1)[0] if truncated and "\n" in text else text


def read_csv(name: str, text: str, keep: int) -> Table | None:
    rows = csv.reader(text.splitlines()[:100_000])
    try:
        header = next(rows)
    except (StopIteration, csv.Error):
        return None
    if len(header) < 2:
        return None
    kept: list[tuple[str | None, ...]] = []
    records = 0
    try:
        for row in rows:
            if not row:
                continue
            records += 1
            if len(kept) < keep:
                kept.append(tuple(row[: len(header)]))
    except csv.Error:
        pass  # a malformed line ends the file for us
    return Table(name, tuple(header), tuple(kept), records)


_CREATE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([`\"\[\]\w.]{1,200})\s*\(", re.IGNORECASE
)
_INSERT = re.compile(
    r"INSERT\s+INTO\s+([`\"\[\]\w.]{1,200})\s*(\(([^()]{0,4000})\))?\s*VALUES\s*", re.IGNORECASE
)
_COPY = re.compile(
    r"^COPY\s+([`\"\w.]{1,200})\s*\(([^()]{0,4000})\)\s+FROM\s+stdin;[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_CONSTRAINTS = frozenset(
    {"primary", "unique", "key", "constraint", "foreign", "index", "check", "fulltext"}
    | {"spatial", "exclude", "like"}
)


def _identifier(text: str) -> str:
    return text.strip().strip('`"[]').rsplit(".", 1)[-1].strip('`"[]')


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opened just before `start`, and the end;
    quotes are skipped so a ')' in a string does not close it."""
    depth, index, quote = 1, start, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[start:index], index + 1
        index += 1
    return text[start:], len(text)


def _split_top(text: str) -> list[str]:
    """`text` split on commas outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def sql_columns(text: str) -> dict[str, tuple[str, ...]]:
    """Each CREATE TABLE's column names."""
    tables: dict[str, tuple[str, ...]] = {}
    for found in islice(_CREATE.finditer(text), 100):
        body, _ = _balanced(text, found.end())
        columns = []
        for item in _split_top(body):
            words = item.split()
            if words and words[0].lower().strip('`"') not in _CONSTRAINTS:
                columns.append(_identifier(words[0]))
        tables[_identifier(found.group(1))] = tuple(columns)
    return tables


def _literal(text: str, index: int) -> tuple[str | None, int]:
    """One SQL literal from `index`: a quoted string (with '' and backslash
    escapes), NULL, or a bare token; and where it ends."""
    if index < len(text) and text[index] == "'":
        out: list[str] = []
        index += 1
        while index < len(text):
            char = text[index]
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 2
                continue
            if char == "'":
                if text[index + 1 : index + 2] == "'":
                    out.append("'")
                    index += 2
                    continue
                return "".join(out), index + 1
            out.append(char)
            index += 1
        return "".join(out), index
    end = index
    while end < len(text) and text[end] not in ",)":
        end += 1
    token = text[index:end].strip()
    return (None if token.upper() == "NULL" else token), end


def _tuples(text: str, index: int) -> Iterator[tuple[str | None, ...]]:
    """The value tuples of one INSERT's VALUES list, from `index` to its `;`."""
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] != "(":
            return
        index += 1
        values: list[str | None] = []
        while index < len(text):
            while index < len(text) and text[index] in " \t\r\n":
                index += 1
            value, index = _literal(text, index)
            values.append(value)
            if index >= len(text):
                return  # cut mid-row: not a record
            if text[index] == ")":
                index += 1
                break
            index += 1  # the comma
        yield tuple(values)


def read_sql(text: str, keep: int) -> list[Table]:
    """Tables with their columns and the rows of their INSERTs and COPYs."""
    columns = sql_columns(text)
    rows: dict[str, list[tuple[str | None, ...]]] = {}
    counts: dict[str, int] = {}
    named: dict[str, tuple[str, ...]] = dict(columns)
    for found in islice(_INSERT.finditer(text), 10_000):
        table = _identifier(found.group(1))
        if found.group(3):
            named[table] = tuple(_identifier(c) for c in found.group(3).split(","))
        for row in _tuples(text, found.end()):
            counts[table] = counts.get(table, 0) + 1
            if len(rows.setdefault(table, [])) < keep:
                rows[table].append(row)
    for found in islice(_COPY.finditer(text), 100):
        table = _identifier(found.group(1))
        named[table] = tuple(_identifier(c) for c in found.group(2).split(","))
        for line in text[found.end() :].lstrip("\r\n").splitlines():
            if line == "\\.":
                break
            counts[table] = counts.get(table, 0) + 1
            if len(rows.setdefault(table, [])) < keep:
                rows[table].append(tuple(None if v == "\\N" else v for v in line.split("\t")))
    return [
        Table(name, cols, tuple(rows.get(name, ())), counts.get(name, 0))
        for name, cols in named.items()
    ]


def looks_like_sql(text: str) -> bool:
    head = text[:MAX_DUMP].upper()
    return "CREATE TABLE" in head or "INSERT INTO" in head or "COPY " in head


def read_dump(path: str, data: bytes, truncated: bool, keep: int) -> list[Table]:
    text = _complete_lines(data.decode("utf-8", "replace"), truncated)
    stem = path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if path.lower().endswith(".sql") or looks_like_sql(text):
        return read_sql(text, keep)
    table = read_csv(stem, text, keep)
    return [table] if table is not None else []


def summarise(tables: Iterable[Table], inspect: bool) -> list[FieldReport]:
    """What each column's name (and, when inspecting, its sampled values) says; masked."""
    reports = []
    for table in tables:
        for index, column in enumerate(table.columns[:200]):
            values = (row[index] for row in table.rows if index < len(row)) if inspect else ()
            reports.append(summarise_field(column[:NAME_CHARS], table.name, values))
    return reports


def dump_evidence(path: str, size: int, truncated: bool, reports: list[FieldReport]) -> str:
    read = f"{size} bytes" if size < 1024 else f"{size // 1024} KiB"
    parts = []
    categories = categories_of(reports)
    for category in categories:
        example = next(
            (
                r.masked_examples[0]
                for r in reports
                if r.masked_examples and category in r.categories[:1]
            ),
            "",
        )
        parts.append(f"{category} ({example})" if example else category)
    found = ", ".join(parts) if parts else "no personal data"
    return f"{path}: {read} read{' (cut)' if truncated else ''}; {found}"


def categories_of(reports: Iterable[FieldReport]) -> list[str]:
    return list(dict.fromkeys(c for r in reports for c in r.categories))
