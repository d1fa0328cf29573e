"""Time trustscan's start: `--help`, `scan --help`, `history --help`, `rules list`
with a cold and a warm rules cache, `import scanner.cli`, and `load_rules` of
the built-in rules in-process, cold and warm.

Every figure is the median of N fresh processes (`python -m scanner ...`, as
the console script does `from scanner.cli import main`), each revision run
from its own tree with a cache directory of its own (XDG_CACHE_HOME), so two
revisions compare on the same machine in one run, taking turns sample by
sample:

    python -m bench.startup [-n 15] [--rev HEAD] [--rev WORKTREE]

`WORKTREE` is the checkout as it is; any other revision is checked out in a
temporary `git worktree` (`bench.large_result.checkout`). "cold" empties the
cache directory before each run; "warm" runs once first to fill it. A
revision without the cache reads and validates every rule file either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.large_result import WORKTREE, checkout

# `load_rules` in the process: prints the seconds of the call, then of the
# import and the call (what is imported only when rules are read from files
# counts in the call, where the import of the loader used to pay for it).
_LOAD_RULES = """\
import time
started = time.perf_counter()
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
called = time.perf_counter()
load_rules([builtin_rules_dir()])
done = time.perf_counter()
print(done - called)
print(done - started)
"""


class _Runner:
    """Fresh processes of one tree, with its own cache directory."""

    def __init__(self, tree: Path, cache: Path) -> None:
        self.tree = tree
        self.cache = cache
        self.env = {
            **os.environ,
            "PYTHONPATH": str(tree),
            "XDG_CACHE_HOME": str(cache),
            "TRUSTSCAN_NO_CACHE": "",
        }

    def empty_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)
        self.cache.mkdir()

    def wall(self, *args: str) -> float:
        """Seconds of one `python ARGS` run, start to exit."""
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - started

    def printed(self, *args: str, line: int = 0) -> float:
        """The seconds one `python ARGS` run prints on its `line` (a measurement inside it)."""
        done = subprocess.run(
            [sys.executable, *args],
            cwd=self.tree,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(done.stdout.strip().splitlines()[line])


@dataclass(frozen=True)
class _Case:
    name: str
    once: Callable[[_Runner], float]
    before: Callable[[_Runner], None] = lambda _run: None  # before each sample
    warm_up: bool = False  # one unmeasured run first


_RULES_LIST = ("-m", "scanner", "rules", "list")
CASES = (
    _Case("python -c pass", lambda run: run.wall("-c", "pass")),
    _Case("import scanner.cli", lambda run: run.wall("-c", "import scanner.cli")),
    _Case("trustscan --help", lambda run: run.wall("-m", "scanner", "--help")),
    _Case("trustscan scan --help", lambda run: run.wall("-m", "scanner", "scan", "--help")),
    _Case("trustscan history --help", lambda run: run.wall("-m", "scanner", "history", "--help")),
    _Case(
        "trustscan rules list, cold cache",
        lambda run: run.wall(*_RULES_LIST),
        before=lambda run: run.empty_cache(),
    ),
    _Case("trustscan rules list, warm cache", lambda run: run.wall(*_RULES_LIST), warm_up=True),
    _Case(
        "load_rules in-process, cold cache",
        lambda run: run.printed("-c", _LOAD_RULES),
        before=lambda run: run.empty_cache(),
    ),
    _Case(
        "load_rules in-process, warm cache",
        lambda run: run.printed("-c", _LOAD_RULES),
        warm_up=True,
    ),
    _Case(
        "import loader + load_rules, cold cache",
        lambda run: run.printed("-c", _LOAD_RULES, line=1),
        before=lambda run: run.empty_cache(),
    ),
    _Case(
        "import loader + load_rules, warm cache",
        lambda run: run.printed("-c", _LOAD_RULES, line=1),
        warm_up=True,
    ),
)


def measure(runners: dict[str, _Runner], runs: int) -> dict[str, dict[str, tuple[float, float]]]:
    """The median and the least seconds of each case, by revision. The
    revisions take turns sample by sample, so that a machine busy with other
    work slows them alike; the least is what the code costs when nothing else
    runs."""
    figures: dict[str, dict[str, tuple[float, float]]] = {rev: {} for rev in runners}
    for case in CASES:
        samples: dict[str, list[float]] = {rev: [] for rev in runners}
        for run in runners.values():
            run.empty_cache()
            if case.warm_up:
                case.once(run)
        for _ in range(runs):
            for rev, run in runners.items():
                case.before(run)
                samples[rev].append(case.once(run))
        for rev in runners:
            figures[rev][case.name] = (statistics.median(samples[rev]), min(samples[rev]))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15, help="runs per figure (median)")
    parser.add_argument(
        "--rev", action="append", help=f"a git revision, or {WORKTREE} (default: {WORKTREE})"
    )
    args = parser.parse_args(argv)
    revs = args.rev or [WORKTREE]
    with tempfile.TemporaryDirectory(prefix="trustscan-startup-") as scratch, ExitStack() as trees:
        runners = {
            rev: _Runner(trees.enter_context(checkout(rev)), Path(scratch) / f"cache-{index}")
            for index, rev in enumerate(revs)
        }
        results = measure(runners, args.runs)
    width = max(len(case.name) for case in CASES)
    print(f"seconds, median (least) of {args.runs} fresh processes")
    print(f"{'':<{width}}  " + "  ".join(f"{rev:>16}" for rev in revs))
    for case in CASES:
        row = "  ".join(
            f"{results[rev][case.name][0]:8.3f} ({results[rev][case.name][1]:.3f})" for rev in revs
        )
        print(f"{case.name:<{width}}  {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
