"""The ``vnreport`` command. Each subcommand parses its arguments and calls an
importable function; no pipeline logic lives here.

Errors a user can make (a bad option, an output that cannot be written, a
settings file that is not TOML, another run holding the output folder) end in
one line ``error: ...`` naming the option or the path, with status 2 and
nothing written; files that fail are reported one line each and give status 1.
SIGINT and SIGTERM stop a run without a traceback, with status 130 and 143:
outputs are left as they were before the run or complete, never partial.

The heavy libraries (spaCy, underthesea) are imported inside the commands, so
that the signal handlers are in place before they load.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from pipeline import __version__
from pipeline.config import ConfigError, load_config
from pipeline.io.write import OutputError, check_output_file, check_output_folder


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so
    that the ``except Exception`` which keeps a batch going past a failing
    file does not swallow it."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.status = 128 + signum  # what a shell reports for a process the signal ended
        super().__init__(self.name)


@contextmanager
def _signals_interrupt():
    """SIGINT and SIGTERM raise Interrupted in the main thread. A second one
    while the first is being handled takes the system's default action: the
    process ends at once (outputs are still never partial, since they are
    renamed into place whole; a temporary file may be left behind)."""
    if sys.platform == "win32" or signal.getsignal(signal.SIGINT) is None:  # pragma: no cover
        yield
        return

    def interrupt(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Interrupted(signum)

    try:
        previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals to whoever runs us
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _error(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _print_warnings(warned: list[str]) -> None:
    """The warnings of a run, listed after its summary, one a line."""
    if warned:
        print(f"{_plural(len(warned), 'warning')}:")
        for warning in warned:
            print(f"  {warning}")


def _annotate_folder(args: argparse.Namespace) -> int:
    from pipeline.batch.folder import OutputLocked, run_batch

    if len(args.files) != 1:
        return _error("give one folder (or only files)")
    folder = args.files[0]
    from pipeline.errors import ModelMissingError, ModelVersionError
    from pipeline.language import check_model

    try:
        load_config(args.config)
        check_output_folder(args.out, "--out")
        check_model(args.models)
    except (ModelMissingError, ModelVersionError) as error:
        return _error(str(error))
    except ConfigError as error:
        return _error(f"--config {error}")
    except OutputError as error:
        return _error(str(error))
    engine = "dask" if args.scheduler else args.engine
    try:
        summary = run_batch(folder, args.out, workers=args.workers, force=args.force, config_path=args.config, models_directory=args.models,
                            engine=engine, scheduler=args.scheduler, entity_scores=args.entity_scores)
    except ImportError as error:
        return _error(str(error))
    except OutputLocked as error:
        return _error(f"--out {error}")
    except Interrupted as interruption:
        print(f"interrupted by {interruption.name}: every document written is complete; run the same command "
              f"again to go on where it stopped (see {Path(args.out) / 'manifest.jsonl.journal'})", file=sys.stderr)
        return interruption.status
    except OSError as error:
        return _error(f"{error.filename or args.out}: {error.strerror or error}", 1)
    print(f"{folder}: {summary.ok} annotated, {summary.error} errors, {summary.skipped} skipped, "
          f"{summary.sentences} sentences in {summary.seconds:.1f} s ({summary.startup_seconds:.1f} s of it starting up) "
          f"on {summary.ran_on}; see {Path(args.out) / 'manifest.jsonl'}")
    _print_warnings(summary.warnings)
    return 1 if summary.error else 0


def _annotate(args: argparse.Namespace) -> int:
    if any(Path(f).is_dir() for f in args.files):
        return _annotate_folder(args)
    # Every option is checked before the models load, so a mistake costs
    # nothing and no output is created or emptied.
    try:
        config = load_config(args.config)
        if args.entity_scores:
            config["annotate"]["entity_scores"] = True
        check_output_file(args.out, "--out")
        for option, path in (("--csv", args.csv), ("--parquet", args.parquet)):
            if path:
                check_output_file(path, option)
        if args.html:
            check_output_folder(args.html, "--html")
    except ConfigError as error:
        return _error(f"--config {error}")
    except OutputError as error:
        return _error(str(error))
    written: list[str] = []  # outputs replaced so far, in the order they are written
    try:
        return _annotate_files(args, config, written)
    except Interrupted as interruption:
        print(f"interrupted by {interruption.name}: {_outputs_left(args, written)}", file=sys.stderr)
        return interruption.status
    except OSError as error:  # an output that became unwritable during the run (disk full ...)
        return _error(f"{error.filename or args.out}: cannot write: {error.strerror or error}; "
                      f"{_outputs_left(args, written)}", 1)


def _outputs_left(args: argparse.Namespace, written: list[str]) -> str:
    """What a stopped run left: outputs it completed, the others as they were."""
    left = [path for path in (args.out, args.csv, args.parquet) if path and path not in written]
    parts = []
    if written:
        parts.append(f"{', '.join(written)} written complete")
    if left:
        parts.append(f"{', '.join(left)} left as before this run")
    if args.html:
        parts.append(f"review pages in {args.html} are complete, those not reached left as they were")
    return "; ".join(parts)


def _load_pipeline(path=None):
    """The trained pipeline, or None after printing why it cannot be used."""
    import pipeline
    from pipeline.errors import ModelMissingError, ModelVersionError

    try:
        return pipeline.load(path)
    except (ModelMissingError, ModelVersionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _annotate_files(args: argparse.Namespace, config: dict, written: list[str]) -> int:
    from pipeline.annotate import annotate_file
    from pipeline.io.read import ReadError
    from pipeline.io.review_page import write_review_page
    from pipeline.io.write import AtomicJsonLines, document_record, record_rows, write_records_csv, write_records_parquet
    from pipeline.resources import sample_report

    files = [Path(f) for f in args.files] or [sample_report()]
    nlp = _load_pipeline(args.models)
    if nlp is None:
        return 2
    failed = 0
    started = time.perf_counter()
    rows: list[dict] = []
    warned: list[str] = []
    with AtomicJsonLines(args.out) as out:
        for path in files:
            file_started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    # Alignment problems are kept in the document's "warnings"
                    # field; on the terminal they are listed after the summary.
                    warnings.simplefilter("ignore")
                    doc = annotate_file(nlp, path, config)
            except ReadError as error:
                failed += 1
                print(f"error: {error}", file=sys.stderr)
                continue
            except Exception as error:  # a stage failing must not stop the batch
                failed += 1
                print(f"error: {path}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            document = document_record(doc, with_tokens=args.tokens)
            out.write(document)
            rows.extend(record_rows(document))
            if args.html:
                write_review_page(document, args.html)
            warned.extend(f"{path}: {warning}" for warning in document["warnings"])
            in_notes = sum(s["is_footnote"] for s in document["sentences"])
            print(
                f"{path}: {len(document['headings'])} headings, {len(document['sentences'])} sentences "
                f"({in_notes} in {len(document['footnotes'])} footnotes), {len(doc)} tokens, "
                f"{len(document['entities'])} entities, {len(document['records'])} records, "
                f"{_plural(len(document['warnings']), 'warning')}, {time.perf_counter() - file_started:.1f} s"
            )
    seconds = time.perf_counter() - started
    if not out.written:
        # Every file failed: no output is created, and none from an earlier run emptied.
        print(f"wrote nothing: every file failed; {args.out} left as it was; {seconds:.1f} s")
        return 1
    written.append(args.out)
    if args.csv:
        write_records_csv(rows, args.csv)
        written.append(args.csv)
    if args.parquet:
        write_records_parquet(rows, args.parquet)
        written.append(args.parquet)
    print(f"wrote {out.count} document(s) to {args.out}; {failed} failed; {seconds:.1f} s")
    _print_warnings(warned)
    return 1 if failed else 0


def _corpus_paths(args: argparse.Namespace) -> list[Path]:
    from pipeline.corpus.documents import default_corpus_files

    return [Path(p) for p in args.paths] or default_corpus_files()


def _corpus_check(args: argparse.Namespace) -> int:
    from pipeline.corpus.documents import check_document, load_documents, stats
    from pipeline.language import tokenizer_pipeline

    paths = _corpus_paths(args)
    documents = load_documents(paths)
    nlp = None if args.no_tokens else tokenizer_pipeline()
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

    from pipeline.corpus.documents import CLASSES, LABELS, load_documents, stats

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
    from pipeline.corpus.authoring import build_files, default_annotation_files

    files = [Path(p) for p in args.files] or default_annotation_files()
    return build_files(files, Path(args.corpus), check_tokens=not args.no_tokens)


def _corpus_indicators(args: argparse.Namespace) -> int:
    import json

    from pipeline.corpus.documents import load_documents
    from pipeline.components.indicators import format_scores, indicator_scores

    splits = ["train", "dev", "test", "all"] if args.split == "every" else [args.split]
    scores = indicator_scores(load_documents(_corpus_paths(args)), splits)
    if args.json:
        print(json.dumps({k: {f: v for f, v in s.items() if args.errors or f != "errors"} for k, s in scores.items()},
                         ensure_ascii=False, indent=2))
    else:
        print(format_scores(scores, show_errors=args.errors))
    return 0


def _corpus_constructions(args: argparse.Namespace) -> int:
    import json

    from pipeline.corpus.constructions import count_constructions, markdown_table
    from pipeline.corpus.documents import load_documents
    from pipeline.language import tokenizer_pipeline

    nlp = None if args.no_tokens else tokenizer_pipeline()
    rows = count_constructions(load_documents(_corpus_paths(args)), nlp)
    print(json.dumps(rows, ensure_ascii=False, indent=2) if args.json else markdown_table(rows))
    return 0


def _corpus_agreement(args: argparse.Namespace) -> int:
    import json

    from pipeline.corpus.agreement import agreement, markdown
    from pipeline.corpus.documents import load_documents

    from pipeline.corpus.authoring import load

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
    from pipeline.corpus.preannotate import pre_annotate_files, write_pre_annotations

    try:
        check_output_file(args.out, "--out")
    except OutputError as error:
        return _error(str(error))
    nlp = _load_pipeline("rules" if args.rules else args.models)
    if nlp is None:
        return 2
    documents, errors = pre_annotate_files(nlp, args.files, split=args.split, origin=args.origin)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if not documents:
        print(f"wrote nothing: every file failed; {args.out} left as it was")
        return 1
    write_pre_annotations(documents, args.format, args.out)
    print(f"wrote {len(documents)} pre-annotated document(s) ({args.format}, proposed by {documents[0]['proposed_by']}) "
          f"to {args.out}: review every sentence before using them as gold")
    return 0 if not errors else 1


def _corpus_suggest(args: argparse.Namespace) -> int:
    from pipeline.corpus.suggest import write_suggestions

    try:
        check_output_file(args.out, "--out")
        tasks = write_suggestions(args.folder, args.n, args.out)
    except OutputError as error:
        return _error(str(error))
    except FileNotFoundError as error:
        return _error(str(error))
    documents = len({t["data"]["source"] for t in tasks})
    print(f"wrote {len(tasks)} sentence task(s) from {documents} document(s) to {args.out}; label them in Label Studio "
          "with corpus/label-studio-sentence-config.xml")
    return 0


def _corpus_export(args: argparse.Namespace) -> int:
    from pipeline.corpus.convert import export_documents
    from pipeline.corpus.documents import load_documents
    from pipeline.language import tokenizer_pipeline

    documents = load_documents(_corpus_paths(args))
    count = export_documents(documents, args.format, args.out, nlp=tokenizer_pipeline() if args.format == "docbin" else None)
    print(f"exported {count} document(s) as {args.format} to {args.out}")
    return 0


def _corpus_import(args: argparse.Namespace) -> int:
    from pipeline.corpus.convert import UnlabelledTaskWarning, import_documents
    from pipeline.corpus.documents import check_document, load_documents, save_documents

    templates = load_documents([args.template]) if args.template else []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnlabelledTaskWarning)
        documents = import_documents(args.file, args.format, templates)
    for caught_warning in caught:
        if issubclass(caught_warning.category, UnlabelledTaskWarning):
            print(caught_warning.message)
        else:
            warnings.showwarning(caught_warning.message, caught_warning.category, caught_warning.filename, caught_warning.lineno)
    save_documents(documents, args.out)
    problems = [p for d in documents for p in check_document(d)]
    for problem in problems:
        print(problem)
    print(f"imported {len(documents)} document(s) to {args.out}; {len(problems)} problems")
    # nothing labelled is a failure, not an empty file to train on
    return 1 if problems or not documents else 0


def _train(args: argparse.Namespace) -> int:
    import json

    from pipeline.corpus.train import STEPS, WORKFLOW, learning_curve, run_workflow

    corpus = args.corpus or None
    if args.learning_curve:
        fractions = tuple(float(f) for f in args.learning_curve.split(","))
        rows = learning_curve(fractions, corpus=corpus, out_dir=args.training, seed=args.seed, epochs=args.epochs or 0)
        print("| training documents | METRIC F1 | BASELINE F1 | classes macro-F1 | limitation F1 | records F1 |")
        print("|---|---:|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['documents']} ({row['fraction']:.0%}) | {row['METRIC']:.3f} | {row['BASELINE']:.3f} | "
                  f"{row['macro_f1']:.3f} | {row['limitation']:.3f} | {row['records']:.3f} |")
        return 0
    unknown = [s for s in args.step if s not in STEPS]
    if unknown:
        return _error(f"--step {unknown[0]}: not one of {', '.join(STEPS)}")
    from pipeline.corpus.install import versioned_folder

    current = Path(args.current)
    # one step (a rerun of part of the workflow) works on the installed folder unless told otherwise
    out = Path(args.out) if args.out else current if args.step else versioned_folder(current)
    # Training in place (--out the installed folder), a single step or
    # --no-install is the plain workflow; otherwise the new pipeline goes
    # through the guard before it replaces the installed one.
    guarded = not (args.no_install or args.step or out.resolve() == current.resolve())
    run_workflow(tuple(args.step) or (WORKFLOW,), corpus=corpus, extra=args.extra, training=args.training, models=out,
                 epochs=args.epochs or 0, seed=args.seed, force=args.force)
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        print(f"{out}: vnreport {meta.get('version')} trained {meta.get('date')} on {len(meta.get('training_data', []))} documents")
        for split, scores in meta.get("scores", {}).items():
            print(f"  {split}: " + ", ".join(f"{label} {s['f1']:.3f}" for label, s in scores["entities"].items())
                  + f"; classes macro-F1 {scores['classes']['macro_f1_main']:.3f}; records F1 {scores['records']['f1']:.3f}")
    if not guarded:
        return 0
    return _guard_install(args, out, current)


def _guard_install(args: argparse.Namespace, out: Path, current: Path) -> int:
    from pipeline.corpus.compare import format_comparison
    from pipeline.corpus.documents import load_documents
    from pipeline.corpus.install import decide, install

    test = [d for d in load_documents([Path(args.training) / "corpus" / "documents.jsonl"]) if d.get("split") == "test"]
    decision = decide(out, current, test, force=args.force_install, resamples=args.resamples, seed=args.seed)
    if decision.comparison:
        print()
        print(format_comparison(decision.comparison, f"installed {current}", f"new {out}"))
        print()
    if decision.install:
        install(out, current)
        print(f"installed {out} as {current}: {decision.reason}")
        return 0
    print(f"not installed: {decision.reason}; the new pipeline stays in {out} ({current} unchanged; "
          "--force-install puts it in place anyway)")
    return 1


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from pipeline.corpus.documents import default_corpus_files, load_documents
    from pipeline.annotate import entity_scorer
    from pipeline.corpus.evaluate import evaluate, format_report

    documents = load_documents([Path(p) for p in args.paths] or default_corpus_files())
    if args.split != "all":
        documents = [d for d in documents if d.get("split") == args.split]
    if not documents:
        print(f"no documents in split {args.split!r}", file=sys.stderr)
        return 2
    models = args.models or [None]
    if len(models) > 2:
        return _error("--models: give one pipeline, or two to compare")
    if len(models) == 2:
        return _evaluate_two(args, documents, models)
    nlp = _load_pipeline(models[0])
    if nlp is None:
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.entity_scores:
            from pipeline.corpus.evaluate import entity_score_reliability, format_entity_scores

            if entity_scorer(nlp) is None:
                return _error("--entity-scores: the rule baseline gives no entity scores; give a trained pipeline")
            result = entity_score_reliability(documents, nlp)
            print(json.dumps(result, indent=2) if args.json else format_entity_scores(result))
            return 0
        result = evaluate(documents, nlp, with_breakdown=args.breakdown)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result))
    return 0


def _evaluate_two(args: argparse.Namespace, documents: list[dict], models: list[str]) -> int:
    """Two pipelines side by side, with the bootstrap over documents of B - A."""
    import json

    from pipeline.corpus.compare import compare_pipelines, format_comparison

    pipelines = [_load_pipeline(path) for path in models]
    if None in pipelines:
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = compare_pipelines(documents, *pipelines, resamples=args.resamples, seed=args.seed)
    comparison["models"] = models
    print(json.dumps(comparison, ensure_ascii=False, indent=2) if args.json else format_comparison(comparison, *models))
    return 0


def _dataset(args: argparse.Namespace) -> int:
    from pipeline.dataset.consistency import summary
    from pipeline.dataset.build import build_dataset

    try:
        check_output_file(args.out, "--out")
        for option, path in (("--duckdb", args.duckdb), ("--consistency", args.consistency)):
            if path:
                check_output_file(path, option)
    except OutputError as error:
        return _error(str(error))
    missing = [path for path in args.inputs if not Path(path).exists()]
    if missing:
        return _error(f"{missing[0]}: no such file or folder")
    try:
        result = build_dataset(args.inputs, args.out, duckdb_path=args.duckdb, consistency_path=args.consistency)
    except (FileNotFoundError, ValueError) as error:
        return _error(str(error))
    except ImportError as error:
        return _error(f"{error}; install the dataset extra: pip install 'vnreport[dataset]'")
    print(f"{result.documents} documents, {result.rows} records ({result.with_indicator} with an indicator, "
          f"{result.periods_other_than_document} with a period other than their document's) written to {args.out}")
    print(f"consistency: {len(result.findings)} findings ({summary(result.findings)})")
    for finding in result.findings:
        where = "; ".join(f"{s['doc_id']} #{s['sentence']}" for s in finding["sentences"])
        print(f"  {finding['check']}: {finding['message']} [{where}]")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line: ``error: ...`` (status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _workers(value: str) -> int:
    """--workers: 1 or more processes, or 0 for one per CPU core."""
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes") from None
    if workers < 0:
        raise argparse.ArgumentTypeError(f"{workers} is not a number of processes: give 1 or more, or 0 for one per CPU core")
    return workers


def build_parser() -> argparse.ArgumentParser:
    import os

    parser = _Parser(
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
        "and on a rerun skips files already done (resumable); a second run into the same --out folder is "
        "refused while the first goes on. Ctrl-C or SIGTERM stops a run with status 130 or 143, leaving every "
        "output as it was before the run or complete, never partial (a folder run goes on where it stopped "
        "when run again). Limits on what one file may cost are in the [read] settings (see --config).",
    )
    annotate.add_argument("files", nargs="*", metavar="FILE", help="report files or one folder; default: the bundled sample report")
    annotate.add_argument("--out", default="annotations.jsonl",
                          help="JSON Lines file to write (default: %(default)s); for a FOLDER, the output folder")
    annotate.add_argument("--workers", type=_workers, default=0, metavar="N",
                          help="for a folder: worker processes, 1 or more; 0 (the default) means one per CPU core "
                          f"({os.cpu_count() or 1} on this machine)")
    annotate.add_argument("--engine", choices=("local", "dask"), default="local",
                          help="for a folder: processes on this machine (local) or a Dask cluster (dask; "
                          "without --scheduler, a local one of --workers processes)")
    annotate.add_argument("--scheduler", default=None, metavar="ADDRESS",
                          help="for a folder: the Dask scheduler to run on (tcp://host:8786); implies --engine dask")
    annotate.add_argument("--force", action="store_true", help="for a folder: redo files already done with the same hash and models")
    annotate.add_argument("--tokens", action="store_true", help="include the tokens (offsets, text, POS) of each document")
    annotate.add_argument("--entity-scores", action="store_true",
                          help="give each entity a score (the NER's probability for it; annotating takes about half as long again), "
                               "for outputs that go to `corpus suggest`")
    annotate.add_argument("--config", default=None, help="settings of reading and folder mode (TOML); default: the packaged "
                          "pipeline/config/pipeline.toml. The pipeline's own settings are saved with the model")
    annotate.add_argument("--models", default=None, metavar="DIR",
                          help="the trained pipeline to run (default: the shipped models/vnreport)")
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
    indicators = corpus_commands.add_parser("indicators", help="score the indicator linker on the reviewed gold codes",
                                            description="Precision and coverage of the indicator codes the linker "
                                            "(pipeline/components/indicators.py) gives the gold records whose indicator was reviewed "
                                            "(i= on the VALUE in corpus/review/*.ann), per split.")
    indicators.add_argument("paths", nargs="*", metavar="PATH", help="corpus JSON Lines files; default: corpus/gold/*.jsonl")
    indicators.add_argument("--split", default="every", choices=("train", "dev", "test", "all", "every"),
                            help="which split to score; every (the default) prints train, dev, test and all")
    indicators.add_argument("--errors", action="store_true", help="list every record whose code differs from the gold")
    indicators.add_argument("--json", action="store_true")
    indicators.set_defaults(handler=_corpus_indicators)
    agree = corpus_commands.add_parser("agreement", help="agreement of a second, blind annotation with the gold",
                                       description="Span F1 per label, Cohen's kappa of the sentence classes and "
                                       "agreement per record field, between the gold and a second annotation of the same documents.")
    agree.add_argument("second", nargs="+", metavar="SECOND", help="the second annotation: .ann or corpus JSON Lines files")
    agree.add_argument("--gold", dest="paths", nargs="+", action="extend", default=[], metavar="PATH",
                       help="the first annotation: .ann or corpus JSON Lines files (default: corpus/gold/*.jsonl)")
    agree.add_argument("--json", action="store_true")
    agree.set_defaults(handler=_corpus_agreement)
    pre = corpus_commands.add_parser("pre-annotate", help="labels proposed by the current pipeline for new reports, to review and correct",
                                     description="Read report files and write documents whose spans, classes and "
                                     "records are proposed by the trained pipeline (or the rule baseline with --rules), "
                                     "each sentence class with its probability. They are silver until reviewed.")
    pre.add_argument("files", nargs="+", metavar="FILE")
    pre.add_argument("--out", required=True, help="file to write")
    pre.add_argument("--format", default="corpus", choices=("corpus", "label-studio", "doccano"),
                     help="corpus: JSON Lines, class probabilities in each sentence's scores (default); label-studio: "
                     "tasks with the proposals as predictions (model_version, a score per class and per entity result; "
                     "none with --rules); doccano: JSONL, one line a sentence")
    pre.add_argument("--models", default=None, metavar="DIR",
                     help="the trained pipeline that proposes (default: the shipped models/vnreport)")
    pre.add_argument("--rules", action="store_true", help="propose with the rule baseline instead of a trained pipeline")
    pre.add_argument("--split", default="train", choices=("train", "dev", "test"))
    pre.add_argument("--origin", default="", help="where the report came from (kept in the document)")
    pre.set_defaults(handler=_corpus_pre_annotate)
    suggest_parser = corpus_commands.add_parser(
        "suggest", help="the sentences of an annotated archive most worth labelling next, as Label Studio tasks",
        description="Read OUT/documents/**/*.json of `vnreport annotate FOLDER --out OUT` and pick sentences whose class "
        "is uncertain (small margin between the two most probable classes) or whose figures' records lack a metric, "
        "or a unit or baseline where one is expected (pipeline/config/suggest.toml), at most pick.per_document from one "
        "document, documents and sections in turn. Each task holds the sentence, the ones before and after it, and "
        "the pipeline's labels as a prediction.")
    suggest_parser.add_argument("folder", metavar="OUT", help="the output folder of `vnreport annotate FOLDER --out OUT`")
    suggest_parser.add_argument("--n", type=int, default=200, help="how many sentences (default: %(default)s)")
    suggest_parser.add_argument("--out", required=True, help="Label Studio task file (JSON) to write")
    suggest_parser.set_defaults(handler=_corpus_suggest)
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
        "train", help="retrain the pipeline from the corpus (project.yml: convert, train, assemble, evaluate)",
        description="Run the training workflow of project.yml: convert the corpus (corpus/gold; split 'train' to "
        "train, 'dev' for model selection and calibration) plus newly labelled files, train the NER, the record "
        "linker and the sentence classifier, assemble them into one pipeline saved to --out (with its scores and "
        "the hash of every training document in meta.json), and write the test report. A step whose inputs did "
        "not change is skipped; its files stay in --training.")
    train_parser.add_argument("--extra", action="append", default=[], metavar="[FORMAT:]FILE",
                              help="more labelled data: a corpus .jsonl, or label-studio:export.json (repeatable)")
    train_parser.add_argument("--corpus", action="append", default=[], metavar="FILE",
                              help="corpus files instead of corpus/gold/*.jsonl (repeatable)")
    train_parser.add_argument("--out", default=None, metavar="DIR",
                              help="where to train the new pipeline (default: models/vnreport-YYYYMMDD-HHMMSS beside "
                              "--current); it replaces --current only when not worse beyond noise on the test split")
    train_parser.add_argument("--current", default=str(Path("models") / "vnreport"), metavar="DIR",
                              help="the installed pipeline the new one is compared with and replaces (default: %(default)s)")
    train_parser.add_argument("--force-install", action="store_true",
                              help="install the new pipeline even when it is worse beyond noise")
    train_parser.add_argument("--no-install", action="store_true", help="train into --out only, no comparison")
    train_parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the comparison (default: %(default)s)")
    train_parser.add_argument("--training", default="training",
                              help="where the steps keep their files (default: %(default)s)")
    train_parser.add_argument("--step", action="append", default=[], metavar="STEP",
                              help="run only this step of project.yml (repeatable): convert, train-ner, train-linker, "
                              "train-classifier, assemble, evaluate")
    train_parser.add_argument("--force", action="store_true", help="rerun steps even when their inputs did not change")
    train_parser.add_argument("--epochs", type=int, default=None, help="NER epochs (default: from pipeline/config/ner.cfg)")
    train_parser.add_argument("--seed", type=int, default=13)
    train_parser.add_argument("--learning-curve", metavar="FRACTIONS", default=None,
                              help="instead: train on these shares of the training documents (e.g. 0.25,0.5,0.75,1) into "
                              "--training/PERCENT/ and print their test scores")
    train_parser.set_defaults(handler=_train)

    evaluate_parser = commands.add_parser(
        "evaluate", help="score the models and the rule baseline on labelled documents",
        description="Precision, recall and F1 per entity label (strict, and overlap), per sentence class with a "
        "confusion matrix and macro-F1, and for records; the rule baseline beside the models.")
    evaluate_parser.add_argument("paths", nargs="*", metavar="PATH", help="labelled corpus files; default: corpus/gold/*.jsonl")
    evaluate_parser.add_argument("--split", default="test", choices=("train", "dev", "test", "all"),
                                 help="which documents to score (default: %(default)s)")
    evaluate_parser.add_argument("--models", action="append", default=[], metavar="DIR",
                                 help="the trained pipeline to score (default: the shipped models/vnreport); given twice, "
                                 "A then B, the two side by side with a bootstrap over the documents saying whether "
                                 "B - A is beyond noise on each headline score; 'rules' is the rule baseline")
    evaluate_parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the documents (default: %(default)s)")
    evaluate_parser.add_argument("--seed", type=int, default=13, help="seed of the bootstrap (default: %(default)s)")
    evaluate_parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate_parser.add_argument("--breakdown", action="store_true",
                                 help="also score each document form, and the records of each construction "
                                 "(bracketed changes, contributions, tables, ...; see `vnreport corpus constructions`)")
    evaluate_parser.add_argument("--entity-scores", action="store_true",
                                 help="instead: how often entities are right at each level of the score "
                                      "pre-annotation gives them")
    evaluate_parser.set_defaults(handler=_evaluate)

    dataset_parser = commands.add_parser(
        "dataset", help="one table of every figure of an annotated archive, with consistency checks",
        description="Read annotated documents (a `vnreport annotate FOLDER --out OUT` folder, or JSON Lines) and write "
        "one row per figure: document metadata, the figure's period, indicator, value in a base unit, sentence class "
        "and sentence text. Prints the consistency findings (breakdown shares, parts above totals, growth against "
        "levels, one indicator given different values).")
    dataset_parser.add_argument("inputs", nargs="+", metavar="INPUT", help="output folders of `vnreport annotate FOLDER --out`, or JSON Lines files")
    dataset_parser.add_argument("--out", required=True, metavar="FILE.parquet", help="the dataset to write (Parquet)")
    dataset_parser.add_argument("--duckdb", default=None, metavar="FILE", help="also write a DuckDB database (tables records, findings)")
    dataset_parser.add_argument("--consistency", default=None, metavar="FILE.json", help="also write the consistency findings as JSON")
    dataset_parser.set_defaults(handler=_dataset)
    return parser


def main(argv: list[str] | None = None) -> int:
    with _signals_interrupt():
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args)
        except Interrupted as interruption:  # a command without its own clean-up message
            print(f"interrupted by {interruption.name}", file=sys.stderr)
            return interruption.status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
