"""The local command runner: no shell, timeouts, bounded output, C locale."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from scanner.local.commands import CommandOutput, run_command


def test_run_command_captures_both_streams_and_exit_status() -> None:
    out = run_command(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert out == CommandOutput(3, "out\n", "err\n")


def test_run_command_uses_the_c_locale() -> None:
    # ufw translates "Status: active"; the parsers read the untranslated text.
    out = run_command(["sh", "-c", 'echo "$LC_ALL $LANG"'])
    assert out.stdout == "C C\n"


def test_run_command_missing_binary() -> None:
    out = run_command(["trustscan-no-such-command-anywhere", "--state"])
    assert (out.missing, out.returncode) == (True, 127)
    out = run_command(["/nonexistent/dir/firewall-cmd"])
    assert out.missing


def test_run_command_finds_sbin_tools_off_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Non-root Debian logins have no /usr/sbin on PATH; ufw and firewall-cmd live there.
    sbin_tool = next(
        (tool for tool in ("ip", "ss", "sysctl") if Path("/usr/sbin", tool).exists()), None
    )
    if sbin_tool is None:
        pytest.skip("no tool in /usr/sbin to run")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not run_command([sbin_tool, "-V"]).missing


def test_run_command_times_out() -> None:
    started = time.monotonic()
    out = run_command(["sleep", "30"], timeout=0.3)
    assert out == CommandOutput(-1, "", "timed out after 0.3s")
    assert time.monotonic() - started < 10


def test_run_command_bounds_output_without_blocking_the_child() -> None:
    # 4 MiB through a pipe: the child only exits if the reader keeps draining past the cap.
    out = run_command(["head", "-c", str(4 * 1024 * 1024), "/dev/zero"], max_bytes=1000)
    assert (out.returncode, len(out.stdout)) == (0, 1000)


def test_run_command_decodes_invalid_utf8_with_replacement() -> None:
    out = run_command([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'ok\\xff')"])
    assert out.stdout == "ok\ufffd"


def test_run_command_empty_argv() -> None:
    assert run_command([]).returncode == -1


def test_run_command_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    out = run_command([str(script)])
    assert out.returncode == -1
    assert not out.missing
    assert "ermission denied" in out.stderr
