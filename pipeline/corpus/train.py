"""Retraining: the steps of project.yml, each an importable function and a
subcommand of ``python -m pipeline.corpus.train`` (what project.yml runs).

    convert -> train-ner -> train-linker -> train-classifier -> assemble -> evaluate

``vnreport train`` runs the workflow with spaCy's project runner (weasel):
each step reruns only when its inputs changed, and every intermediate file
stays in the training folder (``training/`` by default).
"""
from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
import warnings
from pathlib import Path

import numpy

from pipeline import __version__
from pipeline.components.sentence_classes import MAIN_CLASSES, build_classifier, save_classifier, sentence_contexts
from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.corpus.convert import import_documents, to_sentence_docbin
from pipeline.corpus.documents import default_corpus_files, load_documents, save_documents, text_hash

NER_CONFIG = DEFAULT_CONFIG_PATH.parent / "ner.cfg"
SEED = 13
SEED_DOCUMENT = "bac-giang-2020-h1-report"
WORKFLOW = "all"
STEPS = ("convert", "train-ner", "train-linker", "train-classifier", "assemble", "evaluate")


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    numpy.random.seed(seed)
    from spacy.util import fix_random_seed

    fix_random_seed(seed)


def share_of_training(documents: list[dict], fraction: float, seed: int = SEED) -> list[dict]:
    """A share of the training documents for a learning curve: the seed report
    always, the others in a fixed shuffled order; other splits untouched."""
    if fraction >= 1:
        return documents
    train = [d for d in documents if d.get("split") == "train"]
    seed_documents = [d for d in train if d["doc_id"] == SEED_DOCUMENT]
    others = [d for d in train if d not in seed_documents]
    random.Random(seed).shuffle(others)
    chosen = seed_documents + others[:max(1, round(fraction * len(others)))]
    keep = {id(d) for d in chosen}
    return [d for d in documents if d.get("split") != "train" or id(d) in keep]


def parse_extra(values: list[str]) -> list[tuple[str, str]]:
    """``--extra`` values, FILE or FORMAT:FILE (FORMAT jsonl or label-studio), as (path, format)."""
    extra = []
    for value in values:
        fmt, _, path = value.partition(":") if value.split(":", 1)[0] in ("jsonl", "label-studio") else ("", "", value)
        extra.append((path, fmt or ("label-studio" if value.endswith(".json") else "jsonl")))
    return extra


# --- the steps ----------------------------------------------------------------

def convert(out: str | Path, corpus=None, extra: list[tuple[str, str]] | None = None, fraction: float = 1.0,
            epochs: int = 0, seed: int = SEED) -> dict:
    """The documents of each split, the NER's training data (one Doc per sentence),
    the NER config with the pipeline's tokenizer, and the hash of every document."""
    from thinc.api import Config

    from pipeline.language import PIPELINE_CONFIG, tokenizer_pipeline

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    documents = share_of_training(training_documents(corpus, extra), fraction, seed)
    splits = by_split(documents)
    if not splits["train"]:
        raise ValueError("no training documents (split 'train') in the corpus")
    save_documents(documents, out / "documents.jsonl")
    nlp = tokenizer_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to_sentence_docbin(splits["train"], nlp).to_disk(out / "train.spacy")
        to_sentence_docbin(splits["dev"] or splits["train"], nlp).to_disk(out / "dev.spacy")
    # One source for the tokenizer settings: the NER is trained on the tokens
    # the pipeline of pipeline.cfg will give it.
    config = Config().from_disk(NER_CONFIG, interpolate=False)
    config["nlp"]["tokenizer"] = Config().from_disk(PIPELINE_CONFIG, interpolate=False)["nlp"]["tokenizer"]
    config["system"]["seed"] = seed
    if epochs:
        config["training"]["max_epochs"] = epochs
    config.to_disk(out / "ner.cfg")
    data = {"fraction": fraction, "seed": seed,
            **{f"{split}_data": data_hashes(docs) for split, docs in splits.items()}}
    (out / "data.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return data


def train_ner(corpus_dir: str | Path, out: str | Path, seed: int = SEED) -> None:
    """spaCy's own training loop on the converted data (what ``spacy train`` does)."""
    from spacy.cli.train import train as spacy_train

    corpus_dir = Path(corpus_dir)
    seed_everything(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spacy_train(corpus_dir / "ner.cfg", output_path=Path(out), use_gpu=-1,
                    overrides={"paths.train": str(corpus_dir / "train.spacy"), "paths.dev": str(corpus_dir / "dev.spacy")})


def _documents(corpus_dir: str | Path) -> dict[str, list[dict]]:
    return by_split(load_documents([Path(corpus_dir) / "documents.jsonl"]))


def classifier_examples(documents: list[dict]) -> tuple[list[dict], list[str]]:
    contexts, labels = [], []
    for document in documents:
        contexts.extend(sentence_contexts(document["text"], document["sentences"], document["entities"], document.get("records")))
        labels.extend(s["label"] for s in document["sentences"])
    return contexts, labels


def _stamp(name: str, seed: int, documents: list[dict]) -> dict:
    return {"name": name, "version": __version__, "seed": seed,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "training_data": data_hashes(documents)}


def train_classifier(train_docs: list[dict], out_dir: str | Path, seed: int = SEED, dev_docs: list[dict] | None = None) -> dict:
    """The sentence classifier; with ``dev_docs``, its probabilities are
    temperature-scaled on them (documents it was not fit on)."""
    seed_everything(seed)
    contexts, labels = classifier_examples(train_docs)
    model = build_classifier(seed)
    model.fit(contexts, labels)
    calibration = model.fit_temperature(*classifier_examples(dev_docs)) if dev_docs else None
    meta = {**_stamp("vnreport_sentence_classifier", seed, train_docs), "labels": sorted(set(labels)),
            "main_classes": list(MAIN_CLASSES), "calibration": calibration}
    save_classifier(model, out_dir, meta)
    return meta


def train_record_linker(train_docs: list[dict], out_dir: str | Path, seed: int = SEED) -> dict:
    """The learned record linker, from the reviewed record links of the corpus."""
    from pipeline.components.linker import save_linker, train_linker

    seed_everything(seed)
    linker = train_linker(train_docs, seed)
    meta = {**_stamp("vnreport_record_linker", seed, train_docs), "decisions": sorted(linker.models)}
    save_linker(linker, out_dir, meta)
    return meta


def assemble(training: str | Path, out: str | Path) -> dict:
    """The trained parts in one pipeline (pipeline/config/pipeline.cfg), scored
    on the dev and test documents, saved to ``out`` with the scores and the
    hash of every document it was trained on in its meta.json."""
    from pipeline.corpus.evaluate import evaluate_documents
    from pipeline.language import assemble as assemble_pipeline

    training = Path(training)
    data = json.loads((training / "corpus" / "data.json").read_text(encoding="utf-8"))
    ner_meta = json.loads((training / "ner" / "model-best" / "meta.json").read_text(encoding="utf-8"))
    meta = {"seed": data["seed"], "training_fraction": data["fraction"], "training_data": data["train_data"],
            "dev_data": data["dev_data"], "ner_training": {"performance": ner_meta.get("performance")}}
    nlp = assemble_pipeline(training / "ner" / "model-best", training / "linker", training / "classifier", out, meta)
    splits = _documents(training / "corpus")
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for split in ("dev", "test"):
            if splits[split]:
                result = evaluate_documents(splits[split], nlp)
                scores[split] = {"entities": result["entities"], "classes": {k: v for k, v in result["classes"].items() if k != "confusion"},
                                 "records": result["records"]}
    meta_path = Path(out) / "meta.json"
    saved = json.loads(meta_path.read_text(encoding="utf-8"))
    saved["scores"] = scores
    meta_path.write_text(json.dumps(saved, ensure_ascii=False, indent=2), encoding="utf-8")
    return saved


def evaluate_step(models: str | Path, corpus_dir: str | Path, out: str | Path) -> dict:
    """The test report of the assembled pipeline beside the rule baseline, kept as text and JSON."""
    import pipeline
    from pipeline.corpus.evaluate import evaluate, format_report

    test = _documents(corpus_dir)["test"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(test, pipeline.load(models)) if test else {}
    out = Path(out)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if test:
        out.with_suffix(".txt").write_text(format_report(result) + "\n", encoding="utf-8")
    return result


# --- running the workflow -----------------------------------------------------

def project_dir() -> Path:
    from pipeline.resources import shipped_path

    return shipped_path("project.yml").parent


def run_workflow(steps: tuple[str, ...] = (WORKFLOW,), corpus: list[str] | None = None, extra: list[str] | None = None,
                 training: str | Path = "training", models: str | Path = "models/vnreport", epochs: int = 0,
                 seed: int = SEED, fraction: float = 1.0, force: bool = False) -> None:
    """Run project.yml's workflow (or some of its steps) with these variables."""
    from weasel.cli.run import project_run

    root = project_dir()
    overrides = {
        "vars.corpus": ",".join(str(Path(p).resolve()) for p in corpus) if corpus else "",
        "vars.extra": ",".join(extra or []),
        "vars.training": str(Path(training).resolve()),
        "vars.models": str(Path(models).resolve()),
        "vars.epochs": epochs, "vars.seed": seed, "vars.fraction": fraction,
    }
    for step in steps:
        project_run(root, step, overrides=overrides, force=force, capture=False)


def learning_curve(fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0), corpus=None, out_dir: str | Path = "learning-curve",
                   seed: int = SEED, epochs: int = 0) -> list[dict]:
    """Pipelines trained on growing shares of the training documents (the seed
    report always among them), each scored on the test split: where more
    labelled reports pay."""
    rows = []
    for fraction in fractions:
        folder = Path(out_dir) / f"{int(fraction * 100)}"
        run_workflow(corpus=corpus, training=folder / "training", models=folder / "vnreport", epochs=epochs, seed=seed,
                     fraction=fraction)
        data = json.loads((folder / "training" / "corpus" / "data.json").read_text(encoding="utf-8"))
        scores = json.loads((folder / "training" / "evaluation.json").read_text(encoding="utf-8"))["models"]
        rows.append({
            "fraction": fraction,
            "documents": len(data["train_data"]),
            "METRIC": scores["entities"]["METRIC"]["f1"],
            "BASELINE": scores["entities"]["BASELINE"]["f1"],
            "macro_f1": scores["classes"]["macro_f1_main"],
            "limitation": scores["classes"]["per_class"]["limitation"]["f1"],
            "records": scores["records"]["f1"],
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    """The steps as project.yml runs them: ``python -m pipeline.corpus.train STEP ...``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.corpus.train", description=__doc__.split("\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("convert")
    step.add_argument("--out", required=True)
    step.add_argument("--corpus", default="", help="comma-separated corpus files (default: corpus/gold/*.jsonl)")
    step.add_argument("--extra", default="", help="comma-separated [FORMAT:]FILE")
    step.add_argument("--fraction", type=float, default=1.0)
    step.add_argument("--epochs", type=int, default=0)
    step.add_argument("--seed", type=int, default=SEED)
    step = steps.add_parser("train-ner")
    step.add_argument("--corpus-dir", required=True)
    step.add_argument("--out", required=True)
    step.add_argument("--seed", type=int, default=SEED)
    for name in ("train-linker", "train-classifier"):
        step = steps.add_parser(name)
        step.add_argument("--corpus-dir", required=True)
        step.add_argument("--out", required=True)
        step.add_argument("--seed", type=int, default=SEED)
    step = steps.add_parser("assemble")
    step.add_argument("--training", required=True)
    step.add_argument("--out", required=True)
    step = steps.add_parser("evaluate")
    step.add_argument("--models", required=True)
    step.add_argument("--corpus-dir", required=True)
    step.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.step == "convert":
        corpus = [Path(p) for p in args.corpus.split(",") if p] or None
        extra = parse_extra([e for e in args.extra.split(",") if e])
        data = convert(args.out, corpus, extra, args.fraction, args.epochs, args.seed)
        print(f"{args.out}: " + ", ".join(f"{len(data[f'{s}_data'])} {s}" for s in ("train", "dev", "test")) + " documents")
    elif args.step == "train-ner":
        train_ner(args.corpus_dir, args.out, args.seed)
    elif args.step == "train-linker":
        splits = _documents(args.corpus_dir)
        train_record_linker(splits["train"], args.out, args.seed)
    elif args.step == "train-classifier":
        splits = _documents(args.corpus_dir)
        train_classifier(splits["train"], args.out, args.seed, dev_docs=splits["dev"])
    elif args.step == "assemble":
        meta = assemble(args.training, args.out)
        for split, scores in meta["scores"].items():
            print(f"{split}: " + ", ".join(f"{label} {s['f1']:.3f}" for label, s in scores["entities"].items())
                  + f"; classes macro-F1 {scores['classes']['macro_f1_main']:.3f}; records {scores['records']['f1']:.3f}")
    elif args.step == "evaluate":
        evaluate_step(args.models, args.corpus_dir, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
