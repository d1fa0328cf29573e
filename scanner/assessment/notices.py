"""Draft first notices to customers, one per affected segment.

Written now, before anything has happened, so that on the day a breach is
confirmed the notice goes out in hours, not a week (PlayStation Network
customers waited from 19 to 26 April 2011). Each draft follows GDPR Art.
34(2): the nature of the breach, the likely consequences, what is being done
and what people can do, and who to contact. What only the day can tell is
left in [brackets] for the person sending it to fill in; everything else
follows from the data categories the scan found at risk.

The texts never name hosts, addresses or findings: customers need to know
what happened to their data, not the network layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanner.model import Notice

# How each category reads in a letter to a customer.
CATEGORY_WORDS = {
    "email": "email address",
    "phone": "phone number",
    "address": "postal address",
    "name": "name",
    "birth-date": "date of birth",
    "national-id": "national identity number",
    "card-number": "payment card number",
    "iban": "bank account number (IBAN)",
    "password": "account password",
}

# What someone holding the data could do with it, for the "likely consequences".
_CONSEQUENCES = {
    "card-number": "make payments with your card",
    "iban": "set up direct debits from your bank account",
    "password": "sign in to your account",
    "national-id": "open accounts or apply for credit in your name",
    "birth-date": "pass identity checks in your name",
}
_CONTACT = frozenset({"email", "phone", "address", "name"})

# The subject follows the most harmful category the segment has at risk.
_SUBJECTS = (
    ("card-number", "Important: your payment card details may have been exposed"),
    ("iban", "Important: your bank details may have been exposed"),
    ("password", "Important: please change your password"),
    ("national-id", "Important: your identity details may have been exposed"),
)
_DEFAULT_SUBJECT = "Important information about your personal data"

_ADVICE = (
    (
        "password",
        "Change your password for our service now. If you used the same password "
        "anywhere else, change it there too.",
    ),
    (
        "card-number",
        "Check your card statements and tell your bank at once about any payment you "
        "do not recognise. [Say here whether cards are being replaced.]",
    ),
    (
        "iban",
        "Check your bank account for direct debits or transfers you did not make, and "
        "tell your bank about any.",
    ),
    (
        "national-id",
        "Watch for accounts or credit opened in your name; you can ask the credit "
        "reference agencies to place a fraud alert.",
    ),
)
_PHISHING = (
    "Be wary of emails, calls and messages that seem to come from us or mention this "
    "incident: we will never ask you for your password or your full card number."
)
_NO_CARD = "Your payment card details are not held in the affected systems."

CONTACT_LINE = (
    "Questions: [dedicated phone line and opening hours] or [email address]. Our data "
    "protection officer: [name and contact]. You also have the right to complain to "
    "[the data protection supervisory authority]."
)


def words(categories: Sequence[str]) -> str:
    """`("email", "phone")` -> "email address and phone number"."""
    said = [CATEGORY_WORDS.get(c, c) for c in categories]
    if len(said) > 1:
        return ", ".join(said[:-1]) + " and " + said[-1]
    return "".join(said) or "personal details"


def _subject(categories: Sequence[str]) -> str:
    return next((s for c, s in _SUBJECTS if c in categories), _DEFAULT_SUBJECT)


def _consequences(categories: Sequence[str]) -> str:
    could = [_CONSEQUENCES[c] for c in CATEGORY_WORDS if c in categories and c in _CONSEQUENCES]
    if _CONTACT & set(categories):
        could.append("send you convincing fake messages that seem to come from us")
    if not could:
        return ""
    listed = ", ".join(could[:-1]) + " or " + could[-1] if len(could) > 1 else could[0]
    return f" Someone holding this information could try to {listed}."


def _known(categories: Sequence[str]) -> str:
    return (
        "On [date] we found that [what happened, e.g. an unauthorised person reached] "
        f"one of our systems that holds your {words(categories)}. "
        "[What we know about when it started and what was taken.]"
        + _consequences(categories)
        + " We are telling you now, before we know everything, so that you can protect "
        "yourself."
    )


def _doing(categories: Sequence[str]) -> str:
    card = (
        " and our card processor, so that card issuers can watch for fraud"
        if ("card-number" in categories)
        else ""
    )
    return (
        "We [closed the access / took the system offline] on [date]. We are investigating "
        "with independent security specialists and have informed [the data protection "
        f"supervisory authority]{card}. We will write to you again by [date] with what we "
        "have learned."
    )


def _advice(categories: Sequence[str], every: Sequence[str]) -> tuple[str, ...]:
    advice = [text for category, text in _ADVICE if category in categories]
    if _CONTACT & set(categories) or not advice:
        advice.append(_PHISHING)
    if "card-number" in every and "card-number" not in categories:
        advice.append(_NO_CARD)
    return tuple(advice)


def draft_notice(
    segment: str, customers: int | None, categories: Sequence[str], every: Sequence[str]
) -> Notice:
    """The draft to one segment; `every` is all categories at risk (to say what is not)."""
    return Notice(
        segment=segment,
        customers=customers,
        categories=tuple(categories),
        subject=_subject(categories),
        known=_known(categories),
        doing=_doing(categories),
        advice=_advice(categories, every),
        contact=CONTACT_LINE,
    )


def draft_notice_for_everyone(categories: Sequence[str]) -> Notice:
    """One draft for all customers on the exposed systems, when no inventory
    names the segments."""
    return draft_notice(
        "all customers whose data the exposed systems hold", None, categories, categories
    )
