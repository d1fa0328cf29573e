"""What the format tests share: golden files and a result full of hostile text.

Golden files live in fixtures/golden/. A test compares a formatter's output
with its golden file exactly; after an intended change to a format, rewrite
them with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`
and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace

from scanner.assessment.baseline import Baseline, compared
from scanner.model import Acceptance, AcceptanceCheck, ScanResult, Severity
from tests.factories import make_finding, make_host, make_result, make_service
from tests.support import FIXTURES

GOLDEN = FIXTURES / "golden"
UPDATE_ENV = "TRUSTSCAN_UPDATE_GOLDEN"

SCRIPT = "<script>alert(1)</script>"
# A banner as a hostile server might send it: markup, quotes, control
# characters (C0, DEL, C1), Markdown table and code syntax, a line break.
HOSTILE = (
    f"{SCRIPT} \" ' \x00\x01\x08\x0b\x1b[31m\x7f\x9b | `code` *b* _i_ [x](http://e.invalid)\nnext"
)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.is_file(), f"{path} is missing; run with {UPDATE_ENV}=1 to write it"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs from its golden file; {UPDATE_ENV}=1 rewrites it"


def hostile_result() -> ScanResult:
    service = make_service(product=HOSTILE, extrainfo='" onmouseover="x', cpes=(HOSTILE,))
    host = make_host(hostnames=(HOSTILE,), services=(service,))
    finding = make_finding(
        title=f"Banner {HOSTILE}",
        description=HOSTILE,
        remediation=HOSTILE,
        evidence=(f"nmap: {HOSTILE}",),
        notes=(HOSTILE,),
    )
    return make_result(hosts=(host,), findings=(finding,), targets=(HOSTILE,))


# -- a result compared with a baseline, with accepted risks ---------------------------

BASELINE_SOURCE = "nightly/2026-11-18.json"
BASELINE_TAKEN = "2026-11-18T10:05:00+00:00"
ACCEPTED = Acceptance(
    owner="ops@example.test",
    expires="2027-03-31",
    reason="the banner is needed by the monitoring",
    source="accept.yaml:4",
)
EXPIRED = Acceptance(
    owner="web@example.test",
    expires="2026-11-01",
    reason="upgrade planned in October",
    source="accept.yaml:9",
    expired=True,
)


def compared_result() -> ScanResult:
    """`make_result()` against an earlier scan of it, with accepted risks.

    Against the baseline: MariaDB exposed is new; the end of life changed
    (medium then, high now); the outdated 2.4 and the SSH banner are
    unchanged; TRACE on 127.0.0.10 is fixed (the host was scanned again);
    Redis on 127.0.0.12 was not rescanned (not a target this time). The SSH
    banner is accepted; the outdated 2.4's acceptance expired."""
    now = make_result()
    eol, outdated, mariadb, ssh = now.findings
    earlier = make_result(
        finished=BASELINE_TAKEN,
        findings=(
            replace(eol, severity=Severity.MEDIUM),
            outdated,
            ssh,
            make_finding(
                rule_id="http-trace-enabled",
                title="HTTP TRACE is enabled",
                severity=Severity.LOW,
            ),
            make_finding(
                rule_id="redis-no-auth",
                host="127.0.0.12",
                port=6379,
                service="redis",
                title="Redis answers without a password",
                severity=Severity.CRITICAL,
            ),
        ),
    )
    accepted = replace(
        now,
        findings=(
            eol,
            replace(outdated, accepted=EXPIRED),
            mariadb,
            replace(ssh, accepted=ACCEPTED),
        ),
        acceptance=AcceptanceCheck(
            source="accept.yaml",
            checked_on="2026-11-25",
            accepted=1,
            expired=("accept.yaml:9 rule apache-httpd-outdated (expired 2026-11-01)",),
            stale=(
                "accept.yaml:14 rule php-eol host 127.0.0.20",
                "accept.yaml:19 fingerprint 0123456789abcdef01234567",
            ),
        ),
    )
    return compared(accepted, Baseline(BASELINE_SOURCE, earlier))
