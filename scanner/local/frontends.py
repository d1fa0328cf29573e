"""State of the ufw and firewalld front-ends, read by running their own status commands."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.local.commands import CommandOutput, Runner, run_command

MAX_DETAIL_CHARS = 300

# firewall-cmd exit codes (firewalld's errors.py).
FIREWALLD_RUNNING_BUT_FAILED = 251
FIREWALLD_NOT_RUNNING = 252
FIREWALLD_NOT_AUTHORIZED = 253


@dataclass(frozen=True)
class FrontendState:
    name: str  # "ufw" | "firewalld"
    installed: bool
    active: bool | None  # None: could not tell
    detail: str  # one line, at most MAX_DETAIL_CHARS
    note: str = ""  # why `active` is unknown, or what could not be read


# ---------------------------------------------------------------------------- ufw

_UFW_STATUS = re.compile(r"^Status:\s*(active|inactive)\s*$", re.MULTILINE)
_UFW_DEFAULT = re.compile(r"^Default:[ \t]*(.*?)\s*$", re.MULTILINE)


def ufw_state(run: Runner = run_command) -> FrontendState:
    out = run(["ufw", "status", "verbose"])
    if out.missing:
        return FrontendState("ufw", installed=False, active=False, detail="not installed")
    if "need to be root" in out.text:
        return FrontendState(
            "ufw", True, None, "status unknown", note="ufw status can only be read as root"
        )
    status = _UFW_STATUS.search(out.stdout)
    if status is None:
        return FrontendState(
            "ufw", True, None, "status unknown", note=_unrecognised("ufw status verbose", out)
        )
    parts = [f"Status: {status.group(1)}"]
    default = _UFW_DEFAULT.search(out.stdout)
    if default is not None:
        parts.append(f"Default: {default.group(1)}")
    return FrontendState("ufw", True, status.group(1) == "active", one_line("; ".join(parts)))


# ---------------------------------------------------------------------- firewalld


def firewalld_state(run: Runner = run_command) -> FrontendState:
    out = run(["firewall-cmd", "--state"])
    if out.missing:
        return FrontendState("firewalld", installed=False, active=False, detail="not installed")
    answer = _first_line(out.text)
    if out.returncode == 0 and answer == "running":
        return _running_firewalld(run)
    if out.returncode == FIREWALLD_NOT_RUNNING or answer == "not running":
        return FrontendState("firewalld", True, False, "not running")
    if out.returncode == FIREWALLD_NOT_AUTHORIZED or _not_authorized(out):
        return FrontendState(
            "firewalld",
            True,
            None,
            "state unknown",
            note="firewall-cmd was refused by polkit; run trustscan local as root to read it",
        )
    if out.returncode == FIREWALLD_RUNNING_BUT_FAILED or answer == "failed":
        # The daemon runs but its configuration did not load: the rules in force
        # are a fallback, not what the administrator configured.
        return FrontendState(
            "firewalld",
            True,
            None,
            "failed",
            note="firewalld is in the FAILED state: its configuration did not load",
        )
    return FrontendState(
        "firewalld", True, None, "state unknown", note=_unrecognised("firewall-cmd --state", out)
    )


def _running_firewalld(run: Runner) -> FrontendState:
    zone_out = run(["firewall-cmd", "--get-default-zone"])
    listing = run(["firewall-cmd", "--list-all"])
    parts = ["running"]
    notes = []
    if zone_out.returncode == 0 and _first_line(zone_out.stdout):
        parts.append(f"default zone: {_first_line(zone_out.stdout)}")
    else:
        notes.append(_unrecognised("firewall-cmd --get-default-zone", zone_out))
    if listing.returncode == 0:
        parts.extend(_zone_summary(listing.stdout))
    else:
        notes.append(_unrecognised("firewall-cmd --list-all", listing))
    return FrontendState(
        "firewalld", True, True, one_line("; ".join(parts)), one_line(" ".join(notes))
    )


_SUMMARY_KEYS = ("target", "services", "ports")


def parse_zone_listing(text: str) -> dict[str, str]:
    """`firewall-cmd --list-all` as key -> value; continuation lines (rich rules) are skipped."""
    fields: dict[str, str] = {}
    for line in text.splitlines()[:10_000]:
        # Keys are indented by two spaces; the zone name line and tab-indented
        # continuation lines (forward ports, rich rules) are not "key: value".
        if not line.startswith("  ") or ":" not in line:
            continue
        key, _, value = line.strip().partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _zone_summary(text: str) -> list[str]:
    fields = parse_zone_listing(text)
    return [f"{key}: {fields[key] or '(none)'}" for key in _SUMMARY_KEYS if key in fields]


def _not_authorized(out: CommandOutput) -> bool:
    text = out.text.lower()
    return "authorization failed" in text or "notauthorized" in text


# -------------------------------------------------------------------------- text


def one_line(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """Collapse whitespace and control characters; cut to `limit` characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _unrecognised(command: str, out: CommandOutput) -> str:
    said = _first_line(out.stderr) or _first_line(out.stdout) or "no output"
    return one_line(f"{command} exited {out.returncode}: {said}", limit=200)
