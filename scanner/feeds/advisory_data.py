"""Distribution advisories turned into advisory data: `trustscan rules import`.

Debian and Ubuntu publish, per source package and CVE, the package version
that fixed it in each release (or that the release was never affected, or
that the fix is still to come). They are data the rule engine weighs a
banner's package revision against (`scanner.rule_engine.backports`), not
rules. The formats read (`read_feed` recognises each by its content):

- the Debian Security Tracker's JSON (`package -> CVE -> releases ->
  {status, fixed_version, urgency}`), and its DSA/DLA and CVE records as
  aquasecurity/vuln-list-debian lays them out (`debian_tracker`);
- Ubuntu's OSV notices (`USN-*.json`) and its CVE Tracker records as
  aquasecurity/vuln-list lays them out (`ubuntu_notices`);
- Debian package changelogs (`changelog.Debian.gz`): a CVE an entry names,
  weaker evidence (`debian_changelog`).

Each statement becomes a `Claim`, kept as the source states it (the rule
engine weighs disagreements). They are written to OUT_DIR as one file per
Debian release (`debian-12.json`) and one for Ubuntu (`ubuntu.json`), each
with the command that made it, its inputs, its date (the newest record's)
and what it covers. A file written is one the scanner's reader accepts.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scanner.feeds import debian_changelog, debian_tracker, ubuntu_notices
from scanner.feeds.distro import DEBIAN_CODENAMES, UBUNTU_CODENAMES, FeedRecords
from scanner.rule_engine.advisories import FORMAT, Claim, ClaimKind, ClaimStatus, load_dir
from scanner.support.atomic import write_text_atomic
from scanner.support.files import read_text

# How to bring in the full data: the scanner reads the built-in folder only.
_INTO = "`trustscan rules import FILES -o rules/advisories` in a trustscan checkout"
DEBIAN_UPDATE = (
    "import the full Debian Security Tracker data (its JSON, "
    "https://security-tracker.debian.org/tracker/data/json, or the DSA, DLA and CVE "
    "records of https://github.com/aquasecurity/vuln-list-debian) and the packages' "
    f"changelogs with {_INTO}"
)
UBUNTU_UPDATE = (
    "import Ubuntu's full OSV notices (https://github.com/canonical/"
    "ubuntu-security-notices, osv/usn/) and its CVE Tracker records "
    f"(https://github.com/aquasecurity/vuln-list, ubuntu/) with {_INTO}"
)


def read_feed(path: Path, max_bytes: int) -> FeedRecords | None:
    """The claims of a distribution feed file; None when `path` is none."""
    if path.suffix == ".gz":
        return debian_changelog.parse(path, max_bytes)
    if path.suffix != ".json":
        return None
    text = read_text(path, max_bytes, "feed file")
    records = debian_tracker.parse(path, text)
    return records if records is not None else ubuntu_notices.parse(path, text)


@dataclass
class _Output:
    """One data file being gathered: a Debian release, or Ubuntu."""

    distro: str
    releases: dict[str, str] = field(default_factory=dict)
    claims: dict[str, dict[str, set[Claim]]] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # file name -> kind
    dates: set[str] = field(default_factory=set)


@dataclass
class Collected:
    """The claims of every distribution feed of one import, by output file."""

    outputs: dict[str, _Output] = field(default_factory=dict)

    def add(self, path: Path, records: FeedRecords) -> None:
        for filed in records.claims:
            name, codenames = _output_of(filed.distro, filed.claim.release)
            out = self.outputs.setdefault(name, _Output(filed.distro))
            out.releases[filed.claim.release] = codenames.get(filed.claim.release, "")
            cves = out.claims.setdefault(filed.package, {})
            cves.setdefault(filed.cve, set()).add(filed.claim)
            out.inputs[path.name] = records.kind
            if records.date:
                out.dates.add(records.date)


def _output_of(distro: str, release: str) -> tuple[str, dict[str, str]]:
    if distro == "Debian":
        return f"debian-{release}", {v: k for k, v in DEBIAN_CODENAMES.items()}
    return "ubuntu", {v: k for k, v in UBUNTU_CODENAMES.items()}


_ORDER = {
    ClaimStatus.FIXED: 0,
    ClaimStatus.NOT_AFFECTED: 1,
    ClaimStatus.OPEN: 2,
    ClaimStatus.MENTIONED: 3,
}
_KINDS = {ClaimKind.ADVISORY: 0, ClaimKind.TRACKER: 1, ClaimKind.CHANGELOG: 2}


def _claim_json(claim: Claim) -> str:
    item = {
        "release": claim.release,
        "status": claim.status.value,
        "kind": claim.kind.value,
        "source": claim.source,
        "version": claim.version,
        "date": claim.date,
        "note": claim.note,
        "caution": claim.caution,
    }
    return json.dumps({k: v for k, v in item.items() if v}, ensure_ascii=False)


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in release.split("."))


def _coverage(out: _Output) -> str:
    kinds: dict[str, int] = {}
    for kind in out.inputs.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    records = ", ".join(_count(count, kind) for kind, count in sorted(kinds.items()))
    cves = {cve for cves in out.claims.values() for cve in cves}
    statements = sum(len(c) for cves in out.claims.values() for c in cves.values())
    packages = sorted(out.claims)
    shown = ", ".join(packages[:12]) + (
        f" and {len(packages) - 12} more" if len(packages) > 12 else ""
    )
    releases = sorted(out.releases, key=_release_key)
    return (
        f"partial: {records}; {_count(statements, 'statement')} on {_count(len(cves), 'CVE')} "
        f"in {_count(len(packages), 'source package')} ({shown}), "
        f"{'release' if len(releases) == 1 else 'releases'} {', '.join(releases)}. "
        "A package, release or CVE not listed is undecided, never taken as fixed."
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _name(out: _Output) -> str:
    if out.distro == "Debian":
        ((release, codename),) = out.releases.items()
        return (
            f"Debian {release} ({codename}) security advisories"
            if codename
            else f"Debian {release}"
        )
    return "Ubuntu security notices and CVE tracker"


def render(out: _Output, command: str, update: str) -> str:
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [
        "{",
        f' "_generated": {text(f"Generated by `{command}`: do not edit by hand, run it again.")},',
        f' "format": {text(FORMAT)},',
        f' "distribution": {text(out.distro)},',
        f' "name": {text(_name(out))},',
        f' "as_of": {text(max(out.dates) if out.dates else "")},',
        f' "coverage": {text(_coverage(out))},',
        f' "update": {text(update)},',
        f' "inputs": {json.dumps(sorted(out.inputs), ensure_ascii=False)},',
        f' "releases": {json.dumps(dict(sorted(out.releases.items())), ensure_ascii=False)},',
        ' "packages": {',
    ]
    packages = sorted(out.claims)
    for p_index, package in enumerate(packages):
        lines.append(f"  {text(package)}: {{")
        cves = out.claims[package]
        names = sorted(cves, key=lambda c: (int(c.split("-")[1]), int(c.split("-")[2])))
        for c_index, cve in enumerate(names):
            ordered = sorted(
                cves[cve],
                key=lambda c: (
                    _release_key(c.release),
                    _ORDER[c.status],
                    _KINDS[c.kind],
                    c.source,
                    c.version,
                    c.date,
                    c.note,
                    c.caution,
                ),
            )
            lines.append(f"   {text(cve)}: [")
            lines += [
                f"    {_claim_json(c)}" + ("," if i < len(ordered) - 1 else "")
                for i, c in enumerate(ordered)
            ]
            lines.append("   ]" + ("," if c_index < len(names) - 1 else ""))
        lines.append("  }" + ("," if p_index < len(packages) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def command_line(paths: Sequence[Path], out_dir: Path) -> str:
    """The import command as given, for the file to say how it was made."""
    args = " ".join(shlex.quote(str(p)) for p in paths)
    return f"trustscan rules import {args} -o {shlex.quote(str(out_dir))}"


def write(collected: Collected, paths: Sequence[Path], out_dir: Path) -> list[str]:
    """Write each data file to out_dir, checked by the rule engine's reader
    first; the names of the files written."""
    command = command_line(paths, out_dir)
    written = []
    for name, out in sorted(collected.outputs.items()):
        update = DEBIAN_UPDATE if out.distro == "Debian" else UBUNTU_UPDATE
        content = render(out, command, update)
        # What the scanner would refuse is not written.
        with tempfile.TemporaryDirectory(prefix="trustscan-import-") as scratch:
            (Path(scratch) / f"{name}.json").write_text(content, encoding="utf-8")
            load_dir(Path(scratch))
        write_text_atomic(out_dir / f"{name}.json", content)
        written.append(f"{name}.json")
    return written
