"""Time expressions of Vietnamese reports and the period each figure refers to.

``find_time_expressions`` finds "6 tháng đầu năm 2020", "quý I/2024", "tháng 9 và
9 tháng năm 2019", "năm học 2019-2020", "giai đoạn 2021-2025", "đến 30/6/2020" ...
with their character offsets; ``resolve`` turns one into ISO start and end dates,
a missing year taken from the period around it (the document's, a section's).
``record_period`` gives a figure the period of the nearest time expression before
it in its clause, else of its section heading, else the document's.

A period is ``{"start", "end", "text"}`` with ISO dates; ``start`` is None for a
period that only says where it ends ("đến 30/6/2020": counted up to that day).
Nothing is guessed: an expression whose year cannot be known resolves to None.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from pipeline.config import DEFAULT_CONFIG_PATH, load_toml

SETTINGS_PATH = DEFAULT_CONFIG_PATH.parent / "dataset.toml"
_YEAR = r"((?:19|20)\d{2})"
_YEAR_SUFFIX = rf"(?:\s*/\s*{_YEAR}|\s+năm\s+{_YEAR})?"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def settings(section: str) -> dict:
    """A section of dataset.toml, read once (callers only read it: it is called
    for every figure, and a fresh copy each time cost more than the figures)."""
    return _settings()[section]


@lru_cache(maxsize=1)
def _settings() -> dict:
    return load_toml(SETTINGS_PATH)


@dataclass(frozen=True)
class TimeExpression:
    """One time expression of a text. Months are within ``year`` (or, for a
    school year or a span of years, from ``year`` to ``last_year``)."""

    start: int
    end: int
    text: str
    kind: str  # year, years, school_year, months, quarter, month, date, up_to
    year: int | None
    first_month: int = 1
    last_month: int = 12
    day: int | None = None  # a date's day
    last_year: int | None = None  # years, school_year
    # "up_to" after "đến", "tính đến hết" (the figure is counted up to it), "at" after
    # "tại thời điểm" (the figure is that day's); a bare date is neither and dates no figure
    anchor: str | None = None


@lru_cache(maxsize=4)
def _patterns(words_key: tuple) -> list[tuple[str, re.Pattern]]:
    words = dict(words_key)
    # "năm" is also five and "tư" four: as a month they read as the year word, so months and
    # counts of months take the other words only.
    month_words = "|".join(sorted((w for w in words if w not in ("năm",)), key=len, reverse=True))
    count_words = "|".join(sorted((w for w in words if w not in ("năm", "tư", "giêng", "chạp")), key=len, reverse=True))
    flags = re.IGNORECASE
    return [
        ("school_year", re.compile(rf"năm học\s+{_YEAR}\s*[-–]\s*{_YEAR}", flags)),
        ("years", re.compile(rf"(?:giai đoạn|thời kỳ|nhiệm kỳ)\s+(?:từ\s+)?(?:năm\s+)?{_YEAR}\s*(?:[-–]|đến)\s*(?:năm\s+)?{_YEAR}", flags)),
        ("full_date", re.compile(rf"ngày\s+(\d{{1,2}})\s+tháng\s+(\d{{1,2}})\s+năm\s+{_YEAR}", flags)),
        ("numeric_date", re.compile(rf"(?<![\d/.,])(\d{{1,2}})/(\d{{1,2}})(?:/{_YEAR})?(?![\d/])", flags)),
        ("months", re.compile(rf"(?<![\d.,/])(\d{{1,2}})\s+tháng(?:\s+(đầu|cuối))?(?:\s+năm(?:\s+{_YEAR})?)?(?![\w])", flags)),
        ("months_words", re.compile(rf"(?<!\w)({count_words})\s+tháng(?:\s+(đầu|cuối))?(?:\s+năm(?:\s+{_YEAR})?)?(?!\w)", flags)),
        ("quarter", re.compile(rf"(?<!\w)quý\s+(IV|III|II|I|[1-4])(?![\w]){_YEAR_SUFFIX}", flags)),
        ("month", re.compile(rf"(?<![\d\w])tháng\s+(\d{{1,2}}|{month_words})(?![\w]){_YEAR_SUFFIX}", flags)),
        ("since", re.compile(rf"(?<!\w)từ\s+(?:đầu\s+)?năm(?:\s+{_YEAR})?\s+(?:đến nay|đến hiện nay|tới nay)", flags)),
        ("whole_year", re.compile(rf"(?<!\w)cả năm(?:\s+{_YEAR})?", flags)),
        ("year_end", re.compile(rf"(?<!\w)cuối năm\s+{_YEAR}", flags)),
        ("year", re.compile(rf"(?<!\w)năm\s+{_YEAR}(?!\d)", flags)),
    ]


def _number(text: str, words: dict) -> int | None:
    text = text.lower()
    if text.isdigit():
        return int(text)
    return words.get(text)


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _valid_date(year: int | None, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    return day <= (_last_day(year, month) if year else 31)


def find_time_expressions(text: str, config: dict | None = None) -> list[TimeExpression]:
    """Every time expression of ``text``, left to right, none overlapping (the longest wins)."""
    config = config or settings("periods")
    if config is settings("periods"):
        return list(_default_time_expressions(text))
    return _find_time_expressions(text, config)


@lru_cache(maxsize=4096)
def _default_time_expressions(text: str) -> tuple[TimeExpression, ...]:
    """Kept per text with the default settings: every figure of a sentence asks
    for its sentence's expressions, and every figure under a heading for the
    heading's."""
    return tuple(_find_time_expressions(text, settings("periods")))


def _find_time_expressions(text: str, config: dict) -> list[TimeExpression]:
    words = config["number_words"]
    anchors = sorted(config["date_anchors"], key=len, reverse=True)
    found: list[TimeExpression] = []
    for kind, pattern in _patterns(tuple(sorted(words.items()))):
        for match in pattern.finditer(text):
            expression = _expression(kind, match, words)
            if expression is not None:
                found.append(expression)
    found.sort(key=lambda e: (e.start, -(e.end - e.start)))
    chosen: list[TimeExpression] = []
    for expression in found:
        if chosen and expression.start < chosen[-1].end:
            continue
        chosen.append(expression)
    chosen = [_anchor(e, text, anchors) for e in chosen]
    chosen = [e for e in chosen if not (e.kind == "date" and e.year is None and e.anchor is None)]
    return _share_years(chosen, text)


def _expression(kind: str, match: re.Match, words: dict) -> TimeExpression | None:
    start, end, text = match.start(), match.end(), match.group(0)
    groups = match.groups()
    if kind == "school_year":
        first, last = int(groups[0]), int(groups[1])
        return TimeExpression(start, end, text, "school_year", first, last_year=last) if last == first + 1 else None
    if kind == "years":
        first, last = int(groups[0]), int(groups[1])
        return TimeExpression(start, end, text, "years", first, last_year=last) if last > first else None
    if kind in ("full_date", "numeric_date"):
        day, month = int(groups[0]), int(groups[1])
        year = int(groups[2]) if groups[2] else None
        if not _valid_date(year, month, day):
            return None
        return TimeExpression(start, end, text, "date", year, month, month, day=day)
    if kind in ("months", "months_words"):
        count = _number(groups[0], words)
        side, year = groups[1], groups[2]
        if kind == "months_words" and not (side or year):
            return None  # "ba tháng" alone is a length of time, not a period
        if count is None or not 1 <= count <= 12:
            return None
        year_value = int(year) if year else None
        if side and side.lower() == "cuối":
            return TimeExpression(start, end, text, "months", year_value, 13 - count, 12)
        return TimeExpression(start, end, text, "months", year_value, 1, count)
    if kind == "quarter":
        quarter = _ROMAN[groups[0].lower()]
        year = groups[1] or groups[2]
        return TimeExpression(start, end, text, "quarter", int(year) if year else None, 3 * quarter - 2, 3 * quarter)
    if kind == "month":
        month = _number(groups[0], words)
        if month is None or not 1 <= month <= 12:
            return None
        year = groups[1] or groups[2]
        return TimeExpression(start, end, text, "month", int(year) if year else None, month, month)
    if kind == "since":  # "từ năm 2022 đến nay": ends where the period around it ends
        return TimeExpression(start, end, text, "since", int(groups[0]) if groups[0] else None)
    if kind == "whole_year":
        return TimeExpression(start, end, text, "year", int(groups[0]) if groups[0] else None)
    if kind == "year_end":
        return TimeExpression(start, end, text, "date", int(groups[0]), 12, 12, day=31)
    if kind == "year":
        return TimeExpression(start, end, text, "year", int(groups[0]))
    raise ValueError(kind)


def _anchor(expression: TimeExpression, text: str, anchors: list[str]) -> TimeExpression:
    """A date or month right after "đến", "tính đến hết", "tại thời điểm": the figure is counted to it."""
    if expression.kind not in ("date", "month"):
        return expression
    window_start = max(0, expression.start - 40)
    before = text[window_start:expression.start].rstrip()
    for anchor in anchors:
        if before.lower().endswith(anchor) and (len(before) == len(anchor) or not before[-len(anchor) - 1].isalnum()):
            # the anchor belongs to the expression: "đến 30/6/2020" says more than "30/6/2020"
            start = window_start + len(before) - len(anchor)
            # "tại thời điểm 1/4/2018" is that day; "đến 30/6/2020" counts up to it
            kind = "at" if any(word in anchor for word in ("thời điểm", "tại")) else "up_to"
            return replace(expression, anchor=kind, start=start, text=text[start:expression.end])
    return expression


def _share_years(expressions: list[TimeExpression], text: str) -> list[TimeExpression]:
    """"tháng 9 và 9 tháng năm 2019": an expression without a year joined by "và" or a
    comma to one with a year shares its year."""
    result = list(expressions)
    for i in range(len(result) - 2, -1, -1):
        current, following = result[i], result[i + 1]
        if current.year is None and following.year is not None and current.kind not in ("years", "school_year"):
            between = text[current.end:following.start]
            if re.fullmatch(r"\s*(?:và|,)\s*", between, re.IGNORECASE):
                result[i] = replace(current, year=following.year)
    return result


def resolve(expression: TimeExpression, context: tuple[date | None, date] | None = None) -> tuple[date | None, date] | None:
    """The (start, end) of an expression; a missing year is the one of ``context``
    (a period's start and end) that puts the expression inside it, else its end year.
    None when the year cannot be known."""
    year = expression.year
    if year is None:
        if context is None:
            return None
        context_start, context_end = context
        years = [context_end.year] + ([context_start.year] if context_start and context_start.year != context_end.year else [])
        for candidate in years:
            span = resolve(replace(expression, year=candidate), context)
            if span and (context_start is None or span[0] is None or span[0] >= context_start) and span[1] <= context_end:
                return span
        return resolve(replace(expression, year=years[0]), context)
    if expression.kind == "since":
        if context is None or context[1].year < year:
            return None
        return date(year, 1, 1), context[1]
    if expression.kind == "school_year":
        month = settings("periods")["school_year_start_month"]
        end_month = month - 1 or 12
        end_year = expression.last_year if month > 1 else year
        return date(year, month, 1), date(end_year, end_month, _last_day(end_year, end_month))
    if expression.kind == "years":
        return date(year, 1, 1), date(expression.last_year, 12, 31)
    if expression.kind == "date":
        day = date(year, expression.first_month, expression.day)
        return (None if expression.anchor == "up_to" else day), day
    end = date(year, expression.last_month, _last_day(year, expression.last_month))
    if expression.kind == "month" and expression.anchor == "up_to":
        return None, end
    return date(year, expression.first_month, 1), end


def period_dict(span: tuple[date | None, date] | None, text: str | None, **extra) -> dict | None:
    if span is None:
        return None
    start, end = span
    return {"start": start.isoformat() if start else None, "end": end.isoformat(), "text": text, **extra}


def parse_period(value: dict | None) -> tuple[date | None, date] | None:
    """The (start, end) dates of a period dict."""
    if not value:
        return None
    return (date.fromisoformat(value["start"]) if value.get("start") else None), date.fromisoformat(value["end"])


def title_period(title: str, config: dict | None = None) -> dict | None:
    """The reporting period of a document title: its first time expression with those
    joined to it by "và" ("quý III và 9 tháng năm 2023": 1 January to 30 September
    2023, the union of its parts), a missing year taken from the next expression of the title that
    has one ("6 tháng đầu năm; nhiệm vụ ... 6 tháng cuối năm 2020")."""
    expressions = find_time_expressions(title, config)
    if not expressions:
        return None
    group = [expressions[0]]
    for following in expressions[1:]:
        if re.fullmatch(r"\s*(?:và|,)\s*", title[group[-1].end:following.start], re.IGNORECASE):
            group.append(following)
        else:
            break
    later_year = next((e.year for e in expressions if e.year is not None and e.start >= group[0].start), None)
    if later_year is None:
        return None
    spans = [resolve(e if e.year is not None else replace(e, year=later_year)) for e in group]
    spans = [s for s in spans if s is not None]
    if not spans:
        return None
    starts = [s[0] for s in spans if s[0] is not None]
    start = min(starts) if starts else None
    end = max(s[1] for s in spans)
    text = title[group[0].start:group[-1].end]
    parts = [period_dict(s, e.text) for s, e in zip(spans, group)] if len(group) > 1 else []
    return {**period_dict((start, end), text), "parts": parts}


def _clause_start(sentence: str, position: int) -> int:
    """Where the clause holding ``position`` starts: after the last ";" or line break before it."""
    cut = max(sentence.rfind(";", 0, position), sentence.rfind("\n", 0, position))
    return cut + 1


def _inside_closed_bracket(sentence: str, start: int, position: int) -> bool:
    """Whether ``start`` lies inside a bracket that closes before ``position``."""
    depth = 0
    for char in sentence[start:position]:
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return True  # the expression was inside a bracket opened before it and closed here
            depth -= 1
    return False


def _after_comparator(sentence: str, expression: TimeExpression, comparators: list[str]) -> bool:
    before = sentence[:expression.start].rstrip().lower()
    for word in comparators:
        if before.endswith(word) and (len(before) == len(word) or not before[-len(word) - 1].isalnum()):
            return True
    return False


def governing_expression(sentence: str, figure_start: int, figure_end: int, *, excluded: list[tuple[int, int]] = (),
                         config: dict | None = None) -> TimeExpression | None:
    """The time expression that gives a figure its period, or None when its sentence has none.

    Offsets are within ``sentence``. In order: a time linked right after the figure
    ("7,63% ở quý I"); the nearest expression before the figure in its clause (not
    inside a bracket closed before the figure, not the thing compared with: after
    "so với", "cùng kỳ", or inside an ``excluded`` span such as a BASELINE); an
    expression opening the sentence ("Tính chung 9 tháng năm 2021, ...").
    """
    config = config or settings("periods")
    comparators = sorted(config["comparators"], key=len, reverse=True)
    expressions = [
        e for e in find_time_expressions(sentence, config)
        if not any(e.start < end and start < e.end for start, end in excluded)
        and not _after_comparator(sentence, e, comparators)
        and not (e.kind == "date" and e.anchor is None)
    ]
    links = "|".join(re.escape(w) for w in config["after_figure_links"])
    for e in expressions:
        if e.start >= figure_end and re.fullmatch(rf"\s*(?:\S+\s*)?(?:{links})\s+", sentence[figure_end:e.start], re.IGNORECASE):
            unit_gap = sentence[figure_end:e.start].split()
            # the figure's unit may stand between ("7,63% ở", "12 tỷ đồng trong"): at most two words
            if len(unit_gap) <= 3:
                return e
    clause_start = _clause_start(sentence, figure_start)
    before = [e for e in expressions if clause_start <= e.start and e.end <= figure_start
              and not _inside_closed_bracket(sentence, e.start, figure_start)]
    if before:
        return _joined(sentence, expressions, before[-1])
    opener = next((e for e in expressions if e.end <= figure_start), None)
    if opener is not None:
        prefix = sentence[:opener.start].strip(" -+•*\t")
        after = sentence[opener.end:opener.end + 2]
        if len(prefix.split()) <= config["sentence_opener_max_words"] and not re.search(r"\d", prefix) and after.startswith(","):
            return opener
    return None


def _joined(sentence: str, expressions: list[TimeExpression], last: TimeExpression) -> TimeExpression:
    """"trong tháng 7 và tháng 8": the expressions joined by "và" to ``last`` with it, as one
    expression of the same kind when they are months or quarters of one year."""
    index = expressions.index(last)
    first = last
    while index > 0 and re.fullmatch(r"\s*và\s*", sentence[expressions[index - 1].end:first.start], re.IGNORECASE):
        index -= 1
        first = expressions[index]
    if first is last or first.kind != last.kind or last.kind not in ("month", "quarter") or first.year != last.year:
        return last
    return replace(last, start=first.start, text=sentence[first.start:last.end], first_month=first.first_month)


def record_period(sentence: str, figure_start: int, figure_end: int, document_period: dict | None,
                  section_titles: list[str] = (), *, excluded: list[tuple[int, int]] = (), config: dict | None = None) -> dict | None:
    """The period of one figure: ``{"start", "end", "text", "source"}`` where source is
    "sentence", "section" or "document"; None when none is known."""
    config = config or settings("periods")
    context = parse_period(document_period)
    for title in reversed(list(section_titles)):
        headed = find_time_expressions(title, config)
        if headed:
            span = resolve(headed[0], context)
            if span is not None:
                context, section = span, period_dict(span, headed[0].text, source="section")
                break
    else:
        section = None
    expression = governing_expression(sentence, figure_start, figure_end, excluded=excluded, config=config)
    if expression is not None:
        span = resolve(expression, context)
        if span is not None:
            return period_dict(span, expression.text, source="sentence")
    if section is not None:
        return section
    if document_period is None:
        return None
    return {"start": document_period["start"], "end": document_period["end"], "text": document_period["text"], "source": "document"}


def shift_years(span: tuple[date | None, date], years: int) -> tuple[date | None, date]:
    def move(day: date | None) -> date | None:
        if day is None:
            return None
        target = day.year - years
        last = _last_day(target, day.month)
        # 29 February moves to the 28th; a period that ended on a month's last day still does
        return date(target, day.month, last if day.day == _last_day(day.year, day.month) else min(day.day, last))

    return move(span[0]), move(span[1])


def baseline_period(record: dict, period: dict | None, config: dict | None = None) -> dict | None:
    """The period a change or ratio is compared with, for same-period and period
    baselines: "cùng kỳ" is the record's period a year earlier ("cùng kỳ năm 2019": in
    2019); "năm 2022", "tháng trước", "quý trước", "năm trước", "31/12/2019" as they say."""
    baseline_type, text = record.get("baseline_type"), record.get("baseline") or ""
    span = parse_period(period)
    if baseline_type not in ("same_period", "period") or span is None:
        return None
    lowered = text.lower()
    expressions = find_time_expressions(text, config)
    if baseline_type == "same_period":
        years = 1
        stated = next((e.year for e in expressions if e.year is not None), None)
        if stated is not None and stated < span[1].year:
            years = span[1].year - stated
        return period_dict(shift_years(span, years), text or None)
    if expressions:
        expression = expressions[0]
        if expression.kind == "date":
            expression = replace(expression, anchor=None)  # "so với 31/12/2019": that day
        resolved = resolve(expression, span)
        return period_dict(resolved, text)
    start, end = span
    if re.search(r"\bnăm trước\b", lowered):
        return period_dict(shift_years(span, 1), text)
    if re.search(r"\btháng trước\b", lowered) and start and start.month == end.month and start.year == end.year:
        year, month = (end.year, end.month - 1) if end.month > 1 else (end.year - 1, 12)
        return period_dict((date(year, month, 1), date(year, month, _last_day(year, month))), text)
    if re.search(r"\bquý trước\b", lowered) and start and (end.month - start.month) == 2 and start.month % 3 == 1:
        year, first = (end.year, start.month - 3) if start.month > 3 else (end.year - 1, 10)
        return period_dict((date(year, first, 1), date(year, first + 2, _last_day(year, first + 2))), text)
    if re.search(r"\bđầu năm\b", lowered):
        day = date(end.year, 1, 1)
        return period_dict((day, day), text)
    return None
