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


def load_models(directory: str | Path | None = None) -> Models:
    """The shipped models (or those in ``directory``); a missing one is left out,
    so the pipeline still reads, segments and structures documents."""
    import spacy

    from . import entities, segment  # noqa: F401  register the tokenizer and components for spacy.load
    from .segment import blank_pipeline

    directory = Path(directory) if directory else models_dir()
    versions = {}
    if (directory / "ner" / "config.cfg").exists():
        nlp = spacy.load(directory / "ner")
        # version and training date: a retrained model makes a batch redo its files
        versions["ner"] = f"{nlp.meta.get('version')}+{nlp.meta.get('date')}"
    else:
        nlp = blank_pipeline()
    classifier, meta = None, None
    if (directory / "classifier" / "model.joblib").exists():
        classifier, meta = load_classifier(directory / "classifier")
        versions["classifier"] = f"{meta.get('version')}+{meta.get('date')}"
    return Models(nlp, classifier, meta, versions)
