"""Rule-only annotator: number and unit patterns, baseline phrases, class cues.

Two uses: it proposes the spans a person then reviews when building gold data,
and it is the baseline the trained models must beat in ``vnreport evaluate``.
Word lists are in ``config/rules.toml``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.linking import Entity, _alternatives, rules_config
from pipeline.components.structure import Sentence

# A well-formed Vietnamese number ("." thousands groups, "," decimals), a
# fraction, a date or a range, with a minus sign after a bracket or a space.
_NUM = r"(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)"
_NUMBER = re.compile(
    rf"(?<![\w./,])(?<![^\W_][\-–])(?:(?<=[(\s])-|^-)?{_NUM}(?:/{_NUM})*(?:\s?[-–]\s?{_NUM})?(?![\w/]*[/\-][A-ZĐ])(?![.,]?\d)"
)
_FULL_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
class RuleAnnotator:
    """Proposes METRIC, VALUE, UNIT and BASELINE spans and a sentence class."""

    def __init__(self, rules: dict | None = None):
        self.rules = rules or rules_config()
        values, units, baselines = self.rules["values"], self.rules["units"], self.rules["baselines"]
        self._not_after = re.compile(rf"(?:^|\W)(?:{_alternatives(values['not_after'])})(?:\s+số)?\s*[-–]?\s*$", re.IGNORECASE)
        self._not_before = re.compile(rf"^\s*(?:{_alternatives(values['not_before'])})(?!\w)", re.IGNORECASE)
        scales = _alternatives(list(units["scales"]))
        measures = _alternatives(units["measures"])
        self._unit = re.compile(
            rf"^\s?(?:(?:(?:{scales})(?:\s+(?:{measures}))?)|(?:{measures}))(?:/(?:{_alternatives(units['per'])}))?(?!\w)"
        )
        self._baseline_head = re.compile(rf"^\s*(?:{_alternatives([h for h, _ in baselines['heads']])})(?!\w)")
        self._comparator = re.compile(rf"^\s*(?:{_alternatives(baselines['compare_words'])})\s+", re.IGNORECASE)
        metrics = self.rules["metrics"]
        # the leftmost of the verbs, whole words: where a metric's noun phrase ends
        self._verb = re.compile(rf"(?<!\w)(?:{_alternatives(metrics['verbs'])})(?!\w)", re.IGNORECASE)
        self._leading = re.compile(rf"^(?:{'|'.join(metrics['leading'])})+", re.IGNORECASE)
        classes = self.rules["sentence_classes"]
        self._contrast = re.compile(rf"(?:,\s*|\s)(?:{_alternatives(classes['contrast'])})(?:,)?\s")
        self._other_opening = re.compile(rf"^({_alternatives(classes['other_openings'])})")
        self._cause_opening = re.compile(rf"^({_alternatives(classes['cause_openings'])})\b")
        self._forecast_opening = re.compile(rf"^({_alternatives(classes['forecast_openings'])})")
        self._heading_cues = [(label, cue) for label, cue in classes["heading_cues"]]
        self._limitation = re.compile(rf"(?<!\w)({_alternatives(classes['limitation_words'])})(?!\w)")
        self._positive = re.compile(rf"(?<!\w)({_alternatives(classes['positive_words'])})(?!\w)")
        # A baseline ends at punctuation (not a dot inside a number), a stop word,
        # or a number other than a year ("chỉ tiêu giao 2.650 công dân").
        self._baseline_stop = re.compile(
            rf"\s(?:{_alternatives(baselines['stop_words'])})(?!\w)|[,;:()\n]|\.(?!\d)|\s(?!(?:19|20)\d\d(?!\d))\d"
        )

    # --- entities -----------------------------------------------------------

    def values(self, text: str, start: int, end: int) -> list[Entity]:
        found = []
        sentence = text[start:end]
        for match in _NUMBER.finditer(sentence):
            number = match.group()
            before = sentence[:match.start()]
            after = sentence[match.end():]
            if _FULL_DATE.match(number.lstrip("-")):
                continue
            if re.fullmatch(r"(19|20)\d\d([-–](19|20)\d\d)?", number) and not self._unit.match(after):
                continue  # a year or a span of years
            if "/" in number and re.search(r"(?:ngày|hết|đến|từ)\s*$", before, re.IGNORECASE):
                continue  # "đến 30/6"
            if "/" in number and before.endswith("(") and after.startswith(")"):
                continue  # "(03/2)": a date in brackets
            if self._not_after.search(before) or self._not_before.match(after):
                continue
            found.append(Entity(start + match.start(), start + match.end(), "VALUE"))
        return found

    def unit_after(self, doc: Doc | None, text: str, value: Entity, end: int) -> Entity | None:
        after = text[value.end:end]
        if re.search(r"(?:xếp|đứng|xếp hạng)\s+(?:thứ\s+)?$", text[max(0, value.start - 15):value.start]):
            return None  # a rank has no unit
        match = self._unit.match(after)
        if match:
            lead = len(match.group()) - len(match.group().lstrip())
            return Entity(value.end + lead, value.end + match.end(), "UNIT")
        if doc is None:
            return None
        units = self.rules["units"]
        token = next((t for t in doc if t.idx >= value.end and not t.is_space), None)
        if (token is not None and token.idx <= value.end + 1 and token.idx + len(token.text) <= end
                and token.tag_ in units["noun_tags"] and token.text not in units["not_units"]
                and (token.text[:1].islower() or token.text.isupper())):
            return Entity(token.idx, token.idx + len(token.text), "UNIT")
        return None

    def baseline_after(self, text: str, position: int, end: int) -> Entity | None:
        after = text[position:end]
        comparator = self._comparator.match(after)
        if comparator:
            phrase_start = comparator.end()
        else:
            head = self._baseline_head.match(after)
            if not head:
                return None
            phrase_start = len(head.group()) - len(head.group().lstrip())
        rest = after[phrase_start:]
        stop = self._baseline_stop.search(rest, 1)
        phrase = rest[: stop.start()] if stop else rest
        words = phrase.split()[: self.rules["baselines"]["max_words"]]
        if not words:
            return None
        phrase = " ".join(words)
        if not rest.startswith(phrase):  # irregular spacing: keep the text's own span
            phrase = rest[: len(phrase)].rstrip()
        begin = position + phrase_start
        return Entity(begin, begin + len(phrase.rstrip()), "BASELINE")

    def metric_before(self, doc: Doc | None, text: str, sentence_start: int, value: Entity, taken: list[Entity]) -> Entity | None:
        limit = max([e.end for e in taken if e.end <= value.start] + [sentence_start])
        prefix = text[limit:value.start]
        # Blank out closed brackets: "(giá hiện hành)" is never part of a metric.
        masked = re.sub(r"\([^()]*\)", lambda m: " " * len(m.group()), prefix)
        cut = max(masked.rfind(c) for c in ",;:(")
        clause_start = cut + 1
        clause = masked[clause_start:]
        found = self._verb.search(clause)
        verb = found.start() if found else None
        noun_phrase = clause[:verb] if verb is not None else ""
        lead = self._leading.match(noun_phrase)
        offset = lead.end() if lead else 0
        phrase = noun_phrase[offset:].rstrip()
        if not re.search(r"[^\W\d_]", phrase) or len(phrase.split()) > 10 or re.search(r"\d|[()…]", phrase):
            return None
        begin = limit + clause_start + offset
        return Entity(begin, begin + len(phrase), "METRIC")

    def entities(self, doc: Doc | None, text: str, sentence: Sentence | tuple[int, int]) -> list[Entity]:
        start, end = (sentence.start, sentence.end) if isinstance(sentence, Sentence) else sentence
        spans: list[Entity] = []
        for value in self.values(text, start, end):
            if spans and value.start < spans[-1].end:
                continue
            unit = self.unit_after(doc, text, value, end)
            after = unit.end if unit else value.end
            baseline = self.baseline_after(text, after, end)
            metric = self.metric_before(doc, text, start, value, spans)
            if metric is not None:
                spans.append(metric)
            spans.append(value)
            if unit is not None:
                spans.append(unit)
            if baseline is not None:
                spans.append(baseline)
        spans.sort(key=lambda e: e.start)
        clean: list[Entity] = []
        for span in spans:
            if clean and span.start < clean[-1].end:
                continue
            clean.append(span)
        return clean

    # --- sentence classes ---------------------------------------------------

    def sentence_class(self, text: str, section: list[str], is_footnote: bool = False) -> str:
        lowered = text.lower()
        main = self._contrast.split(lowered)[-1]
        if not section and not is_footnote or self._other_opening.match(lowered):
            return "other"
        if text.isupper():
            return "other"
        if self._cause_opening.match(lowered):
            return "cause"
        if self._forecast_opening.match(lowered):
            return "other"
        # The deepest heading with a cue decides: "1. Tồn tại, hạn chế" under
        # "II. HẠN CHẾ VÀ NGUYÊN NHÂN" holds limitations, not causes.
        for heading in reversed([h.upper() for h in section]):
            found = [(heading.find(m.group()), label) for label, cue in self._heading_cues for m in [re.search(cue, heading)] if m]
            if found:
                label = min(found)[1] if len(found) > 1 else found[0][1]
                if label == "task" and is_footnote:
                    break
                return label
        limitation = self._limitation.search(main)
        if limitation and not self._positive.search(main[: limitation.start()]):
            return "limitation"
        return "achievement"


LABELS = ("METRIC", "VALUE", "UNIT", "BASELINE")
CLASSES = ("achievement", "limitation", "cause", "task", "other")


def save_rules(rules: dict, path) -> None:
    """The rules a component runs with, saved in its folder of the model."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "rules.json").write_text(json.dumps(rules, ensure_ascii=False, indent=2), encoding="utf-8")


def load_rules(path) -> dict:
    return json.loads((Path(path) / "rules.json").read_text(encoding="utf-8"))


class _RuleComponent:
    """A component of the rule baseline: the rules are read from rules.toml when
    the pipeline is built and saved with it."""

    def __init__(self, rules: dict | None = None):
        self.annotator = RuleAnnotator(rules)

    def to_disk(self, path, exclude=()) -> None:
        save_rules(self.annotator.rules, path)

    def from_disk(self, path, exclude=()):
        self.annotator = RuleAnnotator(load_rules(path))
        return self


class RuleEntities(_RuleComponent):
    """The rule annotator's METRIC, VALUE, UNIT and BASELINE spans as ``doc.ents``:
    the entities of the rule baseline (pipeline/config/rules.cfg)."""

    def __call__(self, doc: Doc) -> Doc:
        from spacy.util import filter_spans

        spans = []
        for sentence in doc.spans.get("sentences", []):
            for entity in self.annotator.entities(doc, doc.text, (sentence.start_char, sentence.end_char)):
                span = doc.char_span(entity.start, entity.end, label=entity.label, alignment_mode="expand")
                if span is not None and len(span):
                    spans.append(span)
        doc.ents = filter_spans(spans)
        return doc


class RuleSentenceClasses(_RuleComponent):
    """The rule annotator's class for each sentence (``Span._.label``), the rule
    baseline's stand-in for the trained classifier."""

    def __call__(self, doc: Doc) -> Doc:
        labels = []
        for sentence in doc.spans.get("sentences", []):
            sentence._.label = self.annotator.sentence_class(sentence.text, sentence._.section or [], sentence._.is_footnote)
            sentence._.scores = {}
            labels.append(sentence._.label)
        for record in doc._.records or []:
            record["sentence_class"] = labels[record["sentence"]]
        return doc


@Language.factory("vnreport_rule_entities_v1", assigns=["doc.ents"], requires=["doc.spans"])
def make_rule_entities(nlp: Language, name: str) -> RuleEntities:
    return RuleEntities()


@Language.factory("vnreport_rule_sentence_classes_v1", assigns=["span._.label"], requires=["doc.spans"])
def make_rule_sentence_classes(nlp: Language, name: str) -> RuleSentenceClasses:
    return RuleSentenceClasses()
