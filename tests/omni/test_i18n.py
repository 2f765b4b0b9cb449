"""English and French ship: every string of the French catalogue is translated."""

import re
from pathlib import Path

from django.utils import translation

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of every entry but the header, plural forms joined."""
    entries = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block or re.search(r"^#,.*\bfuzzy\b", block, re.M) is not None
        msgid = "".join(
            re.findall(r'^(?:msgid|msgid_plural)?\s*"(.*)"$', block.split("msgstr")[0], re.M)
        )
        msgstr = (
            "".join(re.findall(r'"(.*)"$', block.split("msgstr", 1)[1], re.M))
            if ("msgstr" in block)
            else ""
        )
        if msgid:
            entries.append((msgid, msgstr, fuzzy))
    return entries


def test_every_french_entry_is_translated_and_none_is_fuzzy():
    entries = _entries(CATALOGUE.read_text(encoding="utf-8"))

    assert len(entries) > 1000
    assert [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy] == []


def test_french_is_served_from_the_compiled_catalogue():
    with translation.override("fr"):
        assert translation.gettext("Store") == "Magasin"
        assert translation.gettext("Cart") == "Panier"
