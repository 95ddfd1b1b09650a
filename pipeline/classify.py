"""Sentence classes: a scikit-learn Pipeline over a sentence's words and context.

Context matters: a verb-first sentence is an action taken under a results
heading and a task under a tasks heading, so the section path, the title line
of the part it stands in, its position and the entities found in it are
features beside its words. Feature functions are module-level (no lambdas) so
the saved Pipeline reloads.
"""
from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import joblib
import sklearn
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from .records import within_spans

MAIN_CLASSES = ("achievement", "limitation", "cause", "task")


class ModelVersionError(RuntimeError):
    """A saved model was made with other library versions than the ones installed."""


def sentence_contexts(text: str, sentences: list[dict], entities: list[dict]) -> list[dict]:
    """One feature dict per sentence of a document (corpus or annotated)."""
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
        })
    return contexts


def select_text(contexts: list[dict]) -> list[str]:
    return [c["text"].lower() for c in contexts]


def select_section(contexts: list[dict]) -> list[str]:
    return [c["section"].lower() for c in contexts]


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
            "opens_with_cause": float(bool(re.match(r"^(do|nguyên nhân|vì)\b", c["text"].lower()))),
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
    ])
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])


def versions() -> dict:
    return {"scikit-learn": sklearn.__version__, "joblib": joblib.__version__, "python": platform.python_version()}


def save_classifier(model: Pipeline, directory: str | Path, meta: dict) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / "model.joblib")
    (directory / "meta.json").write_text(json.dumps({**meta, "versions": versions()}, ensure_ascii=False, indent=2), encoding="utf-8")


def load_classifier(directory: str | Path) -> tuple[Pipeline, dict]:
    """The saved Pipeline; refuses a model made with another scikit-learn
    (a joblib file only loads reliably with the version that wrote it)."""
    directory = Path(directory)
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    saved = meta.get("versions", {}).get("scikit-learn")
    if saved != sklearn.__version__:
        raise ModelVersionError(
            f"{directory}: the sentence classifier was saved with scikit-learn {saved}, this is {sklearn.__version__}; "
            "retrain it with `vnreport train --classifier` or install the version it was made with"
        )
    return joblib.load(directory / "model.joblib"), meta


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
