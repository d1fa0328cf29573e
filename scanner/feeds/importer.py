"""Read feed files, recognise their format, and write one rule file per advisory."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.banners.products import known_product_ids
from scanner.feeds import Advisory, advisory_data, apache_cve, distro_support, endoflife, kev, osv
from scanner.feeds.rule_writer import render
from scanner.rule_engine.loader import load_file
from scanner.support.atomic import write_text_atomic
from scanner.support.errors import InputError
from scanner.support.files import read_text
from scanner.support.json_files import load_json, parse_json
from scanner.support.yaml_files import read_yaml

_MAX_FEED_BYTES = 64 * 1024 * 1024
_SUFFIXES = (".json", ".yaml", ".yml", ".gz")  # .gz: Debian changelogs
# A rule file's name comes from the feed: letters, digits, '.', '_' and '-',
# no leading dot, bounded, so that it stays a plain file in the output directory.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass
class ImportReport:
    files_written: int = 0
    rules_written: int = 0
    skipped: list[str] = field(default_factory=list)
    # Rule files not written, each "NAME: why": a name from the feed that is no
    # safe file name, or generated rules that `rules lint` would refuse.
    refused: list[str] = field(default_factory=list)
    # Data files written (advisories, the KEV catalogue, distribution support): not rules.
    data_written: int = 0
    # Each rule id written and its file: ids differing only in case are one rule.
    rule_ids: dict[str, str] = field(default_factory=dict, repr=False)


def feed_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
            )
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such feed file or directory")
    if not files:
        raise InputError(f"no .json feed files in {', '.join(map(str, paths))}")
    return files


def parse_file(path: Path, product: str | None) -> list[Advisory]:
    data: Any = load_json(path, what="feed file", max_bytes=_MAX_FEED_BYTES)
    records = data if isinstance(data, list) else [data]
    advisories: list[Advisory] = []
    for record in records:
        try:
            if apache_cve.is_apache_record(record):
                advisories.extend(apache_cve.parse(record, product))
            elif osv.is_osv_record(record):
                advisories.extend(osv.parse(record, product))
            else:
                raise InputError(
                    f"{path}: not a feed trustscan reads (OSV, or CVE JSON 4.0/5 as the "
                    "Apache httpd project publishes it)"
                )
        except (apache_cve.FeedError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: malformed record: {exc}") from None
    return advisories


def _import_lifecycle(path: Path, out_dir: Path, as_of: dt.date, report: ImportReport) -> None:
    _, data = read_yaml(path, _MAX_FEED_BYTES, "feed file")
    if distro_support.is_distribution_page(path.stem, data):
        support = distro_support.support_data(path.stem, data, path.name, as_of)
        _write_text(out_dir, f"{path.stem}-support.json", distro_support.render(support), report)
        return
    if not endoflife.is_endoflife_page(data):
        raise InputError(f"{path}: not an endoflife.date product page (no releases list)")
    if path.stem not in endoflife.PRODUCTS:
        report.skipped.append(f"{path.name}: no trustscan product for this page")
        return
    rules = endoflife.lifecycle_rules(path.stem, data, as_of)
    _write_rules(out_dir, f"{path.stem}-lifecycle", endoflife.render(rules, path.name), report)


def import_feeds(
    paths: Sequence[Path], out_dir: Path, product: str | None, as_of: dt.date | None = None
) -> ImportReport:
    if product is not None and product not in known_product_ids():
        known = ", ".join(sorted(known_product_ids()))
        raise InputError(f"--product {product!r} is not a product trustscan knows ({known})")
    report = ImportReport()
    by_id: dict[str, list[Advisory]] = {}
    origins: dict[str, str] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    distro = advisory_data.Collected()
    for path in feed_files(paths):
        if _import_distro(path, distro, report):
            continue
        if path.suffix != ".json":
            _import_lifecycle(path, out_dir, as_of or dt.date.today(), report)
            continue
        if _import_kev(path, out_dir, report):
            continue
        advisories = parse_file(path, product)
        if not advisories:
            report.skipped.append(
                f"{path.name}: no rated, version-ranged entry for a known product"
            )
        for advisory in advisories:
            by_id.setdefault(advisory.id, []).append(advisory)
            origins.setdefault(advisory.id, path.name)
    for vuln_id, advisories in sorted(by_id.items()):
        unique = _one_per_product(advisories, origins[vuln_id], report)
        _write_rules(out_dir, vuln_id, render(unique, origins[vuln_id]), report)
    report.data_written += len(advisory_data.write(distro, paths, out_dir))
    return report


def _import_distro(path: Path, distro: advisory_data.Collected, report: ImportReport) -> bool:
    """Debian and Ubuntu advisories are data, not rules: gathered here, written
    as `debian-12.json`, `ubuntu.json` ... in out_dir at the end. False: `path`
    is no distribution feed."""
    records = advisory_data.read_feed(path, _MAX_FEED_BYTES)
    if records is None:
        return False
    if not records.claims:
        report.skipped.append(f"{path.name}: no CVE of a Debian or Ubuntu release in it")
    distro.add(path, records)
    return True


def _import_kev(path: Path, out_dir: Path, report: ImportReport) -> bool:
    """CISA's KEV catalogue is data, not rules: it becomes `known-exploited.json`
    in out_dir, which the rule engine marks exploited CVEs with. Its JSON
    Schema, published beside it, is passed over. False: `path` is neither."""
    text = read_text(path, _MAX_FEED_BYTES, "feed file")
    if not kev.may_be_kev(text):
        return False
    data = parse_json(text, str(path))
    if kev.is_kev_schema(data):
        report.skipped.append(f"{path.name}: the KEV catalogue's JSON Schema, not a catalogue")
        return True
    if not kev.is_kev_catalog(data):
        return False
    kev.import_catalog(data, text, path, out_dir)
    report.data_written += 1
    return True


def _one_per_product(
    advisories: list[Advisory], origin: str, report: ImportReport
) -> list[Advisory]:
    """The first advisory of each product: two would make two rules of one id."""
    first: dict[str, Advisory] = {}
    for advisory in advisories:
        if advisory.product in first:
            report.skipped.append(
                f"{origin}: {advisory.id} for {advisory.product} again: kept the first record"
            )
        else:
            first[advisory.product] = advisory
    return list(first.values())


def _write_text(out_dir: Path, name: str, text: str, report: ImportReport) -> None:
    """Write a data file (not rules) that trustscan generated itself."""
    write_text_atomic(out_dir / name, text)
    report.data_written += 1


def _write_rules(out_dir: Path, name: str, text: str, report: ImportReport) -> None:
    """Write generated rules to `out_dir/NAME.yaml` if NAME is a safe file name
    there and `rules lint` passes them; else say in the report why not."""
    shown = json.dumps(name[:60]) + ("..." if len(name) > 60 else "")
    target = out_dir / f"{name}.yaml"
    if not _SAFE_NAME.fullmatch(name):
        report.refused.append(
            f"{shown}: not written: the id is no safe file name "
            "(letters, digits, '.', '_' and '-', at most 100)"
        )
        return
    try:
        inside = target.resolve().is_relative_to(out_dir.resolve())
    except (OSError, RuntimeError):  # a symbolic link loop
        inside = False
    if not inside:
        report.refused.append(f"{shown}: not written: {target} leads out of {out_dir}")
        return
    rule_ids, problems = _linted(text, target.name)
    problems += [
        f"rule id {rule_id!r} is already in {report.rule_ids.get(rule_id, target.name)}"
        for index, rule_id in enumerate(rule_ids)
        if rule_id in report.rule_ids or rule_id in rule_ids[:index]
    ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        report.refused.append(f"{target.name}: not written: fails lint: {problems[0]}{more}")
        return
    write_text_atomic(target, text)
    report.rule_ids.update(dict.fromkeys(rule_ids, target.name))
    report.files_written += 1
    report.rules_written += len(rule_ids)


def _linted(text: str, name: str) -> tuple[list[str], list[str]]:
    """The rule ids in `text` and what `rules lint` says of them, from a
    scratch copy: the loader checks files, and nothing unchecked reaches out_dir."""
    with tempfile.TemporaryDirectory(prefix="trustscan-import-") as scratch:
        path = Path(scratch) / name
        path.write_text(text, encoding="utf-8")
        rules, problems = load_file(path)
    return [rule.id for rule in rules], [f"line {p.line}: {p.message}" for p in problems]
