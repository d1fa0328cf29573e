"""Text from a target made safe for a terminal, on one line of bounded width.

A banner, a title built from one, a probe's error message: any of them may
carry escape sequences (`ESC [ 2 J` clears the screen, OSC 8 plants links),
bidirectional overrides that reorder what is shown, or line breaks that forge
a line of output. Whitespace runs (line breaks, tabs) become one space; the
other control characters are shown as `\\xNN` (`formats.charts.clean`).
"""

from __future__ import annotations

import re

from scanner.formats.charts import clean

ELLIPSIS = "\u2026"
_SPACES = re.compile(r"[\t\n\r\f\v\u0085\u2028\u2029 ]+")


def one_line(text: str, limit: int | None = None) -> str:
    """`text` on one terminal-safe line of at most `limit` characters (cut
    with an ellipsis; no limit: whole)."""
    shown = clean(_SPACES.sub(" ", text).strip())
    if limit is not None and len(shown) > limit:
        return shown[: max(0, limit - 1)].rstrip() + ELLIPSIS if limit > 0 else ""
    return shown
