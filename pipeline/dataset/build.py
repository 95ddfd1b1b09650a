"""From an archive's annotations to one table: a row per figure, with the document's
metadata, the figure's period, its indicator, its value in a base unit and the
sentence it stands in; written as Parquet (and a DuckDB database), with the
consistency findings of the archive.

``vnreport dataset OUT/ --out records.parquet [--duckdb FILE] [--consistency FILE.json]``
reads a folder-mode output (``OUT/documents/**/*.json``), JSON Lines of ``vnreport
annotate --out``, or the corpus gold (``corpus/gold/*.jsonl``), whose documents
carry no metadata or periods yet: these are computed here, as the pipeline's
context component does for new outputs.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from pipeline.components.context import record_indicator, scoped_records, sentence_text
from pipeline.components.metadata import document_metadata

Linker = Callable[..., tuple]

COLUMNS = (
    # the document
    "doc_id", "source", "document_type", "title", "number", "issuer", "issuer_parent", "scope",
    "province", "province_code", "current_province", "current_province_code", "place", "issued",
    "document_period_start", "document_period_end", "document_period_text",
    # the sentence
    "sentence", "sentence_class", "sentence_text", "section",
    # the figure
    "metric", "parent_metric", "indicator", "indicator_score", "value", "unit", "relation", "direction",
    "baseline", "baseline_type", "qualifier", "denominator", "upper", "value_text", "start", "end",
    "period_start", "period_end", "period_text", "period_source",
    "baseline_period_start", "baseline_period_end",
    "normalised_value", "normalised_upper", "normalised_unit", "normalised_kind",
)


def enrich_document(document: dict) -> dict:
    """A document with its ``metadata`` and scoped records (kept when already there)."""
    document = dict(document)
    if document.get("metadata") is None:
        document["metadata"] = document_metadata(document["text"])
    if any("normalised" not in r for r in document.get("records", [])):
        document["records"] = scoped_records(document, document["metadata"])
    return document


def load_documents(inputs: Iterable[str | os.PathLike]) -> list[dict]:
    """Documents from folder-mode outputs (``OUT/documents/**/*.json``), folders of
    JSON Lines, and JSON Lines or JSON files, in a stable order."""
    documents = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            # a folder-mode output: its documents (its manifest.jsonl lists files, not documents)
            files = sorted((path / "documents").rglob("*.json")) if (path / "documents").is_dir() else sorted(path.glob("*.jsonl"))
            if not files:
                raise FileNotFoundError(f"{path}: no documents/*.json (a `vnreport annotate FOLDER --out` output) "
                                        "and no .jsonl files")
        else:
            files = [path]
        for file in files:
            if file.suffix == ".json":
                documents.append(json.loads(file.read_text(encoding="utf-8")))
            else:
                with open(file, encoding="utf-8") as handle:
                    documents.extend(json.loads(line) for line in handle if line.strip())
    return documents


def dataset_rows(documents: Iterable[dict], link: Linker | None = None) -> list[dict]:
    """One row per record (COLUMNS) of enriched documents."""
    rows = []
    for document in documents:
        metadata = document["metadata"]
        province = metadata.get("province") or {}
        period = metadata.get("period") or {}
        for record in document.get("records", []):
            index = record["sentence"]
            sentence = sentence_text(document, index)
            indicator, score = record_indicator(record, sentence, link)
            normalised = record.get("normalised") or {}
            scope = record.get("period") or {}
            compared = record.get("baseline_period") or {}
            label = record.get("sentence_class") or document["sentences"][index].get("label")
            start, end = record["span"]
            rows.append({
                "doc_id": document["doc_id"], "source": document.get("source"),
                "document_type": metadata.get("document_type"), "title": metadata.get("title"),
                "number": metadata.get("number"), "issuer": metadata.get("issuer"),
                "issuer_parent": metadata.get("issuer_parent"), "scope": metadata.get("scope"),
                "province": province.get("name"), "province_code": province.get("code"),
                "current_province": province.get("current_name"), "current_province_code": province.get("current_code"),
                "place": metadata.get("place"), "issued": metadata.get("date"),
                "document_period_start": period.get("start"), "document_period_end": period.get("end"),
                "document_period_text": period.get("text"),
                "sentence": index, "sentence_class": label, "sentence_text": sentence,
                "section": " / ".join(record.get("section") or document["sentences"][index].get("section") or []),
                "metric": record.get("metric"), "parent_metric": record.get("parent_metric"),
                "indicator": indicator, "indicator_score": score,
                "value": record.get("value"), "unit": record.get("unit"), "relation": record.get("relation"),
                "direction": record.get("direction"), "baseline": record.get("baseline"),
                "baseline_type": record.get("baseline_type"), "qualifier": record.get("qualifier"),
                "denominator": record.get("denominator"), "upper": record.get("upper"),
                "value_text": document["text"][start:end], "start": start, "end": end,
                "period_start": scope.get("start"), "period_end": scope.get("end"), "period_text": scope.get("text"),
                "period_source": scope.get("source"),
                "baseline_period_start": compared.get("start"), "baseline_period_end": compared.get("end"),
                "normalised_value": normalised.get("value"), "normalised_upper": normalised.get("upper"),
                "normalised_unit": normalised.get("unit"), "normalised_kind": normalised.get("kind"),
            })
    return rows


def _arrow_table(rows: list[dict]):
    import pyarrow as pa

    numbers = {"value", "denominator", "upper", "indicator_score", "normalised_value", "normalised_upper"}
    integers = {"sentence", "start", "end"}
    dates = {"issued", "document_period_start", "document_period_end", "period_start", "period_end",
             "baseline_period_start", "baseline_period_end"}
    schema = pa.schema([(c, pa.float64() if c in numbers else pa.int64() if c in integers else pa.date32() if c in dates else pa.string())
                        for c in COLUMNS])
    from datetime import date

    def cell(column: str, value):
        if value is None:
            return None
        if column in dates:
            return date.fromisoformat(value)
        # a base-unit value can pass 2**53 ("10,2 triệu tỷ đồng"): a double holds it, to 16 digits
        return float(value) if column in numbers else value

    converted = [{c: cell(c, row[c]) for c in COLUMNS} for row in rows]
    return pa.Table.from_pylist(converted, schema=schema)


def write_parquet(table, path: str | os.PathLike) -> None:
    import pyarrow.parquet as pq

    from pipeline.io.write import replacing

    with replacing(path) as tmp:
        pq.write_table(table, tmp)


def write_duckdb(records, findings: list[dict], path: str | os.PathLike) -> None:
    """A DuckDB database with the tables ``records`` (the dataset, an Arrow table,
    read by DuckDB's replacement scan) and ``findings`` (``check_name``: "check"
    is an SQL keyword)."""
    import duckdb

    from pipeline.io.write import replacing

    finding_rows = [{"check_name": f["check"], "message": f["message"], "doc_ids": ", ".join(f["doc_ids"]),
                     "sentences": json.dumps(f["sentences"], ensure_ascii=False)} for f in findings]
    import pyarrow as pa

    findings_table = pa.Table.from_pylist(finding_rows, schema=pa.schema(
        [("check_name", pa.string()), ("message", pa.string()), ("doc_ids", pa.string()), ("sentences", pa.string())]))  # noqa: F841
    with replacing(path) as tmp:
        tmp.unlink(missing_ok=True)
        connection = duckdb.connect(str(tmp))
        try:
            connection.execute("CREATE TABLE records AS SELECT * FROM records")
            connection.execute("CREATE TABLE findings AS SELECT * FROM findings_table")
        finally:
            connection.close()


@dataclass
class DatasetSummary:
    documents: int = 0
    rows: int = 0
    with_indicator: int = 0
    periods_other_than_document: int = 0
    findings: list[dict] = field(default_factory=list)


def build_dataset(inputs: Iterable[str | os.PathLike], out: str | os.PathLike, *, duckdb_path: str | os.PathLike | None = None,
                  consistency_path: str | os.PathLike | None = None, link: Linker | None = None) -> DatasetSummary:
    """Read annotated documents, write the dataset to ``out`` (Parquet), and optionally a
    DuckDB database and the consistency findings (JSON). ``link`` is the indicator linker
    (``link_indicator(record, sentence) -> (code, score)``, the default)."""
    from pipeline.components.indicators import link_indicator
    from pipeline.dataset.consistency import check_documents

    link = link or link_indicator
    documents = [enrich_document(d) for d in load_documents(inputs)]
    for document in documents:
        # resolved once here: the rows and the consistency checks both read it
        for record in document.get("records", []):
            record["indicator"], record["indicator_score"] = record_indicator(
                record, sentence_text(document, record["sentence"]), link)
    rows = dataset_rows(documents, link)
    findings = check_documents(documents, link=link)
    table = _arrow_table(rows)
    write_parquet(table, out)
    if duckdb_path:
        write_duckdb(table, findings, duckdb_path)
    if consistency_path:
        from pipeline.io.write import replacing

        with replacing(consistency_path) as tmp:
            tmp.write_text(json.dumps(findings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return DatasetSummary(
        documents=len(documents), rows=len(rows), with_indicator=sum(r["indicator"] is not None for r in rows),
        periods_other_than_document=sum(
            (r["period_start"], r["period_end"]) != (r["document_period_start"], r["document_period_end"]) for r in rows),
        findings=findings,
    )
