"""Figures and their links: the Entity of a span, numbers parsed from Vietnamese
notation, and the hand-written linker that makes one record per VALUE entity
(ANNOTATION.md section 3). The records component (records.py) runs it, or the
learned linker (linker.py), which reuses its unit, number and qualifier.

Works on character offsets and entity spans only, so gold entities and
predicted entities go through the same linking.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from pipeline.config import DEFAULT_CONFIG_PATH, load_toml

RULES_PATH = DEFAULT_CONFIG_PATH.parent / "rules.toml"


@lru_cache(maxsize=1)
def _default_rules() -> dict:
    return load_toml(RULES_PATH)


def rules_config(path=None) -> dict:
    return load_toml(path) if path else _default_rules()


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str

    def text(self, document: str) -> str:
        return document[self.start:self.end]


def parse_number(text: str) -> float:
    """A number in Vietnamese notation: "." groups thousands, "," is the decimal mark.

    "1.096" -> 1096, "9,2" -> 9.2, "1.163,5" -> 1163.5. A lone "." followed by
    other than three digits is read as a decimal point ("2.5" -> 2.5), the way
    some reports written with English settings spell it.
    """
    text = text.strip().replace("\u2212", "-")
    negative = text.startswith("-")
    digits = text.lstrip("-")
    if "," in digits:
        value = float(digits.replace(".", "").replace(",", "."))
    elif "." in digits:
        groups = digits.split(".")
        value = float("".join(groups)) if all(len(g) == 3 for g in groups[1:]) else float(digits)
    else:
        value = float(digits)
    return -value if negative else value


_RANGE = re.compile(r"^(-?[\d.,]+)\s*[-–]\s*([\d.,]+)$")


def parse_value(text: str) -> dict:
    """value, denominator and upper bound of a VALUE span's text."""
    text = text.strip()
    if "/" in text:
        numerator, denominator = text.split("/", 1)
        return {"value": parse_number(numerator), "denominator": parse_number(denominator), "upper": None}
    match = _RANGE.match(text)
    if match:
        return {"value": parse_number(match.group(1)), "denominator": None, "upper": parse_number(match.group(2))}
    return {"value": parse_number(text), "denominator": None, "upper": None}


def baseline_type(baseline: str | None, rules: dict | None = None) -> str | None:
    if not baseline:
        return None
    rules = rules or rules_config()
    lowered = baseline.lower()
    if re.match(r"^\d{1,2}/\d{1,2}(/\d{2,4})?$", lowered) or _pattern(r"^({})\s", tuple(rules["records"]["period_words"])).match(lowered):
        return "period"
    for head, kind in rules["baselines"]["heads"]:
        if lowered.startswith(head.lower()):
            return kind
    return "other"


def _scale(unit: str | None, rules: dict) -> tuple[float, str] | None:
    if not unit:
        return None
    for word, factor in sorted(rules["units"]["scales"].items(), key=lambda item: -len(item[0])):
        if unit == word or unit.startswith(word + " "):
            rest = unit[len(word):].strip()
            return factor, rest
    return None


def _words_before(segment: str, words: list[str]) -> tuple[str, int] | None:
    """The listed word nearest the end of ``segment`` (longest first at a place)."""
    best = None
    for word, pattern in _each_word(tuple(words)):
        for match in pattern.finditer(segment):
            if best is None or match.start() > best[1] or (match.start() == best[1] and len(word) > len(best[0])):
                best = (word.lower(), match.start())
    return best


# The linker runs for every figure of an archive with the same few word lists:
# their patterns are compiled once per list, not once per figure.
@lru_cache(maxsize=256)
def _each_word(words: tuple[str, ...], after: str = r"(?!\w)", flags: int = re.IGNORECASE,
               longest_first: bool = True) -> list[tuple[str, re.Pattern]]:
    """(word, its pattern) for each word: the whole word followed by ``after``,
    longest first (or in the list's order, where the first found wins)."""
    ordered = sorted(words, key=len, reverse=True) if longest_first else words
    return [(word, re.compile(rf"(?<!\w){re.escape(word)}{after}", flags)) for word in ordered]


@lru_cache(maxsize=256)
def _pattern(template: str, words: tuple[str, ...], flags: int = 0) -> re.Pattern:
    """``template`` with ``{}`` replaced by the alternation of ``words``, longest first."""
    return re.compile(template.replace("{}", _alternatives(list(words))), flags)


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _clause_before(text: str, sentence_start: int, position: int) -> str:
    """Text of the clause before ``position``: back to , ; : or an open bracket."""
    prefix = text[sentence_start:position]
    # Closed brackets belong to their clause; only an open one starts a clause.
    depth, cut = 0, 0
    for i in range(len(prefix) - 1, -1, -1):
        char = prefix[i]
        if char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                cut = i + 1
                break
            depth -= 1
        elif char in ",;:" and depth == 0:
            cut = i + 1
            break
    return prefix[cut:]


def within_spans(spans: list[tuple[int, int]], items: list, start=lambda item: item.start, end=lambda item: item.end) -> list[list]:
    """The items (entities) lying wholly inside each span, in text order.

    Found by bisection over the items sorted by start, so a document of ten
    thousand sentences and as many entities does not test every entity
    against every sentence.
    """
    ordered = sorted(items, key=start)
    starts = [start(item) for item in ordered]
    groups = []
    for span_start, span_end in spans:
        inside = []
        for index in range(bisect_left(starts, span_start), len(ordered)):
            if starts[index] > span_end:
                break
            if end(ordered[index]) <= span_end:
                inside.append(ordered[index])
        groups.append(inside)
    return groups


def link_records(text: str, sentence: tuple[int, int], entities: list[Entity], rules: dict | None = None) -> list[dict]:
    """One record per VALUE in the sentence, linked to METRIC, UNIT and BASELINE."""
    rules = rules or rules_config()
    settings = rules["records"]
    start, end = sentence
    inside = sorted((e for e in entities if start <= e.start and e.end <= end), key=lambda e: e.start)
    values = [e for e in inside if e.label == "VALUE"]
    metrics = [e for e in inside if e.label == "METRIC"]
    units = [e for e in inside if e.label == "UNIT"]
    baselines = [e for e in inside if e.label == "BASELINE"]
    sentence_text = text[start:end]
    sentence_estimate = bool(_pattern(r"^({})\b", tuple(settings["estimate_openings"])).match(sentence_text))
    estimate = _pattern(r"(?<!\w)({})(?!\w)", tuple(settings["estimate_words"]), re.IGNORECASE)
    causative_pattern = _pattern(r"(?<!\w)({})(?!\w)", tuple(settings["causatives"]))
    multiplier = _pattern(r"(?<!\w)({})\s*$", tuple(settings["multipliers"]))
    qualifiers = _each_word(tuple(settings["qualifiers"]), after=r"\s*$")  # right before the figure
    after_value_qualifiers = _each_word(tuple(settings["after_value_qualifiers"]), flags=0, longest_first=False)
    records: list[dict] = []
    for index, value in enumerate(values):
        value_text = value.text(text)
        try:
            parsed = parse_value(value_text)
        except ValueError:
            # A predicted VALUE that is no number ("1,2,3"): the record says so.
            parsed = {"value": None, "denominator": None, "upper": None}
        unit = next((u for u in units if value.end <= u.start <= value.end + 2 and not text[value.end:u.start].strip()), None)
        unit_text = unit.text(text) if unit else None
        after_value = unit.end if unit else value.end
        # The baseline after the value, in the same clause; other values on the
        # way are allowed only inside brackets ("tăng 5.525 tỷ đồng (9,7%) so với ...").
        baseline = None
        for candidate in baselines:
            if candidate.start < after_value:
                continue
            between = text[after_value:candidate.start]
            others = [v for v in values if after_value <= v.start < candidate.start]
            bracketed = all(text[max(start, v.start - 1):v.start] == "(" or text[max(start, v.start - 2):v.start] == "(-" for v in others)
            if ";" not in between and bracketed:
                baseline = candidate
            break
        if baseline is None:
            # "vẫn ở mức cao so với bình quân cả nước, ước đạt 6,4%": a baseline
            # before the value, with no other value or ";" in between, that no
            # earlier value already compares with ("tăng 9,2% so với cùng kỳ, quy mô ...").
            used = {tuple(r["baseline_span"]) for r in records if r.get("baseline_span")}
            for candidate in reversed(baselines):
                if candidate.end <= value.start and (candidate.start, candidate.end) not in used:
                    between = text[candidate.end:value.start]
                    if ";" not in between and not any(candidate.end <= v.start < value.start for v in values):
                        baseline = candidate
                    break
        clause = _clause_before(text, start, value.start)
        qualifier = None
        immediate = re.search(r"(\S+(?:\s\S+)?)\s*$", clause)
        for word, pattern in qualifiers:
            if immediate and pattern.search(clause):
                qualifier = word.lower()
                break
        if qualifier is None:
            following = text[after_value:after_value + 10]
            qualifier = next((w for w, pattern in after_value_qualifiers if pattern.search(following)), None)
        if qualifier is None and (estimate.search(clause) or sentence_estimate):
            qualifier = settings["estimate_words"][0]

        verb = None
        causative = causative_pattern.search(clause)
        for kind in ("up", "down", "share", "rank", "attainment"):
            found = _words_before(clause, settings[kind])
            if found and (verb is None or found[1] > verb[2] or (found[1] == verb[2] and len(found[0]) > len(verb[1]))):
                verb = (kind, found[0], found[1])
        if causative:
            # "làm giảm tốc độ tăng trưởng chung 0,23 điểm": the causative verb
            # governs; "tăng trưởng" after it is a noun.
            verb = (settings["causatives"][causative.group(1)], causative.group(), causative.start())
        type_of_baseline = baseline_type(baseline.text(text) if baseline else None, rules)
        direction = None
        if verb is None:
            relation = "level"
            # A bracketed figure right after another takes its relation: "tăng 5.525 tỷ đồng (9,7%)".
            if clause.strip() == "" and records and text[max(start, value.start - 2):value.start].strip().startswith("("):
                relation, direction = records[-1]["relation"], records[-1]["direction"]
        elif verb[0] in ("up", "down"):
            relation, direction = "change", verb[0]
        elif verb[0] == "share":
            relation = "share"
        elif verb[0] == "rank":
            relation = "rank"
        else:
            if type_of_baseline in ("plan", "budget") or (verb[1] in settings["attainment_with_unit"] and unit_text in ("%", "lần")):
                relation = "attainment"
            elif verb[1] in settings["comparison_verbs"] and type_of_baseline == "total":
                relation = "share"  # "bằng 39,9% tổng nguồn vốn"
            elif verb[1] in settings["comparison_verbs"] and (type_of_baseline in ("same_period", "period") or unit_text in (None, "%", "lần")):
                relation = "ratio"
            else:
                relation = "level"
        if parsed["denominator"] and unit is not None and relation != "rank":
            relation, direction = "share", None  # "có 18/23 sản phẩm", "hoàn thành 9/9 tiêu chí"
        if multiplier.search(clause):
            relation, direction = "ratio", None
        if relation == "ratio" and parsed["denominator"] and parsed["value"] is not None and unit is None:
            parsed = {"value": parsed["value"] / parsed["denominator"], "denominator": None, "upper": None}

        metric = None
        candidates = [m for m in metrics if m.end <= value.start]
        if candidates:
            metric = candidates[-1]
        elif metrics and not values[:index]:
            metric = metrics[0] if metrics[0].start > value.end else None
        parent = None
        if metric is not None:
            before_metric = text[start:metric.start]
            # A breakdown: the metric follows "trong đó" or sits in a bracket
            # still open before it ("Công nghiệp - xây dựng tăng 9,69% (công nghiệp ...").
            open_bracket, depth = -1, 0
            for i in range(len(before_metric) - 1, -1, -1):
                if before_metric[i] == ")":
                    depth += 1
                elif before_metric[i] == "(":
                    if depth == 0:
                        open_bracket = i
                        break
                    depth -= 1
            cut = max([before_metric.lower().rfind(w) for w in settings["breakdown_words"]] + [open_bracket])
            if cut >= 0:
                # A metric inside a bracket closed before the breakdown is an aside
                # ("(cả nước đạt 38,2% dự toán)"), never the parent.
                closed = [(start + m.start(), start + m.end()) for m in re.finditer(r"\([^()]*\)", text[start:start + cut])]
                parents = [m for m in metrics if m.end <= start + cut and not any(a <= m.start and m.end <= b for a, b in closed)]
                parent = parents[-1].text(text) if parents else None

        record = {
            "metric": metric.text(text) if metric else None,
            "value": parsed["value"],
            "unit": unit_text,
            "relation": relation,
            "direction": direction,
            "baseline": baseline.text(text) if baseline else None,
            "baseline_type": type_of_baseline,
            "qualifier": qualifier,
            "denominator": parsed["denominator"],
            "upper": parsed["upper"],
            "span": [value.start, value.end],
            "parent_metric": parent,
        }
        if baseline is not None:
            record["baseline_span"] = [baseline.start, baseline.end]
        scale = _scale(unit_text, rules)
        if scale is not None and parsed["value"] is not None:
            record["base_value"] = parsed["value"] * scale[0]
            record["base_unit"] = scale[1] or None
        records.append(record)
    return records
