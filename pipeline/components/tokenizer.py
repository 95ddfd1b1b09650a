"""Stage 3: underthesea words and POS tags as a spaCy tokenizer.

underthesea normalises its input (tone placement "hoà" -> "hòa", spacing inside
"10Nợ"), so its words are not always substrings of the text. Each word is
matched back to the text by letters alone, and the Doc's tokens are the text's
own characters: ``doc.text`` is the input and every token's ``idx`` is exact.

Numbers are re-cut after underthesea: it glues a value to its unit ("3,2 điểm",
"28.126ha") and splits a range ("7-7,5" -> "7-7" "," "5"), and the entity
labels need the number as one token and its unit as another.
"""
from __future__ import annotations

import re
import unicodedata
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

from typing import Callable, Dict

from spacy.tokens import Doc
from spacy.util import DummyTokenizer, registry
from spacy.vocab import Vocab

from pipeline.components.extensions import add_warnings

# A number with Vietnamese separators, a fraction, a date or a range. Not
# glued to a word before it, so "Covid-19", "K44" and "m2" hold no number,
# while the minus of "(-35,93%)" leaves "35,93" one.
NUMBER = re.compile(r"(?<![\w.,/])(?<![^\W_][\-–])\d+(?:[.,]\d+)*(?:[/\-–]\d+(?:[.,]\d+)*)*")
# A full stop glued between two sentences ("vận tải.Số"): both sides are tokens.
GLUED_STOP = re.compile(r"(?<=[^\W\d_]{2})\.(?=[^\W\d_])")


class AlignmentWarning(UserWarning):
    """underthesea returned a word that could not be found in the text."""


@dataclass
class Token:
    start: int
    end: int
    tag: str


# Letters typed with a look-alike code point that underthesea silently replaces:
# Icelandic eth (U+00D0/U+00F0) for the Vietnamese d with stroke.
_LOOKALIKES = {"ð": "đ"}
_NON_SPACE = re.compile(r"\S+")
_SPACE = re.compile(r"\s")
_TABS = re.compile(r"\t+")


@lru_cache(maxsize=8192)
def _fold(char: str) -> str:
    """A character without diacritics, lower-cased: what survives normalisation.
    Kept per character: the alignment folds every character of every line."""
    if not char:
        return char
    folded = unicodedata.normalize("NFD", char)[0].lower()
    return _LOOKALIKES.get(folded, folded)


def align(text: str, words: list[str], unknown_tag: str, tags: list[str]) -> tuple[list[Token], list[str]]:
    """Character spans of underthesea's words in ``text``.

    Matching compares letters without diacritics and ignores white space on
    both sides. Text no word covers becomes tokens of ``unknown_tag``, with a
    message: nothing is dropped.
    """
    tokens: list[Token] = []
    problems: list[str] = []
    position = 0
    length = len(text)

    def cover(start: int, end: int) -> None:
        for match in _NON_SPACE.finditer(text[start:end]):
            tokens.append(Token(start + match.start(), start + match.end(), unknown_tag))
            problems.append(f"no underthesea word for {match.group()!r} at offset {start + match.start()}")

    def match_at(start: int, letters: str) -> int | None:
        i, j = start, 0
        while j < len(letters):
            while i < length and text[i].isspace():
                i += 1
            if i >= length or _fold(text[i]) != letters[j]:
                return None
            i, j = i + 1, j + 1
        return i

    for word, tag in zip(words, tags):
        letters = "".join(_fold(c) for c in word if not c.isspace())
        if not letters:
            continue
        start = position
        while start < length and text[start].isspace():
            start += 1
        end = match_at(start, letters)
        if end is None:
            # Re-synchronise on the next place the word occurs; text skipped on
            # the way is kept as unknown tokens.
            found = None
            for candidate in range(start + 1, min(length, start + 200)):
                if not text[candidate].isspace() and _fold(text[candidate]) == letters[0]:
                    end = match_at(candidate, letters)
                    if end is not None:
                        found = candidate
                        break
            if found is None:
                problems.append(f"underthesea word {word!r} not found in the text after offset {start}")
                continue
            cover(start, found)
            start = found
        tokens.append(Token(start, end, tag))
        position = end
    cover(position, length)
    return tokens, problems


def recut_numbers(text: str, tokens: list[Token], number_tag: str, glued_unit_tag: str) -> list[Token]:
    """Split tokens at number boundaries and merge the pieces of one number.

    Every number gets ``number_tag`` (underthesea's own tag for numbers is not
    reliable), and what is cut off right after a number inside one underthesea
    word gets ``glued_unit_tag``: in reports that piece is the unit ("ha", "điểm").
    """
    spans = [(m.start(), m.end()) for m in NUMBER.finditer(text)]
    cuts = {p for span in spans for p in span}
    for m in GLUED_STOP.finditer(text):
        cuts.update((m.start(), m.end()))
    # A tab separates the cells of a table pasted from Word: never one word.
    for m in _TABS.finditer(text):
        cuts.update((m.start(), m.end()))
    # Cuts and numbers are looked up by bisection: a line of a million
    # characters must not be rescanned for each of its tokens.
    sorted_cuts = sorted(cuts)
    span_starts = [s for s, _ in spans]

    def in_number(a: int, b: int) -> bool:
        index = bisect_right(span_starts, a) - 1  # numbers do not overlap: only this one can hold [a, b)
        return index >= 0 and b <= spans[index][1]

    pieces: list[Token] = []
    for token in tokens:
        first_cut, after_cuts = bisect_right(sorted_cuts, token.start), bisect_left(sorted_cuts, token.end)
        if first_cut >= after_cuts and token.end > token.start and not _SPACE.search(text, token.start, token.end):
            # most words: one chunk, no cut inside, nothing to strip
            pieces.append(Token(token.start, token.end, token.tag))
            continue
        token_cuts = set(sorted_cuts[first_cut:after_cuts])
        # underthesea can join a lone symbol to the next word ("� Như"): a
        # word of several syllables never holds a piece without letters or digits.
        chunks = list(_NON_SPACE.finditer(text[token.start:token.end]))
        if len(chunks) > 1:
            for chunk in chunks:
                if not any(c.isalnum() for c in chunk.group()):
                    token_cuts.update((token.start + chunk.start(), token.start + chunk.end()))
        inner = sorted(c for c in token_cuts if token.start < c < token.end)
        bounds = [token.start, *inner, token.end]
        after_number = False
        for a, b in zip(bounds, bounds[1:]):
            is_number = in_number(a, b)
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                tag = glued_unit_tag if inner and after_number and not is_number else token.tag
                pieces.append(Token(a, b, tag))
            after_number = is_number
    # underthesea sometimes cuts inside a syllable ("Nợ" -> "N" "ợ"); two
    # pieces that touch letter to letter are one word of the text.
    joined: list[Token] = []
    for piece in pieces:
        if (joined and joined[-1].end == piece.start and piece.start not in cuts
                and text[piece.start - 1].isalpha() and text[piece.start].isalpha()):
            joined[-1] = Token(joined[-1].start, piece.end, joined[-1].tag)
        else:
            joined.append(piece)
    merged: list[Token] = []
    span_index = 0
    for piece in joined:
        while span_index < len(spans) and spans[span_index][1] <= piece.start:
            span_index += 1
        inside = span_index < len(spans) and spans[span_index][0] <= piece.start and piece.end <= spans[span_index][1]
        if inside:
            if merged and merged[-1].start >= spans[span_index][0] and merged[-1].end <= spans[span_index][1]:
                merged[-1] = Token(merged[-1].start, piece.end, number_tag)
            else:
                merged.append(Token(piece.start, piece.end, number_tag))
        else:
            merged.append(piece)
    return merged


_NEXT_WORD = re.compile(r"\s*(\S+)")


def detach_syllables(text: str, tokens: list[Token], settings: dict, number_tag: str) -> list[Token]:
    """Cut a verb syllable off the word underthesea joined it to (see
    ``[tokenizer.detach]`` in the config)."""
    final: dict[str, list[str]] = settings["final"]
    after_number = set(settings["after_number"])
    scale_words = set(settings["scale_words"])
    out: list[Token] = []
    for token in tokens:
        word = text[token.start:token.end]
        syllables = word.split()
        cut = False
        if len(syllables) > 1:
            last = syllables[-1].lower()
            if last in final and word.lower() not in final[last]:
                cut = True
            previous = out[-1] if out else None
            previous_text = text[previous.start:previous.end].lower() if previous else ""
            if last in after_number and previous and (previous.tag == number_tag or previous_text in scale_words):
                cut = True
            following = _NEXT_WORD.match(text, token.end)
            if last in settings["before_word"] and following and following.group(1).lower() in settings["before_word"][last]:
                cut = True
        if cut:
            # The last syllable starts after the last run of white space, a tab
            # ("giao\tƯớc" in a table header) as much as a space.
            gap = list(re.finditer(r"\s+", word.rstrip()))[-1]
            out.append(Token(token.start, token.start + gap.start(), token.tag))
            out.append(Token(token.start + gap.end(), token.end, "V"))
        else:
            out.append(token)
    return out


_TEMPLATE = re.compile(r"T\[(?P<index1>\-?\d+)(\,(?P<index2>\-?\d+))?\](\[(?P<column>.*)\])?(\.(?P<function>.*))?")


class PosTagger:
    """underthesea's ``pos_tag``, same words and tags, in linear time.

    underthesea's CRF POS tagger builds each token's features by re-reading
    the whole sentence for every feature template, which makes a long report
    paragraph cost the square of its length; that was most of this pipeline's
    time. This builds the very same feature strings (same template, same
    functions, same "X" tag column) in one pass and calls the same CRF model.
    (underthesea's compiled featurizer, which its word segmenter uses, is no
    faster here once its ``istitle`` is corrected to the POS tagger's.)
    If underthesea's internals change shape, it falls back to ``pos_tag``.
    """

    def __init__(self):
        from underthesea import pos_tag, word_tokenize

        self._pos_tag, self._word_tokenize = pos_tag, word_tokenize
        try:
            from underthesea.pipeline.pos_tag.model_crf import CRFPOSTagPredictor
            from underthesea.pipeline.pos_tag.tagged_feature import apply_function

            predictor = CRFPOSTagPredictor.Instance()
            self._templates = [self._parse(syntax) for syntax in predictor.transformer.template]
            self._crf, self._apply = predictor.model, apply_function
        except (ImportError, AttributeError, TypeError) as error:
            warnings.warn(f"underthesea's POS internals changed ({error}); using its slower pos_tag", RuntimeWarning)
            self._crf = None

    @staticmethod
    def _parse(syntax: str) -> tuple[str, int, int | None, int, str | None]:
        matched = _TEMPLATE.match(syntax)
        if matched is None:
            raise TypeError(f"unknown feature template {syntax!r}")
        index2 = matched.group("index2")
        return (f"{syntax}=", int(matched.group("index1")), int(index2) if index2 is not None else None,
                int(matched.group("column") or 0), matched.group("function"))

    def features(self, words: list[str]) -> list[list[str]]:
        """The feature strings underthesea's TaggedTransformer makes for ``words``.

        Built a template at a time, each word's function values computed once:
        the same strings as token by token, in a third of the time.
        """
        count = len(words)
        columns = (words, ["X"] * count)  # underthesea tags with every POS column set to "X"
        applied: dict[tuple[int, str], list[str]] = {}
        per_template = []
        for prefix, first, last, column, function in self._templates:
            values = columns[column]
            if last is None and function:
                key = (column, function)
                if key not in applied:
                    applied[key] = [str(self._apply(function, word)) for word in values]
                values = applied[key]
            strings = []
            for i in range(count):
                start = i + first
                if start < 0:
                    strings.append(prefix + "BOS")
                elif start >= count or (last is not None and i + last >= count):
                    strings.append(prefix + "EOS")
                elif last is None:
                    strings.append(prefix + values[start])
                else:
                    joined = " ".join(values[start:i + last + 1])
                    strings.append(f"{prefix}{self._apply(function, joined)}" if function else prefix + joined)
            per_template.append(strings)
        return [list(row) for row in zip(*per_template)]

    def __call__(self, line: str) -> list[tuple[str, str]]:
        if self._crf is None:
            return self._pos_tag(line)
        words = self._word_tokenize(line)
        if not words:
            return []
        return list(zip(words, self._crf.tag(self.features(words))))


def line_problem(offset: int, problem: str) -> str:
    return f"line at offset {offset}: {problem}"


class UndertheseaTokenizer(DummyTokenizer):
    """spaCy tokenizer: underthesea's words and POS tags for each line of text."""

    def __init__(self, vocab: Vocab, settings: dict):
        self.vocab = vocab
        self._pos_tag = PosTagger()
        self.settings = settings
        # Training re-tokenises the same sentences every epoch; a bounded cache of
        # tagged lines makes that free without holding a whole archive in memory.
        self._cache: dict[str, tuple[list[Token], list[str]]] = {}
        self._cache_size = settings["cache_lines"]

    def __reduce__(self):
        return UndertheseaTokenizer, (self.vocab, self.settings)

    def tag_line(self, line: str) -> tuple[list[Token], list[str]]:
        """Tokens of one line (offsets within it) and alignment problems."""
        if not line.strip():
            return [], []
        cached = self._cache.get(line)
        if cached is not None:
            return cached
        result = self._tag_line_uncached(line)
        if self._cache_size <= 0:
            return result
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[line] = result
        return result

    def _tag_line_uncached(self, line: str) -> tuple[list[Token], list[str]]:
        tagged = self._pos_tag(line)
        words = [w for w, _ in tagged]
        tags = [t for _, t in tagged]
        tokens, problems = align(line, words, self.settings["unknown_tag"], tags)
        tokens = recut_numbers(line, tokens, self.settings["number_tag"], self.settings["glued_unit_tag"])
        return detach_syllables(line, tokens, self.settings["detach"], self.settings["number_tag"]), problems

    def __call__(self, text: str) -> Doc:
        tokens: list[Token] = []
        problems: list[str] = []
        offset = 0
        for line in text.split("\n"):
            for start, end, problem in line_sections(line, self.settings["section_chars"]):
                if problem:
                    problems.append(line_problem(offset, problem))
                piece_tokens, piece_problems = self.tag_line(line[start:end])
                tokens.extend(Token(t.start + offset + start, t.end + offset + start, t.tag) for t in piece_tokens)
                problems.extend(line_problem(offset, p) for p in piece_problems)
            offset += len(line) + 1
        for problem in problems:
            warnings.warn(problem, AlignmentWarning, stacklevel=2)
        doc = self._make_doc(text, tokens)
        add_warnings(doc, problems)
        return doc

    def _make_doc(self, text: str, tokens: list[Token]) -> Doc:
        """A Doc whose text is ``text``: runs of white space other than one
        space after a token become white-space tokens, as spaCy's own do."""
        tag_to_pos = self.settings["tag_to_pos"]
        space_tag = self.settings["space_tag"]
        words, spaces, tags, pos = [], [], [], []

        def add_space_token(chunk: str) -> None:
            words.append(chunk)
            spaces.append(False)
            tags.append(space_tag)
            pos.append("SPACE")

        cursor = 0
        for token in tokens:
            gap = text[cursor:token.start]
            if gap:
                if words and spaces[-1] is False and words[-1] and not words[-1].isspace() and gap[0] == " ":
                    spaces[-1] = True
                    gap = gap[1:]
                if gap:
                    add_space_token(gap)
            words.append(text[token.start:token.end])
            spaces.append(False)
            tags.append(token.tag)
            pos.append(tag_to_pos.get(token.tag, "X"))
            cursor = token.end
        gap = text[cursor:]
        if gap:
            if words and not words[-1].isspace() and gap[0] == " ":
                spaces[-1] = True
                gap = gap[1:]
            if gap:
                add_space_token(gap)
        return Doc(self.vocab, words=words, spaces=spaces, tags=tags, pos=pos)


def line_sections(line: str, limit: int) -> list[tuple[int, int, str | None]]:
    """Pieces of a line no longer than ``limit``: (start, end, problem or None).

    underthesea's memory grows with the length of what it is given (about
    2 GiB for a line of a million characters), so a longer line is tagged in
    pieces cut after the last sentence end, else the last white space, within
    reach; a run of ``limit`` characters with neither is cut where it stands,
    with a message.
    """
    if len(line) <= limit:
        return [(0, len(line), None)]
    sections, start = [], 0
    while len(line) - start > limit:
        reach = start + limit
        window = line[start:reach]
        ends = [m.end() for m in re.finditer(r"[.;!?…]\s+", window)]
        cut = start + ends[-1] if ends else None
        if cut is None:
            spaces = [m.end() for m in re.finditer(r"\s+", window)]
            cut = start + spaces[-1] if spaces and spaces[-1] > 0 else None
        problem = None
        if cut is None or cut <= start:
            cut = reach
            problem = f"{limit} characters from offset {start} hold no sentence end or space; tagged in two pieces cut at {cut}"
        sections.append((start, cut, problem))
        start = cut
    sections.append((start, len(line), None))
    return sections


@registry.tokenizers("vnreport.underthesea_tokenizer.v2")
def create_underthesea_tokenizer(
    tag_to_pos: Dict[str, str],
    detach: Dict[str, object],
    number_tag: str = "M",
    glued_unit_tag: str = "Nu",
    unknown_tag: str = "X",
    space_tag: str = "_SP",
    cache_lines: int = 20000,
    section_chars: int = 200000,
) -> Callable[[object], UndertheseaTokenizer]:
    """The tokenizer with its settings as typed arguments: they are written in
    the config.cfg saved with every model, so a model always tokenises as it
    was trained (see ``[nlp.tokenizer]`` in pipeline/config/pipeline.cfg)."""
    settings = {
        "tag_to_pos": dict(tag_to_pos), "detach": dict(detach), "number_tag": number_tag,
        "glued_unit_tag": glued_unit_tag, "unknown_tag": unknown_tag, "space_tag": space_tag,
        "cache_lines": cache_lines, "section_chars": section_chars,
    }

    def make_tokenizer(nlp):
        return UndertheseaTokenizer(nlp.vocab, settings)

    return make_tokenizer
