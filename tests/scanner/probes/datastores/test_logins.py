"""Whom a store probe tries to log in as, in which order, and what it says."""

from __future__ import annotations

from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.logins import (
    Attempt,
    attempts,
    credentials,
    none_accepted,
)
from scanner.probes.datastores.report import Auth

MINE = StoreCredential("mysql", "auditor", "s3cret", host="10.0.0.5")
ELSEWHERE = StoreCredential("mysql", "auditor", "other", host="10.0.0.6")


def test_no_password_first_then_the_users_credentials_then_defaults_when_asked() -> None:
    ctx = ProbeContext(credentials=(MINE, ELSEWHERE), try_default_credentials=True)
    tried = attempts("mysql", "10.0.0.5", 3306, ctx, ("root", ""))
    assert [(a.user, a.password) for a in tried] == [
        ("root", ""),
        ("", ""),
        ("auditor", "s3cret"),
        ("root", "root"),
        ("root", "password"),
    ]
    without_defaults = ProbeContext(credentials=(MINE,))
    assert credentials("mysql", "10.0.0.5", 3306, without_defaults) == [MINE]


def test_what_a_login_says() -> None:
    assert Attempt(None, "root").accepted("no password") == (Auth.NONE, "no password")
    assert Attempt(MINE, "auditor").accepted("no password") == (
        Auth.SUPPLIED_CREDENTIALS,
        "logged in with user auditor from your credentials file",
    )
    assert none_accepted([], spoke=False) == (
        Auth.UNKNOWN,
        "the server did not answer a login: no login attempted",
    )
    assert none_accepted([f"user u{n}: denied" for n in range(9)], spoke=True) == (
        Auth.REQUIRED,
        "no login worked: " + "; ".join(f"user u{n}: denied" for n in range(6)),
    )
