"""Personal data: recognise it by field name and by value, judge how passwords
are stored, and mask values before anything else sees them.

The data-store probes call `category_of_name` on column, key and field names,
and (only with `--inspect-data`) `summarise_field` on a handful of sampled
values per field. Masking guarantees, which the tests check:

* No string this module returns that derives from a value is raw: it is the
  output of `mask()` (or a count, a category, a storage-form label).
* `mask()` keeps at most: the first character of a name, address or other
  value (`A***`); the first character of an e-mail's local part and its
  domain (`j***@example.com`); the last 4 digits of a card number, the last 4
  digits of an SSN, the country and last 4 characters of an IBAN, the last 2
  digits of a phone number (separators keep their places).
* A password, whatever its form, never shows a character of itself: a
  cleartext one becomes `********`, a hash only its scheme (`bcrypt hash`).
* Every mask is at most 40 characters long; an empty value stays empty.

Recognition is by whole value (a value *is* an e-mail address, not a text
that contains one), and every input is bounded before a pattern touches it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from itertools import islice


@dataclass(frozen=True)
class FieldReport:
    """One column, field or key pattern: what its name says and what samples showed."""

    name: str
    # The personal-data category its name suggests (`email` for `customer_email`).
    category: str = ""
    # Categories the value detectors found in the sample, with how many values.
    detected: tuple[tuple[str, int], ...] = ()
    # Password and secret forms seen: plaintext, bcrypt, argon2, sha-crypt,
    # unsalted-hash, encrypted (high entropy), with counts.
    forms: tuple[tuple[str, int], ...] = ()
    sampled: int = 0
    masked_examples: tuple[str, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        found = [self.category] if self.category else []
        found += [c for c, n in self.detected if n and c != self.category]
        return tuple(found)


class Category(str, Enum):
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    NAME = "name"
    BIRTH_DATE = "birth-date"
    NATIONAL_ID = "national-id"
    CARD_NUMBER = "card-number"
    IBAN = "iban"
    PASSWORD = "password"  # noqa: S105 - a category name, not a credential


MAX_MASK = 40  # characters in any mask() output
MAX_VALUE = 1024  # characters of a value inspected
MAX_VALUES = 1000  # values of a field inspected
_MAX_NAME = 256  # characters of a field or container name inspected

# --- names -------------------------------------------------------------------

# Each pattern is a run of consecutive name words; `a|b` means either word.
# The first pattern that matches wins, unless a word left over (one not in the
# matched run) says the field is about the data rather than the data itself.
_NAME_PATTERNS: tuple[tuple[Category, str], ...] = (
    (Category.PASSWORD, "password|passwd|pwd|passphrase|pw"),
    (Category.PASSWORD, "pass|pw hash|digest|crypt"),
    (Category.PASSWORD, "hashed|encrypted|crypted pass|pw"),
    (Category.EMAIL, "email"),
    (Category.EMAIL, "e mail"),
    (Category.PHONE, "phone|telephone|tel|mobile|cellphone|fax|msisdn"),
    (Category.PHONE, "cell number|no|num"),
    (Category.CARD_NUMBER, "card|cc number|no|num|nr"),
    (Category.CARD_NUMBER, "credit|debit card"),
    (Category.CARD_NUMBER, "ccnum|pan"),
    (Category.IBAN, "iban"),
    (Category.NATIONAL_ID, "ssn|nin|nino|passport"),
    (Category.NATIONAL_ID, "passport id|no|number|num|nr"),
    (Category.NATIONAL_ID, "social security"),
    (Category.NATIONAL_ID, "national id|identifier|number|no|insurance"),
    (Category.NATIONAL_ID, "tax id|identifier|number|no|code"),
    (Category.BIRTH_DATE, "dob|birthday|birthdate"),
    (Category.BIRTH_DATE, "birth date|day|dt|year"),
    (Category.BIRTH_DATE, "date|day|year of birth"),
    (Category.NAME, "first|last|given|family|middle|maiden|full|legal name"),
    (Category.NAME, "surname|forename|firstname|lastname|fullname"),
    (
        Category.NAME,
        "customer|client|contact|person|member|employee|patient|holder|cardholder"
        "|recipient|guest|passenger|student name",
    ),
    (Category.ADDRESS, "address|addr|street|city|zip|zipcode|postcode"),
    (Category.ADDRESS, "postal|zip|post code"),
)


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Left-over words that make a field a flag, a setting or a reference, not the data.
_NOT_THE_DATA = _set(
    "verified confirmed confirmation validated valid validation enabled disabled opt optin"
    " optout consent subscribed unsubscribed bounced bounce type kind format count policy"
    " changed change updated reset expiry expires expired expiration exp length len hint"
    " required status is has attempts failed id ids salt algorithm algo iterations rounds"
    " template pattern regex label visible visibility flag prefix"
)
_NOT_THE_DATA_FOR: dict[Category, frozenset[str]] = {
    Category.ADDRESS: _set(
        "ip ipv4 ipv6 mac remote local server host bind listen wallet web url inet net"
        " network hw ether socket proxy gateway peer node memory mem base offset file"
        " archive path contract dns broadcast multicast bluetooth"
    ),
    Category.EMAIL: _set(
        "server host smtp subject body queue sent provider setting config notification"
    ),
    Category.PHONE: _set("app device os version platform model browser agent"),
}

# Containers (tables, collections, indexes, key prefixes) that hold people:
# there a bare `name` is a person's name.
_PEOPLE = _set(
    "customer user account person people member employee contact client patient staff"
    " student subscriber guest profile applicant candidate passenger"
)

# Names written as one word, split back into theirs.
_GLUED: dict[str, tuple[str, ...]] = {
    "dateofbirth": ("date", "of", "birth"),
    "taxid": ("tax", "id"),
    "socialsecurity": ("social", "security"),
}
# Words split off the end of an unknown glued word: `customeremail`, `ipaddress`.
_SUFFIXES = tuple(
    sorted(
        _set("password passwd address number email phone name addr code date card hash num"),
        key=len,
        reverse=True,
    )
)


def _parse(pattern: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(word.split("|")) for word in pattern.split())


_RULES = tuple((category, _parse(pattern)) for category, pattern in _NAME_PATTERNS)
_VOCABULARY = frozenset(
    {word for _, pattern in _RULES for choice in pattern for word in choice}
    | _NOT_THE_DATA
    | _PEOPLE
    | {word for words in _NOT_THE_DATA_FOR.values() for word in words}
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _singular(word: str) -> str:
    if word in _VOCABULARY:
        return word
    for ending, replacement in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(ending) and word[: -len(ending)] + replacement in _VOCABULARY:
            return word[: -len(ending)] + replacement
    return word


def _unglue(word: str, depth: int = 0) -> list[str]:
    if word in _GLUED:
        return list(_GLUED[word])
    if word in _VOCABULARY or depth > 3:
        return [word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return [*_unglue(word[: -len(suffix)], depth + 1), suffix]
    return [word]


def _words(name: str) -> list[str]:
    """`customerEmailAddress`, `CUSTOMER_EMAIL_ADDRESS`, `customer-emailaddress`
    all become ["customer", "email", "address"]; numbers are dropped."""
    words: list[str] = []
    for raw in _WORD.findall(name[:_MAX_NAME]):
        if raw.isdigit():
            continue
        words.extend(_singular(w) for w in _unglue(_singular(raw.lower())))
    return words


def _matches(category: Category, pattern: tuple[frozenset[str], ...], words: list[str]) -> bool:
    size = len(pattern)
    refused = _NOT_THE_DATA | _NOT_THE_DATA_FOR.get(category, frozenset())
    for start in range(len(words) - size + 1):
        if all(words[start + i] in choice for i, choice in enumerate(pattern)):
            rest = words[:start] + words[start + size :]
            if not refused.intersection(rest):
                return True
    return False


def _holds_people(container: str) -> bool:
    words = _words(container)
    return bool(words) and words[-1] in _PEOPLE


def category_of_name(name: str, container: str = "") -> Category | None:
    """What personal data a column, key or field named `name` (in table,
    collection or key pattern `container`) is meant to hold, if any."""
    words = _words(name)
    for category, pattern in _RULES:
        if _matches(category, pattern, words):
            return category
    if words == ["name"] and _holds_people(container):
        return Category.NAME
    return None


# --- values ------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_CARD_SHAPE = re.compile(r"[0-9](?:[ -]?[0-9]){12,18}")
_SSN = re.compile(r"([0-9]{3})-([0-9]{2})-([0-9]{4})")
_SSN_LIKE = re.compile(r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_E164 = re.compile(r"\+[0-9]{7,15}")
_PHONE_NATIONAL = re.compile(
    r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,5}\)[ .-]?)?[0-9]{1,8}(?:[ .-][0-9]{1,8}){1,5}"
)
_PHONE_CHARS = frozenset("0123456789+-(). ")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_DATE_YMD = re.compile(r"([0-9]{4})[-./ ]([0-9]{1,2})[-./ ]([0-9]{1,2})")
_DATE_DMY = re.compile(r"([0-9]{1,2})[-./ ]([0-9]{1,2})[-./ ]([0-9]{2}|[0-9]{4})")

# Issuer ranges: (first, last, prefix digits, allowed lengths).
_ANY = frozenset(range(16, 20))
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (4, 4, 1, frozenset({13, 16, 19})),  # Visa
    (51, 55, 2, frozenset({16})),  # Mastercard
    (2221, 2720, 4, frozenset({16})),  # Mastercard 2-series
    (34, 34, 2, frozenset({15})),  # American Express
    (37, 37, 2, frozenset({15})),
    (6011, 6011, 4, _ANY),  # Discover
    (65, 65, 2, _ANY),
    (644, 649, 3, _ANY),
    (3528, 3589, 4, _ANY),  # JCB
    (300, 305, 3, frozenset(range(14, 20))),  # Diners Club
    (36, 36, 2, frozenset(range(14, 20))),
    (38, 38, 2, frozenset(range(14, 20))),
)

# IBAN lengths: SEPA (EU, EEA, Switzerland, the UK and the microstates).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check; spaces and dashes between digits are ignored."""
    number = digits.replace(" ", "").replace("-", "")
    if len(number) < 2 or not (number.isascii() and number.isdigit()):
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_issuer_known(number: str) -> bool:
    for first, last, width, lengths in _CARD_RANGES:
        if len(number) in lengths and first <= int(number[:width]) <= last:
            return True
    return False


def _is_card(text: str) -> bool:
    if len(text) > 32 or not _CARD_SHAPE.fullmatch(text):
        return False
    number = text.replace(" ", "").replace("-", "")
    return len(set(number)) > 1 and luhn_valid(number) and _card_issuer_known(number)


def _is_ssn(text: str) -> bool:
    found = _SSN.fullmatch(text)
    if not found:
        return False
    area, group, serial = (int(part) for part in found.groups())
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def iban_valid(text: str) -> bool:
    """Country code, known length for that country, and ISO 7064 mod 97 == 1."""
    compact = text[:64].replace(" ", "").upper()
    if not compact.isascii() or not _IBAN_SHAPE.fullmatch(compact):
        return False
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_date(text: str) -> bool:
    ymd = _DATE_YMD.fullmatch(text)
    if ymd:
        month, day = int(ymd.group(2)), int(ymd.group(3))
        return 1 <= month <= 12 and 1 <= day <= 31
    dmy = _DATE_DMY.fullmatch(text)
    if dmy:
        first, second = int(dmy.group(1)), int(dmy.group(2))
        # Day-month or month-day: either reading being a date is enough.
        return 1 <= min(first, second) <= 12 and 1 <= max(first, second) <= 31
    return False


def _phone_shaped(text: str) -> bool:
    """Only phone characters and 7 to 15 digits: the shape mask() keeps."""
    digits = sum(char.isdigit() for char in text)
    return len(text) <= MAX_MASK and set(text) <= _PHONE_CHARS and 7 <= digits <= 15


def _is_phone(text: str) -> bool:
    if len(text) > 32 or not _phone_shaped(text):
        return False
    if not (_E164.fullmatch(text) or _PHONE_NATIONAL.fullmatch(text)):
        return False
    if _is_card(text) or _is_date(text) or _IPV4.fullmatch(text) or _SSN_LIKE.fullmatch(text):
        return False
    separators = [char for char in text if not char.isdigit()]
    # A decimal number (1234.5678) is not a phone number.
    return separators != ["."]


def detect(value: str) -> Category | None:
    """The category a value is, judged from the value alone.

    Birth dates are not detected (dates are everywhere); PASSWORD is detected
    for values in a recognised password-hash format (`$2b$...`, `$argon2id$...`).
    """
    text = value.strip()
    if not text or len(text) > 254:
        return None
    if password_form(text) in _HASH_SCHEMES:
        return Category.PASSWORD
    if _EMAIL.fullmatch(text):
        return Category.EMAIL
    if _is_card(text):
        return Category.CARD_NUMBER
    if _is_ssn(text):
        return Category.NATIONAL_ID
    if iban_valid(text):
        return Category.IBAN
    if _is_phone(text):
        return Category.PHONE
    return None


# --- passwords ---------------------------------------------------------------

_B64 = r"[./A-Za-z0-9]"
_PASSWORD_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bcrypt", re.compile(rf"\$2[abxy]?\$[0-9]{{2}}\${_B64}{{53}}")),
    (
        "argon2",
        re.compile(r"\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+\$[^$]+\$[^$]+"),
    ),
    ("scrypt", re.compile(r"\$scrypt\$[A-Za-z0-9=,$./+-]{10,}|\$7\$[./A-Za-z0-9$]{10,}")),
    (
        "sha-crypt",
        re.compile(rf"\$[56]\$(?:rounds=[0-9]+\$)?[^$]{{0,16}}\$(?:{_B64}{{43}}|{_B64}{{86}})"),
    ),
    ("yescrypt", re.compile(rf"\$y\${_B64}+\${_B64}*\${_B64}{{43}}")),
    (
        "pbkdf2",
        re.compile(
            r"pbkdf2_sha(?:1|256|512)\$[0-9]+\$[^$]+\$[A-Za-z0-9+/=]+"
            r"|\$pbkdf2(?:-sha(?:1|256|512))?\$[0-9]+\$[./A-Za-z0-9+=]+\$[./A-Za-z0-9+=]+"
        ),
    ),
    ("md5-crypt", re.compile(rf"\$(?:1|apr1)\$[^$]{{0,8}}\${_B64}{{22}}")),
    ("scram-sha-256", re.compile(r"SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=:]+")),
    # Hex digests of md5, sha1, sha224, sha256, sha384, sha512; MySQL's
    # mysql_native_password is an unsalted double sha1.
    ("unsalted-hash", re.compile(r"(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}"
                                 r"|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128}"
                                 r"|\*[0-9A-F]{40})")),
)  # fmt: skip
# Forms that only a password hash takes: what detect() calls PASSWORD.
_HASH_SCHEMES = frozenset(
    {"bcrypt", "argon2", "scrypt", "sha-crypt", "yescrypt", "pbkdf2", "md5-crypt", "scram-sha-256"}
)
# LDAP / Spring `{SCHEME}` prefixes.
_LABELLED = re.compile(r"\{([A-Za-z0-9_.-]{1,20})\}(.*)", re.DOTALL)
_LABELS = {
    "sha": "unsalted-hash",
    "md5": "unsalted-hash",
    "sha256": "unsalted-hash",
    "sha512": "unsalted-hash",
    "ssha": "salted-hash",
    "ssha256": "salted-hash",
    "ssha512": "salted-hash",
    "smd5": "salted-hash",
    "noop": "plaintext",
    "plain": "plaintext",
    "cleartext": "plaintext",
}
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_.-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _digest_like(text: str) -> bool:
    """A digest's hex digits are spread out and mix letters and digits:
    `aaaa...` or a 40-digit number of the right length is no digest."""
    hexits = text.lstrip("*")
    return (
        _entropy(hexits) >= 3.0
        and any(c.isdigit() for c in hexits)
        and any(c.isalpha() for c in hexits)
    )


def password_form(value: str) -> str:
    """How a stored password is kept: a hash scheme (`bcrypt`, `argon2`, `scrypt`,
    `sha-crypt`, `yescrypt`, `pbkdf2`, `scram-sha-256`), a weak one (`md5-crypt`,
    `unsalted-hash`, `salted-hash`), `encrypted` (long and high-entropy),
    `empty` or `plaintext`."""
    if value == "":
        return "empty"
    text = value[:MAX_VALUE].strip()
    labelled = _LABELLED.fullmatch(text)
    if labelled:
        scheme, rest = labelled.group(1).lower(), labelled.group(2)
        if scheme in _LABELS:
            return _LABELS[scheme]
        return _unlabelled_form(rest) if rest else "plaintext"
    return _unlabelled_form(text)


def _unlabelled_form(text: str) -> str:
    for form, pattern in _PASSWORD_FORMS:
        if pattern.fullmatch(text) and (form != "unsalted-hash" or _digest_like(text)):
            return form
    if len(text) >= 24 and _OPAQUE.fullmatch(text):
        # Hex carries at most 4 bits a character; judge it against its own alphabet.
        if _HEX.fullmatch(text):
            if len(text) >= 32 and _entropy(text) >= 3.5:
                return "encrypted"
        elif _entropy(text) >= 4.5:
            return "encrypted"
    return "plaintext"


# --- masks -------------------------------------------------------------------


def _initial(text: str) -> str:
    first = text.strip()[:1]
    return (first if first.isalnum() else "*") + "***"


def _mask_email(text: str) -> str:
    stripped = text.strip()
    found = _EMAIL.fullmatch(stripped) if len(stripped) <= 254 else None
    if not found:
        return _initial(text)
    domain = found.group(1)
    room = MAX_MASK - len("x***@")
    if len(domain) > room:
        domain = "..." + domain[-(room - 3) :]
    return _initial(text)[:1] + "***@" + domain


def _mask_card(text: str) -> str:
    digits = "".join(char for char in text if char.isdigit())
    return "**** **** **** " + digits[-4:] if len(digits) >= 12 else "****"


def _mask_iban(text: str) -> str:
    compact = "".join(text.split()).upper()
    if compact.isascii() and _IBAN_SHAPE.fullmatch(compact) and len(compact) >= 12:
        return compact[:2] + "** **** **** " + compact[-4:]
    return _initial(text)


def _mask_national_id(text: str) -> str:
    stripped = text.strip()
    if _SSN_LIKE.fullmatch(stripped):
        return "***-**-" + stripped[-4:]
    return _initial(text)


def _mask_phone(text: str) -> str:
    stripped = text.strip()
    if not _phone_shaped(stripped):
        return _initial(text)
    keep = sum(char.isdigit() for char in stripped) - 2
    out: list[str] = []
    for char in stripped:
        if char.isdigit():
            out.append("*" if keep > 0 else char)
            keep -= 1
        else:
            out.append(char)
    return "".join(out)


def _mask_password(text: str) -> str:
    form = password_form(text)
    if form in _HASH_SCHEMES:
        return f"{form} hash"
    if form in ("unsalted-hash", "salted-hash"):
        return form.replace("-", " ")
    if form == "encrypted":
        return "encrypted value"
    return "********"


_MASKS: dict[Category, Callable[[str], str]] = {
    Category.EMAIL: _mask_email,
    Category.CARD_NUMBER: _mask_card,
    Category.IBAN: _mask_iban,
    Category.NATIONAL_ID: _mask_national_id,
    Category.PHONE: _mask_phone,
    Category.PASSWORD: _mask_password,
}


def mask(value: str, category: Category | None = None) -> str:
    """`value` with all but the parts the module docstring allows hidden.
    Without a category the value's detected category decides the shape."""
    if value == "":
        return ""
    text = value[:MAX_VALUE]
    chosen = category if category is not None else detect(text)
    masker = _MASKS.get(chosen, _initial) if chosen is not None else _initial
    return masker(text)[:MAX_MASK]


# --- fields ------------------------------------------------------------------


def _as_text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value[: MAX_VALUE * 4]).decode("utf-8", errors="replace")[:MAX_VALUE]
    if isinstance(value, str):
        return value[:MAX_VALUE]
    return str(value)[:MAX_VALUE]


def summarise_field(
    name: str, container: str, values: Iterable[object], max_examples: int = 3
) -> FieldReport:
    """Counts, categories, password forms and masked examples for one field.

    Raw values go no further than this function: the report holds only what
    `mask()` made of them.
    """
    named = category_of_name(name, container)
    detected: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    # Masked examples in the order first seen, with the category each was masked as;
    # at most `max_examples` a category, so the list stays bounded.
    candidates: dict[str, str] = {}
    per_category: Counter[str] = Counter()
    sampled = 0
    for value in islice(values, MAX_VALUES):
        if value is None:
            continue
        text = _as_text(value)
        sampled += 1
        found = detect(text)
        if named is Category.PASSWORD and found is not Category.PASSWORD:
            found = None  # a password that looks like a phone number is still a password
        if found is not None:
            detected[found.value] += 1
        if named is Category.PASSWORD or found is Category.PASSWORD:
            forms[password_form(text)] += 1
        # A password column's values are passwords, whatever they look like.
        shape = named if named is Category.PASSWORD else (found or named)
        if shape is not None and per_category[shape.value] < max_examples:
            masked = mask(text, shape)
            if masked and masked not in candidates:
                candidates[masked] = shape.value
                per_category[shape.value] += 1
    if named is None:
        # No name to go by: only what most of the values are counts.
        detected = Counter({c: n for c, n in detected.items() if n * 2 >= sampled})
    kept = set(detected) | ({named.value} if named is not None else set())
    examples = [masked for masked, category in candidates.items() if category in kept]
    return FieldReport(
        name=name,
        category=named.value if named is not None else "",
        detected=tuple(sorted(detected.items())),
        forms=tuple(sorted(forms.items())),
        sampled=sampled,
        masked_examples=tuple(examples[: max(max_examples, 0)]),
    )
