"""Read feed files, recognise their format, and write one rule file per advisory."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.banners.products import known_product_ids
from scanner.feeds import Advisory, apache_cve, endoflife, osv
from scanner.feeds.rule_writer import render
from scanner.support.atomic import write_text_atomic
from scanner.support.errors import InputError
from scanner.support.files import read_text

_MAX_FEED_BYTES = 64 * 1024 * 1024
_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class ImportReport:
    files_written: int = 0
    rules_written: int = 0
    skipped: list[str] = field(default_factory=list)


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
    text = read_text(path, _MAX_FEED_BYTES, "feed file")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
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
    text = read_text(path, _MAX_FEED_BYTES, "feed file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({exc})") from None
    if not endoflife.is_endoflife_page(data):
        raise InputError(f"{path}: not an endoflife.date product page (no releases list)")
    if path.stem not in endoflife.PRODUCTS:
        report.skipped.append(f"{path.name}: no trustscan product for this page")
        return
    rules = endoflife.lifecycle_rules(path.stem, data, as_of)
    write_text_atomic(out_dir / f"{path.stem}-lifecycle.yaml", endoflife.render(rules, path.name))
    report.files_written += 1
    report.rules_written += len(rules)


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
    for path in feed_files(paths):
        if path.suffix != ".json":
            _import_lifecycle(path, out_dir, as_of or dt.date.today(), report)
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
        write_text_atomic(out_dir / f"{vuln_id}.yaml", render(advisories, origins[vuln_id]))
        report.files_written += 1
        report.rules_written += len(advisories)
    return report
