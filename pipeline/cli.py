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
from .write import AtomicJsonLines


def _annotate(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or [sample_report()]
    config = load_config(args.config)
    nlp = load_pipeline(config)
    failed = 0
    started = time.perf_counter()
    with AtomicJsonLines(args.out) as out:
        for path in files:
            try:
                with warnings.catch_warnings():
                    # Alignment problems are kept in the document's "warnings"
                    # field; on the terminal the summary counts them.
                    warnings.simplefilter("ignore")
                    annotated = annotate_file(path, nlp=nlp, config=config)
            except ReadError as error:
                failed += 1
                print(f"error: {error}", file=sys.stderr)
                continue
            except Exception as error:  # a stage failing must not stop the batch
                failed += 1
                print(f"error: {path}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            out.write(annotated.record(with_tokens=args.tokens))
            structure = annotated.structure
            in_notes = sum(s.is_footnote for s in structure.sentences)
            print(
                f"{path}: {len(structure.headings)} headings, {len(structure.sentences)} sentences "
                f"({in_notes} in {len(structure.footnotes)} footnotes), {len(annotated.doc)} tokens, "
                f"{len(structure.warnings)} warnings, {annotated.seconds:.1f} s"
            )
    print(f"wrote {out.count} document(s) to {args.out}; {failed} failed; {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


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
        "With no FILE, annotates the sample report bundled in corpus/.",
    )
    annotate.add_argument("files", nargs="*", metavar="FILE", help="report files; default: the bundled sample report")
    annotate.add_argument("--out", default="annotations.jsonl", help="JSON Lines file to write (default: %(default)s)")
    annotate.add_argument("--tokens", action="store_true", help="include the tokens (offsets, text, POS) of each document")
    annotate.add_argument("--config", default=None, help="pipeline settings (TOML); default: the packaged config")
    annotate.set_defaults(handler=_annotate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
