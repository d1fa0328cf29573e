"""Time and size trustscan end to end on a very large scan: an N-host nmap XML
(default 100,000 hosts, made by `bench.nmap_xml_parse`'s generator) audited
with `trustscan scan --nmap-xml`, writing the JSON result and the HTML report.

Sends no packet: `--nmap-xml` only reads the file. Each revision runs in a
fresh process whose peak resident memory is read from the kernel (wait4), so
two revisions compare on the same machine in one run. Each run records its
scan history as users' runs do (it is on by default), into a history of its
own: `XDG_DATA_HOME` names a temporary directory for the process, so the
figures include recording the run and nothing is written under your home.

    python -m bench.large_result [-n 100000] [--rev HEAD~3] [--rev WORKTREE]

`WORKTREE` is the checkout as it is; any other revision is checked out in a
temporary `git worktree`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.nmap_xml_parse import write_report

REPO = Path(__file__).resolve().parent.parent
WORKTREE = "WORKTREE"


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """The source tree of `rev`: this checkout, or a temporary worktree."""
    if rev == WORKTREE:
        yield REPO
        return
    with tempfile.TemporaryDirectory(prefix="trustscan-bench-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), rev], cwd=REPO, check=True
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
            )


def measure(tree: Path, xml: Path, out: Path) -> dict[str, float]:
    """Wall time, peak RSS and output sizes of one `scan --nmap-xml` run, its
    history recorded in `out` (a first run: nothing to compare with)."""
    command = [
        sys.executable,
        "-m",
        "scanner",
        "scan",
        "--nmap-xml",
        str(xml),
        "--json",
        str(out / "r.json"),
        "-o",
        str(out / "r.html"),
        "-q",
    ]
    # The default history (`~/.local/share/trustscan/history.sqlite`), moved to `out`.
    env = {**os.environ, "PYTHONPATH": str(tree), "XDG_DATA_HOME": str(out / "data")}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=tree, env=env, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"trustscan failed in {tree}: {err}")
    return {
        "wall_s": wall,
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "json_mb": (out / "r.json").stat().st_size / 1e6,
        "html_mb": (out / "r.html").stat().st_size / 1e6,
        "history_mb": sum(f.stat().st_size for f in (out / "data").rglob("*") if f.is_file()) / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--hosts", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument(
        "--rev", action="append", help=f"a git revision, or {WORKTREE} (default: {WORKTREE})"
    )
    args = parser.parse_args(argv)
    revs = args.rev or [WORKTREE]
    with tempfile.TemporaryDirectory(prefix="trustscan-large-") as scratch:
        xml = Path(scratch) / "scan.xml"
        write_report(xml, args.hosts, args.services)
        print(f"{args.hosts:,} hosts, nmap XML of {xml.stat().st_size / 1e6:.1f} MB", flush=True)
        for rev in revs:
            out = Path(scratch) / f"out-{len(rev)}-{abs(hash(rev))}"
            out.mkdir()
            with checkout(rev) as tree:
                figures = measure(tree, xml, out)
            print(
                f"{rev:>12}: {figures['wall_s']:7.1f} s, peak {figures['peak_mib']:7.0f} MiB, "
                f"JSON {figures['json_mb']:6.1f} MB, HTML {figures['html_mb']:6.1f} MB, "
                f"history {figures['history_mb']:6.1f} MB",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
