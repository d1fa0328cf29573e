"""What the README promises a user who installs trustscan: an install from the
repository with pip into a fresh virtualenv works (rules and templates
inside), and shell completion answers."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.support import REPO

COMPLETE = "_TRUSTSCAN_COMPLETE"


def _trustscan() -> list[str]:
    return [sys.executable, "-m", "scanner"]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash_source", "complete -o nosort -F"), ("zsh_source", "#compdef trustscan"),
     ("fish_source", "complete --no-files --command trustscan")],
)  # fmt: skip
def test_shell_completion_scripts_are_printed(shell: str, marker: str) -> None:
    env = {**os.environ, COMPLETE: shell}
    run = subprocess.run(
        [*_trustscan()], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )
    assert marker in run.stdout


def test_completion_answers_commands_and_options() -> None:
    env = {**os.environ, COMPLETE: "bash_complete", "COMP_WORDS": "trustscan sc", "COMP_CWORD": "1"}
    run = subprocess.run(
        [*_trustscan()], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )
    assert "plain,scan" in run.stdout.splitlines()
    env.update(COMP_WORDS="trustscan scan --fail-o", COMP_CWORD="2")
    run = subprocess.run(
        [*_trustscan()], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )
    assert any(line.startswith("plain,--fail-on") for line in run.stdout.splitlines())


def test_a_user_install_from_the_repository_runs(tmp_path: Path) -> None:
    # The README's `pip install /path/to/trustscan`, into a fresh virtualenv,
    # from the wheel the project builds (tests/test_packaging.py builds it too).
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-300:]}")
    (wheel,) = wheels.glob("*.whl")
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    # --no-deps: the dependencies come from this interpreter's site-packages
    # (named by a .pth file, so found after the new environment's own, and
    # without this checkout, which the editable install adds through a .pth
    # file there that a plain path entry does not run), so the test needs no
    # network; the install itself is the user's.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    (Path(site) / "trustscan-test-deps.pth").write_text(deps + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    listed = subprocess.run(
        [str(home / "bin" / "trustscan"), "rules", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "apache-httpd-eol" in listed.stdout
    # The package run is the installed wheel, not this checkout.
    where = subprocess.run(
        [str(python), "-c", "import scanner; print(scanner.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(home)), where
