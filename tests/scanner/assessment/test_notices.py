"""Draft first notices to customers."""

from __future__ import annotations

import pytest

from scanner.assessment.notices import (
    CATEGORY_WORDS,
    draft_notice,
    draft_notice_for_everyone,
    words,
)


def test_words_read_like_a_letter() -> None:
    assert words(("email",)) == "email address"
    assert words(("email", "phone", "card-number")) == (
        "email address, phone number and payment card number"
    )
    assert words(()) == "personal details"


@pytest.mark.parametrize(
    ("categories", "subject"),
    [
        (("email", "card-number", "password"), "payment card"),
        (("email", "iban", "password"), "bank details"),
        (("email", "password"), "change your password"),
        (("name", "national-id"), "identity details"),
        (("email", "phone"), "Important information about your personal data"),
    ],
)
def test_the_subject_names_the_most_harmful_category(
    categories: tuple[str, ...], subject: str
) -> None:
    assert subject in draft_notice("s", 1, categories, categories).subject


def test_a_notice_says_what_is_known_done_and_to_do() -> None:
    notice = draft_notice(
        "customers with a stored payment card",
        30_000,
        ("email", "card-number", "password"),
        ("email", "card-number"),
    )
    assert "email address, payment card number and account password" in notice.known
    assert "make payments with your card" in notice.known  # the likely consequences
    assert "card processor" in notice.doing
    assert notice.advice[0].startswith("Change your password")
    assert any("card statements" in a for a in notice.advice)
    assert any("never ask you for your password" in a for a in notice.advice)
    assert "data protection officer" in notice.contact
    # What only the day can tell stays a visible placeholder.
    assert "[date]" in notice.known
    assert "[date]" in notice.doing


def test_a_segment_without_cards_is_told_so_when_cards_are_at_risk_elsewhere() -> None:
    without = draft_notice("no card", 5, ("email",), ("email", "card-number"))
    assert "Your payment card details are not held in the affected systems." in without.advice
    alone = draft_notice("no card", 5, ("email",), ("email",))
    assert not any("not held" in a for a in alone.advice)


def test_notices_never_name_the_network() -> None:
    notice = draft_notice_for_everyone(tuple(CATEGORY_WORDS))
    text = " ".join([notice.subject, notice.known, notice.doing, *notice.advice, notice.contact])
    assert "127." not in text
    assert "host" not in text
    assert "port" not in text.lower().split()
