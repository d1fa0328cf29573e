"""What a target said, made fit for evidence."""

from __future__ import annotations

from scanner.probes.evidence import clean, printable, server_message

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
