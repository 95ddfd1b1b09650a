"""The trained models the pipeline runs with, loaded once: the spaCy pipeline
(underthesea tokenizer + NER) and the sentence classifier."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .classify import load_classifier
from .resources import shipped_path


@dataclass
class Models:
    nlp: object  # spaCy Language: the NER pipeline, or the blank tokenizer pipeline
    classifier: object | None = None
    classifier_meta: dict | None = None
    versions: dict = field(default_factory=dict)

    @property
    def has_ner(self) -> bool:
        return bool(self.nlp.pipeline)


def models_dir() -> Path:
    return shipped_path("models")


def model_versions(directory: str | Path | None = None) -> dict:
    """Version and training date of each shipped model, from their meta.json
    alone (a batch compares them without loading the models)."""
    import json

    directory = Path(directory) if directory else models_dir()
    versions = {}
    for name in ("ner", "classifier"):
        meta_path = directory / name / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            # version and training date: a retrained model makes a batch redo its files
            versions[name] = f"{meta.get('version')}+{meta.get('date')}"
    return versions


def load_models(directory: str | Path | None = None) -> Models:
    """The shipped models (or those in ``directory``); a missing one is left out,
    so the pipeline still reads, segments and structures documents."""
    import spacy

    from . import entities, segment  # noqa: F401  register the tokenizer and components for spacy.load
    from .segment import blank_pipeline

    directory = Path(directory) if directory else models_dir()
    nlp = spacy.load(directory / "ner") if (directory / "ner" / "config.cfg").exists() else blank_pipeline()
    classifier, meta = None, None
    if (directory / "classifier" / "model.joblib").exists():
        classifier, meta = load_classifier(directory / "classifier")
    return Models(nlp, classifier, meta, model_versions(directory))
