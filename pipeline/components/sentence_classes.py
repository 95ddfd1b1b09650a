"""Sentence classes: a scikit-learn Pipeline over a sentence's words and context.

Context matters: a verb-first sentence is an action taken under a results
heading and a task under a tasks heading, so the section path, the title line
of the part it stands in, its position, the entities found in it, the
sentences before and after it and the directions of its figures' records (a
statistics list states a decline in the same words as a rise: only "giảm" and
the record's direction tell them apart) are features beside its words.
Feature functions are module-level (no lambdas) so the saved Pipeline reloads.

Probabilities are temperature-scaled on the dev documents (one parameter fit
after training, ``TemperatureScaled``): a logistic regression fit on some
reports is over- or under-confident on others, and a labeller choosing what to
review needs the scores to mean what they say.
"""
from __future__ import annotations

import bisect
import json
import platform
import re
from pathlib import Path

import joblib
import numpy
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from spacy.language import Language

from pipeline.config import FEATURES_PATH, load_toml
from pipeline.errors import ModelMissingError, ModelVersionError
from pipeline.components.linking import within_spans

MAIN_CLASSES = ("achievement", "limitation", "cause", "task")


def sentence_contexts(text: str, sentences: list[dict], entities: list[dict], records: list[dict] | None = None) -> list[dict]:
    """One feature dict per sentence of a document (corpus or annotated); with
    ``records``, the directions of its figures too."""
    contexts = []
    title = ""
    total = max(len(sentences), 1)
    groups = within_spans([(s["start"], s["end"]) for s in sentences], entities,
                          start=lambda e: e["start"], end=lambda e: e["end"])
    for index, (sentence, inside) in enumerate(zip(sentences, groups)):
        body = text[sentence["start"]:sentence["end"]]
        section = sentence.get("section") or []
        # A part opened by "Phần thứ hai" names its content in the title line
        # under it ("NHIỆM VỤ, GIẢI PHÁP ..."): keep the last such line.
        if body.isupper() and len(body) > 8:
            title = body
        labels = [e["label"] for e in inside]
        contexts.append({
            "text": body,
            "section": " / ".join(section) + " / " + title,
            "heading": section[-1] if section else "",
            "position": index / total,
            "is_footnote": bool(sentence.get("is_footnote")),
            "depth": len(section),
            "values": labels.count("VALUE"),
            "metrics": labels.count("METRIC"),
            "baselines": labels.count("BASELINE"),
            "first_word": " ".join(body.lower().split()[:2]),
            "up": 0,
            "down": 0,
            "negative": 0,
        })
    starts = [s["start"] for s in sentences]
    for record in records or []:
        index = bisect.bisect_right(starts, record["span"][0]) - 1
        if 0 <= index < len(contexts):
            context = contexts[index]
            context["up"] += record.get("direction") == "up"
            context["down"] += record.get("direction") == "down"
            context["negative"] += (record.get("value") or 0) < 0
    for index, context in enumerate(contexts):
        context["previous"] = contexts[index - 1]["text"] if index else ""
        context["next"] = contexts[index + 1]["text"] if index + 1 < len(contexts) else ""
    return contexts


def select_text(contexts: list[dict]) -> list[str]:
    return [c["text"].lower() for c in contexts]


def select_section(contexts: list[dict]) -> list[str]:
    return [c["section"].lower() for c in contexts]


def select_previous(contexts: list[dict]) -> list[str]:
    return [c.get("previous", "").lower() for c in contexts]


def select_next(contexts: list[dict]) -> list[str]:
    return [c.get("next", "").lower() for c in contexts]


_FEATURES = load_toml(FEATURES_PATH)["sentence_classes"]
_DOWN_WORDS = re.compile(rf"\b({'|'.join(re.escape(w) for w in _FEATURES['down_words'])})\b")
_CAUSE_OPENING = re.compile(rf"^({'|'.join(re.escape(w) for w in _FEATURES['cause_openings'])})\b")


def select_directions(contexts: list[dict]) -> list[dict]:
    rows = []
    for c in contexts:
        up, down = c.get("up", 0), c.get("down", 0)
        rows.append({
            "up": min(up, 5) / 5,
            "down": min(down, 5) / 5,
            "share_down": down / (up + down) if up + down else 0.0,
            "any_down": float(down > 0),
            "negative": float(c.get("negative", 0) > 0),
            "down_words": min(len(_DOWN_WORDS.findall(c["text"].lower())), 5) / 5,
        })
    return rows


def select_context(contexts: list[dict]) -> list[dict]:
    return [
        {
            "position": c["position"],
            "is_footnote": float(c["is_footnote"]),
            "depth": c["depth"] / 6,
            "values": min(c["values"], 10) / 10,
            "metrics": min(c["metrics"], 10) / 10,
            "baselines": min(c["baselines"], 5) / 5,
            "has_values": float(c["values"] > 0),
            "first_word=" + c["first_word"]: 1.0,
            "opens_with_cause": float(bool(_CAUSE_OPENING.match(c["text"].lower()))),
            "upper": float(c["text"].isupper()),
        }
        for c in contexts
    ]


def build_classifier(seed: int = 13) -> Pipeline:
    features = FeatureUnion([
        ("words", Pipeline([("select", FunctionTransformer(select_text)),
                            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"))])),
        ("chars", Pipeline([("select", FunctionTransformer(select_text)),
                            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2))])),
        ("section", Pipeline([("select", FunctionTransformer(select_section)),
                              ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"))])),
        ("context", Pipeline([("select", FunctionTransformer(select_context)), ("dict", DictVectorizer())])),
        ("directions", Pipeline([("select", FunctionTransformer(select_directions)), ("dict", DictVectorizer())])),
        ("previous", Pipeline([("select", FunctionTransformer(select_previous)),
                               ("tfidf", TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", max_features=3000))])),
        ("next", Pipeline([("select", FunctionTransformer(select_next)),
                           ("tfidf", TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", max_features=3000))])),
    ])
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, random_state=seed)
    return TemperatureScaled(Pipeline([("features", features), ("classifier", classifier)]))


class TemperatureScaled(BaseEstimator, ClassifierMixin):
    """A classifier whose probabilities are divided in log space by one
    temperature fit on held-out documents (``fit_temperature``); the decisions
    (the most probable class) do not change."""

    def __init__(self, model):
        self.model = model

    def fit(self, contexts, labels):
        self.model.fit(contexts, labels)
        self.classes_ = self.model.classes_
        self.temperature_ = 1.0
        return self

    def fit_temperature(self, contexts, labels) -> dict:
        """The temperature that minimises the log loss on ``contexts`` (held-out
        sentences); returns the log loss and calibration error before and after."""
        probabilities = self.model.predict_proba(contexts)
        index = {label: i for i, label in enumerate(self.classes_)}
        truth = numpy.array([index.get(label, -1) for label in labels])
        keep = truth >= 0
        probabilities, truth = probabilities[keep], truth[keep]

        def log_loss(temperature: float) -> float:
            scaled = _scale(probabilities, temperature)
            return float(-numpy.log(numpy.clip(scaled[numpy.arange(len(truth)), truth], 1e-12, None)).mean())

        grid = numpy.exp(numpy.linspace(numpy.log(0.25), numpy.log(4.0), 121))
        before = {"log_loss": round(log_loss(1.0), 4), "ece": expected_calibration_error(probabilities, truth)}
        self.temperature_ = float(min(grid, key=log_loss))
        after_probabilities = _scale(probabilities, self.temperature_)
        after = {"log_loss": round(log_loss(self.temperature_), 4), "ece": expected_calibration_error(after_probabilities, truth)}
        return {"temperature": round(self.temperature_, 4), "before": before, "after": after, "sentences": int(keep.sum())}

    def predict_proba(self, contexts):
        return _scale(self.model.predict_proba(contexts), getattr(self, "temperature_", 1.0))

    def predict(self, contexts):
        return self.model.predict(contexts)


def _scale(probabilities, temperature: float):
    logits = numpy.log(numpy.clip(probabilities, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = numpy.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def expected_calibration_error(probabilities, truth, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over ten confidence bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = numpy.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges, edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return round(float(error), 4)


def versions() -> dict:
    return {"scikit-learn": sklearn.__version__, "joblib": joblib.__version__, "python": platform.python_version()}


def save_joblib_model(model, directory: str | Path, meta: dict) -> None:
    """``model.joblib`` and a ``meta.json`` recording the library versions."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / "model.joblib")
    (directory / "meta.json").write_text(json.dumps({**meta, "versions": versions()}, ensure_ascii=False, indent=2), encoding="utf-8")


def load_joblib_model(directory: str | Path, what: str, train_flag: str):
    """(model, meta) saved by ``save_joblib_model``; refuses a model made with
    another scikit-learn (a joblib file only loads reliably with the version
    that wrote it)."""
    directory = Path(directory)
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    saved = meta.get("versions", {}).get("scikit-learn")
    if saved != sklearn.__version__:
        raise ModelVersionError(
            f"{directory}: the {what} was saved with scikit-learn {saved}, this is {sklearn.__version__}; "
            f"retrain it with `vnreport train {train_flag}` or install the version it was made with"
        )
    return joblib.load(directory / "model.joblib"), meta


def save_classifier(model: Pipeline, directory: str | Path, meta: dict) -> None:
    save_joblib_model(model, directory, meta)


def load_classifier(directory: str | Path) -> tuple[Pipeline, dict]:
    return load_joblib_model(directory, "sentence classifier", "--classifier")


def predict(model: Pipeline, contexts: list[dict]) -> list[tuple[str, dict[str, float]]]:
    """(label, probability of each class) for each sentence."""
    if not contexts:
        return []
    probabilities = model.predict_proba(contexts)
    classes = list(model.classes_)
    results = []
    for row in probabilities:
        scores = {label: round(float(p), 4) for label, p in zip(classes, row)}
        results.append((max(scores, key=scores.get), scores))
    return results


class SentenceClasses:
    """The trained classifier's class and class probabilities for every sentence
    (``Span._.label``, ``Span._.scores``); each record gets its sentence's class.
    Saved as model.joblib with a meta.json recording the library versions."""

    def __init__(self):
        self.model = None
        self.meta: dict = {}

    def __call__(self, doc):
        if self.model is None:
            raise ModelMissingError("the sentence_classes component has no trained classifier: build the pipeline "
                                    "with `vnreport train` or load a trained one with pipeline.load()")
        sentences = list(doc.spans.get("sentences", []))
        records = doc._.records or []
        contexts = sentence_contexts(
            doc.text,
            [{"start": s.start_char, "end": s.end_char, "section": s._.section, "is_footnote": s._.is_footnote}
             for s in sentences],
            [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents],
            records)
        predicted = predict(self.model, contexts)
        for sentence, (label, scores) in zip(sentences, predicted):
            sentence._.label, sentence._.scores = label, scores
        for record in records:
            record["sentence_class"] = predicted[record["sentence"]][0]
        return doc

    def to_disk(self, path, exclude=()) -> None:
        save_classifier(self.model, path, self.meta)

    def from_disk(self, path, exclude=()) -> "SentenceClasses":
        self.model, self.meta = load_classifier(path)
        return self


@Language.factory("vnreport_sentence_classes_v1", assigns=["span._.label", "span._.scores"],
                  requires=["doc.spans", "doc._.records"])
def make_sentence_classes(nlp: Language, name: str) -> SentenceClasses:
    return SentenceClasses()
