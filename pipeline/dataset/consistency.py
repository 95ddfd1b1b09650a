"""Figures that cannot all be right: checks within a document and across an archive.

- ``share_sum``: the shares of one breakdown (records with the same parent metric, in
  one sentence, relation share or a level in %) that do not sum to about 100%.
- ``part_exceeds_total``: a part ("trong đó") larger than its total, in the same
  additive unit and period.
- ``growth_contradiction``: a level, a growth rate and the previous period's level
  (stated as a level, or as the absolute change beside the rate) that do not agree,
  allowing for the rounding of each figure as written.
- ``conflicting_values``: the same indicator, place and period (and relation,
  baseline, unit) given different values in two places or two documents.

Each finding lists the sentences involved (doc_id, sentence index, text). The
documents are those of ``pipeline.dataset.build.enrich_document`` (records with
``period`` and ``normalised``). Tolerances are in ``config/dataset.toml``.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from pipeline.components.periods import settings

# Units whose parts add up to their total (not rates, shares or indexes).
ADDITIVE_KINDS = {"money", "area", "mass", "volume", "count", "energy", "length", "freight", "passenger_traffic"}
# A bound is no figure to contradict: "trên 97%" and "97,5%" agree.
BOUND_QUALIFIERS = {"trên", "dưới", "hơn", "gần", "khoảng", "tối thiểu", "ít nhất", "trở lên", "tối đa", "không quá"}
# Targets and tasks are not results: a target and its outcome legitimately differ.
TARGET_CLASSES = {"task"}


@dataclass
class Figure:
    doc_id: str
    sentence: int
    sentence_text: str
    record: dict
    value_text: str
    place: str | None
    indicator: str | None
    label: str | None

    @property
    def normalised(self) -> dict:
        return self.record.get("normalised") or {}

    @property
    def period(self) -> tuple | None:
        period = self.record.get("period")
        return (period["start"], period["end"]) if period else None

    def cite(self) -> dict:
        return {"doc_id": self.doc_id, "sentence": self.sentence, "text": self.sentence_text, "value": self.value_text}


def _fold(text: str | None) -> str | None:
    return re.sub(r"\s+", " ", text).strip().casefold() if text else None


def half_unit(value_text: str) -> float:
    """Half a unit of the last digit written: "7,14" -> 0.005, "12.221" -> 0.5 (Vietnamese
    notation: "." groups thousands, "," marks decimals)."""
    number = re.sub(r"^[^\d]*", "", value_text.strip())
    number = re.split(r"[-–]", number)[0]
    if "," in number:
        return 0.5 * 10 ** -len(number.split(",", 1)[1].rstrip())
    return 0.5


def _figures(documents: list[dict], link, config: dict) -> list[Figure]:
    from pipeline.components.context import record_indicator, sentence_text
    from pipeline.components.metadata import _province_names, find_province

    province_names = re.compile(r"(?<!\w)(" + "|".join(re.escape(name) for name, _, _ in _province_names()) + r")(?!\w)")
    target = re.compile(rf"(?<!\w)({'|'.join(re.escape(w) for w in config['target_words'])})(?!\w)", re.IGNORECASE)
    price_bases = [(re.escape(words), kind) for words, kind in config["price_bases"].items()]
    national = re.compile(rf"(?<!\w)({'|'.join(re.escape(w) for w in config['national_words'])})(?!\w)",
                          re.IGNORECASE)
    figures = []
    for document in documents:
        metadata = document.get("metadata") or {}
        province = metadata.get("province") or {}
        place = "VN" if metadata.get("scope") == "national" else (province.get("code") or province.get("current_code"))
        for record in document.get("records", []):
            index = record["sentence"]
            sentence = document["sentences"][index]
            text = sentence_text(document, index)
            indicator, _ = record_indicator(record, text, link)
            start, end = record["span"]
            # "cả nước tăng 4,44%" in a provincial report is the nation's figure,
            # "Phú Thọ tăng 35,5%" in a national one that province's
            clause = document["text"][sentence["start"]:start]
            clause = re.split(r"[;:]", clause)[-1]
            named = [m for m in province_names.finditer(clause.casefold())]
            if national.search(clause):
                figure_place = "VN"
            elif named:
                found = find_province(named[-1].group())
                figure_place = (found or {}).get("code") or (found or {}).get("current_code") or place
            else:
                figure_place = place
            if record.get("section") is None and sentence.get("section") is not None:
                record = {**record, "section": sentence["section"]}
            if target.search(clause):
                record = {**record, "is_target": True}
            prices = [kind for words, kind in price_bases if re.search(words, clause, re.IGNORECASE)]
            if prices:
                record = {**record, "price_basis": prices[-1]}
            figures.append(Figure(document["doc_id"], index, text, record, document["text"][start:end], figure_place, indicator,
                                  record.get("sentence_class") or sentence.get("label")))
    return figures


def _finding(check: str, message: str, figures: list[Figure], **details) -> dict:
    cited, seen = [], set()
    for figure in figures:
        key = (figure.doc_id, figure.sentence)
        if key not in seen:
            seen.add(key)
            cited.append({k: v for k, v in figure.cite().items() if k != "value"})
    return {"check": check, "message": message, "doc_ids": sorted({f.doc_id for f in figures}), "sentences": cited,
            "values": [f.value_text for f in figures], **details}


def share_sums(figures: list[Figure], config: dict) -> list[dict]:
    groups: dict[tuple, list[Figure]] = defaultdict(list)
    for figure in figures:
        record = figure.record
        if not record.get("parent_metric") or figure.normalised.get("kind") != "percent" or record.get("qualifier") in BOUND_QUALIFIERS:
            continue
        if record["relation"] == "share" or (record["relation"] == "level" and not record.get("baseline")):
            key = (figure.doc_id, figure.sentence, _fold(record["parent_metric"]), record["relation"], _fold(record.get("baseline")))
            groups[key].append(figure)
    findings = []
    for (doc_id, _, parent, _, _), parts in groups.items():
        if len(parts) < config["share_min_parts"]:
            continue
        total = sum(p.normalised["value"] for p in parts)
        rounding = sum(half_unit(p.value_text) for p in parts)
        over = total > 100 + config["share_sum_tolerance"] + rounding
        under = total < 100 - config["share_sum_tolerance"] - rounding and len(parts) >= config["share_complete_parts"]
        if over or under:
            findings.append(_finding("share_sum", f"the {len(parts)} shares of {parts[0].record['parent_metric']!r} sum to "
                                     f"{total:.2f}%, not about 100%", parts, total=round(total, 4)))
    return findings


def parts_exceeding_totals(figures: list[Figure]) -> list[dict]:
    by_document: dict[str, list[Figure]] = defaultdict(list)
    for figure in figures:
        by_document[figure.doc_id].append(figure)
    findings = []
    for doc_figures in by_document.values():
        totals: dict[tuple, list[Figure]] = defaultdict(list)
        for figure in doc_figures:
            if figure.record.get("relation") == "level" and figure.record.get("metric"):
                totals[(_fold(figure.record["metric"]), figure.period, figure.normalised.get("unit"))].append(figure)
        for part in doc_figures:
            record, normalised = part.record, part.normalised
            if not record.get("parent_metric") or record.get("relation") != "level" or normalised.get("kind") not in ADDITIVE_KINDS:
                continue
            if record.get("qualifier") in BOUND_QUALIFIERS:
                continue
            candidates = totals.get((_fold(record["parent_metric"]), part.period, normalised.get("unit")), [])
            # the total of the same sentence, else the nearest one stated before the part
            candidates = sorted(candidates, key=lambda t: (t.sentence != part.sentence, part.sentence - t.sentence < 0,
                                                           abs(part.sentence - t.sentence)))
            if not candidates:
                continue
            total = candidates[0]
            if total.record.get("qualifier") in BOUND_QUALIFIERS:
                continue
            if normalised["value"] > total.normalised["value"] * (1 + 1e-9):
                findings.append(_finding(
                    "part_exceeds_total",
                    f"{record['metric'] or 'a part'!s} ({part.value_text} {record.get('unit') or ''}) is larger than its total "
                    f"{record['parent_metric']!r} ({total.value_text} {total.record.get('unit') or ''})", [total, part]))
    return findings


def _bounds(value: float, half: float) -> tuple[float, float]:
    return value - half, value + half


def growth_contradictions(figures: list[Figure], config: dict) -> list[dict]:
    """A rate of change against the one its two levels imply."""
    findings = []
    levels_by_key: dict[tuple, list[Figure]] = defaultdict(list)
    for figure in figures:
        record = figure.record
        if record.get("relation") == "level" and figure.normalised.get("kind") in ADDITIVE_KINDS and figure.label not in TARGET_CLASSES \
                and record.get("qualifier") not in BOUND_QUALIFIERS and figure.period:
            levels_by_key[(figure.doc_id, _fold(record.get("metric")), figure.period, figure.normalised.get("unit"))].append(figure)
            if figure.indicator:
                levels_by_key[("indicator", figure.indicator, figure.place, figure.period, figure.normalised.get("unit"))].append(figure)
    by_sentence: dict[tuple, list[Figure]] = defaultdict(list)
    for figure in figures:
        by_sentence[(figure.doc_id, figure.sentence)].append(figure)
    for rate in figures:
        record = rate.record
        if (record.get("relation") != "change" or rate.normalised.get("kind") != "percent" or record.get("direction") not in ("up", "down")
                or record.get("baseline_type") not in ("same_period", "period") or not record.get("baseline_period")
                or record.get("upper") is not None or record.get("qualifier") in BOUND_QUALIFIERS or rate.label in TARGET_CLASSES):
            continue
        sentence_figures = [f for f in by_sentence[(rate.doc_id, rate.sentence)] if f.record["span"][0] < record["span"][0]]
        metric = _fold(record.get("metric"))
        current = next((f for f in reversed(sentence_figures) if f.record.get("relation") == "level" and _fold(f.record.get("metric")) == metric
                        and f.period == rate.period and f.normalised.get("kind") in ADDITIVE_KINDS
                        and f.record.get("qualifier") not in BOUND_QUALIFIERS), None)
        if current is None:
            continue
        unit = current.normalised["unit"]
        factor = current.normalised["value"] / current.record["value"] if current.record["value"] else 1
        level, level_half = current.normalised["value"], half_unit(current.value_text) * factor
        previous, previous_half, sources = None, None, [current, rate]
        # the absolute change beside the rate: "tăng 5.525 tỷ đồng (9,7%)"
        change = next((f for f in by_sentence[(rate.doc_id, rate.sentence)] if f is not rate and f.record.get("relation") == "change"
                       and f.normalised.get("unit") == unit and _fold(f.record.get("metric")) == metric
                       and f.record.get("baseline_type") == record.get("baseline_type") and f.period == rate.period), None)
        if change is not None:
            sign = 1 if change.record.get("direction") != "down" else -1
            change_factor = change.normalised["value"] / change.record["value"] if change.record["value"] else 1
            previous = level - sign * abs(change.normalised["value"])
            previous_half = level_half + half_unit(change.value_text) * change_factor
            sources.append(change)
        else:
            compared = record["baseline_period"]
            key_period = (compared["start"], compared["end"])
            stated = levels_by_key.get((rate.doc_id, metric, key_period, unit)) or (
                levels_by_key.get(("indicator", rate.indicator, rate.place, key_period, unit)) if rate.indicator else None)
            if stated:
                earlier = stated[0]
                earlier_factor = earlier.normalised["value"] / earlier.record["value"] if earlier.record["value"] else 1
                previous, previous_half = earlier.normalised["value"], half_unit(earlier.value_text) * earlier_factor
                sources.append(earlier)
        if previous is None or previous - previous_half <= 0:
            continue
        level_low, level_high = _bounds(level, level_half)
        previous_low, previous_high = _bounds(previous, previous_half)
        implied_low = (level_low / previous_high - 1) * 100
        implied_high = (level_high / previous_low - 1) * 100
        sign = 1 if record["direction"] == "up" else -1
        stated_rate = sign * abs(rate.normalised["value"])
        rate_half = half_unit(rate.value_text) + config["growth_tolerance_points"]
        if stated_rate + rate_half < implied_low or stated_rate - rate_half > implied_high:
            implied = (level / previous - 1) * 100
            findings.append(_finding(
                "growth_contradiction",
                f"{record.get('metric') or 'a figure'}: {current.value_text} {current.record.get('unit') or ''} against "
                f"{previous / factor:.6g} {current.record.get('unit') or ''} before implies {implied:+.2f}%, "
                f"the text says {stated_rate:+g}%", sources,
                implied_rate=round(implied, 4), stated_rate=stated_rate))
    return findings


def conflicting_values(figures: list[Figure], config: dict) -> list[dict]:
    """The same indicator, place, period, relation, baseline and unit given values that
    differ beyond their rounding (targets, bounds and breakdown items left out)."""
    from pipeline.components.indicators import load_catalogue

    scopes = {indicator.id: indicator.scope for indicator in load_catalogue()}
    groups: dict[tuple, list[Figure]] = defaultdict(list)
    for figure in figures:
        record = figure.record
        if (figure.label in TARGET_CLASSES or record.get("is_target") or record.get("qualifier") in BOUND_QUALIFIERS
                or record.get("upper") is not None):
            continue
        if not figure.period or figure.normalised.get("value") is None or record.get("parent_metric"):
            continue
        if "\t" in figure.sentence_text:
            continue  # a table row: its columns are periods the row itself does not name
        common = (figure.place, figure.period, record.get("relation"), record.get("direction"), record.get("baseline_type"),
                  (record.get("baseline_period") or {}).get("start"), figure.normalised.get("unit"), record.get("denominator"))
        # only an indicator says two figures measure the same thing: the same words ("quy mô",
        # "Trung Quốc" as an export and as an import market) often name different things
        if figure.indicator:
            # An indicator of items (a crop's area, a herd, a product's output)
            # is one figure per item: the item named by the metric is part of the key.
            item = _fold(record.get("metric")) if scopes.get(figure.indicator) == "items" else None
            groups[(figure.indicator, *common, item, record.get("price_basis"))].append(figure)
    findings = []
    for key, group in groups.items():
        # Two figures conflict when they disagree and are comparable: from two
        # documents (the indicator says they measure the same thing), or from two
        # sentences of one document that also name it alike. Figures of one
        # sentence, or of one document under other words (accommodation guests and
        # travel-agency guests, both "lượt khách"), are different things.
        conflicting: list[Figure] = []
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                comparable = first.doc_id != second.doc_id or _same_thing_in_one_document(first, second)
                if comparable and not _agree(first, second, config):
                    conflicting.extend(f for f in (first, second) if f not in conflicting)
        if conflicting:
            distinct: list[Figure] = []
            for figure in conflicting:
                if not any(_agree(figure, other, config) for other in distinct):
                    distinct.append(figure)
            values = ", ".join(f"{f.value_text} {f.record.get('unit') or ''}".strip() + f" ({f.doc_id})" for f in distinct)
            findings.append(_finding("conflicting_values", f"{key[0]} (place {key[1]}) for {group[0].period[0]}..{group[0].period[1]} "
                                     f"is given as {values}", distinct, indicator=key[0], place=key[1]))
    return findings


def _same_thing_in_one_document(first: Figure, second: Figure) -> bool:
    """Two figures of one document name the same thing only in two sentences of one
    section with the same words, neither an item of a list (list items are the parts
    of an itemisation: a crop, a season, a sector each, named by the item's head)."""
    metric = _fold(first.record.get("metric"))
    items = tuple(f.sentence_text.lstrip().startswith(("-", "+", "•", "*")) for f in (first, second))
    return (first.sentence != second.sentence and metric is not None and metric == _fold(second.record.get("metric"))
            and first.record.get("section") == second.record.get("section") and not any(items))


def _agree(first: Figure, second: Figure, config: dict) -> bool:
    a, b = first.normalised["value"], second.normalised["value"]
    factor_a = a / first.record["value"] if first.record["value"] else 1
    factor_b = b / second.record["value"] if second.record["value"] else 1
    margin = max(half_unit(first.value_text) * abs(factor_a), half_unit(second.value_text) * abs(factor_b))
    return abs(a - b) <= margin + config["same_value_relative_tolerance"] * max(abs(a), abs(b))


def check_documents(documents: list[dict], link=None, config: dict | None = None) -> list[dict]:
    """Every finding of the four checks over enriched documents."""
    config = config or settings("consistency")
    figures = _figures(documents, link, config)
    return [
        *share_sums(figures, config),
        *parts_exceeding_totals(figures),
        *growth_contradictions(figures, config),
        *conflicting_values(figures, config),
    ]


def summary(findings: list[dict]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for finding in findings:
        counts[finding["check"]] += 1
    checks = ("share_sum", "part_exceeds_total", "growth_contradiction", "conflicting_values")
    return ", ".join(f"{check} {counts[check]}" for check in checks)
