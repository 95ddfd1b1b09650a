"""The ``vnreport`` command. Each subcommand parses its arguments and calls an
importable function; no pipeline logic lives here."""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from . import __version__
from .annotate import annotate_file, load_pipeline
from .config import load_config
from .read import ReadError
from .resources import sample_report
from .segment import blank_pipeline
from .review_page import write_review_page
from .write import AtomicJsonLines, record_rows, write_records_csv, write_records_parquet


def _annotate_folder(args: argparse.Namespace) -> int:
    from .batch import run_batch

    if len(args.files) != 1:
        print("error: give one folder (or only files)", file=sys.stderr)
        return 2
    engine = "dask" if args.scheduler else args.engine
    try:
        summary = run_batch(args.files[0], args.out, workers=args.workers, force=args.force, config_path=args.config,
                            engine=engine, scheduler=args.scheduler)
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.files[0]}: {summary.ok} annotated, {summary.error} errors, {summary.skipped} skipped, "
          f"{summary.sentences} sentences in {summary.seconds:.1f} s ({summary.startup_seconds:.1f} s of it starting up) "
          f"on {summary.ran_on}; see {Path(args.out) / 'manifest.jsonl'}")
    return 1 if summary.error else 0


def _annotate(args: argparse.Namespace) -> int:
    if any(Path(f).is_dir() for f in args.files):
        return _annotate_folder(args)
    files = [Path(f) for f in args.files] or [sample_report()]
    config = load_config(args.config)
    models = load_pipeline(config)
    failed = 0
    started = time.perf_counter()
    rows: list[dict] = []
    with AtomicJsonLines(args.out) as out:
        for path in files:
            try:
                with warnings.catch_warnings():
                    # Alignment problems are kept in the document's "warnings"
                    # field; on the terminal the summary counts them.
                    warnings.simplefilter("ignore")
                    annotated = annotate_file(path, models=models, config=config)
            except ReadError as error:
                failed += 1
                print(f"error: {error}", file=sys.stderr)
                continue
            except Exception as error:  # a stage failing must not stop the batch
                failed += 1
                print(f"error: {path}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            document = annotated.record(with_tokens=args.tokens)
            out.write(document)
            rows.extend(record_rows(document))
            if args.html:
                write_review_page(document, args.html)
            structure = annotated.structure
            in_notes = sum(s.is_footnote for s in structure.sentences)
            print(
                f"{path}: {len(structure.headings)} headings, {len(structure.sentences)} sentences "
                f"({in_notes} in {len(structure.footnotes)} footnotes), {len(annotated.doc)} tokens, "
                f"{len(annotated.entities)} entities, {len(annotated.records)} records, "
                f"{len(structure.warnings)} warnings, {annotated.seconds:.1f} s"
            )
    if args.csv:
        write_records_csv(rows, args.csv)
    if args.parquet:
        write_records_parquet(rows, args.parquet)
    print(f"wrote {out.count} document(s) to {args.out}; {failed} failed; {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


def _corpus_paths(args: argparse.Namespace) -> list[Path]:
    from .corpus import default_corpus_files

    return [Path(p) for p in args.paths] or default_corpus_files()


def _corpus_check(args: argparse.Namespace) -> int:
    from .corpus import check_document, load_documents, stats

    paths = _corpus_paths(args)
    documents = load_documents(paths)
    nlp = None if args.no_tokens else blank_pipeline()
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for document in documents:
            problems.extend(check_document(document, nlp))
    for problem in problems:
        print(problem)
    counts = stats(documents)
    print(f"{counts['documents']} documents, {counts['sentences']} sentences, {counts['records']} records")
    print("labels:  " + ", ".join(f"{k} {v}" for k, v in counts["labels"].items()))
    print("classes: " + ", ".join(f"{k} {v}" for k, v in counts["classes"].items()))
    print(f"{len(problems)} problems" if problems else "no problems")
    return 1 if problems else 0


def _corpus_stats(args: argparse.Namespace) -> int:
    import json

    from .corpus import CLASSES, LABELS, load_documents, stats

    counts = stats(load_documents(_corpus_paths(args)))
    if args.json:
        print(json.dumps(counts, ensure_ascii=False, indent=2))
        return 0
    columns = ["split", "docs", "sentences", *LABELS, *CLASSES]
    rows = [[split, c["documents"], c["sentences"], *(c["labels"].get(k, 0) for k in LABELS), *(c["classes"].get(k, 0) for k in CLASSES)]
            for split, c in counts["splits"].items()]
    rows.append(["all", counts["documents"], counts["sentences"], *(counts["labels"].get(k, 0) for k in LABELS),
                 *(counts["classes"].get(k, 0) for k in CLASSES)])
    widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
    for row in [columns, *rows]:
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths)))
    return 0


def _corpus_build(args: argparse.Namespace) -> int:
    from .authoring import build_files, default_annotation_files

    files = [Path(p) for p in args.files] or default_annotation_files()
    return build_files(files, Path(args.corpus), check_tokens=not args.no_tokens)


def _corpus_constructions(args: argparse.Namespace) -> int:
    import json

    from .constructions import count_constructions, markdown_table
    from .corpus import load_documents

    nlp = None if args.no_tokens else blank_pipeline()
    rows = count_constructions(load_documents(_corpus_paths(args)), nlp)
    print(json.dumps(rows, ensure_ascii=False, indent=2) if args.json else markdown_table(rows))
    return 0


def _corpus_agreement(args: argparse.Namespace) -> int:
    import json

    from .agreement import agreement, markdown
    from .corpus import load_documents

    from .authoring import load

    def read(paths: list[Path]) -> list[dict] | None:
        documents = []
        for path in paths:
            if path.suffix == ".ann":
                document, problems = load(path)
                if problems:
                    print(f"error: {path}: {problems[0]}", file=sys.stderr)
                    return None
                documents.append(document)
            else:
                documents.extend(load_documents([path]))
        return documents

    gold_documents, second = read(_corpus_paths(args)), read([Path(p) for p in args.second])
    if gold_documents is None or second is None:
        return 2
    gold = {d["doc_id"]: d for d in gold_documents}
    missing = [d["doc_id"] for d in second if d["doc_id"] not in gold]
    if missing:
        print(f"error: no gold document for {', '.join(missing)}", file=sys.stderr)
        return 2
    result = agreement([(gold[d["doc_id"]], d) for d in second])
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else markdown(result))
    return 0


def _corpus_pre_annotate(args: argparse.Namespace) -> int:
    from .annotate import annotate_file
    from .corpus import document_from_annotated, pre_annotate, save_documents

    config = load_config()
    models = load_pipeline(config)
    documents = []
    for path in args.files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            annotated = annotate_file(path, models=models, config=config)
        documents.append(pre_annotate(document_from_annotated(annotated, split=args.split, origin=args.origin), annotated))
    save_documents(documents, args.out)
    print(f"wrote {len(documents)} pre-annotated document(s) to {args.out}: review every sentence before using them as gold")
    return 0


def _corpus_export(args: argparse.Namespace) -> int:
    from .convert import export_documents
    from .corpus import load_documents

    documents = load_documents(_corpus_paths(args))
    count = export_documents(documents, args.format, args.out, nlp=blank_pipeline() if args.format == "docbin" else None)
    print(f"exported {count} document(s) as {args.format} to {args.out}")
    return 0


def _corpus_import(args: argparse.Namespace) -> int:
    from .convert import import_documents
    from .corpus import check_document, load_documents, save_documents

    templates = load_documents([args.template]) if args.template else []
    documents = import_documents(args.file, args.format, templates)
    save_documents(documents, args.out)
    problems = [p for d in documents for p in check_document(d)]
    for problem in problems:
        print(problem)
    print(f"imported {len(documents)} document(s) to {args.out}; {len(problems)} problems")
    return 1 if problems else 0


def _extra_files(values: list[str]) -> list[tuple[str, str]]:
    """FILE or FORMAT:FILE, FORMAT one of jsonl, label-studio, doccano."""
    extra = []
    for value in values:
        fmt, _, path = value.partition(":") if value.split(":", 1)[0] in ("jsonl", "label-studio") else ("", "", value)
        extra.append((path, fmt or ("label-studio" if value.endswith(".json") else "jsonl")))
    return extra


def _train(args: argparse.Namespace) -> int:
    from .train import COMPONENTS, learning_curve, train

    if args.learning_curve:
        fractions = tuple(float(f) for f in args.learning_curve.split(","))
        rows = learning_curve(fractions, paths=args.corpus or None, out_dir=args.out, seed=args.seed)
        print("| training documents | sentences | METRIC F1 | BASELINE F1 | classes macro-F1 | limitation F1 | records F1 |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['documents']} ({row['fraction']:.0%}) | {row['sentences']} | {row['METRIC']:.3f} | {row['BASELINE']:.3f} | "
                  f"{row['macro_f1']:.3f} | {row['limitation']:.3f} | {row['records']:.3f} |")
        return 0

    components = tuple(c for c in COMPONENTS if getattr(args, c)) or COMPONENTS
    overrides = {"training.max_epochs": args.epochs} if args.epochs else None
    metas = train(components, paths=args.corpus or None, extra=_extra_files(args.extra), out_dir=args.out,
                  ner_overrides=overrides, seed=args.seed)
    for name, meta in metas.items():
        scores = meta.get("scores", {})
        print(f"{name}: trained on {len(meta['training_data'])} documents; saved to {Path(args.out) / name}")
        for split, split_scores in scores.items():
            if name == "ner":
                print(f"  {split}: " + ", ".join(f"{label} F1 {s['f1']:.3f}" for label, s in split_scores.items()))
            elif name == "linker":
                print(f"  {split}: record F1 {split_scores['f1']:.3f} (on the predicted entities)")
            else:
                print(f"  {split}: macro-F1 {split_scores['macro_f1_main']:.3f}, accuracy {split_scores['accuracy']:.3f}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from .corpus import default_corpus_files, load_documents
    from .evaluate import evaluate, format_report
    from .models import load_models

    documents = load_documents([Path(p) for p in args.paths] or default_corpus_files())
    if args.split != "all":
        documents = [d for d in documents if d.get("split") == args.split]
    if not documents:
        print(f"no documents in split {args.split!r}", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(documents, load_models(args.models), with_breakdown=args.breakdown)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vnreport",
        description="Figures, entities and statement classes from Vietnamese government reports.",
    )
    parser.add_argument("--version", action="version", version=f"vnreport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    annotate = commands.add_parser(
        "annotate",
        help="annotate report files (.txt, .docx, .pdf) into JSON Lines",
        description="Annotate report files into one JSON object per document (JSON Lines). "
        "With no FILE, annotates the sample report bundled in corpus/. Given a FOLDER, annotates every "
        ".txt/.docx/.pdf below it into --out/documents/, accounts for every file in --out/manifest.jsonl, "
        "and on a rerun skips files already done (resumable).",
    )
    annotate.add_argument("files", nargs="*", metavar="FILE", help="report files or one folder; default: the bundled sample report")
    annotate.add_argument("--out", default="annotations.jsonl",
                          help="JSON Lines file to write (default: %(default)s); for a FOLDER, the output folder")
    annotate.add_argument("--workers", type=int, default=None, help="processes for a folder (default: all cores)")
    annotate.add_argument("--engine", choices=("local", "dask"), default="local",
                          help="for a folder: processes on this machine (local) or a Dask cluster (dask; "
                          "without --scheduler, a local one of --workers processes)")
    annotate.add_argument("--scheduler", default=None, metavar="ADDRESS",
                          help="for a folder: the Dask scheduler to run on (tcp://host:8786); implies --engine dask")
    annotate.add_argument("--force", action="store_true", help="for a folder: redo files already done with the same hash and models")
    annotate.add_argument("--tokens", action="store_true", help="include the tokens (offsets, text, POS) of each document")
    annotate.add_argument("--config", default=None, help="pipeline settings (TOML); default: the packaged config")
    annotate.add_argument("--csv", default=None, metavar="PATH", help="also write all records as one flat CSV table")
    annotate.add_argument("--parquet", default=None, metavar="PATH", help="also write all records as a Parquet table")
    annotate.add_argument("--html", default=None, metavar="DIR", help="also write a review page (DOC_ID.html) per document")
    annotate.set_defaults(handler=_annotate)

    corpus = commands.add_parser("corpus", help="check, count, pre-annotate and convert labelled data",
                                 description="The labelled corpus (JSON Lines, see corpus/ANNOTATION-GUIDE.md).")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True, metavar="COMMAND")
    check = corpus_commands.add_parser("check", help="validate corpus files and print counts per label and class",
                                       description="Validate labels, overlaps, offsets, token alignment and records. "
                                       "With no PATH, checks the project's corpus (corpus/gold).")
    check.add_argument("paths", nargs="*", metavar="PATH", help="corpus JSON Lines files; default: corpus/gold/*.jsonl")
    check.add_argument("--no-tokens", action="store_true", help="skip the token-alignment check (no underthesea run)")
    check.set_defaults(handler=_corpus_check)
    stats_parser = corpus_commands.add_parser("stats", help="table of labels and classes per split",
                                              description="Counts per split. With no PATH, of the project's corpus.")
    stats_parser.add_argument("paths", nargs="*", metavar="PATH", help="corpus JSON Lines files; default: corpus/gold/*.jsonl")
    stats_parser.add_argument("--json", action="store_true", help='print {"documents", "labels", "classes", "splits"} as JSON')
    stats_parser.set_defaults(handler=_corpus_stats)
    build = corpus_commands.add_parser("build", help="turn reviewed .ann files into corpus documents and gold",
                                       description="Check each .ann file (text, entities, class tags, record links; "
                                       "see corpus/ANNOTATION-GUIDE.md) and write corpus/documents/DOC_ID.txt and "
                                       "corpus/gold/DOC_ID.jsonl. With no FILE, builds corpus/review/*.ann.")
    build.add_argument("files", nargs="*", metavar="FILE", help=".ann files; default: corpus/review/*.ann")
    build.add_argument("--corpus", default="corpus", help="corpus folder to write into (default: %(default)s)")
    build.add_argument("--no-tokens", action="store_true", help="skip the token-boundary check (no underthesea run)")
    build.set_defaults(handler=_corpus_build)
    constructions = corpus_commands.add_parser("constructions", help="count the constructions of real reports in the corpus",
                                               description="Occurrences and documents per construction (bracketed changes, "
                                               "lists, tables, ranks, ...) against the minimums in pipeline/config/constructions.toml.")
    constructions.add_argument("paths", nargs="*", metavar="PATH", help="corpus JSON Lines files; default: corpus/gold/*.jsonl")
    constructions.add_argument("--json", action="store_true", help="print the rows as JSON")
    constructions.add_argument("--no-tokens", action="store_true", help="skip sentence lengths in tokens (no underthesea run)")
    constructions.set_defaults(handler=_corpus_constructions)
    agree = corpus_commands.add_parser("agreement", help="agreement of a second, blind annotation with the gold",
                                       description="Span F1 per label, Cohen's kappa of the sentence classes and "
                                       "agreement per record field, between the gold and a second annotation of the same documents.")
    agree.add_argument("second", nargs="+", metavar="SECOND", help="the second annotation: .ann or corpus JSON Lines files")
    agree.add_argument("--gold", dest="paths", nargs="+", action="extend", default=[], metavar="PATH",
                       help="the first annotation: .ann or corpus JSON Lines files (default: corpus/gold/*.jsonl)")
    agree.add_argument("--json", action="store_true")
    agree.set_defaults(handler=_corpus_agreement)
    pre = corpus_commands.add_parser("pre-annotate", help="rule-proposed labels for new reports, to review and correct",
                                     description="Read report files and write corpus documents whose spans, classes and "
                                     "records are proposed by the rule annotator. They are silver until reviewed.")
    pre.add_argument("files", nargs="+", metavar="FILE")
    pre.add_argument("--out", required=True, help="corpus JSON Lines file to write")
    pre.add_argument("--split", default="train", choices=("train", "dev", "test"))
    pre.add_argument("--origin", default="", help="where the report came from (kept in the document)")
    pre.set_defaults(handler=_corpus_pre_annotate)
    export = corpus_commands.add_parser("export", help="write corpus documents for Label Studio, doccano, spaCy or review",
                                        description="Formats: label-studio (JSON task list), doccano (JSONL, one line a "
                                        "sentence), markup (one sentence a line with [M ...] [V ...]), docbin (spaCy training data), "
                                        "ann (the project's gold format: text, spans, class tags and record links).")
    export.add_argument("paths", nargs="*", metavar="PATH", help="corpus JSON Lines files; default: corpus/gold/*.jsonl")
    export.add_argument("--format", required=True, choices=("label-studio", "doccano", "markup", "docbin", "ann"),
                        help="ann: one .ann file per document into the folder --out, to review entities, classes "
                        "and every record's links in a text editor, then `vnreport corpus build`")
    export.add_argument("--out", required=True)
    export.set_defaults(handler=_corpus_export)
    importer = corpus_commands.add_parser("import", help="bring labelled data back from Label Studio, doccano or markup",
                                          description="Convert a Label Studio export, doccano JSONL, markup or correction "
                                          "lines back into corpus documents, and check them.")
    importer.add_argument("file", metavar="FILE")
    importer.add_argument("--format", required=True, choices=("label-studio", "doccano", "markup", "edits"))
    importer.add_argument("--template", help="the corpus file the data was exported from (needed for doccano, markup, edits)")
    importer.add_argument("--out", required=True)
    importer.set_defaults(handler=_corpus_import)

    train_parser = commands.add_parser(
        "train", help="train the NER and/or the sentence classifier",
        description="Train from the corpus (corpus/gold, split 'train'; 'dev' for model selection) plus newly "
        "labelled files, evaluate on dev and test, and save to models/ with meta.json. With none of --ner, "
        "--classifier, --linker, trains all three.")
    train_parser.add_argument("--ner", action="store_true", help="train the spaCy NER (METRIC, VALUE, UNIT, BASELINE)")
    train_parser.add_argument("--classifier", action="store_true", help="train the sentence classifier")
    train_parser.add_argument("--linker", action="store_true",
                              help="train the record linker (each figure's metric, parent, baseline, relation, direction)")
    train_parser.add_argument("--extra", action="append", default=[], metavar="[FORMAT:]FILE",
                              help="more labelled data: a corpus .jsonl, or label-studio:export.json (repeatable)")
    train_parser.add_argument("--corpus", action="append", default=[], metavar="FILE",
                              help="corpus files instead of corpus/gold/*.jsonl (repeatable)")
    train_parser.add_argument("--out", default=str(Path("models")), help="where to save the models (default: %(default)s)")
    train_parser.add_argument("--epochs", type=int, default=None, help="NER epochs (default: from pipeline/config/ner.cfg)")
    train_parser.add_argument("--seed", type=int, default=13)
    train_parser.add_argument("--learning-curve", metavar="FRACTIONS", default=None,
                              help="instead: train on these shares of the training documents (e.g. 0.25,0.5,0.75,1) into "
                              "--out/PERCENT/ and print their test scores")
    train_parser.set_defaults(handler=_train)

    evaluate_parser = commands.add_parser(
        "evaluate", help="score the models and the rule baseline on labelled documents",
        description="Precision, recall and F1 per entity label (strict, and overlap), per sentence class with a "
        "confusion matrix and macro-F1, and for records; the rule baseline beside the models.")
    evaluate_parser.add_argument("paths", nargs="*", metavar="PATH", help="labelled corpus files; default: corpus/gold/*.jsonl")
    evaluate_parser.add_argument("--split", default="test", choices=("train", "dev", "test", "all"),
                                 help="which documents to score (default: %(default)s)")
    evaluate_parser.add_argument("--models", default=None, help="models folder (default: the shipped models/)")
    evaluate_parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate_parser.add_argument("--breakdown", action="store_true",
                                 help="also score each document form, and the records of each construction "
                                 "(bracketed changes, contributions, tables, ...; see `vnreport corpus constructions`)")
    evaluate_parser.set_defaults(handler=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
