"""The catalogs of the bot's own words: complete, compiling, shipped as compiled, and used.

A catalog that misses a message, breaks a placeholder or fails to compile fails here, in the
build, not in a chat; and a string sent as a reply without going through the catalog fails
`test_no_reply_text_bypasses_the_catalog`.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from conversations.translations import (
    DOMAIN,
    LOCALE_DIR,
    SUPPORTED_LANGUAGES,
    catalog_complete,
    catalog_name,
    supported_language,
    translator,
)

ROOT = Path(__file__).parents[2]
SOURCES = ("conversations", "storage", "services", "bot")
CATALOGS = [catalog_name(language) for language in SUPPORTED_LANGUAGES]
_BRACES = re.compile(r"\{[a-z_]*\}")


def _po(name: str):
    with (LOCALE_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=name)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _extracted() -> set[str]:
    """Every message id marked in the sources, as `pybabel extract -F babel.cfg` finds them."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for folder in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=keywords):
            found.add(_key(message))
    return found


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


@pytest.mark.parametrize("name", CATALOGS)
def test_every_catalog_has_every_message_of_the_sources(name, extracted):
    catalog = _po(name)
    ids = {_key(m.id) for m in catalog if m.id}
    assert sorted(extracted - ids) == [], f"{name}: missing; run pybabel extract and update"
    assert sorted(ids - extracted) == [], f"{name}: messages no source says any more"


@pytest.mark.parametrize("name", CATALOGS)
def test_every_message_is_translated_with_its_placeholders(name):
    for message in _po(name):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), (name, message.id)
        assert "fuzzy" not in message.flags, (name, message.id)
        wanted = set(_BRACES.findall(_key(message.id)))
        for string in strings:
            # A placeholder lost or invented would raise KeyError in the chat.
            assert set(_BRACES.findall(string)) == wanted, (name, message.id, string)


@pytest.mark.parametrize("name", CATALOGS)
def test_the_shipped_catalog_is_the_po_compiled(name):
    catalog = _po(name)
    assert not [problem for message in catalog for problem in message.check(catalog)], name
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    shipped = (LOCALE_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes()
    assert compiled.getvalue() == shipped, f"{name}: run pybabel compile (see docs/languages.md)"


def test_every_supported_language_is_complete_and_others_are_refused():
    assert all(catalog_complete(language) for language in SUPPORTED_LANGUAGES)
    assert [supported_language(t) for t in ("pt_BR", "PT-br", "de-AT", "pt", "it", "")] == [
        "pt-BR", "pt-BR", "de", "pt-BR", None, None]
    assert translator("de").gettext("That check-in is closed.") == \
        "Dieser Check-in ist abgeschlossen."


# --- no reply text written around the catalog ---------------------------------------------

# Calls whose first argument (or `text=`, `label=`, `lead=`) the bot sends to a person.
_SENT = {"say", "Reply", "Invalid", "Button", "ask", "tell",
         # Slack's coach-facing words: `/coachbot` answers, Block Kit sections, buttons, inputs.
         "CommandAnswer", "_section", "_button"}
_MARKERS = {"gettext", "ngettext", "N_", "format"}
# Texts for coaches and the team in Slack that are not in the catalog yet (English only);
# each is named so the list can only shrink.
NOT_YET = {
    "services/coach_home.py": "the Home tab's refresh marker (not shown)",
}


def _literal_text(node: ast.AST) -> str | None:
    """The words of a string literal or f-string, if it has any."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.BinOp):
        return _literal_text(node.left) or _literal_text(node.right)
    else:
        return None
    return text if re.search(r"[A-Za-z]{2}", text) else None


def _bypasses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        if name not in _SENT:
            continue
        sent = node.args[:1] + [k.value for k in node.keywords
                                if k.arg in ("text", "label", "lead")]
        for argument in sent:
            text = _literal_text(argument)
            if text is not None:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:50]!r}")
    return found


def test_no_reply_text_bypasses_the_catalog():
    files = [p for folder in ("conversations", "storage", "services", "bot/telegram",
                              "bot/slack")
             for p in (ROOT / folder).rglob("*.py")]
    found = [line for p in files if str(p.relative_to(ROOT)) not in NOT_YET
             for line in _bypasses(p)]
    assert found == []
