"""A `Progress` that keeps every step it is told, for the tests of the long
steps (evaluating, assessing, recording the history)."""

from __future__ import annotations


class Steps:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int, str]] = []

    def step(self, what: str, done: int, total: int, unit: str = "") -> None:
        self.seen.append((what, done, total, unit))

    def of(self, what: str) -> list[tuple[int, int, str]]:
        """The steps of one kind: (done, total, unit), in order."""
        return [(done, total, unit) for said, done, total, unit in self.seen if said == what]

    def kinds(self) -> list[str]:
        """Each kind of step once, in the order they began."""
        return list(dict.fromkeys(what for what, *_ in self.seen))
