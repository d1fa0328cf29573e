"""What a target said, made fit for evidence, and passwords kept out of reports."""

from __future__ import annotations

from scanner.probes.evidence import clean, printable, scrub_report, server_message
from scanner.probes.store_report import Auth, Container, FieldReport, StoreReport

HOSTILE = "\x1b[31mred\x00\r\nline\u202eevil\ue000"


def test_clean_drops_control_and_bidi_characters_and_is_bounded() -> None:
    shown = clean(b"\x1b[31mred\x00\r\nline\xe2\x80\xaeevil" + b"x" * 500, 40)
    assert "\x1b" not in shown
    assert "\x00" not in shown
    assert "\u202e" not in shown
    assert shown.startswith("[31mred line evil")
    assert len(shown) == 40
    assert shown.endswith("…")


def test_printable_marks_what_it_cannot_show() -> None:
    assert printable(HOSTILE) == "?[31mred? line?evil?"
    assert printable("x" * 300, 10) == "x" * 9 + "…"


def test_a_server_message_is_one_line_cut_without_an_ellipsis() -> None:
    assert server_message(HOSTILE) == "[31mred line evil"
    assert server_message("Access denied  for\nuser 'root'", 14) == "Access denied "


def _report(text: str) -> StoreReport:
    field = FieldReport(f"f-{text}", masked_examples=(f"m-{text}",))
    return StoreReport(
        "redis",
        Auth.REQUIRED,
        f"auth {text}",
        tls_evidence=f"tls {text}",
        identity=text,
        containers=(Container(f"c-{text}", "key-pattern", 1, (field,)),),
        gaps=(f"gap {text}",),
    )


def test_every_string_of_a_report_is_scrubbed() -> None:
    scrubbed = scrub_report(_report("hunter22"), ["hunter22", ""])
    assert "hunter22" not in repr(scrubbed)
    assert scrubbed == _report("***")


def test_short_passwords_are_left_alone_when_asked() -> None:
    found = _report("abc")
    assert scrub_report(found, ["abc"], shortest=4) is found
    assert scrub_report(found, ["abc"]) == _report("***")
