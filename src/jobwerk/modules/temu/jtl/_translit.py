"""Romanisation of Greek (ELOT 743 / ISO 843) and Cyrillic (Bulgarian official system) text.

JTL's order import is ISO-8859-1, and carriers print labels in Latin script: TEMU buyers in Greece,
Cyprus and Bulgaria must arrive readable, not emptied. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["romanize"]

_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}  # fmt: skip
_GREEK_PAIRS = {"ου": "ou", "αι": "ai", "ει": "ei", "οι": "oi", "γγ": "ng", "γξ": "nx", "γχ": "nch"}
_GREEK_WORD_START = {"μπ": "b", "ντ": "d", "γκ": "g"}
_GREEK_INSIDE = {"μπ": "mp", "ντ": "nt", "γκ": "gk"}
_U_DIGRAPH = {"α": "a", "ε": "e", "η": "i"}
# After αυ/ευ/ηυ: "f" before these (voiceless) letters and at the end of a word, else "v".
_VOICELESS = frozenset("θκξπστφχψ")

# Bulgarian (Закон за транслитерацията, 2009) with the other Cyrillic alphabets' letters added.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sht",
    "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
    "ё": "yo", "ы": "y", "э": "e", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
    "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz", "ѓ": "gj", "ќ": "kj",
    "ѕ": "dz",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_EXCEPTIONS = {"българия": "bulgaria"}  # the law's own exception for the country's name


def romanize(text: str) -> str:
    """Greek and Cyrillic words in Latin letters; everything else is left as it is.

    Capitals are kept: "Αθήνα" → "Athina", "ΘΕΣΣΑΛΟΝΙΚΗ" → "THESSALONIKI", "Щастлив" →
    "Shtastliv".
    """
    return _WORD.sub(lambda match: _word(match.group()), text)


def _word(word: str) -> str:
    lower = word.lower()
    if lower in _EXCEPTIONS:
        return _recase(word, [(len(word), _EXCEPTIONS[lower])])
    if any(c in _CYRILLIC for c in lower):
        parts = _cyrillic(lower)
    elif any(_base(c) in _GREEK for c in lower):
        parts = _greek(lower)
    else:
        return word
    return _recase(word, parts)


def _base(char: str) -> str:
    """A Greek letter without its accent (a diaeresis is kept: it breaks a digraph)."""
    if char in "ϊΐ":
        return "ϊ"
    if char in "ϋΰ":
        return "ϋ"
    return unicodedata.normalize("NFD", char)[0]


def _greek(word: str) -> list[tuple[int, str]]:
    """(source characters consumed, Latin text) per step, for `_recase`."""
    letters = [_base(c) for c in word]
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(letters):
        pair = "".join(letters[i : i + 2])
        if letters[i] in _U_DIGRAPH and i + 1 < len(letters) and letters[i + 1] == "υ":
            after = letters[i + 2] if i + 2 < len(letters) else ""
            sound = "f" if not after or after in _VOICELESS else "v"
            out.append((2, _U_DIGRAPH[letters[i]] + sound))
            i += 2
        elif pair in _GREEK_PAIRS:
            out.append((2, _GREEK_PAIRS[pair]))
            i += 2
        elif pair in _GREEK_INSIDE:
            out.append((2, (_GREEK_WORD_START if i == 0 else _GREEK_INSIDE)[pair]))
            i += 2
        else:
            char = letters[i]
            out.append((1, _GREEK.get(char, {"ϊ": "i", "ϋ": "y"}.get(char, word[i]))))
            i += 1
    return out


def _cyrillic(word: str) -> list[tuple[int, str]]:
    out = [(1, _CYRILLIC.get(char, char)) for char in word]
    if word.endswith("ия") and len(word) > 2:
        out[-2:] = [(1, "i"), (1, "a")]  # "-ия" at the end of a word is "-ia": България
    return out


def _recase(word: str, parts: list[tuple[int, str]]) -> str:
    """Apply the source's capitals: a capital letter starts its Latin text with a capital; a
    word in capitals stays in capitals."""
    if len(word) > 1 and word.isupper():
        return "".join(text for _, text in parts).upper()
    pieces = []
    at = 0
    for consumed, text in parts:
        pieces.append(text[:1].upper() + text[1:] if word[at].isupper() else text)
        at += consumed
    return "".join(pieces)
