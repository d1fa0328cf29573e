"""Personal-data recognition, password forms and masking (scanner.probes.personal_data)."""

from __future__ import annotations

import base64
import hashlib
import random
import string
from collections.abc import Iterator

import bcrypt
import pytest

from scanner.probes.personal_data import (
    Category,
    category_of_name,
    detect,
    iban_valid,
    luhn_valid,
    mask,
    password_form,
    summarise_field,
)

# --- names -------------------------------------------------------------------

C = Category

# (name, container, expected category)
NAMES: list[tuple[str, str, Category | None]] = [
    # e-mail
    ("email", "", C.EMAIL),
    ("e_mail", "", C.EMAIL),
    ("E-Mail", "", C.EMAIL),
    ("emailAddress", "", C.EMAIL),
    ("email_address", "", C.EMAIL),
    ("customer_email", "orders", C.EMAIL),
    ("CUSTOMER_EMAIL", "", C.EMAIL),
    ("contactEmail", "", C.EMAIL),
    ("emails", "", C.EMAIL),
    ("user:1001:email", "", C.EMAIL),
    # phone
    ("phone", "", C.PHONE),
    ("phone_number", "", C.PHONE),
    ("phoneNumber", "", C.PHONE),
    ("mobile", "", C.PHONE),
    ("mobile_number", "", C.PHONE),
    ("tel", "", C.PHONE),
    ("telephone", "", C.PHONE),
    ("home_phone", "", C.PHONE),
    # address
    ("address", "", C.ADDRESS),
    ("street", "", C.ADDRESS),
    ("street_address", "", C.ADDRESS),
    ("address_line1", "", C.ADDRESS),
    ("addressLine2", "", C.ADDRESS),
    ("addr1", "", C.ADDRESS),
    ("billing_address", "", C.ADDRESS),
    ("city", "", C.ADDRESS),
    ("zip", "", C.ADDRESS),
    ("zipcode", "", C.ADDRESS),
    ("zip_code", "", C.ADDRESS),
    ("postcode", "", C.ADDRESS),
    ("postal_code", "", C.ADDRESS),
    ("PostalCode", "", C.ADDRESS),
    # names of people
    ("first_name", "", C.NAME),
    ("firstName", "", C.NAME),
    ("FIRSTNAME", "", C.NAME),
    ("last_name", "", C.NAME),
    ("lastname", "", C.NAME),
    ("surname", "", C.NAME),
    ("full_name", "", C.NAME),
    ("given_name", "", C.NAME),
    ("family_name", "", C.NAME),
    ("customer_name", "orders", C.NAME),
    ("cardholder_name", "payments", C.NAME),
    ("name", "customers", C.NAME),
    ("name", "customer", C.NAME),
    ("name", "users", C.NAME),
    ("name", "public.accounts", C.NAME),
    ("name", "persons", C.NAME),
    ("name", "people", C.NAME),
    ("name", "members", C.NAME),
    ("name", "employees", C.NAME),
    ("name", "contacts", C.NAME),
    ("name", "clients", C.NAME),
    ("name", "patients", C.NAME),
    ("Name", "customer:*", C.NAME),
    # birth dates
    ("dob", "", C.BIRTH_DATE),
    ("DOB", "", C.BIRTH_DATE),
    ("birth_date", "", C.BIRTH_DATE),
    ("birthdate", "", C.BIRTH_DATE),
    ("date_of_birth", "", C.BIRTH_DATE),
    ("dateOfBirth", "", C.BIRTH_DATE),
    ("dateofbirth", "", C.BIRTH_DATE),
    ("birthday", "", C.BIRTH_DATE),
    # national identifiers
    ("ssn", "", C.NATIONAL_ID),
    ("SSN", "", C.NATIONAL_ID),
    ("social_security", "", C.NATIONAL_ID),
    ("social_security_number", "", C.NATIONAL_ID),
    ("national_id", "", C.NATIONAL_ID),
    ("nin", "", C.NATIONAL_ID),
    ("passport_no", "", C.NATIONAL_ID),
    ("passportNumber", "", C.NATIONAL_ID),
    ("tax_id", "", C.NATIONAL_ID),
    ("taxId", "", C.NATIONAL_ID),
    # cards
    ("card_number", "", C.CARD_NUMBER),
    ("cardNumber", "", C.CARD_NUMBER),
    ("cc_number", "", C.CARD_NUMBER),
    ("ccnum", "", C.CARD_NUMBER),
    ("CCNum", "", C.CARD_NUMBER),
    ("credit_card", "", C.CARD_NUMBER),
    ("creditCardNumber", "", C.CARD_NUMBER),
    ("pan", "", C.CARD_NUMBER),
    ("card_no", "", C.CARD_NUMBER),
    # bank accounts
    ("iban", "", C.IBAN),
    ("IBAN", "", C.IBAN),
    ("payout_iban", "", C.IBAN),
    # passwords
    ("password", "", C.PASSWORD),
    ("Password", "", C.PASSWORD),
    ("passwd", "", C.PASSWORD),
    ("pwd", "", C.PASSWORD),
    ("pass_hash", "", C.PASSWORD),
    ("password_hash", "", C.PASSWORD),
    ("passwordHash", "", C.PASSWORD),
    ("hashed_password", "", C.PASSWORD),
    ("pw_hash", "", C.PASSWORD),
    ("userPassword", "", C.PASSWORD),
    # --- not personal data, though a word looks like it
    ("product_name", "customers", None),
    ("productName", "", None),
    ("hostname", "", None),
    ("host_name", "", None),
    ("username", "users", None),
    ("user_name", "users", None),
    ("filename", "", None),
    ("file_name", "", None),
    ("name", "products", None),
    ("name", "", None),
    ("name", "user_sessions", None),
    ("ip_address", "", None),
    ("ipAddress", "", None),
    ("ipaddr", "", None),
    ("mac_address", "", None),
    ("remote_addr", "", None),
    ("server_address", "", None),
    ("email_verified", "", None),
    ("emailVerified", "", None),
    ("is_email_confirmed", "", None),
    ("phone_verified", "", None),
    ("card_type", "", None),
    ("card_expiry", "", None),
    ("credit_card_type", "", None),
    ("company", "", None),
    ("company_name", "", None),
    ("password_reset_token", "", None),
    ("password_changed_at", "", None),
    ("password_salt", "", None),
    ("address_id", "", None),
    ("city_id", "", None),
    ("zip_file", "", None),
    ("mobile_app_version", "", None),
    ("email_template", "", None),
    ("id", "customers", None),
    ("created_at", "customers", None),
    ("title", "products", None),
    ("price", "products", None),
    ("total", "orders", None),
    ("", "", None),
]


@pytest.mark.parametrize(("name", "container", "expected"), NAMES)
def test_category_of_name(name: str, container: str, expected: Category | None) -> None:
    assert category_of_name(name, container) is expected


def test_category_of_name_is_bounded() -> None:
    assert category_of_name("x" * 100_000 + "_email") is None  # past the name limit
    assert category_of_name("email_" + "x" * 100_000) is C.EMAIL


# --- values ------------------------------------------------------------------

TEST_CARDS = [
    "4111111111111111",  # Visa
    "4012888888881881",  # Visa
    "5555555555554444",  # Mastercard
    "378282246310005",  # American Express
    "6011111111111117",  # Discover
    "3530111333300000",  # JCB
    "2223003122003222",  # Mastercard 2-series
    "30569309025904",  # Diners Club
]


def _luhn_digit(partial: str) -> str:
    """Check digit computed independently of scanner.probes.personal_data."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return str(-total % 10)


def _rng(seed: int) -> random.Random:
    # Made-up test data must come out the same every run: a seeded generator.
    return random.Random(seed)  # noqa: S311


def _random_digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


@pytest.mark.parametrize("card", TEST_CARDS)
def test_test_cards_are_card_numbers(card: str) -> None:
    assert luhn_valid(card)
    assert detect(card) is C.CARD_NUMBER
    assert _luhn_digit(card[:-1]) == card[-1]


@pytest.mark.parametrize(
    "printed",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", " 5555555555554444 "],
)
def test_card_numbers_with_separators(printed: str) -> None:
    assert detect(printed) is C.CARD_NUMBER


@pytest.mark.parametrize("card", TEST_CARDS)
def test_one_digit_changed_is_not_a_card(card: str) -> None:
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert not luhn_valid(wrong)
    assert detect(wrong) is None


@pytest.mark.parametrize(
    "value",
    [
        "0000000000000000",  # Luhn-valid, all one digit
        "4" * 16,  # one digit again, Visa prefix
        "9" + "0" * 14 + _luhn_digit("9" + "0" * 14),  # Luhn-valid, no issuer
        "1234567812345670",  # Luhn-valid, no issuer
        "41111111111111111111",  # 20 digits
        "411111111111",  # 12 digits
        "4111 1111 1111 111x",
        "4111  1111 1111 1111",  # doubled separator
    ],
)
def test_not_card_numbers(value: str) -> None:
    assert detect(value) is not C.CARD_NUMBER


def test_random_sixteen_digit_strings() -> None:
    rng = _rng(1)
    for _ in range(300):
        # Luhn-valid but outside every issuer range (prefixes 1, 7, 8, 9, 0).
        body = rng.choice("17890") + _random_digits(rng, 14)
        assert detect(body + _luhn_digit(body)) is None
        # A Visa prefix but a wrong check digit.
        body = "4" + _random_digits(rng, 14)
        wrong = str((int(_luhn_digit(body)) + rng.randrange(1, 10)) % 10)
        assert detect(body + wrong) is None
        # A Visa prefix and the right check digit.
        assert detect(body + _luhn_digit(body)) is C.CARD_NUMBER


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("4111 1111 1111 1111", True),
        ("", False),
        ("0", False),
        ("abc", False),
        ("٤١١١١١١١١١١١١١١١", False),  # non-ASCII digits
    ],
)
def test_luhn_valid(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


IBANS = ["GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606"]


@pytest.mark.parametrize("iban", IBANS)
def test_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)
    assert detect(iban) is C.IBAN
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert iban_valid(spaced)
    assert detect(spaced) is C.IBAN
    assert iban_valid(iban.lower())


@pytest.mark.parametrize("iban", IBANS)
@pytest.mark.parametrize("position", [2, 3, 8, -1])
def test_one_digit_changed_iban_is_invalid(iban: str, position: int) -> None:
    chars = list(iban)
    chars[position] = str((int(chars[position]) + 1) % 10)
    wrong = "".join(chars)
    assert not iban_valid(wrong)
    assert detect(wrong) is None


@pytest.mark.parametrize(
    "value",
    [
        "GB82WEST1234569876543",  # one short for GB
        "GB82WEST123456987654321",  # one long
        "XX82WEST12345698765432",  # no such country
        "DE89 3704 0044 0532 0130 00 00",
        "GB82-WEST-1234",
        "",
    ],
)
def test_invalid_ibans(value: str) -> None:
    assert not iban_valid(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123-45-6789", C.NATIONAL_ID),
        ("078-05-1120", C.NATIONAL_ID),
        ("899-99-9999", C.NATIONAL_ID),
        ("000-12-3456", None),  # area 000
        ("666-12-3456", None),  # area 666
        ("900-12-3456", None),  # areas 900-999
        ("999-12-3456", None),
        ("123-00-4567", None),  # group 00
        ("123-45-0000", None),  # serial 0000
        ("123456789", None),  # undashed: could be anything
        ("123-456-789", C.PHONE),  # not the SSN shape; nine digits in threes dial fine
    ],
)
def test_social_security_numbers(value: str, expected: Category | None) -> None:
    assert detect(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john.doe@example.com", C.EMAIL),
        ("a+tag@mail.example.co.uk", C.EMAIL),
        ("O'Brien@example.ie", C.EMAIL),
        ("  x@example.org  ", C.EMAIL),
        ("john@localhost", None),
        ("john@@example.com", None),
        ("@example.com", None),
        ("john@example", None),
        ("john doe@example.com", None),
        ("a" * 65 + "@example.com", None),  # local part over 64
        ("x@" + "a" * 64 + ".com", None),  # label over 63
        ("x@example.c", None),
        ("mailto:x@example.com", None),
        # phones
        ("+14155552671", C.PHONE),
        ("+1 415 555 2671", C.PHONE),
        ("+1-202-555-0142", C.PHONE),
        ("+44 7700 900123", C.PHONE),
        ("+44 (0)20 7946 0958", C.PHONE),
        ("(555) 123-4567", C.PHONE),
        ("555-123-4567", C.PHONE),
        ("07700 900123", C.PHONE),
        ("030 12345678", C.PHONE),
        ("5551234567", None),  # bare digits: an id as likely as a phone
        ("+123456", None),  # 6 digits
        ("+1234567890123456", None),  # 16 digits
        ("2024-01-15", None),  # dates
        ("15.01.2024", None),
        ("01 15 2024", None),
        ("192.168.100.200", None),  # an IPv4 address
        ("1234.5678", None),  # a decimal
        ("12345", None),
        ("call 555-123-4567", None),
        # birth dates are never detected from values
        ("1985-03-12", None),
        ("12/03/1985", None),
        # other text
        ("hello world", None),
        ("", None),
        ("   ", None),
        ("x" * 10_000, None),
    ],
)
def test_detect(value: str, expected: Category | None) -> None:
    assert detect(value) is expected


# --- password forms ----------------------------------------------------------

# `openssl passwd -6 -salt Xk3pQz9w 'correct horse'`
SHA512_CRYPT = (
    "$6$Xk3pQz9w$"
    "bzVA6cGyg6pcSpC1UaJjg1wMxUFhvhimEAUW78u3OxyuW6KuMGAzN2MMH3VN2YMwN5AsQt9WjUfHLwH2StQLK/"
)
# `openssl passwd -5 -salt Xk3pQz9w 'correct horse'`
SHA256_CRYPT = "$5$Xk3pQz9w$bxIZP40PdE3lHaLFjxDB0RLXF8WKFElDtKBo2rxtfO9"
# `openssl passwd -1 -salt abcdefgh hunter2`, `openssl passwd -apr1 -salt abcdefgh hunter2`
MD5_CRYPT = "$1$abcdefgh$vhxKZ/s1ygZHyCEDPyqtQ/"
APR1 = "$apr1$abcdefgh$ckT15POyCRlen.h6XtGAZ1"
# libxcrypt crypt("hunter2", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$")
YESCRYPT = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$PmNgGTLMFjJn.URBv11CpTEm5RwlKtPjRtztKe6.b33"
ARGON2ID = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "RdescudvJCsgt3ub+b+dWRWJTmaaJObG9j7ubHU0W4o"
)
ARGON2I = "$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"
SCRYPT_PASSLIB = (
    "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"
)
SCRYPT_7 = "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D"


def _bcrypt_hash(password: bytes = b"hunter2") -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=4)).decode()


def _ab64(data: bytes) -> str:
    """passlib's adapted base64."""
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def _django_pbkdf2() -> str:
    digest = hashlib.pbkdf2_hmac("sha256", b"hunter2", b"seasalt1", 1000)
    return f"pbkdf2_sha256$1000$seasalt1${base64.b64encode(digest).decode()}"


def _passlib_pbkdf2() -> str:
    digest = hashlib.pbkdf2_hmac("sha256", b"hunter2", b"0123456789abcdef", 1000)
    return f"$pbkdf2-sha256$1000${_ab64(b'0123456789abcdef')}${_ab64(digest)}"


def _mysql_native() -> str:
    inner = hashlib.sha1(b"hunter2").digest()  # noqa: S324 - that is what MySQL stores
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324


def _random_base64(count: int, seed: int = 7) -> str:
    return base64.b64encode(_rng(seed).randbytes(count)).decode()


def _random_hex(count: int, seed: int = 8) -> str:
    return _rng(seed).randbytes(count).hex()


FORMS: list[tuple[str, str]] = [
    (SHA512_CRYPT, "sha-crypt"),
    (SHA256_CRYPT, "sha-crypt"),
    (MD5_CRYPT, "md5-crypt"),
    (APR1, "md5-crypt"),
    (YESCRYPT, "yescrypt"),
    (ARGON2ID, "argon2"),
    (ARGON2I, "argon2"),
    (ARGON2ID.replace("argon2id", "argon2d"), "argon2"),
    (SCRYPT_PASSLIB, "scrypt"),
    (SCRYPT_7, "scrypt"),
    (_django_pbkdf2(), "pbkdf2"),
    (_passlib_pbkdf2(), "pbkdf2"),
    (hashlib.md5(b"hunter2").hexdigest(), "unsalted-hash"),  # noqa: S324
    (hashlib.sha1(b"hunter2").hexdigest(), "unsalted-hash"),  # noqa: S324
    (hashlib.sha256(b"hunter2").hexdigest(), "unsalted-hash"),
    (hashlib.sha512(b"hunter2").hexdigest(), "unsalted-hash"),
    (hashlib.sha256(b"hunter2").hexdigest().upper(), "unsalted-hash"),
    (_mysql_native(), "unsalted-hash"),
    ("{SHA}" + base64.b64encode(hashlib.sha1(b"x").digest()).decode(), "unsalted-hash"),  # noqa: S324
    ("{SSHA}" + _random_base64(24), "salted-hash"),
    ("{noop}hunter2", "plaintext"),
    (_random_base64(48), "encrypted"),
    (_random_base64(32, seed=9), "encrypted"),
    (_random_hex(40), "encrypted"),  # 80 hex characters: no digest has that length
    ("hunter2", "plaintext"),
    ("correct horse battery staple", "plaintext"),
    ("Tr0ub4dor&3", "plaintext"),
    ("a" * 40, "plaintext"),  # 40 hex digits, but no digest looks like that
    ("0123456789" * 4, "plaintext"),
    ("passwordpasswordpassword", "plaintext"),  # long, low entropy
    (hashlib.md5(b"x").hexdigest()[:31], "plaintext"),  # noqa: S324 - 31 hex: no digest
    (SHA512_CRYPT[:-1], "plaintext"),  # truncated hash
    ("", "empty"),
    (" ", "plaintext"),
]


@pytest.mark.parametrize(("value", "form"), FORMS)
def test_password_form(value: str, form: str) -> None:
    assert password_form(value) == form


@pytest.mark.parametrize("cost", [4, 5])
def test_real_bcrypt_hashes(cost: int) -> None:
    hashed = bcrypt.hashpw(b"hunter2", bcrypt.gensalt(rounds=cost)).decode()
    assert hashed.startswith(f"$2b$0{cost}$")
    assert password_form(hashed) == "bcrypt"
    assert password_form(hashed.replace("$2b$", "$2a$", 1)) == "bcrypt"
    assert password_form(hashed.replace("$2b$", "$2y$", 1)) == "bcrypt"
    assert password_form("{bcrypt}" + hashed) == "bcrypt"  # Spring's prefix
    assert password_form(hashed[:-1]) == "plaintext"
    assert detect(hashed) is C.PASSWORD
    assert mask(hashed, C.PASSWORD) == "bcrypt hash"


# --- masks -------------------------------------------------------------------

MASKS: list[tuple[str, Category | None, str]] = [
    ("john.doe@example.com", C.EMAIL, "j***@example.com"),
    ("john.doe@example.com", None, "j***@example.com"),
    ("  Jane@Example.org ", C.EMAIL, "J***@Example.org"),
    ("not an address", C.EMAIL, "n***"),
    ("x@" + "a" * 40 + ".example.com", C.EMAIL, "x***@..." + "a" * 20 + ".example.com"),
    ("4111111111111111", C.CARD_NUMBER, "**** **** **** 1111"),
    ("4111 1111 1111 1111", None, "**** **** **** 1111"),
    ("378282246310005", C.CARD_NUMBER, "**** **** **** 0005"),
    ("5555-5555-5555-4444", C.CARD_NUMBER, "**** **** **** 4444"),
    ("n/a", C.CARD_NUMBER, "****"),
    ("GB82WEST12345698765432", C.IBAN, "GB** **** **** 5432"),
    ("GB82 WEST 1234 5698 7654 32", None, "GB** **** **** 5432"),
    ("FR1420041010050500013M02606", C.IBAN, "FR** **** **** 2606"),
    ("123-45-6789", C.NATIONAL_ID, "***-**-6789"),
    ("123-45-6789", None, "***-**-6789"),
    ("123456789", C.NATIONAL_ID, "***-**-6789"),
    ("X1234567", C.NATIONAL_ID, "X***"),
    ("+1 415 555 2642", C.PHONE, "+* *** *** **42"),
    ("+44 20 7946 0958", C.PHONE, "+** ** **** **58"),
    ("+44 20 7946 0958", None, "+** ** **** **58"),
    ("(555) 123-4567", C.PHONE, "(***) ***-**67"),
    ("+14155552642", C.PHONE, "+*********42"),
    ("ring me on 555 1234", C.PHONE, "r***"),
    ("hunter2", C.PASSWORD, "********"),
    ("555-123-4567", C.PASSWORD, "********"),
    ("john@example.com", C.PASSWORD, "********"),
    (SHA512_CRYPT, C.PASSWORD, "sha-crypt hash"),
    (ARGON2ID, C.PASSWORD, "argon2 hash"),
    (ARGON2ID, None, "argon2 hash"),
    (hashlib.md5(b"hunter2").hexdigest(), C.PASSWORD, "unsalted hash"),  # noqa: S324
    (_random_base64(48), C.PASSWORD, "encrypted value"),
    ("Alice", C.NAME, "A***"),
    ("Élodie", C.NAME, "É***"),
    ("221B Baker Street", C.ADDRESS, "2***"),
    ("1985-03-12", C.BIRTH_DATE, "1***"),
    ("  Bob", None, "B***"),
    ("<script>", None, "****"),
    ("", C.EMAIL, ""),
    ("", C.PASSWORD, ""),
    ("", None, ""),
]


@pytest.mark.parametrize(("value", "category", "expected"), MASKS)
def test_mask(value: str, category: Category | None, expected: str) -> None:
    assert mask(value, category) == expected


@pytest.mark.parametrize("category", [None, *Category])
def test_masks_are_bounded(category: Category | None) -> None:
    for value in ["x@" + "a" * 60 + ".example.com", "y" * 5000, "+1 " * 50, "4" * 500]:
        assert len(mask(value, category)) <= 40


def _generated_values(seed: int) -> Iterator[str]:
    """Values of every kind the probes meet, made up."""
    rng = _rng(seed)
    letters = string.ascii_letters
    # Everything printable except `*`, the masking character itself.
    printable = "".join(c for c in string.printable.strip() if c != "*") + " éßø中"
    for _ in range(150):
        local = "".join(rng.choice(letters + ".") for _ in range(rng.randrange(1, 30)))
        domain = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randrange(2, 20)))
        yield f"{local.strip('.') or 'a'}@{domain}.com"
        body = rng.choice(["4", "51", "37", "6011", "3530"]) + _random_digits(rng, 13)
        card = body + _luhn_digit(body)
        yield card
        yield " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        yield "-".join(card[i : i + 4] for i in range(0, len(card), 4))
        bban = _random_digits(rng, 18)
        check = 98 - int(bban + "131400") % 97  # DE: D=13, E=14
        yield f"DE{check:02d}{bban}"
        area, group, serial = rng.randrange(1, 666), rng.randrange(1, 100), rng.randrange(1, 10000)
        yield f"{area:03d}-{group:02d}-{serial:04d}"
        yield f"+{rng.randrange(1, 99)} {_random_digits(rng, 3)} {_random_digits(rng, 7)}"
        yield f"({_random_digits(rng, 3)}) {_random_digits(rng, 3)}-{_random_digits(rng, 4)}"
        yield "".join(rng.choice(letters) for _ in range(rng.randrange(1, 40)))
        yield f"{rng.randrange(1, 999)} {rng.choice(['Quillon', 'Marrowby'])} Street"
        yield "".join(rng.choice(printable) for _ in range(rng.randrange(1, 200)))
        yield _random_hex(rng.randrange(8, 64), seed=rng.randrange(10**6))
        yield _random_base64(rng.randrange(8, 64), seed=rng.randrange(10**6))
        yield _random_digits(rng, rng.randrange(5, 25))


def _leaked(raw: str, masked: str) -> str | None:
    """A run of 5+ characters of `raw` in `masked`, outside the parts a mask may keep
    (an e-mail's domain, the last 4 characters of a card, IBAN or SSN)."""
    kept = masked.split("@", 1)[0]
    if kept[-4:].isalnum():
        kept = kept[:-4]
    for start in range(len(kept) - 4):
        if kept[start : start + 5] in raw:
            return kept[start : start + 5]
    return None


PASSWORD_MASKS = {
    "********",
    "encrypted value",
    "unsalted hash",
    "salted hash",
    *(f"{form} hash" for form in ("bcrypt", "argon2", "scrypt", "sha-crypt", "yescrypt")),
    *(f"{form} hash" for form in ("pbkdf2", "md5-crypt", "scram-sha-256")),
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_masks_leak_no_run_of_the_raw_value(seed: int) -> None:
    for raw in _generated_values(seed):
        for category in [None, *Category]:
            masked = mask(raw, category)
            assert _leaked(raw, masked) is None, (raw, category, masked)
            assert len(masked) <= 40
        assert mask(raw, C.PASSWORD) in PASSWORD_MASKS, raw


def test_leak_check_can_fail() -> None:
    assert _leaked("john.doe@example.com", "john.***@example.com") == "john."
    assert _leaked("4111111111111111", "4111 1111 1111 1111") is None  # runs broken by spaces
    assert _leaked("4111111111111111", "411111********1111") == "41111"


# --- fields ------------------------------------------------------------------


def test_summarise_mixed_column_without_a_name_category() -> None:
    values: list[object] = [
        "alice@example.com",
        "bob@example.org",
        None,
        b"carol@example.net",
        "dave@example.com",
        "+1 415 555 2671",
        12345,
        "x" * 5000,
    ]
    report = summarise_field("contact", "customers", values)
    assert report.name == "contact"
    assert report.category == ""
    assert report.sampled == 7  # None is skipped
    # 4 of 7 are e-mail addresses; one phone number is not "mostly".
    assert report.detected == (("email", 4),)
    assert report.forms == ()
    assert report.masked_examples == ("a***@example.com", "b***@example.org", "c***@example.net")
    assert report.categories == ("email",)


def test_summarise_minority_category_is_left_out_without_a_name() -> None:
    report = summarise_field("notes", "orders", ["left at door", "x@example.com", "fragile", "-"])
    assert report.category == ""
    assert report.detected == ()
    assert report.masked_examples == ()
    assert report.categories == ()
    assert report.sampled == 4


def test_summarise_named_field_keeps_every_detection() -> None:
    values = ["4111111111111111", "5555 5555 5555 4444", "1234", "john@example.com", None]
    report = summarise_field("card_number", "payments", values, max_examples=5)
    assert report.category == "card-number"
    assert report.detected == (("card-number", 2), ("email", 1))
    assert report.sampled == 4
    assert report.masked_examples == (
        "**** **** **** 1111",
        "**** **** **** 4444",
        "****",
        "j***@example.com",
    )
    assert report.categories == ("card-number", "email")


def test_summarise_password_column() -> None:
    hashed = _bcrypt_hash()
    values = [
        "hunter2",
        hashed,
        _bcrypt_hash(b"other"),
        hashlib.md5(b"hunter2").hexdigest(),  # noqa: S324
        "",
        "letmein42",
        "555-123-4567",  # a password that looks like a phone number
        None,
    ]
    report = summarise_field("password", "users", values)
    assert report.category == "password"
    assert report.sampled == 7
    assert report.forms == (("bcrypt", 2), ("empty", 1), ("plaintext", 3), ("unsalted-hash", 1))
    assert report.detected == (("password", 2),)  # the phone-like password is no phone
    assert report.masked_examples == ("********", "bcrypt hash", "unsalted hash")
    text = repr(report)
    for raw in ("hunter2", "letmein42", "555-123-4567", hashed, values[3]):
        assert str(raw) not in text


def test_summarise_hashes_found_by_value() -> None:
    report = summarise_field("secret", "accounts", [_bcrypt_hash(), ARGON2ID, "plain"])
    assert report.category == ""
    assert report.detected == (("password", 2),)
    assert report.forms == (("argon2", 1), ("bcrypt", 1))
    assert report.categories == ("password",)
    assert report.masked_examples == ("bcrypt hash", "argon2 hash")


def test_summarise_names_only() -> None:
    report = summarise_field("email", "customers", [])
    assert report.category == "email"
    assert report.sampled == 0
    assert report.detected == ()
    assert report.masked_examples == ()
    assert report.categories == ("email",)
    assert summarise_field("name", "customers", ()).category == "name"
    assert summarise_field("name", "products", ()).category == ""


def test_summarise_is_bounded() -> None:
    def endless() -> Iterator[object]:
        n = 0
        while True:
            n += 1
            assert n <= 1000, "read past the 1000-value limit"
            yield f"{string.ascii_lowercase[n % 26]}{n}@example.com"

    report = summarise_field("email", "customers", endless())
    assert report.sampled == 1000
    assert report.detected == (("email", 1000),)
    assert len(report.masked_examples) == 3

    # An e-mail address padded past the 1024-character limit is cut, then not an address.
    report = summarise_field("email", "t", ["a@example.com" + " " * 1011 + "tail"])
    assert report.detected == (("email", 1),)
    report = summarise_field("email", "t", ["a@example.com" + " " * 1010 + "tail"])
    assert report.detected == ()


def test_summarise_decodes_bytes_and_distinct_examples() -> None:
    values: list[object] = [
        b"alice@example.com",
        bytearray(b"alice@example.com"),
        memoryview(b"anna@example.com"),  # masks the same as alice
        b"\xff\xfe@example.com",  # undecodable: replaced, not raised
        "bob@example.com",
    ]
    report = summarise_field("email", "users", values, max_examples=2)
    assert report.sampled == 5
    assert report.masked_examples == ("a***@example.com", "****")
    assert summarise_field("email", "users", values, max_examples=0).masked_examples == ()


def test_summarise_never_holds_a_raw_value() -> None:
    values = list(_generated_values(4))
    for name in ("email", "card_number", "iban", "ssn", "phone", "password", "notes", "name"):
        report = summarise_field(name, "customers", values, max_examples=50)
        for example in report.masked_examples:
            assert example not in values, (name, example)
            assert len(example) <= 40
