"""A learned record linker: which METRIC each VALUE is given for (or none), its
parent in a breakdown, the BASELINE it is compared with and the baseline's
type, the relation and the direction.

The hand-written linker in ``linking.py`` takes the metric of the previous
clause, of a later figure or none where a figure stands before the thing it
counts; these decisions depend on what lies between a figure and its candidate
(other figures, ";", brackets, "trong đó", list dashes) in ways that carry from
one report to another, so they are learned from the reviewed links of the
corpus. Each decision is one scikit-learn ``Pipeline`` (``DictVectorizer`` +
``LogisticRegression``) over feature dicts built by the module-level functions
below, so the saved models reload. Unit, qualifier and the parsed number stay
with ``linking.link_records``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.components.linking import Entity, baseline_type, link_records
from pipeline.config import FEATURES_PATH, load_toml

DECISIONS = ("metric", "parent", "baseline", "baseline_type", "relation", "direction")
# A candidate is linked when the model gives it at least this probability (and
# more than every other candidate of the same value).
LINK_THRESHOLD = 0.5
_WORD = re.compile(r"\w+", re.UNICODE)
# _last_words reads the last _TAIL_CHARS characters first: enough for a few words
_TAIL_WORDS, _TAIL_CHARS = 8, 120
_FEATURES = load_toml(FEATURES_PATH)["linker"]


def _bucket(number: int) -> str:
    return str(number) if number < 4 else f"{2 ** int(math.log2(number))}+"


def _open_bracket_at(text: str, start: int, position: int) -> int | None:
    """Offset of the bracket still open at ``position`` (None outside brackets)."""
    depth = 0
    for i in range(position - 1, start - 1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            if depth == 0:
                return i
            depth -= 1
    return None


def _last_words(segment: str, count: int) -> list[str]:
    """The last ``count`` words of ``segment``, lower-cased. Called for every
    candidate pair on the text from the sentence start, so it reads only the
    tail when the tail holds more than ``count`` words (the first of them may be
    cut; it is never among the last ``count``)."""
    if count <= _TAIL_WORDS:
        words = _WORD.findall(segment, max(0, len(segment) - _TAIL_CHARS))
        if len(words) > count:
            return [w.lower() for w in words[-count:]]
    return [w.lower() for w in _WORD.findall(segment)][-count:]


def _unit_kind(unit_text: str) -> str:
    """The unit as the links see it: the comparison units by name, the rest by kind."""
    if unit_text in _FEATURES["unit_names"]:
        return unit_text
    if unit_text.split()[:1] and unit_text.split()[0] in _FEATURES["scale_words"]:
        return "scaled"
    return "other" if unit_text else "none"


@dataclass
class SentenceView:
    """The entities of one sentence, sorted, with the unit of each value."""
    text: str
    start: int
    end: int
    values: list[Entity]
    metrics: list[Entity]
    baselines: list[Entity]
    units: dict[int, Entity]  # value start -> its unit
    # Asked again for every candidate pair, so kept: position -> the bracket
    # open there, position -> the two words before it, entity -> its words,
    # (value, label) -> the candidates before and after it.
    open_brackets: dict[int, int | None] = field(default_factory=dict)
    words_before: dict[int, list[str]] = field(default_factory=dict)
    entity_words: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    around: dict[tuple[int, str], tuple[list[Entity], list[Entity]]] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str, sentence: tuple[int, int], entities: list[Entity]) -> "SentenceView":
        start, end = sentence
        inside = sorted((e for e in entities if start <= e.start and e.end <= end), key=lambda e: e.start)
        values = [e for e in inside if e.label == "VALUE"]
        units = {}
        for value in values:
            unit = next((u for u in inside if u.label == "UNIT" and value.end <= u.start <= value.end + 2
                         and not text[value.end:u.start].strip()), None)
            if unit:
                units[value.start] = unit
        return cls(text, start, end, values, [e for e in inside if e.label == "METRIC"],
                   [e for e in inside if e.label == "BASELINE"], units)

    def open_bracket(self, position: int) -> int | None:
        if position not in self.open_brackets:
            self.open_brackets[position] = _open_bracket_at(self.text, self.start, position)
        return self.open_brackets[position]

    def two_words_before(self, position: int) -> list[str]:
        if position not in self.words_before:
            self.words_before[position] = _last_words(self.text[self.start:position], 2)
        return self.words_before[position]

    def words_of(self, entity: Entity) -> list[str]:
        key = (entity.start, entity.end)
        if key not in self.entity_words:
            self.entity_words[key] = _last_words(entity.text(self.text), 99)
        return self.entity_words[key]

    def candidates_around(self, value: Entity, label: str, after_value: int) -> tuple[list[Entity], list[Entity]]:
        """The METRICs (or BASELINEs) before the value and after its unit."""
        key = (value.start, label)
        if key not in self.around:
            same_kind = self.metrics if label == "METRIC" else self.baselines
            self.around[key] = ([c for c in same_kind if c.end <= value.start],
                                [c for c in same_kind if c.start >= after_value])
        return self.around[key]

    def after_value(self, value: Entity) -> int:
        unit = self.units.get(value.start)
        return unit.end if unit else value.end


def pair_features(view: SentenceView, value: Entity, candidate: Entity) -> dict:
    """What lies between a VALUE and a candidate METRIC or BASELINE."""
    text = view.text
    after_value = view.after_value(value)
    before = candidate.end <= value.start
    left, right = (candidate.end, value.start) if before else (after_value, candidate.start)
    left = min(left, right)
    between = text[left:right]
    same_kind = view.metrics if candidate.label == "METRIC" else view.baselines
    ordered_before, ordered_after = view.candidates_around(value, candidate.label, after_value)
    lowered = between.lower()
    words_between = _WORD.findall(between)
    candidate_words = view.words_of(candidate)
    value_prev, candidate_prev = view.two_words_before(value.start), view.two_words_before(candidate.start)
    value_bracket = view.open_bracket(value.start)
    candidate_bracket = view.open_bracket(candidate.start)
    features = {
        "side=" + ("before" if before else "after"): 1.0,
        "chars=" + _bucket(len(between)): 1.0,
        "words=" + _bucket(len(words_between)): 1.0,
        "values_between=" + _bucket(sum(1 for v in view.values if left <= v.start < right)): 1.0,
        "same_between=" + _bucket(sum(1 for c in same_kind if left <= c.start < right)): 1.0,
        "semicolon": float(";" in between),
        "commas=" + _bucket(between.count(",")): 1.0,
        "colon": float(":" in between),
        "open_bracket": float("(" in between),
        "close_bracket": float(")" in between),
        "line_break": float("\n" in between),
        "trong_do": float(any(w in lowered for w in _FEATURES["breakdown_words"])),
        "so_voi": float(any(w in lowered for w in _FEATURES["comparison_phrases"])
                        or any(f" {w} " in f" {lowered} " for w in _FEATURES["comparison_words"])),
        "value_in_bracket": float(value_bracket is not None),
        "candidate_in_bracket": float(candidate_bracket is not None),
        "same_bracket": float(value_bracket is not None and value_bracket == candidate_bracket),
        "nearest": float((before and ordered_before and ordered_before[-1] == candidate)
                         or (not before and ordered_after and ordered_after[0] == candidate)),
        "rank=" + _bucket((len(ordered_before) - ordered_before.index(candidate)) if before
                          else (ordered_after.index(candidate) + 1 if candidate in ordered_after else 0)): 1.0,
        "right_after_unit": float(not before and len(between.strip()) == 0),
        "list_item": float(text[view.start:view.start + 2].strip()[:1] in "-+•"),
        "first_candidate": float(same_kind and same_kind[0] == candidate),
        "first_value": float(view.values and view.values[0] == value),
        "cand_first=" + " ".join(candidate_words[:1]): 1.0,
        "cand_first2=" + " ".join(candidate_words[:2]): 1.0,
        "value_prev=" + " ".join(value_prev[-1:]): 1.0,
        "value_prev2=" + " ".join(value_prev): 1.0,
        "cand_prev=" + " ".join(candidate_prev[-1:]): 1.0,
        "cand_prev2=" + " ".join(candidate_prev): 1.0,
    }
    if len(words_between) <= 6:
        for word in words_between:
            features["between=" + word.lower()] = 1.0
    features.update(_series_features(view, value, candidate, before, left, right, between))
    return features


def _unit_text(view: SentenceView, value: Entity) -> str:
    unit = view.units.get(value.start)
    return unit.text(view.text).lower() if unit else ""


def _series_features(view: SentenceView, value: Entity, candidate: Entity, before: bool,
                     left: int, right: int, between: str) -> dict:
    """Whether a METRIC or BASELINE stated once serves a series of parallel
    figures ("tăng 3,2% so với cùng kỳ, ..., giảm 1,8%, ..., tăng 2,6%"): the
    figures between and the one the candidate follows are of this figure's
    unit, and how many there are on which side, with or without ";". Linear
    weights cannot combine side, count and ";" by themselves; these
    conjunctions raised record F1 on gold entities from 0.928 to 0.937 in a
    4-fold cross-validation over the training documents."""
    unit = _unit_text(view, value)
    kind = _unit_kind(unit)
    others = [v for v in view.values if left <= v.start < right and v != value]
    anchor = max((v for v in view.values if v.end <= candidate.start), key=lambda v: v.end, default=None)
    side = "before" if before else "after"
    count = _bucket(len(others))
    features = {
        f"unit_side={kind}|{side}": 1.0,
        f"series={side}|{count}|{int(';' in between)}": 1.0,
        f"series_unit={side}|{count}|{kind}": 1.0,
    }
    if others:
        same_unit = all(_unit_text(view, v) == unit for v in others)
        features[f"between_same_unit={side}|{int(same_unit)}"] = 1.0
    if anchor is not None and anchor != value:
        features[f"anchor_same_unit={side}|{int(_unit_text(view, anchor) == unit)}"] = 1.0
    return features


def value_features(view: SentenceView, value: Entity) -> dict:
    """The context of a VALUE that decides its relation and direction."""
    text = view.text
    unit_text = _unit_text(view, value)
    value_text = value.text(text)
    clause_start = max(text.rfind(mark, view.start, value.start) for mark in (",", ";", ":", "(")) + 1
    clause_start = max(clause_start, view.start)
    clause_words = _last_words(text[clause_start:value.start], 8)
    after = view.after_value(value)
    following = _last_words(text[after:after + 40], 99)[:3]
    prefix = text[max(view.start, value.start - 2):value.start]
    features = {
        "unit=" + _unit_kind(unit_text): 1.0,
        "fraction": float("/" in value_text),
        "range": float(bool(re.search(r"\d\s*[-–]\s*\d", value_text))),
        "negative": float(value_text.startswith(("-", "−"))),
        "plus_before": float(prefix.endswith("+") or prefix.endswith("+ ")),
        "bracket_before": float("(" in prefix),
        "in_bracket": float(view.open_bracket(value.start) is not None),
        "list_item": float(text[view.start:view.start + 2].strip()[:1] in "-+•"),
        "table_cell": float("\t" in text[max(view.start, value.start - 2):value.start]),
        "first_value": float(view.values and view.values[0] == value),
    }
    for i, word in enumerate(reversed(clause_words[-3:])):
        features[f"prev{i + 1}={word}"] = 1.0
    for word in clause_words:
        features["clause=" + word] = 1.0
    for i, word in enumerate(following):
        features[f"next{i + 1}={word}"] = 1.0
    baseline_after = next((b for b in view.baselines if b.start >= after and ";" not in text[after:b.start]), None)
    if baseline_after is not None:
        features["baseline_after=" + " ".join(_last_words(baseline_after.text(text), 99)[:1])] = 1.0
    return features


def baseline_features(baseline_text: str) -> dict:
    words = [w.lower() for w in _WORD.findall(baseline_text)]
    features = {"first=" + " ".join(words[:1]): 1.0, "first2=" + " ".join(words[:2]): 1.0,
                "date": float(bool(re.match(r"^\d{1,2}/\d{1,2}", baseline_text))),
                "year": float(bool(re.search(r"\b(19|20)\d\d\b", baseline_text)))}
    for word in words:
        features["word=" + word] = 1.0
    return features


# --- training examples --------------------------------------------------------

def _views(document: dict) -> list[tuple[SentenceView, list[dict]]]:
    entities = [Entity(e["start"], e["end"], e["label"]) for e in document["entities"]]
    records_by_span = {tuple(r["span"]): r for r in document["records"]}
    views = []
    for sentence in document["sentences"]:
        view = SentenceView.of(document["text"], (sentence["start"], sentence["end"]), entities)
        views.append((view, [records_by_span.get((v.start, v.end)) for v in view.values]))
    return views


def examples(documents: list[dict]) -> dict[str, tuple[list[dict], list]]:
    """(features, labels) for each decision, from gold entities and records."""
    data = {name: ([], []) for name in DECISIONS}

    def add(name: str, features: dict, label) -> None:
        data[name][0].append(features)
        data[name][1].append(label)

    for document in documents:
        text = document["text"]
        for view, records in _views(document):
            for value, record in zip(view.values, records):
                if record is None:
                    continue
                metric_span = tuple(record.get("metric_span") or ())
                parent_text = record.get("parent_metric")
                parents = [m for m in view.metrics if m.text(text) == parent_text and (m.start, m.end) != metric_span]
                parent = parents[-1] if parents else None
                for metric in view.metrics:
                    features = pair_features(view, value, metric)
                    add("metric", features, int((metric.start, metric.end) == metric_span))
                    if (metric.start, metric.end) != metric_span:
                        add("parent", features, int(metric == parent))
                baseline_span = tuple(record.get("baseline_span") or ())
                for baseline in view.baselines:
                    add("baseline", pair_features(view, value, baseline), int((baseline.start, baseline.end) == baseline_span))
                if record.get("baseline") and record.get("baseline_type"):
                    add("baseline_type", baseline_features(record["baseline"]), record["baseline_type"])
                features = value_features(view, value)
                add("relation", features, record["relation"])
                add("direction", features, record.get("direction") or "none")
    return data


def build_model(seed: int = 13):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", DictVectorizer()),
                     ("classifier", LogisticRegression(C=1.0, max_iter=5000, random_state=seed))])


def vectorise(vectorizer, rows: list[dict[str, float]]):
    """What ``DictVectorizer.transform`` gives for rows of feature name -> number
    (all the functions above build), without its per-value type checks and
    numpy scalars, which took longer than the logistic regressions themselves."""
    import numpy as np
    from scipy.sparse import csr_array

    vocabulary = vectorizer.vocabulary_
    columns, values, row_ends = [], [], [0]
    for row in rows:
        for name, value in row.items():
            column = vocabulary.get(name)
            if column is not None:
                columns.append(column)
                values.append(value)
        row_ends.append(len(columns))
    matrix = csr_array((np.asarray(values, dtype=vectorizer.dtype), np.asarray(columns, dtype=np.intc), row_ends),
                       shape=(len(rows), len(vocabulary)))
    matrix.sort_indices()
    return matrix


@dataclass
class LearnedLinker:
    models: dict  # decision -> fitted Pipeline
    meta: dict

    def _probabilities(self, name: str, rows: list[dict], positive=1) -> list[float]:
        """P(linked) of each candidate row, in one call (a call per candidate
        costs more than the whole rest of the record stage)."""
        model = self.models.get(name)
        if not rows or model is None or positive not in model.classes_:
            return [0.0] * len(rows)
        column = list(model.classes_).index(positive)
        features, classifier = model.steps[0][1], model.steps[-1][1]
        return [float(row[column]) for row in classifier.predict_proba(vectorise(features, rows))]

    def _predict(self, name: str, rows: list[dict], default: str) -> list[str]:
        model = self.models.get(name)
        if not rows or model is None:
            return [default] * len(rows)
        features, classifier = model.steps[0][1], model.steps[-1][1]
        return list(classifier.predict(vectorise(features, rows)))

    def link_sentences(self, text: str, sentences: list[tuple[int, int]], groups: list[list[Entity]],
                       rules: dict | None = None, link_scores: bool = False) -> list[list[dict]]:
        """Records of each sentence (``groups``: the entities of each): the
        hand-written linker's unit, number and qualifier, with the learned
        metric, parent, baseline, relation and direction. Every decision is
        predicted for all the document's figures at once. With ``link_scores``
        each record also has ``link_score``: the probability of its metric link
        (of the chosen METRIC; with none chosen, 1 - the best candidate's; 1.0
        when the sentence has no METRIC to choose)."""
        per_sentence, pair_rows, baseline_rows, value_rows = [], [], [], []
        plans = []  # (record, view, value, metric candidate rows, baseline candidate rows, value row)
        for sentence, entities in zip(sentences, groups):
            records = link_records(text, sentence, entities, rules)
            per_sentence.append(records)
            view = SentenceView.of(text, sentence, entities)
            by_start = {v.start: v for v in view.values}
            for record in records:
                value = by_start[record["span"][0]]
                metric_rows = range(len(pair_rows), len(pair_rows) + len(view.metrics))
                pair_rows.extend(pair_features(view, value, m) for m in view.metrics)
                candidate_rows = range(len(baseline_rows), len(baseline_rows) + len(view.baselines))
                baseline_rows.extend(pair_features(view, value, b) for b in view.baselines)
                value_rows.append(value_features(view, value))
                plans.append((record, view, metric_rows, candidate_rows, len(value_rows) - 1))
        metric_scores = self._probabilities("metric", pair_rows)
        parent_scores = self._probabilities("parent", pair_rows)
        baseline_scores = self._probabilities("baseline", baseline_rows)
        relations = self._predict("relation", value_rows, "level")
        directions = self._predict("direction", value_rows, "none")

        def best(candidates: list[Entity], rows: range, scores: list[float], excluded: Entity | None = None) -> Entity | None:
            options = [(scores[row], candidate) for row, candidate in zip(rows, candidates) if candidate != excluded]
            top = max(options, key=lambda option: option[0], default=(0.0, None))
            return top[1] if top[0] >= LINK_THRESHOLD else None

        for record, view, metric_rows, candidate_rows, value_row in plans:
            metric = best(view.metrics, metric_rows, metric_scores)
            parent = best(view.metrics, metric_rows, parent_scores, excluded=metric)
            baseline = best(view.baselines, candidate_rows, baseline_scores)
            relation = relations[value_row]
            direction = directions[value_row] if relation == "change" else "none"
            if link_scores:
                candidates = [metric_scores[row] for row in metric_rows]
                chosen = metric_scores[metric_rows[view.metrics.index(metric)]] if metric else None
                record["link_score"] = round(chosen if chosen is not None else 1.0 - max(candidates, default=0.0), 4)
            record["metric"] = metric.text(text) if metric else None
            record["parent_metric"] = parent.text(text) if parent else None
            record["relation"] = relation
            record["direction"] = None if direction == "none" else direction
            record.pop("baseline_span", None)
            record["baseline"] = baseline.text(text) if baseline else None
            record["baseline_type"] = None
            if baseline is not None:
                record["baseline_span"] = [baseline.start, baseline.end]
        linked = [record for record, *_ in plans if record["baseline"]]
        if "baseline_type" in self.models:
            kinds = self._predict("baseline_type", [baseline_features(r["baseline"]) for r in linked], "other")
        else:
            kinds = [baseline_type(r["baseline"], rules) for r in linked]
        for record, kind in zip(linked, kinds):
            record["baseline_type"] = kind
        return per_sentence

    def link(self, text: str, sentence: tuple[int, int], entities: list[Entity], rules: dict | None = None) -> list[dict]:
        """Records of one sentence (see ``link_sentences``)."""
        return self.link_sentences(text, [sentence], [entities], rules)[0]


def train_linker(train_docs: list[dict], seed: int = 13) -> LearnedLinker:
    data = examples(train_docs)
    models = {}
    for name, (features, labels) in data.items():
        if len(set(labels)) < 2:
            continue
        model = build_model(seed)
        model.fit(features, labels)
        models[name] = model
    counts = {name: len(labels) for name, (_, labels) in data.items()}
    return LearnedLinker(models, {"examples": counts, "threshold": LINK_THRESHOLD})


def save_linker(linker: LearnedLinker, directory: str | Path, meta: dict) -> None:
    from pipeline.components.sentence_classes import save_joblib_model

    save_joblib_model(linker.models, directory, {**linker.meta, **meta})


def load_linker(directory: str | Path) -> LearnedLinker:
    """The saved linker; refuses one made with another scikit-learn, as the
    sentence classifier does."""
    from pipeline.components.sentence_classes import load_joblib_model

    models, meta = load_joblib_model(directory, "record linker", "--linker")
    return LearnedLinker(models, meta)
