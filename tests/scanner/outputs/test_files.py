"""Where each output format goes, checked before a scan starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat
from scanner.outputs.files import (
    make_output_dir,
    output_paths,
    prepare_outputs,
    refuse_overwrites,
    write_outputs,
)
from scanner.outputs.gate import FailOn
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
    paths = prepare_outputs(NONE_GIVEN, [OutputFormat.MARKDOWN], out)
    assert out.is_dir()
    assert paths == {OutputFormat.MARKDOWN: out / "trustscan-summary.md"}


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
    written = write_outputs(make_result(), paths, FailOn.NEVER)
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
