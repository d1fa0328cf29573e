"""Reading a report page's embedded findings back, as its script does."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

_BLOCK = re.compile(
    r'<script id="fdata" type="([^"]+)" data-encoding="([a-z]+)">(.*?)</script>', re.DOTALL
)


def embedded_data(page: str) -> dict[str, Any]:
    """The page's data block, decoded (gzip and base64, or plain JSON)."""
    found = _BLOCK.search(page)
    assert found is not None, "no data block"
    kind, encoding, text = found.groups()
    # Nothing that could start markup: JSON's escapes, or base64.
    assert not set(text) & set("<>&")
    if encoding == "gzip":
        assert kind == "application/gzip"
        raw = gzip.decompress(base64.b64decode("".join(text.split())))
        document: dict[str, Any] = json.loads(raw)
    else:
        assert (encoding, kind) == ("json", "application/json")
        document = json.loads(text)
    return document


def without_scripts(page: str) -> str:
    """The page without its script and its data block: what a reader sees."""
    return re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.DOTALL)
