"""Old Vietnamese text conventions, brought to the Unicode the pipeline reads.

Archives from before Unicode keep text in two 8-bit font encodings: TCVN3
(ABC, fonts .VnTime, .VnArial...) with one code per toned lower-case letter,
and VNI (fonts VNI-Times...) with a base letter followed by a mark code. Word
and plain-text exports carry those codes as the Windows-1252 characters they
happen to share ("B¸o c¸o", "Baùo caùo"), so detection works on text, after
decoding, as well as on raw bytes. Old-style tone placement ("hoà", "thuỷ")
is the other convention; the modern one ("hòa", "thủy") is what underthesea
itself produces, so both spellings give the same words.

Part of the read stage: every function here keeps or defines the text that
offsets refer to.
"""
from __future__ import annotations

import re
import unicodedata

# Tone marks as combining characters, in the order both legacy tables list them:
# sắc, huyền, hỏi, ngã, nặng.
TONE_MARKS = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")

# --- TCVN3 ----------------------------------------------------------------

# TCVN 5712:1993 (VN3), as Windows-1252 characters: one code per lower-case
# letter; capitals other than the seven below only exist in the "H" fonts
# (.VnTimeH), which draw the lower-case codes as capitals.
_TCVN3_UNICODE = (
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ĂÂĐÊÔƠƯ"
)
_TCVN3_CODES = (
    "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\u00adõøö÷ùúýûüþ"
    "¡¢§£¤¥¦"
)
_FROM_TCVN3 = str.maketrans(_TCVN3_CODES, _TCVN3_UNICODE)
_TO_TCVN3 = str.maketrans(_TCVN3_UNICODE, _TCVN3_CODES)


def decode_tcvn3(text: str, capitals: bool = False) -> str:
    """TCVN3 codes to Unicode; ``capitals`` for text set in an "H" font.

    Without font information a heading in capitals comes back with its toned
    letters in lower case ("CụC THốNG Kê"); a line whose plain letters are all
    capitals is taken to be such a heading.
    """
    converted = text.translate(_FROM_TCVN3)
    if capitals:
        return converted.upper()
    return "\n".join(map(restore_heading_capitals, converted.split("\n")))


def restore_heading_capitals(line: str) -> str:
    """A line whose plain letters are all capitals is a heading in capitals."""
    plain = [c for c in line if c.isascii() and c.isalpha()]
    if len(plain) >= 4 and all(c.isupper() for c in plain):
        return line.upper()
    return line


def encode_tcvn3(text: str) -> str:
    """Unicode to TCVN3 codes as a .VnTime user typed them: toned capitals have
    no code, so they are written in lower case (their font would be .VnTimeH)."""
    out = []
    for char in text:
        encoded = char.translate(_TO_TCVN3)
        if encoded == char and not char.isascii() and char.lower() != char:
            encoded = char.lower().translate(_TO_TCVN3)
        out.append(encoded)
    return "".join(out)


# --- VNI ------------------------------------------------------------------

# VNI-Windows: (Unicode letter, its VNI spelling, what a tone code follows,
# the codes of the five tones). A circumflex or breve and a tone share one
# code ("aâ" is â, "aá" is ấ), so toned â/ă/ê/ô follow the bare vowel, while
# ơ and ư have codes of their own ("ô", "ö") that a tone code follows.
# Lower-case codes; capitals use the upper-case code.
_VNI_SERIES = (
    ("a", "a", "a", "ùøûõï"), ("â", "aâ", "a", "áàåãä"), ("ă", "aê", "a", "éèúüë"),
    ("e", "e", "e", "ùøûõï"), ("ê", "eâ", "e", "áàåãä"),
    ("o", "o", "o", "ùøûõï"), ("ô", "oâ", "o", "áàåãä"), ("ơ", "ô", "ô", "ùøûõï"),
    ("u", "u", "u", "ùøûõï"), ("ư", "ö", "ö", "ùøûõï"),
    ("y", "y", "y", "ùøûõ"),  # ỵ has a code of its own
)
# Letters VNI writes as a single code.
_VNI_SINGLE = {"í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î", "đ": "ñ"}


def _vni_table() -> dict[str, str]:
    """Unicode letter -> VNI spelling, lower and upper case."""
    table: dict[str, str] = {}
    for letter, spelling, toned_base, marks in _VNI_SERIES:
        if spelling != letter:
            table[letter] = spelling
        for tone, mark in zip(TONE_MARKS, marks):
            table[unicodedata.normalize("NFC", letter + tone)] = toned_base + mark
    table.update(_VNI_SINGLE)
    table.update({letter.upper(): spelling.upper() for letter, spelling in list(table.items())})
    return table


_TO_VNI = _vni_table()
_FROM_VNI = {spelling: letter for letter, spelling in _TO_VNI.items()}
# A capital base with a lower-case mark code ("Aê") is how some typists wrote a
# capitalised word; it is the same letter.
for _letter, _spelling in list(_TO_VNI.items()):
    if _letter.isupper() and len(_spelling) > 1:
        _FROM_VNI.setdefault(_spelling[0] + _spelling[1:].lower(), _letter)
_VNI_PATTERN = re.compile("|".join(re.escape(s) for s in sorted(_FROM_VNI, key=len, reverse=True)))


def decode_vni(text: str) -> str:
    return _VNI_PATTERN.sub(lambda match: _FROM_VNI[match.group()], unicodedata.normalize("NFC", text))


def encode_vni(text: str) -> str:
    return "".join(_TO_VNI.get(char, char) for char in text)


DECODERS = {"tcvn3": decode_tcvn3, "vni": decode_vni}

# --- detection -------------------------------------------------------------

# A character no legacy line holds: beyond Latin-1, other than the punctuation
# Windows-1252 adds there and the replacement character.
_BEYOND_CP1252 = re.compile("[^\x00-\xff‚ƒ„…†‡ˆ‰‹Œ‘’“”•–—˜™›œŸ€\ufffd]")
_UPPER_HALF = re.compile("[\xa1-\xff]")
_ONSETS = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]"
_SYLLABLE = re.compile(rf"(?:{_ONSETS})?[aăâeêioôơuưy]{{1,3}}(?:ch|ng|nh|[cmnpt])?")
# Words cut at spaces and punctuation only: a legacy code that is a symbol
# ("®«ng") must count against a reading, not split the word into valid pieces.
_WORD = re.compile(r"[^\s\d.,;:!?“”‘’()\[\]{}\"'/\\\-–—%…*+=<>|]+")


def is_vietnamese_syllable(word: str) -> bool:
    """A spelling Vietnamese allows: onset, one to three vowels, a final
    consonant, and at most one tone mark."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(decomposed.count(mark) for mark in TONE_MARKS) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
    return _SYLLABLE.fullmatch(base) is not None


def syllable_counts(text: str) -> tuple[int, int]:
    """(valid, all) among words holding a non-ASCII letter: the words an
    encoding decides."""
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    return sum(map(is_vietnamese_syllable, words)), len(words)


def may_be_legacy(line: str) -> bool:
    """Only Windows-1252 characters, some of them from its upper half."""
    return _BEYOND_CP1252.search(line) is None and _UPPER_HALF.search(line) is not None


def convert_legacy(text: str, min_share: float = 0.8, min_words: int = 3,
                   encodings: list[str] | tuple[str, ...] = tuple(DECODERS)) -> tuple[str, str | None]:
    """Convert the lines of ``text`` written in TCVN3 or VNI codes.

    Lines holding a letter beyond Windows-1252 are Unicode already and stay as
    they are, so a Unicode report with a legacy table pasted in converts the
    table only. The encoding chosen is the one under which the candidate lines
    spell the most valid syllables; it must spell at least ``min_share`` of
    their words and do clearly better than the text as it is. Returns the text
    and the encoding converted from (None when nothing was).
    """
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if may_be_legacy(line)]
    if not candidates:
        return text, None
    sample = "\n".join(lines[i] for i in candidates)
    valid, total = syllable_counts(sample)
    as_is = valid / total if total else 0.0
    best_name, best_share, best_total = None, 0.0, 0
    for name in encodings:
        valid, total = syllable_counts(DECODERS[name](sample))
        share = valid / total if total else 0.0
        if share > best_share:
            best_name, best_share, best_total = name, share, total
    if best_name is None or best_total < min_words or best_share < min_share or best_share < as_is + 0.2:
        return text, None
    decode = DECODERS[best_name]
    for i in candidates:
        lines[i] = decode(lines[i])
    return "\n".join(lines), best_name


# --- tone placement ----------------------------------------------------------

_TONED = {unicodedata.normalize("NFC", base + tone): (base, tone) for base in "aeyAEY" for tone in TONE_MARKS}
# "oà", "oẻ", "uỷ" closing a word, not after "q" (in "quý" the u belongs to the
# onset and the tone rightly sits on y).
_OLD_STYLE = re.compile(r"(?<![^\W\d_])([^\W\d_]*?)(?<![qQ])([oO][àáảãạÀÁẢÃẠèéẻẽẹÈÉẺẼẸ]|[uU][ỳýỷỹỵỲÝỶỸỴ])(?![^\W\d_])")


def _modern(match: re.Match) -> str:
    onset, pair = match.group(1), match.group(2)
    if any(c in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY" or not c.isascii() and c not in "đĐ" for c in onset):
        return match.group()  # another vowel before the pair: not the oa/oe/uy rhyme
    base, tone = _TONED[pair[1]]
    return onset + unicodedata.normalize("NFC", pair[0] + tone) + base


def modern_tone_placement(text: str) -> str:
    """"hoà" -> "hòa", "thuỷ" -> "thủy", "khoẻ" -> "khỏe"; same length, so
    offsets do not move."""
    return _OLD_STYLE.sub(_modern, text)
