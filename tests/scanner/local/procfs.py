"""A fake /proc for the local audit's tests: net/tcp{,6} tables and processes."""

from __future__ import annotations

import os
from pathlib import Path

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"


def tcp_line(local: str, state: str = "0A", inode: str = "4242") -> str:
    """One /proc/net/tcp line; `local` as the kernel prints it (0100007F:1538)."""
    return (
        f"   0: {local} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000"
        f"     0        0 {inode} 1 0000000000000000 100 0 0 10 0"
    )


def make_proc(root: Path, tcp: str, tcp6: str, processes: dict[int, tuple[str, list[str]]]) -> Path:
    """A /proc with these net/tcp{,6} tables and processes (pid -> comm and fd
    link targets such as "socket:[4242]")."""
    (root / "net").mkdir(parents=True)
    (root / "net" / "tcp").write_text(tcp)
    (root / "net" / "tcp6").write_text(tcp6)
    (root / "sys").mkdir()  # not a pid
    for pid, (comm, links) in processes.items():
        (root / str(pid) / "fd").mkdir(parents=True)
        (root / str(pid) / "comm").write_text(comm + "\n")
        for fd, target in enumerate(links):
            os.symlink(target, root / str(pid) / "fd" / str(fd))
    return root
