"""Where each output format goes, checked before a scan starts."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat
from scanner.outputs.files import (
    OutputPlan,
    explicit_outputs,
    make_output_dir,
    output_paths,
    prepare_outputs,
    refuse_overwrites,
    write_outputs,
)
from scanner.outputs.gate import FailOn, Gate
from scanner.support.errors import InputError
from tests.factories import make_result

NONE_GIVEN: dict[OutputFormat, Path | None] = dict.fromkeys(OutputFormat)


def test_every_format_has_its_own_default_name() -> None:
    assert set(DEFAULT_FILE_NAMES) == set(OutputFormat)
    assert len(set(DEFAULT_FILE_NAMES.values())) == len(OutputFormat)
    assert DEFAULT_FILE_NAMES == {
        OutputFormat.HTML: "trustscan-report.html",
        OutputFormat.JSON: "trustscan-result.json",
        OutputFormat.SARIF: "trustscan.sarif",
        OutputFormat.JUNIT: "trustscan-junit.xml",
        OutputFormat.MARKDOWN: "trustscan-summary.md",
    }


def test_a_format_alone_gets_its_default_name_in_the_current_directory() -> None:
    paths = output_paths(NONE_GIVEN, [OutputFormat.SARIF, OutputFormat.JUNIT])
    assert paths == {
        OutputFormat.SARIF: Path("trustscan.sarif"),
        OutputFormat.JUNIT: Path("trustscan-junit.xml"),
    }


def test_a_format_alone_goes_into_the_output_dir(tmp_path: Path) -> None:
    paths = output_paths(NONE_GIVEN, list(OutputFormat), tmp_path)
    assert paths == {fmt: tmp_path / DEFAULT_FILE_NAMES[fmt] for fmt in OutputFormat}


def test_an_explicit_path_wins_and_stays_where_it_was_given(tmp_path: Path) -> None:
    explicit = {
        **NONE_GIVEN,
        OutputFormat.SARIF: Path("x.sarif"),
        OutputFormat.JSON: Path("r.json"),
    }
    paths = output_paths(explicit, [OutputFormat.SARIF, OutputFormat.HTML], tmp_path)
    assert paths == {
        OutputFormat.SARIF: Path("x.sarif"),  # not tmp_path / "x.sarif"
        OutputFormat.JSON: Path("r.json"),  # explicit paths are written without --format
        OutputFormat.HTML: tmp_path / "trustscan-report.html",
    }


def test_a_format_named_twice_is_written_once() -> None:
    paths = output_paths(NONE_GIVEN, [OutputFormat.JSON, OutputFormat.JSON])
    assert paths == {OutputFormat.JSON: Path("trustscan-result.json")}


def test_nothing_asked_nothing_written() -> None:
    assert output_paths(NONE_GIVEN) == {}


def test_prepare_creates_a_missing_output_dir_whose_parent_exists(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    plan = prepare_outputs(NONE_GIVEN, [OutputFormat.MARKDOWN], out)
    assert out.is_dir()
    assert plan.files == {OutputFormat.MARKDOWN: out / "trustscan-summary.md"}
    assert plan.stdout is None


def test_prepare_leaves_an_unused_output_dir_alone(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    explicit = {**NONE_GIVEN, OutputFormat.JSON: tmp_path / "r.json"}
    prepare_outputs(explicit, [OutputFormat.JSON], out)
    assert not out.exists()  # every format asked for has its own path


def test_prepare_refuses_an_output_dir_without_a_parent(tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "reports"
    with pytest.raises(InputError) as caught:
        prepare_outputs(NONE_GIVEN, [OutputFormat.JSON], out)
    assert str(caught.value) == f"cannot create {out}: directory {out.parent} does not exist"
    assert not out.parent.exists()


def test_an_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "file"
    out.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="it is not a directory"):
        make_output_dir(out)


def test_an_existing_output_dir_is_fine(tmp_path: Path) -> None:
    make_output_dir(tmp_path)
    assert tmp_path.is_dir()


def test_prepare_checks_explicit_paths_too(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "x.sarif"
    explicit = {**NONE_GIVEN, OutputFormat.SARIF: missing}
    with pytest.raises(InputError, match="does not exist"):
        prepare_outputs(explicit, [OutputFormat.HTML], tmp_path)


def test_write_outputs_writes_each_path_and_says_which(tmp_path: Path) -> None:
    paths = output_paths(NONE_GIVEN, [OutputFormat.MARKDOWN, OutputFormat.JSON], tmp_path)
    written = write_outputs(make_result(), OutputPlan(paths), Gate(FailOn.NEVER))
    assert written == [tmp_path / "trustscan-result.json", tmp_path / "trustscan-summary.md"]
    assert all(p.is_file() for p in written)


def test_an_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    result.write_text("{}")
    for fmt in (OutputFormat.HTML, OutputFormat.MARKDOWN, OutputFormat.JSON):
        with pytest.raises(InputError, match="would overwrite the scan result") as info:
            refuse_overwrites({fmt: result}, [("the scan result", result)])
        assert info.value.exit_code == 2


def test_an_output_reached_through_a_symlink_or_dotdot_is_the_same_file(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    result.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(result)
    roundabout = tmp_path / "sub" / ".." / "r.json"
    (tmp_path / "sub").mkdir()
    for alias in (link, roundabout):
        with pytest.raises(InputError, match="would overwrite"):
            refuse_overwrites({OutputFormat.SARIF: alias}, [("the scan result", result)])


def test_two_outputs_on_one_file_are_refused_even_before_it_exists(tmp_path: Path) -> None:
    same = tmp_path / "out"
    with pytest.raises(InputError, match="are the same file"):
        refuse_overwrites({OutputFormat.HTML: same, OutputFormat.JSON: same}, [])
    with pytest.raises(InputError, match="would overwrite the progress file"):
        refuse_overwrites(
            {OutputFormat.HTML: tmp_path / "r.json.partial"},
            [("the progress file", tmp_path / "r.json.partial")],
        )


def test_distinct_outputs_and_inputs_pass(tmp_path: Path) -> None:
    refuse_overwrites(
        {OutputFormat.HTML: tmp_path / "r.html", OutputFormat.JSON: tmp_path / "r.json"},
        [("the scan result", tmp_path / "old.json"), ("the inventory", None)],
    )


# -o, suffixes, standard output.


def _plan(
    dash_o: str | None = None, formats: tuple[OutputFormat, ...] = (), **named: str
) -> OutputPlan:
    by_format = {OutputFormat(k): v for k, v in named.items()}
    explicit, options = explicit_outputs(dash_o, formats, by_format)
    return prepare_outputs(dict(explicit), formats, None, options)


def test_dash_o_writes_the_one_format_given(tmp_path: Path) -> None:
    path = str(tmp_path / "r.sarif")
    plan = _plan(path, (OutputFormat.SARIF,))
    assert plan.files == {OutputFormat.SARIF: Path(path)}
    assert plan.option(OutputFormat.SARIF) == "-o"
    html = str(tmp_path / "r.html")
    assert _plan(html).files == {OutputFormat.HTML: Path(html)}  # no --format: the HTML report


def test_dash_o_with_several_formats_is_ambiguous(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="-o names one file, and --format names 2 formats"):
        _plan(str(tmp_path / "r"), (OutputFormat.SARIF, OutputFormat.JUNIT))
    with pytest.raises(InputError, match="-o and --sarif both name the sarif output"):
        _plan(str(tmp_path / "a.sarif"), (OutputFormat.SARIF,), sarif=str(tmp_path / "b.sarif"))


@pytest.mark.parametrize(
    ("dash_o", "formats", "named", "message"),
    [
        (
            "r.html",
            (OutputFormat.SARIF,),
            {},
            "-o r.html would write sarif into a file named as html",
        ),
        ("r.sarif", (), {}, "-o r.sarif would write html into a file named as sarif"),
        (
            None,
            (),
            {"json": "r.sarif"},
            "--json r.sarif would write json into a file named as sarif",
        ),
        (
            None,
            (),
            {"junit": "r.json"},
            "--junit r.json would write junit into a file named as json",
        ),
        (None, (), {"json": "r.sarif.json"}, "named as sarif"),
    ],
)
def test_a_name_that_contradicts_the_format_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dash_o: str | None,
    formats: tuple[OutputFormat, ...],
    named: dict[str, str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=re.escape(message)):
        _plan(dash_o, formats, **named)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        (OutputFormat.SARIF, "r.sarif.json"),
        (OutputFormat.SARIF, "R.SARIF"),
        (OutputFormat.JUNIT, "r.junit.xml"),
        (OutputFormat.HTML, "r.htm"),
        (OutputFormat.MARKDOWN, "comment.txt"),  # an ending no format claims
        (OutputFormat.JSON, "result"),
    ],
)
def test_a_name_that_agrees_or_says_nothing_is_taken(
    tmp_path: Path, fmt: OutputFormat, name: str
) -> None:
    plan = _plan(None, (), **{fmt.value: str(tmp_path / name)})
    assert plan.files == {fmt: tmp_path / name}


def test_dash_is_standard_output_for_any_format_and_only_one(tmp_path: Path) -> None:
    plan = _plan(json="-", sarif=str(tmp_path / "r.sarif"))
    assert plan.stdout is OutputFormat.JSON
    assert plan.files == {OutputFormat.SARIF: tmp_path / "r.sarif"}
    assert _plan("-", (OutputFormat.JUNIT,)).stdout is OutputFormat.JUNIT
    assert _plan("-").stdout is OutputFormat.HTML
    with pytest.raises(
        InputError, match="only one output can go to standard output, not --json - and -o -"
    ):
        _plan("-", json="-")
    assert not _plan().files
    assert _plan().table


def test_a_path_named_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    explicit = {**NONE_GIVEN, OutputFormat.JSON: Path("-")}  # `./-` on the command line
    plan = prepare_outputs(explicit)
    assert (plan.stdout, plan.files) == (None, {OutputFormat.JSON: Path("-")})


def test_the_stdout_output_is_written_there_and_nothing_else_is(tmp_path: Path) -> None:
    stream = io.BytesIO()
    plan = _plan(sarif="-", json=str(tmp_path / "r.json"))
    written = write_outputs(make_result(), plan, Gate(), stdout=stream)
    assert written == [tmp_path / "r.json"]
    log = json.loads(stream.getvalue().decode("utf-8"))
    assert log["version"] == "2.1.0"
    assert json.loads((tmp_path / "r.json").read_text())["schema_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_dash_o_with_a_format_writes_that_format(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    write_outputs(make_result(), _plan(str(path), (OutputFormat.JUNIT,)))
    assert ET.fromstring(path.read_bytes()).tag == "testsuites"  # noqa: S314 -- our own output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xml"]


def test_outputs_through_a_symlink_and_into_a_fifo_are_checked_and_written(tmp_path: Path) -> None:
    target = tmp_path / "kept" / "latest.sarif"
    target.parent.mkdir()
    link = tmp_path / "r.sarif"
    link.symlink_to(target)
    fifo = tmp_path / "junit.fifo"
    os.mkfifo(fifo)
    plan = _plan(sarif=str(link), junit=str(fifo))
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_outputs(make_result(), plan)
    reader.join(timeout=30)
    assert got
    assert got[0].startswith(b"<?xml")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert link.is_symlink()
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_a_symlink_into_a_missing_directory_names_that_directory(tmp_path: Path) -> None:
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "gone" / "r.json")
    with pytest.raises(
        InputError, match=re.escape(f"directory {tmp_path / 'gone'} does not exist")
    ):
        _plan(json=str(link))


def test_an_output_that_is_standard_output_twice_is_refused() -> None:
    """`--json - --sarif /dev/stdout`: both on one stream. Here our stdout is
    a pipe of this test's, so the real standard output is never written."""
    read_end, write_end = os.pipe()
    saved = os.dup(1)
    try:
        os.dup2(write_end, 1)
        with pytest.raises(InputError, match="is standard output, where --json - writes"):
            _plan(json="-", sarif=f"/proc/self/fd/{write_end}")
    finally:
        os.dup2(saved, 1)
        for fd in (saved, read_end, write_end):
            os.close(fd)


def test_refusing_overwrites_ignores_standard_output(tmp_path: Path) -> None:
    plan = _plan(json="-", sarif=str(tmp_path / "r.sarif"))
    refuse_overwrites(plan, [("the scan result", Path("-")), ("the inventory", None)])
    with pytest.raises(InputError, match=re.escape("the sarif output (--sarif")):
        refuse_overwrites(plan, [("the scan result", tmp_path / "r.sarif")])
