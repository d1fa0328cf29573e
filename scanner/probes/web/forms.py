"""What a page holds: its forms and their fields, its links, its meta
generator and title; and what personal data a form asks for."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from scanner.probes.clients.http import MAX_BODY
from scanner.probes.evidence import HEADER_CHARS, clean, list_names, path_of
from scanner.probes.personal_data import Category, category_of_name


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    autocomplete: str = ""


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Markup:
    forms: tuple[Form, ...]
    links: tuple[str, ...]
    generator: str
    title: str


_MAX_FORMS = 20
_MAX_FIELDS = 50
_MAX_LINKS = 500
_ATTRIBUTE_CHARS = 500


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.generator = ""
        self.title = ""
        self._form: tuple[str, str, list[Field]] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k.lower(): (v or "")[:_ATTRIBUTE_CHARS] for k, v in attrs[:50]}
        if tag == "form":
            self._close_form()
            self._form = (found.get("action", ""), found.get("method", "get").lower(), [])
        elif tag in ("input", "select", "textarea") and self._form is not None:
            if len(self._form[2]) < _MAX_FIELDS and found.get("name"):
                kind = found.get("type", "text" if tag == "input" else tag).lower()
                self._form[2].append(Field(found["name"], kind, found.get("autocomplete", "")))
        elif tag == "a" and found.get("href") and len(self.links) < _MAX_LINKS:
            self.links.append(found["href"])
        elif tag == "meta" and found.get("name", "").lower() == "generator":
            self.generator = self.generator or found.get("content", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._close_form()
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < _ATTRIBUTE_CHARS:
            self.title += data

    def finish(self) -> None:
        """Keep a form the page never closed."""
        self._close_form()

    def _close_form(self) -> None:
        if self._form is not None and len(self.forms) < _MAX_FORMS:
            action, method, fields = self._form
            self.forms.append(Form(action, method, tuple(fields)))
        self._form = None


def parse_html(text: str) -> Markup:
    parser = _Parser()
    try:
        parser.feed(text[:MAX_BODY])
        parser.close()
    except (AssertionError, ValueError):  # html.parser on garbage: keep what it found
        pass
    parser.finish()
    return Markup(
        tuple(parser.forms),
        tuple(parser.links),
        clean(parser.generator, HEADER_CHARS),
        clean(parser.title, HEADER_CHARS),
    )


_KIND_ORDER = ("password", "email", "card", "personal")
_KIND_OF_CATEGORY = {
    Category.PASSWORD: "password",
    Category.EMAIL: "email",
    Category.CARD_NUMBER: "card",
}
_LISTED_TYPES_SKIPPED = frozenset({"hidden", "submit", "button", "reset", "image"})


def _field_kind(field: Field) -> str:
    if field.type == "password":
        return "password"
    if field.type == "email":
        return "email"
    if field.autocomplete.lower().startswith("cc-"):
        return "card"
    category = category_of_name(field.name)
    if category is None:
        return ""
    return _KIND_OF_CATEGORY.get(category, "personal")


def sensitive_kinds(form: Form) -> tuple[str, ...]:
    """What personal data a form asks for: password, email, card, personal."""
    found = {_field_kind(f) for f in form.fields if f.type not in _LISTED_TYPES_SKIPPED}
    return tuple(kind for kind in _KIND_ORDER if kind in found)


def form_evidence(form: Form, page_path: str) -> str:
    action = path_of(form.action) if form.action else page_path
    listed = [f.name for f in form.fields if f.type not in _LISTED_TYPES_SKIPPED]
    return f"form action={action} method={clean(form.method, 10)} fields: {list_names(listed)}"
