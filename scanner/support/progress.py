"""How a long step says how far it is: `Progress.step(what, done, total, unit)`.

Stages call it as they go (reading a large nmap XML, evaluating rules over
many hosts, writing reports); the CLI passes a bar drawn on the terminal, or
`QUIET`. Calls may be frequent: whoever draws throttles.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def step(self, what: str, done: int, total: int, unit: str = "") -> None: ...


class _Quiet:
    def step(self, what: str, done: int, total: int, unit: str = "") -> None:
        return None


QUIET: Progress = _Quiet()
