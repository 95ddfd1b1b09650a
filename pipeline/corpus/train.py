"""Retraining: the NER and the sentence classifier from the corpus plus any
newly labelled files (Label Studio, doccano, the project's JSONL).

Steps, each rerunnable: convert (corpus -> DocBins) -> train (spaCy's own
training loop for the NER, scikit-learn for the classifier) -> evaluate (on
the dev and test splits) -> package (models/ with meta.json).
"""
from __future__ import annotations

import datetime
import json
import random
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy

from pipeline import __version__
from pipeline.components.sentence_classes import MAIN_CLASSES, build_classifier, save_classifier, sentence_contexts
from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.corpus.convert import import_documents, to_sentence_docbin
from pipeline.corpus.documents import default_corpus_files, load_documents, text_hash

NER_CONFIG = DEFAULT_CONFIG_PATH.parent / "ner.cfg"
SEED = 13


def training_documents(paths=None, extra: list[tuple[str, str]] | None = None) -> list[dict]:
    """The corpus (default: corpus/gold) and extra labelled files as (path, format);
    extra documents without a split go to training."""
    documents = load_documents(paths or default_corpus_files())
    for path, fmt in extra or []:
        if fmt == "jsonl":
            added = load_documents([path])
        else:
            added = import_documents(path, fmt, [])
        for document in added:
            document.setdefault("split", "train")
        documents.extend(added)
    return documents


def by_split(documents: list[dict]) -> dict[str, list[dict]]:
    return {split: [d for d in documents if d.get("split") == split] for split in ("train", "dev", "test")}


def data_hashes(documents: list[dict]) -> list[dict]:
    return [{"doc_id": d["doc_id"], "split": d.get("split"), "sha256": text_hash(json.dumps(d, ensure_ascii=False, sort_keys=True))}
            for d in documents]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    numpy.random.seed(seed)
    from spacy.util import fix_random_seed

    fix_random_seed(seed)


def train_ner(train_docs: list[dict], dev_docs: list[dict], out_dir: str | Path, config_path: str | Path = NER_CONFIG,
              overrides: dict | None = None, seed: int = SEED) -> dict:
    """Train the NER with spaCy's training loop; the best model goes to ``out_dir``."""
    from spacy.cli.train import train as spacy_train

    from pipeline.components.tokenizer import blank_pipeline

    _seed_everything(seed)
    out_dir = Path(out_dir)
    nlp = blank_pipeline()
    with tempfile.TemporaryDirectory(prefix="vnreport-ner-") as tmp:
        tmp = Path(tmp)
        to_sentence_docbin(train_docs, nlp).to_disk(tmp / "train.spacy")
        to_sentence_docbin(dev_docs or train_docs, nlp).to_disk(tmp / "dev.spacy")
        settings = {"paths.train": str(tmp / "train.spacy"), "paths.dev": str(tmp / "dev.spacy"), "system.seed": seed}
        settings.update(overrides or {})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spacy_train(Path(config_path), output_path=tmp / "output", overrides=settings, use_gpu=-1)
        best = tmp / "output" / "model-best"
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(best, out_dir)
    meta_path = out_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update({
        "name": "vnreport_ner",
        "version": __version__,
        "vnreport_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "labels": sorted({e["label"] for d in train_docs for e in d["entities"]}),
        "training_data": data_hashes(train_docs),
        "dev_data": data_hashes(dev_docs),
    })
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return meta


def classifier_examples(documents: list[dict]) -> tuple[list[dict], list[str]]:
    contexts, labels = [], []
    for document in documents:
        contexts.extend(sentence_contexts(document["text"], document["sentences"], document["entities"], document.get("records")))
        labels.extend(s["label"] for s in document["sentences"])
    return contexts, labels


def train_classifier(train_docs: list[dict], out_dir: str | Path, seed: int = SEED, dev_docs: list[dict] | None = None) -> dict:
    """The sentence classifier; with ``dev_docs``, its probabilities are
    temperature-scaled on them (documents it was not fit on)."""
    _seed_everything(seed)
    contexts, labels = classifier_examples(train_docs)
    model = build_classifier(seed)
    model.fit(contexts, labels)
    calibration = model.fit_temperature(*classifier_examples(dev_docs)) if dev_docs else None
    meta = {
        "name": "vnreport_sentence_classifier",
        "version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "labels": sorted(set(labels)),
        "main_classes": list(MAIN_CLASSES),
        "training_data": data_hashes(train_docs),
        "calibration": calibration,
    }
    save_classifier(model, out_dir, meta)
    return meta


def train_record_linker(train_docs: list[dict], out_dir: str | Path, seed: int = SEED) -> dict:
    """The learned record linker, from the reviewed record links of the corpus."""
    from pipeline.components.linker import save_linker, train_linker

    _seed_everything(seed)
    linker = train_linker(train_docs, seed)
    meta = {
        "name": "vnreport_record_linker",
        "version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "decisions": sorted(linker.models),
        "training_data": data_hashes(train_docs),
    }
    save_linker(linker, out_dir, meta)
    return meta


COMPONENTS = ("ner", "classifier", "linker")
# The part of the evaluation kept in each model's meta.json.
_SCORES_OF = {"ner": "entities", "classifier": "classes", "linker": "records"}


def train(components: tuple[str, ...] = COMPONENTS, paths=None, extra=None, out_dir: str | Path = "models",
          ner_overrides: dict | None = None, seed: int = SEED) -> dict:
    """Train the named components and record their scores in their meta.json."""
    from pipeline.corpus.evaluate import evaluate_documents, load_models

    documents = training_documents(paths, extra)
    splits = by_split(documents)
    if not splits["train"]:
        raise ValueError("no training documents (split 'train') in the corpus")
    out_dir = Path(out_dir)
    metas = {}
    if "ner" in components:
        metas["ner"] = train_ner(splits["train"], splits["dev"], out_dir / "ner", overrides=ner_overrides, seed=seed)
    if "classifier" in components:
        metas["classifier"] = train_classifier(splits["train"], out_dir / "classifier", seed=seed, dev_docs=splits["dev"])
    if "linker" in components:
        metas["linker"] = train_record_linker(splits["train"], out_dir / "linker", seed=seed)
    models = load_models(out_dir)
    for split in ("dev", "test"):
        if splits[split]:
            scores = evaluate_documents(splits[split], models)
            for name, meta in metas.items():
                meta.setdefault("scores", {})[split] = scores[_SCORES_OF[name]]
    for name, meta in metas.items():
        path = out_dir / name / "meta.json"
        saved = json.loads(path.read_text(encoding="utf-8"))
        saved["scores"] = meta.get("scores", {})
        path.write_text(json.dumps(saved, ensure_ascii=False, indent=2), encoding="utf-8")
    return metas


def learning_curve(fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0), paths=None, out_dir: str | Path = "learning-curve",
                   seed: int = SEED) -> list[dict]:
    """Models trained on growing shares of the training documents (the seed
    always among them, the others in a fixed shuffled order), each scored on the
    test split: where more labelled reports pay."""
    from pipeline.corpus.evaluate import evaluate_documents, load_models

    documents = training_documents(paths)
    splits = by_split(documents)
    seed_documents = [d for d in splits["train"] if d["doc_id"] == "bac-giang-2020-h1-report"]
    others = [d for d in splits["train"] if d not in seed_documents]
    random.Random(seed).shuffle(others)
    rows = []
    for fraction in fractions:
        chosen = seed_documents + others[:max(1, round(fraction * len(others)))]
        folder = Path(out_dir) / f"{int(fraction * 100)}"
        train_ner(chosen, splits["dev"], folder / "ner", seed=seed)
        train_classifier(chosen, folder / "classifier", seed=seed, dev_docs=splits["dev"])
        train_record_linker(chosen, folder / "linker", seed=seed)
        scores = evaluate_documents(splits["test"], load_models(folder))
        rows.append({
            "fraction": fraction,
            "documents": len(chosen),
            "sentences": sum(len(d["sentences"]) for d in chosen),
            "METRIC": scores["entities"]["METRIC"]["f1"],
            "BASELINE": scores["entities"]["BASELINE"]["f1"],
            "macro_f1": scores["classes"]["macro_f1_main"],
            "limitation": scores["classes"]["per_class"]["limitation"]["f1"],
            "records": scores["records"]["f1"],
        })
    return rows
