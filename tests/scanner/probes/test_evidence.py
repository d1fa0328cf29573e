"""What a target said, made fit for evidence."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from scanner.probes.evidence import Redactor, clean, printable, server_message

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


# --- blanking the passwords a probe may have sent ------------------------------------

SECRET = "Tr0ub4dor&3 'horse'"  # noqa: S105  # quotes and a space: escaped forms differ
HIDE = Redactor.of([SECRET])


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        SECRET.upper(),
        json.dumps(SECRET)[1:-1],
        repr(SECRET)[1:-1],
        SECRET.replace("'", "''"),  # an SQL literal
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        html.escape(SECRET),
        SECRET.encode().hex().upper(),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        server_message(SECRET + "\x00"),
    ],
)
def test_a_secret_is_blanked_in_every_form_a_server_may_echo_it(echo: str) -> None:
    shown = HIDE(f"you sent <{echo}>; user auditor")
    assert shown == "you sent <***>; user auditor", shown


def test_an_echo_cut_short_is_blanked_too() -> None:
    cut = server_message("FATAL: " + "x" * 170 + " you sent '" + SECRET + "'")
    assert SECRET[:4] in cut
    assert SECRET not in cut
    assert HIDE(cut + "; user root: denied").endswith(" you sent '***; user root: denied")


def test_a_value_is_blanked_whole_only() -> None:
    # A store.auth of "required" stays what rules match, whatever the password begins with.
    hide = Redactor.of(["required-pw-1"])
    assert hide.value("required") == "required"
    assert hide.value("required-pw-1") == "***"
    assert hide("required") == "***"


def test_short_and_public_secrets_are_blanked_only_where_quoted() -> None:
    hide = Redactor.of(["abc"], public=["password"])
    assert hide("abc: you sent 'abc'") == "abc: you sent '***'"
    said = 'password authentication failed: you sent "password"'
    assert hide(said) == 'password authentication failed: you sent "***"'


def test_a_basic_token_is_blanked_as_it_is() -> None:
    token = base64.b64encode(b"auditor:pw").decode()
    assert Redactor.of(["pw"], exact=[token])(f"Authorization: Basic {token}") == (
        "Authorization: Basic ***"
    )


def test_nothing_to_hide_leaves_text_alone() -> None:
    assert Redactor.of(["", ""])("you sent ''") == "you sent ''"
