"""Lithuanian alphabetical order.

Babel has no collation and ICU bindings need a C toolchain, so the order is written out
here, following the Lithuanian alphabet (a ą b c č d e ę ė f g h i į y j k l m n o p r s š t
u ų ū v z ž): č, š and ž are letters of their own that sort after c, s and z; y sorts with
i and į; the letters with ogonek or dot (ą ę ė į ų ū) sort as their base letter and only
break ties. Case is ignored except as a last tie-breaker.
"""

from __future__ import annotations

_PRIMARY = {
    "ą": "a",
    "ę": "e",
    "ė": "e",
    "į": "i",
    "y": "i",
    "ų": "u",
    "ū": "u",
}
_OWN_LETTER = {"č": "c\uffff", "š": "s\uffff", "ž": "z\uffff"}
_SECONDARY = "aąbcčdeęėfghiįyjklmnoprsštuųūvzž"


def _primary(char: str) -> str:
    return _OWN_LETTER.get(char) or _PRIMARY.get(char, char)


def lithuanian_sort_key(text: str) -> tuple[str, tuple[int, ...], str]:
    folded = text.casefold()
    primary = "".join(_primary(c) for c in folded)
    secondary = tuple(_SECONDARY.find(c) for c in folded)
    return primary, secondary, text


def casefold_lt(text: str) -> str:
    """Case-insensitive form for matching Lithuanian text (keeps the diacritics)."""
    return text.casefold()
