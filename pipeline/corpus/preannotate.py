"""Model-in-the-loop pre-annotation: the current pipeline's entities, classes
and records proposed for new reports, with the score of each proposal, in the
corpus format and as Label Studio tasks with predictions or doccano JSONL.

Scores (the trained pipeline; the rule baseline gives none):
- a sentence class: its probability (``Span._.scores``, temperature-scaled on
  dev in the trained pipeline);
- an entity: the product of the probabilities (softmax over the valid ones)
  of the NER's transitions that made it (``annotate.score_entities``): on the
  dev split, entities scored 0.99 or more were right 97% of the time, those
  under 0.99 57% (README, "Labelling new reports");
- a record: ``link_score``, the learned linker's probability of its metric link;
- a Label Studio prediction (one per task): the lowest top-class probability
  among its sentences, so that sorting tasks by prediction score in Label
  Studio puts the documents with the least certain sentence first.
"""
from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager
from pathlib import Path

# What the context component adds to a record and the gold does not hold as
# proposed: an ``indicator`` field in the gold means "reviewed" (absent = not),
# so a proposal must not carry one; periods and normalised values are
# recomputed from the text whenever a dataset is built.
CONTEXT_FIELDS = ("period", "baseline_period", "normalised", "indicator", "indicator_score")


def pre_annotate_files(nlp, paths: list[str | Path], split: str = "train", origin: str = "",
                       settings: dict | None = None) -> tuple[list[dict], list[str]]:
    """Corpus documents proposed by ``nlp`` for report files, each sentence with
    its class probabilities in ``scores`` (empty from the rule baseline); and
    the errors of files that could not be read."""
    from pipeline.annotate import annotate_file, score_entities
    from pipeline.config import load_config
    from pipeline.corpus.documents import document_from_doc
    from pipeline.io.read import ReadError

    settings = settings or load_config()
    documents, errors = [], []
    with link_scores(nlp):
        for path in paths:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    doc = annotate_file(nlp, path, settings)
            except ReadError as error:
                errors.append(str(error))
                continue
            document = document_from_doc(doc, split=split, origin=origin, labelled=True)
            for sentence, span in zip(document["sentences"], doc.spans.get("sentences", [])):
                sentence["scores"] = dict(span._.scores or {})
            if doc._.entity_scores is not None or score_entities(nlp, doc):
                for entity, score in zip(document["entities"], doc._.entity_scores):
                    entity["score"] = score
            for record in document["records"]:
                for field in CONTEXT_FIELDS:
                    record.pop(field, None)
            document["proposed_by"] = model_version(nlp)
            documents.append(document)
    return documents, errors


@contextmanager
def link_scores(nlp):
    """The records component giving each learned link its probability while
    proposals are made (never on the annotation path, whose output has no such field)."""
    records = nlp.get_pipe("records") if "records" in nlp.pipe_names else None
    before = getattr(records, "link_scores", None)
    if before is not None:
        records.link_scores = True
    try:
        yield
    finally:
        if before is not None:
            records.link_scores = before


def model_version(nlp) -> str:
    """The name Label Studio shows for the predictions: pipeline name, version
    and training date (the rule baseline has no date)."""
    meta = nlp.meta
    date = meta.get("date")
    return f"{meta.get('name', 'pipeline')}-{meta.get('version')}" + (f"+{date}" if date else "")


def to_label_studio_predictions(document: dict, version: str | None = None) -> dict:
    """A Label Studio task whose proposals are a prediction (shown to the
    annotator as a pre-annotation, not counted as a human annotation): the
    results of ``convert.to_label_studio``, each class result with the
    probability of its class as ``score``."""
    from pipeline.corpus.convert import to_label_studio

    # the task's data carries the document without its scores: what comes
    # back from Label Studio is a corpus document
    task = to_label_studio(without_scores(document))
    results = task.pop("annotations")[0]["result"]
    top = []
    for result in results:
        if result["from_name"] == "label":
            score = document["entities"][int(result["id"][1:])].get("score")
            if score is not None:
                result["score"] = score
            continue
        if result["from_name"] != "class":
            continue
        sentence = document["sentences"][int(result["id"][1:])]
        scores = sentence.get("scores") or {}
        if sentence["label"] in scores:
            result["score"] = scores[sentence["label"]]
            top.append(scores[sentence["label"]])
    prediction = {"model_version": version or document.get("proposed_by") or "vnreport", "result": results}
    if top:
        prediction["score"] = min(top)
    task["predictions"] = [prediction]
    return task


def without_scores(document: dict) -> dict:
    """The document as a corpus document (the proposal scores dropped)."""
    document = copy.deepcopy(document)
    for sentence in document["sentences"]:
        sentence.pop("scores", None)
    for entity in document["entities"]:
        entity.pop("score", None)
    for record in document["records"]:
        record.pop("link_score", None)
    document.pop("proposed_by", None)
    return document


def write_pre_annotations(documents: list[dict], fmt: str, out: str | Path) -> None:
    """``fmt``: corpus (JSON Lines, scores kept on the sentences), label-studio
    (tasks with predictions), doccano (one line a sentence; doccano's format
    has no place for scores)."""
    import json

    from pipeline.corpus.convert import export_documents
    from pipeline.corpus.documents import save_documents
    from pipeline.io.write import replacing

    out = Path(out)
    if fmt == "corpus":
        save_documents(documents, out)
    elif fmt == "label-studio":
        tasks = [to_label_studio_predictions(d) for d in documents]
        with replacing(out) as tmp:
            tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "doccano":
        export_documents([without_scores(d) for d in documents], "doccano", out)
    else:
        raise ValueError(f"unknown format {fmt!r}")
