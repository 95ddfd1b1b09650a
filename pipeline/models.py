"""The trained models the pipeline runs with, loaded once: the spaCy pipeline
(underthesea tokenizer + NER), the sentence classifier and the record linker."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.components.sentence_classes import load_classifier
from pipeline.resources import shipped_path


@dataclass
class Models:
    nlp: object  # spaCy Language: the NER pipeline, or the blank tokenizer pipeline
    classifier: object | None = None
    classifier_meta: dict | None = None
    versions: dict = field(default_factory=dict)
    linker: object | None = None  # LearnedLinker; None: the hand-written linker of records.py

    def link_sentences(self, text: str, sentences: list[tuple[int, int]], groups: list[list]) -> list[list[dict]]:
        """Records of each sentence of a document (``groups``: its entities),
        by the learned linker when there is one, all its figures at once."""
        from pipeline.components.records import link_records

        if self.linker:
            return self.linker.link_sentences(text, sentences, groups)
        return [link_records(text, sentence, entities) for sentence, entities in zip(sentences, groups)]

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
    for name in ("ner", "classifier", "linker"):
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

    from pipeline.components import entities, tokenizer  # noqa: F401  register the tokenizer and components for spacy.load
    from pipeline.components.tokenizer import blank_pipeline

    directory = Path(directory) if directory else models_dir()
    nlp = spacy.load(directory / "ner") if (directory / "ner" / "config.cfg").exists() else blank_pipeline()
    classifier, meta = None, None
    if (directory / "classifier" / "model.joblib").exists():
        classifier, meta = load_classifier(directory / "classifier")
    linker = None
    if (directory / "linker" / "model.joblib").exists():
        from pipeline.components.linker import load_linker

        linker = load_linker(directory / "linker")
    return Models(nlp, classifier, meta, model_versions(directory), linker)
