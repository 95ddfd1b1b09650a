"""Last stage: documents as JSON objects, written as JSON Lines.

A file is written under a temporary name and renamed when complete, so a run
that dies or is interrupted never leaves a half-written result under the real
name: every output is as it was before the run, or complete. Output paths are
checked before any work (``check_output_file``, ``check_output_folder``).
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from pipeline import __version__

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc


def document_id(source: str) -> str:
    return Path(source).stem


def entity_rows(doc: "Doc") -> list[dict]:
    """The entities, each with its ``score`` when the run scored them."""
    rows = [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text} for e in doc.ents]
    if doc._.entity_scores is not None:
        for row, score in zip(rows, doc._.entity_scores):
            row["score"] = score
    return rows


def document_record(doc: "Doc", with_tokens: bool = False) -> dict:
    """The JSON object of one annotated Doc; every offset refers to ``text``."""
    text = doc.text
    record = {
        "doc_id": document_id(doc._.source or "<text>"),
        "source": doc._.source,
        "format": doc._.format,
        "encoding": doc._.encoding,
        "pipeline_version": __version__,
        "text": text,
        "headings": [
            {"start": h.start_char, "end": h.end_char, "level": h._.level, "kind": h.label_, "title": h.text}
            for h in doc.spans.get("headings", [])
        ],
        "sentences": [
            {
                "index": i,
                "start": s.start_char,
                "end": s.end_char,
                "text": s.text,
                "section": s._.section,
                "is_footnote": s._.is_footnote,
                "footnote": s._.footnote,
                "cites": s._.cites,
                "label": s._.label,
                "scores": s._.scores or {},
            }
            for i, s in enumerate(doc.spans.get("sentences", []))
        ],
        "entities": entity_rows(doc),
        "records": doc._.records or [],
        "models": doc._.models or {},
        "footnotes": [
            {"index": i, "start": f.start_char, "end": f.end_char, "mark": f._.mark, "cited_at": f._.cited_at,
             "cited_in": f._.cited_in}
            for i, f in enumerate(doc.spans.get("footnotes", []))
        ],
        "warnings": list(doc._.warnings or []),
    }
    # what the report says about itself (the context component; absent from a
    # pipeline built without it)
    if doc._.metadata is not None:
        record["metadata"] = doc._.metadata
    if with_tokens:
        record["tokens"] = [
            {"start": t.idx, "end": t.idx + len(t.text), "text": t.text, "tag": t.tag_, "pos": t.pos_}
            for t in doc
            if not t.is_space
        ]
    return record


class OutputError(Exception):
    """An output path that cannot be written. The message names the option and the path."""

    def __init__(self, option: str, path: str | os.PathLike, reason: str):
        self.option, self.path, self.reason = option, str(path), reason
        super().__init__(f"{option} {self.path}: {reason}")


def _existing_folder(path: Path, option: str, target: Path) -> Path:
    """The nearest folder at or above ``path`` that exists (where writing starts)."""
    while not path.exists() and not path.is_symlink() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise OutputError(option, target, f"{path} is a file, not a folder")
    return path


def _probe(folder: Path, option: str, target: Path) -> None:
    """Create and remove a file in ``folder``: the one test of writability that
    holds for root, read-only mounts and immutable folders alike."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".vnreport-probe-", dir=folder)
    except OSError as error:
        raise OutputError(option, target, f"cannot write in {folder}: {error.strerror or error}") from None
    os.close(handle)
    os.unlink(probe)


def check_output_file(path: str | os.PathLike, option: str) -> None:
    """Before any work: ``path`` can be written as a file (its folder may be created)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(option, path, "is a folder; give the name of a file to write")
    _probe(_existing_folder(path.parent, option, path), option, path)


def check_output_folder(path: str | os.PathLike, option: str) -> None:
    """Before any work: files can be written into the folder ``path`` (created if missing)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(option, path, "is a file; give a folder to write into")
    _probe(_existing_folder(path, option, path), option, path)


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those above it that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to, renamed to ``path`` when the
    block ends normally; on an error or an interruption it is removed and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AtomicJsonLines:
    """JSON Lines written to a temporary file beside ``path`` and renamed on close.

    Nothing is created before the first document is written, and a run that
    wrote none leaves ``path`` as it was (absent, or the previous run's
    file). A run that ends in an error or an interruption discards what it
    wrote: ``path`` is either the previous file or this run's complete one.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._tmp: str | None = None
        self._file = None
        self._created: list[Path] = []
        self.count = 0
        self.written = False  # whether ``path`` now holds this run's documents

    def _open(self) -> None:
        self._created = _missing_folders(self.path.parent)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        # mkstemp makes the file private (0600); the result should have the
        # permissions any file the user writes gets.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        self._file = os.fdopen(handle, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        if self._file is None:
            self._open()
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is None or self._tmp is None:
            return  # no document: the output is left as it was
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:  # interrupted or failed before the rename: nothing replaced
            self.discard()
            raise
        self._tmp = None
        self.written = True

    def discard(self) -> None:
        """Drop what was written; ``path`` and its folder are left as they were."""
        if self._file is not None and self._tmp is not None:
            self._file.close()
            Path(self._tmp).unlink(missing_ok=True)  # already renamed if the rename was all that ran
            self._tmp = None
            for folder in self._created:  # folders made for this output, deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break

    def __enter__(self) -> "AtomicJsonLines":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


RECORD_COLUMNS = (
    "doc_id", "sentence", "sentence_class", "section", "metric", "parent_metric", "value", "unit", "relation",
    "direction", "baseline", "baseline_type", "qualifier", "denominator", "upper", "base_value", "base_unit",
    "start", "end", "value_text",
)


def record_rows(document: dict) -> list[dict]:
    """The records of one output document as flat rows (one per VALUE)."""
    rows = []
    for record in document.get("records", []):
        start, end = record["span"]
        row = {column: record.get(column) for column in RECORD_COLUMNS}
        row.update(doc_id=document["doc_id"], start=start, end=end, value_text=document["text"][start:end],
                   section=" / ".join(record.get("section") or []))
        rows.append(row)
    return rows


def write_records_csv(rows: list[dict], path: str | os.PathLike) -> None:
    import csv

    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:  # the BOM lets Excel read Vietnamese
        writer = csv.DictWriter(f, fieldnames=RECORD_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def write_records_parquet(rows: list[dict], path: str | os.PathLike) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"sentence": pa.int64(), "start": pa.int64(), "end": pa.int64(), "value": pa.float64(), "denominator": pa.float64(),
             "upper": pa.float64(), "base_value": pa.float64()}
    schema = pa.schema([(column, types.get(column, pa.string())) for column in RECORD_COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    with replacing(path) as tmp:
        pq.write_table(table, tmp)
