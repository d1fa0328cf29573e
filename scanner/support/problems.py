"""A problem with a user's file, at its line; and the error that carries all
of a file's (or a directory's) problems at once.

Apart from `yaml_files`, which reads most of those files, so that a module
declaring its own kind of problem (a config file's, a rule's) need not import
a YAML parser to do so: `trustscan --help` imports such modules and nothing
more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner.support.errors import InputError


@dataclass(frozen=True)
class FileProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class FileProblems(InputError):
    """One or more problems with user files; the message shows the first."""

    what = "file"

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = tuple(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid {self.what}: {self.problems[0]}{more}")
