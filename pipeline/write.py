"""Last stage: documents as JSON objects, written as JSON Lines.

A file is written under a temporary name and renamed when complete, so a run
that dies never leaves a half-written result under the real name.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .annotate import Annotated


def document_id(source: str) -> str:
    return Path(source).stem


def document_record(annotated: "Annotated", with_tokens: bool = False) -> dict:
    """The JSON object of one document; every offset refers to ``text``."""
    raw, structure, doc = annotated.raw, annotated.structure, annotated.doc
    text = raw.text
    record = {
        "doc_id": document_id(raw.source),
        "source": raw.source,
        "format": raw.format,
        "encoding": raw.encoding,
        "pipeline_version": __version__,
        "text": text,
        "headings": [
            {"start": h.start, "end": h.end, "level": h.level, "kind": h.kind, "title": h.title}
            for h in structure.headings
        ],
        "sentences": [
            {
                "index": i,
                "start": s.start,
                "end": s.end,
                "text": text[s.start:s.end],
                "section": s.section,
                "is_footnote": s.is_footnote,
                "footnote": s.footnote,
                "cites": s.cites,
                "label": annotated.classes[i][0] if annotated.classes else None,
                "scores": annotated.classes[i][1] if annotated.classes else {},
            }
            for i, s in enumerate(structure.sentences)
        ],
        "entities": [{**e, "text": text[e["start"]:e["end"]]} for e in annotated.entities],
        "records": annotated.records,
        "models": annotated.models,
        "footnotes": [
            {"index": f.index, "start": f.start, "end": f.end, "mark": f.mark, "cited_at": f.cited_at, "cited_in": f.cited_in}
            for f in structure.footnotes
        ],
        "warnings": structure.warnings,
    }
    if with_tokens:
        record["tokens"] = [
            {"start": t.idx, "end": t.idx + len(t.text), "text": t.text, "tag": t.tag_, "pos": t.pos_}
            for t in doc
            if not t.is_space
        ]
    return record


class AtomicJsonLines:
    """JSON Lines written to a temporary file beside ``path`` and renamed on close."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        # mkstemp makes the file private (0600); the result should have the
        # permissions any file the user writes gets.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        self.count = 0

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.path)

    def __enter__(self) -> "AtomicJsonLines":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Documents already written are kept even when a later one fails hard.
        self.close()



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

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:  # the BOM lets Excel read Vietnamese
        writer = csv.DictWriter(f, fieldnames=RECORD_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def write_records_parquet(rows: list[dict], path: str | os.PathLike) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"sentence": pa.int64(), "start": pa.int64(), "end": pa.int64(), "value": pa.float64(), "denominator": pa.float64(),
             "upper": pa.float64(), "base_value": pa.float64()}
    schema = pa.schema([(column, types.get(column, pa.string())) for column in RECORD_COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
