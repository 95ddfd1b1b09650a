"""Which official statistical indicator a figure is.

The catalogue (``pipeline/config/indicators.csv``) lists indicators of the
provincial statistical indicator system with their official code where one was
found in a published source, their name, the words reports use for them, the
kind of unit they are counted in and whether they are an amount, a growth
rate, an index, a rate or the shares of a total. ``link_indicator`` reads a
record (its metric, parent metric, unit and relation; its sentence when it has
no metric of its own) and returns the indicator's id and a score.

Plain and fast on purpose: string normalisation, alias lookups and token
overlap, no model. Settings (threshold, word lists, unit kinds) are in
``pipeline/config/indicators.toml``.
"""
from __future__ import annotations

import csv
import io
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.io.legacy_text import modern_tone_placement

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CATALOGUE_PATH = CONFIG_DIR / "indicators.csv"
SETTINGS_PATH = CONFIG_DIR / "indicators.toml"
MEASURES = ("level", "growth", "index", "rate", "share")
SCOPES = ("total", "items")
CATALOGUE_FIELDS = ("id", "code", "name", "group", "measure", "unit_kinds", "scope", "aliases", "source")

# Relations whose figure is never the indicator itself: a plan attained, a rank.
_NEVER = ("attainment", "rank")


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Indicator:
    id: str
    code: str | None
    name: str
    group: str
    measure: str
    unit_kinds: tuple[str, ...]
    scope: str
    aliases: tuple[str, ...]
    source: str


@lru_cache(maxsize=4)
def load_catalogue(path: str | None = None) -> tuple[Indicator, ...]:
    """The catalogue's indicators, in file order; a malformed row is an error
    naming its line."""
    file = Path(path) if path else CATALOGUE_PATH
    text = file.read_text(encoding="utf-8")
    # Comment lines carry the sources; they are not rows.
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("".join(lines)))
    if tuple(reader.fieldnames or ()) != CATALOGUE_FIELDS:
        raise CatalogueError(f"{file}: columns are {reader.fieldnames}, expected {', '.join(CATALOGUE_FIELDS)}")
    indicators, seen = [], set()
    for number, row in enumerate(reader, start=2):
        where = f"{file}: row {number} ({row.get('id')!r})"
        if not row["id"] or not row["name"]:
            raise CatalogueError(f"{where}: id and name are required")
        if row["id"] in seen:
            raise CatalogueError(f"{where}: id used twice")
        if row["code"] and row["code"] != row["id"]:
            raise CatalogueError(f"{where}: an indicator with an official code has the code as its id")
        if not row["code"] and not row["id"].startswith("vnr:"):
            raise CatalogueError(f"{where}: an id that is not an official code starts with 'vnr:'")
        if row["measure"] not in MEASURES or row["scope"] not in SCOPES:
            raise CatalogueError(f"{where}: measure must be one of {MEASURES}, scope one of {SCOPES}")
        seen.add(row["id"])
        indicators.append(Indicator(
            id=row["id"], code=row["code"] or None, name=row["name"], group=row["group"],
            measure=row["measure"], unit_kinds=tuple(row["unit_kinds"].split()), scope=row["scope"],
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()), source=row["source"],
        ))
    return tuple(indicators)


@lru_cache(maxsize=1)
def catalogue_ids() -> frozenset[str]:
    return frozenset(indicator.id for indicator in load_catalogue())


@lru_cache(maxsize=4)
def load_settings(path: str | None = None) -> dict:
    with open(Path(path) if path else SETTINGS_PATH, "rb") as f:
        return tomllib.load(f)


# --- text -------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w%‰]+")


def _words(text: str) -> list[str]:
    return list(_text_words(text))


@lru_cache(maxsize=8192)
def _text_words(text: str) -> tuple[str, ...]:
    """Kept per text: the linker reads a sentence's words again for each of its
    figures, and a metric's for each time it is named."""
    text = modern_tone_placement(unicodedata.normalize("NFC", text)).lower()
    return tuple(w for w in _NOT_WORD.sub(" ", text).split() if w)


class _Normaliser:
    def __init__(self, settings: dict):
        conf = settings["normalise"]
        # Longest first, so "trên địa bàn tỉnh" goes before "trên địa bàn".
        self.drop = sorted((tuple(_words(p)) for p in conf["drop_phrases"]), key=len, reverse=True)
        self.stop = frozenset(conf["stop_words"])
        # text -> key: the linker asks for the same metric's key for each of its
        # figures and each rule
        self._keys: dict[str, tuple[str, ...]] = {}

    def key(self, text: str) -> tuple[str, ...]:
        """The words of a name with place and time adjuncts removed; years and
        other numbers go too."""
        if text not in self._keys:
            if len(self._keys) > 100_000:
                self._keys.clear()
            self._keys[text] = self._key(text)
        return self._keys[text]

    def _key(self, text: str) -> tuple[str, ...]:
        words = [w for w in _words(text) if not w.isdigit()]
        out: list[str] = []
        i = 0
        while i < len(words):
            for phrase in self.drop:
                if tuple(words[i:i + len(phrase)]) == phrase:
                    i += len(phrase)
                    break
            else:
                out.append(words[i])
                i += 1
        return tuple(out)

    def content(self, key: tuple[str, ...]) -> frozenset[str]:
        return frozenset(w for w in key if w not in self.stop)


@dataclass(frozen=True)
class _Alias:
    indicator: Indicator
    key: tuple[str, ...]
    content: frozenset[str]


class _Index:
    """Aliases of the catalogue normalised once, and the unit and item tables."""

    def __init__(self, catalogue: tuple[Indicator, ...], settings: dict):
        self.settings = settings
        self.norm = _Normaliser(settings)
        self.by_id = {indicator.id: indicator for indicator in catalogue}
        self.aliases: list[_Alias] = []
        self.exact: dict[tuple[str, ...], list[Indicator]] = {}
        for indicator in catalogue:
            for name in (indicator.name, *indicator.aliases):
                key = self.norm.key(name)
                if not key:
                    continue
                self.aliases.append(_Alias(indicator, key, self.norm.content(key)))
                entries = self.exact.setdefault(key, [])
                if indicator not in entries:
                    entries.append(indicator)
        units = settings["units"]
        known = set(units["kinds"].values()) | {"money_per", "unitless"}
        for indicator in catalogue:
            if not indicator.unit_kinds or set(indicator.unit_kinds) - known:
                raise CatalogueError(f"{indicator.id}: unit kinds {indicator.unit_kinds} are not among {sorted(known)}")
        self.scales = sorted((tuple(_words(s)) for s in units["scales"]), key=len, reverse=True)
        self.unit_kinds = {" ".join(_unit_words(k)): v for k, v in units["kinds"].items()}
        items = settings["items"]
        self.items = {cls: sorted((self.norm.key(w) for w in items[cls]), key=len, reverse=True)
                      for cls in ("crops", "animals", "sectors", "fish", "products")}
        self.crop_trailing = frozenset(items["crop_trailing"])
        self.item_not_with = [" ".join(_words(w)) for w in items["not_with"]]
        self.products_cues = [" ".join(_words(w)) for w in items["products_cues"]]
        self.item_indicator = items["indicator"]
        self.growth_of = settings["growth_of"]
        negative = settings["not_indicators"]
        self.not_names = {self.norm.key(n) for n in negative["names"]}
        self.not_prefixes = [self.norm.key(n) for n in negative["prefixes"]]
        self.not_words = [" ".join(_words(n)) for n in negative["words"]]
        context = settings["context"]
        self.after_alias = frozenset(context["after_alias"])
        self.context_required = {k: [" ".join(_words(w)) for w in v] for k, v in context["required"].items()}
        self.before_phrases = {k: [self.norm.key(w) for w in v] for k, v in context["before"].items()}
        self.increment_words = frozenset(context["increment_words"])
        self.scale_words = frozenset(w for s in units["scales"] for w in _words(s))
        self.item_heads = sorted((tuple(_words(w)) for w in items["heads"]), key=len, reverse=True)
        self.head_contents = frozenset(self.content_words(head) for head in self.item_heads)
        self.area_excluded = {self.norm.key(w) for w in items["area_excluded"]}
        self.progress_before = [self.norm.key(w) for w in items["progress_before"]]
        self.nominal_words = [self.norm.key(w) for w in settings["nominal"]["words"]]
        self.scope_conflicts = [tuple(" ".join(_words(w)) for w in pair) for pair in settings["scope_conflicts"]["pairs"]]
        self.places = {tuple(_words(w)) for w in settings["places"]["names"]}
        self.context_excluded = {k: [" ".join(_words(w)) for w in v] for k, v in context.get("excluded", {}).items()}
        # alias key -> positions in self.aliases, and content word -> positions:
        # the only aliases a metric can match (_aliases_sharing)
        self.aliases_by_key: dict[tuple[str, ...], list[int]] = {}
        self.aliases_by_word: dict[str, list[int]] = {}
        for position, alias in enumerate(self.aliases):
            self.aliases_by_key.setdefault(alias.key, []).append(position)
            for word in alias.content:
                self.aliases_by_word.setdefault(word, []).append(position)
        # metric text -> its candidates (_text_candidates): an archive names the same metrics again and again
        self.candidates: dict[str, list[tuple[Indicator, float]]] = {}

    # units -----------------------------------------------------------------
    def unit_kind(self, unit: str | None) -> str | None:
        """The kind of a unit ("tỷ đồng" -> money, "tạ/ha" -> yield); None for
        no unit, "other" for one the table does not know."""
        if not unit:
            return None
        words = _unit_words(unit)
        changed = True
        while changed and words:
            changed = False
            for scale in self.scales:
                if tuple(words[:len(scale)]) == scale and len(words) > len(scale):
                    words = words[len(scale):]
                    changed = True
                    break
        text = " ".join(words)
        if text in self.unit_kinds:
            return self.unit_kinds[text]
        if "/" in text:
            numerator = text.split("/", 1)[0].strip()
            if self.unit_kinds.get(numerator) == "money":
                return "money_per"
            return self.unit_kinds.get(numerator, "other") if numerator in self.unit_kinds else "other"
        # "con gia cầm", "lượt khách du lịch": the first word(s) name the kind.
        for length in range(len(words) - 1, 0, -1):
            head = " ".join(words[:length])
            if head in self.unit_kinds:
                return self.unit_kinds[head]
        return "other"

    # items -----------------------------------------------------------------
    def item_class(self, key: tuple[str, ...]) -> str | None:
        """The item class of a metric that names only an item, possibly after
        a head word: "lúa", "sản lượng lúa đông xuân", "đàn bò", "khu vực dịch vụ"."""
        rest = self.item_rest(key)
        candidates = [key] if rest == key else [key, rest]
        for rest in candidates:
            for cls, words in self.items.items():
                if rest in words:
                    return cls
        for rest in candidates:
            for item in self.items["crops"]:
                # "lúa vụ xuân", "rau màu các loại": a crop and its season.
                if rest[:len(item)] == item and all(w in self.crop_trailing for w in rest[len(item):]):
                    return "crops"
            for item in self.items["products"]:
                # "thép cán các loại", "bia đóng lon": a product and its kind.
                if rest[:len(item)] == item and len(rest) - len(item) <= 2:
                    return "products"
        return None

    def bare_head(self, key: tuple[str, ...]) -> bool:
        """Whether a metric is only an item head word ("diện tích", "tổng sản lượng")."""
        return self.content_words(key) in self.head_contents

    def content_words(self, key: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(w for w in key if w not in self.norm.stop)

    def item_rest(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """The item of a metric without its head word ("lúa" of "sản lượng lúa")."""
        for head in self.item_heads:
            if key[:len(head)] == head and len(key) > len(head):
                return key[len(head):]
        return key

    def conflicts(self, metric: str, indicator: Indicator) -> bool:
        """Whether the metric names the other side of a scope pair than the indicator."""
        metric_text = " " + " ".join(_words(metric)) + " "
        name_text = " " + " ".join(_words(indicator.name)) + " "
        for a, b in self.scope_conflicts:
            for one, other in ((a, b), (b, a)):
                if f" {one} " in metric_text and f" {other} " in name_text and f" {other} " not in metric_text:
                    return True
        return False

    def negative(self, key: tuple[str, ...]) -> bool:
        """A metric that is a part of a total or another measure, never a catalogue indicator."""
        if key in self.not_names:
            return True
        if any(key[:len(p)] == p for p in self.not_prefixes):
            return True
        text = " " + " ".join(key) + " "
        return any(f" {w} " in text for w in self.not_words)


def _unit_words(unit: str) -> list[str]:
    text = modern_tone_placement(unicodedata.normalize("NFC", unit)).lower().strip()
    # Keep "/", "." and "%" inside a unit ("tạ/ha", "tấn.km"); spaces split.
    text = re.sub(r"\s*/\s*", "/", text)
    return [w for w in re.split(r"\s+", text) if w]


@lru_cache(maxsize=4)
def _index(catalogue_path: str | None = None, settings_path: str | None = None) -> _Index:
    return _Index(load_catalogue(catalogue_path), load_settings(settings_path))


def unit_kind(unit: str | None) -> str | None:
    return _index().unit_kind(unit)


# --- linking ----------------------------------------------------------------

def _text_candidates(index: _Index, text: str) -> list[tuple[Indicator, float]]:
    """Indicators whose name or alias matches ``text``, with a text score:
    1.0 for an alias equal to it, less for an alias inside it or for token
    overlap. Remembered per text in ``index.candidates``."""
    if text not in index.candidates:
        if len(index.candidates) > 100_000:
            index.candidates.clear()
        index.candidates[text] = _match_candidates(index, text)
    return list(index.candidates[text])


def _match_candidates(index: _Index, text: str) -> list[tuple[Indicator, float]]:
    key = index.norm.key(text)
    if not key:
        return []
    scores: dict[str, tuple[Indicator, float]] = {}

    def keep(indicator: Indicator, score: float) -> None:
        if score > scores.get(indicator.id, (indicator, 0.0))[1]:
            scores[indicator.id] = (indicator, score)

    for indicator in index.exact.get(key, []):
        keep(indicator, 1.0)
    ceiling = index.settings["linker"]["fuzzy_ceiling"]
    content = index.norm.content(key)
    for alias in _aliases_sharing(index, key, content):
        if alias.key == key:
            continue
        n, m = len(alias.key), len(key)
        if n < m and any(key[i:i + n] == alias.key for i in range(m - n + 1)):
            # The alias inside a longer metric: the more the metric adds, the
            # likelier it names a part ("thu nội địa" is not "thu").
            keep(alias.indicator, ceiling * n / m)
            continue
        if not content or not alias.content:
            continue
        overlap = len(content & alias.content)
        if overlap:
            dice = 2 * overlap / (len(content) + len(alias.content))
            if alias.content - content and content - alias.content:
                # Words swapped, not only added ("che phủ cây xanh" for "che phủ rừng"):
                # the metric likely names another thing.
                dice *= 1.0 - index.settings["linker"]["substitution_penalty"]
            keep(alias.indicator, ceiling * dice)
    return sorted(scores.values(), key=lambda item: -item[1])


def _aliases_sharing(index: _Index, key: tuple[str, ...], content: frozenset[str]) -> list:
    """The aliases that are a part of ``key`` or share a content word with it, in
    catalogue order (the order decides ties): the only ones that can score, found
    through two lookups instead of comparing ``key`` with every alias."""
    positions = set()
    for length in range(1, len(key)):
        for i in range(len(key) - length + 1):
            positions.update(index.aliases_by_key.get(key[i:i + length], ()))
    for word in content:
        positions.update(index.aliases_by_word.get(word, ()))
    return [index.aliases[i] for i in sorted(positions)]


def _compatible(index: _Index, indicator: Indicator, relation: str | None, kind: str | None,
                nominal: bool = False) -> tuple[Indicator | None, float]:
    """The indicator a record of this relation and unit kind can be (the growth
    indicator for a change of a level one), and the factor its text score is
    multiplied by; (None, 0) when it cannot be."""
    penalty = index.settings["linker"]["no_unit_penalty"]
    if kind in indicator.unit_kinds or (kind is None and "unitless" in indicator.unit_kinds):
        unit_factor = 1.0
    else:
        unit_factor = 1.0 - penalty if kind is None else 0.0
    if indicator.measure == "level":
        if relation == "level":
            return indicator, unit_factor
        growth = index.growth_of.get(indicator.id)
        if growth and not nominal and relation == "change" and kind in ("percent", None):
            return index.by_id[growth], 1.0 if kind else 1.0 - penalty
        return None, 0.0
    if indicator.measure == "growth":
        if relation in ("level", "change") and kind in ("percent", None):
            return indicator, 1.0 if kind else 1.0 - penalty
        return None, 0.0
    if indicator.measure == "index":
        if relation in ("level", "change", "ratio") and kind in ("percent", None):
            return indicator, 1.0 if kind else 1.0 - penalty
        return None, 0.0
    if indicator.measure == "rate":
        if relation in ("level", "share"):
            return indicator, unit_factor
        return None, 0.0
    if indicator.measure == "share":
        if relation == "share" and kind in ("percent", None):
            return indicator, 1.0 if kind else 1.0 - penalty
        return None, 0.0
    return None, 0.0


def _item_indicator(index: _Index, item: str, relation: str | None, kind: str | None) -> str | None:
    table = index.item_indicator.get(item, {})
    if item == "sectors":
        return table.get(relation or "")
    if relation != "level":
        return None
    return table.get(kind or "")


def link_indicator(record: dict, sentence: str | None = None) -> tuple[str | None, float]:
    """The catalogue indicator a record's figure is, and a score in [0, 1].

    The record is a gold or annotate-output record (keys metric, unit,
    relation, parent_metric, baseline, value, ...); ``sentence`` is its
    sentence's text, read for context: the words after the figure when the
    record has no metric of its own, damage and product cues for items.
    Returns (None, best score) when no indicator reaches the threshold of
    ``indicators.toml``: a part of a total (a district, a sector's growth, an
    export market), a plan attained, a rank, or a figure no indicator names.
    """
    index = _index()
    linker = index.settings["linker"]
    relation = record.get("relation")
    if relation in _NEVER:
        return None, 0.0
    kind = index.unit_kind(record.get("unit"))
    metric = record.get("metric")
    parent = record.get("parent_metric")
    sentence_words = " " + " ".join(_words(sentence)) + " " if sentence else None
    scored: dict[str, float] = {}

    def offer(indicator: Indicator | None, score: float) -> None:
        if indicator is None or score <= scored.get(indicator.id, 0.0):
            return
        if sentence_words is not None:
            required = index.context_required.get(indicator.id)
            if required and not any(f" {w} " in sentence_words for w in required):
                return
            if any(f" {w} " in sentence_words for w in index.context_excluded.get(indicator.id, ())):
                return
        scored[indicator.id] = score

    if metric and sentence and tuple(_words(metric)) in index.places:
        target = _lead_indicator(index, record, sentence, relation, kind)
        if target:
            offer(target, linker["context_score"])
    elif metric:
        key = index.norm.key(metric)
        if index.negative(key):
            return None, 0.0
        candidates = _text_candidates(index, metric)
        best_text = candidates[0][1] if candidates else 0.0
        item = index.item_class(key)
        parent_total = _exact_total(index, parent)
        if parent_total and best_text < 1.0 and not item:
            # An item under a total ("thu nội địa" under the budget revenue)
            # is a part of it, unless its own name is an indicator's.
            return None, best_text
        if item and best_text < 1.0:
            # An item named loosely ("khu vực nông, lâm nghiệp và thủy sản")
            # is what its unit and relation make it, not an indicator sharing its words.
            candidates = []
        elif index.bare_head(key):
            # "diện tích", "tổng sản lượng" name no item: no item-defined indicator.
            candidates = [(i, s) for i, s in candidates if i.scope != "items" or s >= 1.0]
        damaged = _damaged(index, record, sentence) or _progress(index, record, sentence, kind)
        nominal = any(key[:len(w)] == w for w in index.nominal_words)
        for indicator, text_score in candidates:
            if text_score < best_text - linker["dominance_margin"]:
                break
            if (damaged and indicator.scope == "items") or index.conflicts(metric, indicator):
                continue
            target, factor = _compatible(index, indicator, relation, kind, nominal)
            offer(target, text_score * factor)
        if item == "fish" and kind == "area" and index.item_rest(key) in index.area_excluded:
            item = None
        if item and not damaged:
            target_id = _item_indicator(index, item, relation, kind)
            if target_id and _item_parent_agrees(index, item, parent, record.get("baseline")):
                offer(index.by_id[target_id], linker["fuzzy_ceiling"])
        if parent and not damaged and len(index.norm.content(key)) <= index.settings["normalise"]["short_metric_tokens"]:
            # A short metric under an item-defined indicator ("lúa" under
            # "diện tích gieo trồng cây hằng năm") is that indicator's item.
            for indicator, text_score in _text_candidates(index, parent):
                if indicator.scope != "items" or text_score < 1.0:
                    continue
                target, factor = _compatible(index, indicator, relation, kind)
                offer(target, linker["fuzzy_ceiling"] * factor)
        if (max(scored.values(), default=0.0) < linker["threshold"] and sentence_words is not None and relation == "level"
                and kind in index.item_indicator["products"] and best_text < 1.0
                and any(f" {w} " in sentence_words for w in index.products_cues)):
            # A product in a sentence listing an industry's main products.
            offer(index.by_id[index.item_indicator["products"][kind]], linker["context_score"])
    elif sentence and relation in ("level", "share") and kind not in (None, "other", "percent", "pp"):
        target = _context_indicator(index, record, sentence, kind)
        if target:
            offer(target, linker["context_score"])
    if not scored:
        return None, 0.0
    best_id, best = max(scored.items(), key=lambda item: (item[1], item[0]))
    best = round(min(1.0, best), 4)
    if best < linker["threshold"]:
        return None, best
    return best_id, best


def _damaged(index: _Index, record: dict, sentence: str | None) -> bool:
    """Whether the clause of the figure reports a loss ("1.870 ha lúa bị
    ảnh hưởng", "2.502 con gia súc bị chết"): such areas and herds are not the
    crop area or the herd."""
    if not sentence:
        return False
    span = _value_span(record, sentence)
    if span is not None:
        start = max(sentence.rfind(";", 0, span[0]), sentence.rfind(".", 0, span[0])) + 1
        stops = [i for i in (sentence.find(";", span[1]), sentence.find(".", span[1])) if i >= 0]
        sentence = sentence[start:min(stops) if stops else len(sentence)]
    words = " " + " ".join(_words(sentence)) + " "
    return any(f" {w} " in words for w in index.item_not_with)


def _lead_indicator(index: _Index, record: dict, sentence: str, relation: str | None, kind: str | None) -> Indicator | None:
    """The indicator the lead clause of a list names ("Tốc độ tăng GRDP ... của
    các tỉnh vùng Tây Nguyên: Kon Tum 6,8%; ..."), for a figure after its colon."""
    span = _value_span(record, sentence)
    colon = sentence.find(":")
    if span is None or colon < 0 or span[0] < colon:
        return None
    lead = index.norm.key(sentence[:colon])
    best: tuple[int, Indicator] | None = None
    for alias in index.aliases:
        n = len(alias.key)
        if n < 2 or not any(lead[i:i + n] == alias.key for i in range(len(lead) - n + 1)):
            continue
        target, factor = _compatible(index, alias.indicator, relation, kind)
        if target is not None and factor >= 1.0 and (best is None or n > best[0]):
            best = (n, target)
    return best[1] if best else None


def _progress(index: _Index, record: dict, sentence: str | None, kind: str | None) -> bool:
    """Whether an area is a season's progress ("đã thu hoạch 242.300 ha lúa"):
    the words right before its figure say so."""
    if kind != "area" or not sentence:
        return False
    span = _value_span(record, sentence)
    if span is None:
        return False
    before = index.norm.key(re.split(r"[,;:.()\n]", sentence[:span[0]])[-1])
    return any(p and before[-len(p):] == p for p in index.progress_before)


def _exact_total(index: _Index, text: str | None) -> str | None:
    """The total-scope indicator ``text`` names exactly, if any."""
    if not text:
        return None
    for indicator in index.exact.get(index.norm.key(text), []):
        if indicator.scope == "total":
            return indicator.id
    return None


_NUMBER_END = r"(?![\d]|[.,]\d)"


def _vn_number(x: float) -> list[str]:
    """Ways a report writes a number: "1.120", "14,57", "3,50"."""
    out = []
    if float(x).is_integer():
        out.append(f"{int(x):,}".replace(",", "."))
    for decimals in (1, 2, 3):
        text = f"{x:,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        out.append(text)
        out.append(text.rstrip("0").rstrip(","))
    return sorted(set(out), key=len, reverse=True)


_SPANS: dict[tuple, tuple[int, int] | None] = {}


def _value_span(record: dict, sentence: str) -> tuple[int, int] | None:
    """Where the record's figure is in its sentence, when it can be found there
    exactly once (remembered: the rules of one record ask up to four times)."""
    key = (record.get("value"), record.get("denominator"), record.get("upper"), sentence)
    if key not in _SPANS:
        if len(_SPANS) > 10_000:
            _SPANS.clear()
        _SPANS[key] = _find_value_span(record, sentence)
    return _SPANS[key]


def _number_matches(form: str, sentence: str) -> list[tuple[int, int]]:
    """The spans ``re.finditer(r"(?<![\\d.,])-?0*" + re.escape(form) + _NUMBER_END,
    sentence)`` gives (``form`` a written number, starting and ending with a
    digit), found with ``str.find``: compiling that pattern for every number of
    every sentence was most of the time spent locating figures."""
    def number_char(i: int) -> bool:
        return sentence[i].isdecimal() or sentence[i] in ".,"

    matches, end, length = [], 0, len(form)
    position = sentence.find(form)
    while position >= 0:
        after = position + length
        ends_number = not (after < len(sentence) and (sentence[after].isdecimal() or (
            sentence[after] in ".," and after + 1 < len(sentence) and sentence[after + 1].isdecimal())))
        if position >= end and ends_number:
            zeros = position
            while zeros > end and sentence[zeros - 1] == "0":
                zeros -= 1
            # where the match can start: a "-" before the zeros, else the first zero (or the form)
            starts = ([zeros - 1] if zeros - 1 >= end and sentence[zeros - 1] == "-" else []) + [zeros]
            start = next((s for s in starts if s == 0 or not number_char(s - 1)), None)
            if start is not None:
                matches.append((start, after))
                end = after
        position = sentence.find(form, position + 1)
    return matches


def _find_value_span(record: dict, sentence: str) -> tuple[int, int] | None:
    value = record.get("value")
    if not isinstance(value, (int, float)):
        return None
    forms = _vn_number(abs(value))
    if record.get("denominator"):
        forms = [f"{a}/{b}" for a in forms for b in _vn_number(record["denominator"])]
    elif record.get("upper") is not None:
        forms = [f"{a}-{b}" for a in forms for b in _vn_number(record["upper"])]
    spans = set()
    for form in forms:
        if form not in sentence:  # most written forms of a number are not there: no pattern to build
            continue
        spans.update(_number_matches(form, sentence))
    # The longest form found wins where a shorter one matched inside it.
    spans = {span for span in spans if not any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in spans)}
    return spans.pop() if len(spans) == 1 else None


def _context_indicator(index: _Index, record: dict, sentence: str, kind: str) -> Indicator | None:
    """The indicator named right after a figure that has no METRIC ("1.120
    doanh nghiệp thành lập mới", "36/36 xã đạt chuẩn nông thôn mới") or by
    the verb right before it ("làm chết 38 người" in a sentence on traffic
    accidents). A figure after "thêm" or "tăng" is an increment, not a level."""
    span = _value_span(record, sentence)
    if span is None:
        return None
    before = index.norm.key(re.split(r"[,;:.()\n]", sentence[:span[0]])[-1])
    if before and before[-1] in index.increment_words:
        return None
    clause = re.split(r"[,;:.()\n]", sentence[span[1]:], maxsplit=1)[0]
    words = list(index.norm.key(clause))
    while words and words[0] in index.scale_words:
        words.pop(0)
    words = tuple(words)
    best: tuple[int, Indicator] | None = None
    for alias in index.aliases:
        indicator = alias.indicator
        if kind not in indicator.unit_kinds or indicator.measure not in ("level", "rate"):
            continue
        n = len(alias.key)
        if n < 2 or words[:n] != alias.key:
            continue
        if len(words) > n and words[n] not in index.after_alias:
            continue
        if best is None or n > best[0]:
            best = (n, indicator)
    if best:
        return best[1]
    for indicator_id, phrases in index.before_phrases.items():
        indicator = index.by_id[indicator_id]
        if kind in indicator.unit_kinds and any(before[-len(p):] == p for p in phrases):
            return indicator
    return None


def _item_parent_agrees(index: _Index, item: str, parent: str | None, baseline: str | None) -> bool:
    """A sector's share is the structure of GRDP only when it is not the share
    of something else (a baseline or parent that names another total)."""
    if item != "sectors":
        return True
    for other in (parent, baseline):
        if not other:
            continue
        names = {indicator.id for indicator, score in _text_candidates(index, other) if score >= 1.0}
        if not names & {"T0501", "vnr:grdp-structure", "vnr:grdp-growth"}:
            return False
    return True


# --- scores over the gold ---------------------------------------------------

def score_documents(documents: list[dict]) -> dict:
    """Precision and coverage of ``link_indicator`` over the reviewed records
    (those whose gold has an ``indicator`` key) of ``documents``."""
    counts = {"records": 0, "reviewed": 0, "gold_coded": 0, "predicted": 0, "correct": 0,
              "wrong_code": 0, "false_code": 0, "missed": 0, "coded_records": 0}
    errors = []
    for document in documents:
        text = document["text"]
        sentences = document["sentences"]
        for record in document.get("records", []):
            counts["records"] += 1
            sentence = sentences[record["sentence"]] if record.get("sentence") is not None else None
            sentence_text = text[sentence["start"]:sentence["end"]] if sentence else None
            predicted, score = link_indicator(record, sentence_text)
            counts["coded_records"] += predicted is not None
            if "indicator" not in record:
                continue
            counts["reviewed"] += 1
            gold = record["indicator"]
            counts["gold_coded"] += gold is not None
            counts["predicted"] += predicted is not None
            if predicted is not None and predicted == gold:
                counts["correct"] += 1
            elif predicted is not None and gold is not None:
                counts["wrong_code"] += 1
            elif predicted is not None:
                counts["false_code"] += 1
            elif gold is not None:
                counts["missed"] += 1
            if predicted != gold:
                errors.append({"doc_id": document["doc_id"], "span": record["span"], "value": text[record["span"][0]:record["span"][1]],
                               "metric": record.get("metric"), "unit": record.get("unit"), "relation": record.get("relation"),
                               "gold": gold, "predicted": predicted, "score": score})
    predicted, gold_coded, reviewed = counts["predicted"], counts["gold_coded"], counts["reviewed"]
    return {
        **counts,
        "precision": counts["correct"] / predicted if predicted else None,
        "coverage": counts["correct"] / gold_coded if gold_coded else None,
        "coded_share": predicted / reviewed if reviewed else None,
        "coded_share_all": counts["coded_records"] / counts["records"] if counts["records"] else None,
        "errors": errors,
    }


def indicator_scores(documents: list[dict], splits: list[str]) -> dict[str, dict]:
    """``score_documents`` for each split (and "all"), over gold documents."""
    result = {}
    for split in splits:
        chosen = documents if split == "all" else [d for d in documents if d.get("split") == split]
        result[split] = score_documents(chosen)
    return result


def format_scores(scores: dict[str, dict], show_errors: bool = False) -> str:
    def pct(value):
        return "   -  " if value is None else f"{value:6.3f}"

    lines = ["split   reviewed  gold-coded  predicted  correct  wrong-code  false-code  missed  precision  coverage  "
             "coded-share  records  coded-all"]
    for split, s in scores.items():
        lines.append(f"{split:<7} {s['reviewed']:>8}  {s['gold_coded']:>10}  {s['predicted']:>9}  {s['correct']:>7}  "
                     f"{s['wrong_code']:>10}  {s['false_code']:>10}  {s['missed']:>6}  {pct(s['precision']):>9}  "
                     f"{pct(s['coverage']):>8}  {pct(s['coded_share']):>11}  {s['records']:>7}  {pct(s['coded_share_all']):>9}")
    lines.append("precision: right codes / codes given; coverage: right codes / reviewed records with a gold code; "
                 "coded-share: codes given / reviewed records; coded-all: codes given / all records of the split")
    if show_errors:
        for split, s in scores.items():
            for e in s["errors"]:
                lines.append(f"{split}\t{e['doc_id']}\t{e['value']}\t{e['unit']}\t{e['relation']}\t{e['metric']!r}\tgold={e['gold']}\tpredicted={e['predicted']}\t{e['score']}")
    return "\n".join(lines)
