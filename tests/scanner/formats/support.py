"""What the format tests share: golden files and a result full of hostile text.

Golden files live in fixtures/golden/. A test compares a formatter's output
with its golden file exactly; after an intended change to a format, rewrite
them with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`
and review the diff.
"""

from __future__ import annotations

import os

from scanner.model import ScanResult
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
