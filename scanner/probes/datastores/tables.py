"""SQL stores (PostgreSQL, MySQL): a table's columns as field reports, by
their names and, with `--inspect-data`, by a few sampled values each.

A column is sampled when its name suggests personal data or its type holds
text, and only while the probe's time budget lasts. The values go straight to
the personal-data detectors; only the masked summary is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scanner.probes import personal_data
from scanner.probes.context import ProbeContext
from scanner.probes.personal_data import FieldReport

# (schema, table) -> [(column, data type)], in the table's column order.
Columns = dict[tuple[str, str], list[tuple[str, str]]]


def by_table(rows: Iterable[Sequence[object]]) -> Columns:
    """Rows of (schema, table, column, data type) from information_schema.columns."""
    columns: Columns = {}
    for schema, table, column, data_type in rows:
        columns.setdefault((str(schema), str(table)), []).append((str(column), str(data_type)))
    return columns


@dataclass(frozen=True)
class Sampling:
    """How one SQL probe reads a table's columns."""

    ctx: ProbeContext
    deadline: float  # on the monotonic clock: no sample is read after it
    textual: frozenset[str]  # data types worth sampling whatever the column's name
    error: type[Exception]  # the driver's error: a column it cannot read is a gap
    said: Callable[[BaseException], str]  # that error in evidence
    read: Callable[[str, str, str], list[object]]  # (schema, table, column) -> a few values

    def fields(
        self, name: str, schema: str, table: str, columns: Columns, gaps: list[str]
    ) -> tuple[FieldReport, ...]:
        """A field report for each column of `schema.table`, called `name` in gaps."""
        fields: list[FieldReport] = []
        for column, data_type in columns.get((schema, table), []):
            values: list[object] = []
            named = personal_data.category_of_name(column, table) is not None
            if (
                self.ctx.inspect_data
                and (named or data_type in self.textual)
                and time.monotonic() < self.deadline
            ):
                try:
                    values = self.read(schema, table, column)
                except self.error as exc:
                    gaps.append(f"{name}.{column}: {self.said(exc)}")
            fields.append(personal_data.summarise_field(column, table, values))
            del values  # raw values end here; only the masked summary is kept
        return tuple(fields)
