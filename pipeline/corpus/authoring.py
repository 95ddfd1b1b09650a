"""The `.ann` files: a document's text and its whole gold annotation in one file.

Every entity is bracketed in place, every sentence opens with its class tag and
every VALUE carries the record decisions a person took for it (which METRIC of
its sentence, which BASELINE, relation, direction, qualifier, parent metric).
The link decisions are written by the annotator, not proposed by the linker, so
the file is also the review trace of the records. ``build`` turns it into the
plain text under ``corpus/documents/`` and the gold JSON under ``corpus/gold/``.

Syntax (see corpus/ANNOTATION-GUIDE.md, "The .ann format")::

    # doc_id: nghe-an-2023-nam
    # split: train
    ---
    {a}[M1:Tổng thu ngân sách] đạt [V:12.221|m=1 r=level q=ước] [U:tỷ đồng], đạt
    [V:52,3|m=1 r=attainment b=1][U:%] [B1:dự toán năm|budget].
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.corpus.documents import BASELINE_TYPES, RELATIONS
from pipeline.components.linking import parse_value, rules_config, _scale

CLASS_TAGS = {"a": "achievement", "l": "limitation", "c": "cause", "t": "task", "o": "other"}
TAG_OF_CLASS = {label: tag for tag, label in CLASS_TAGS.items()}
LABEL_CODES = {"M": "METRIC", "V": "VALUE", "U": "UNIT", "B": "BASELINE"}
CODE_OF_LABEL = {label: code for code, label in LABEL_CODES.items()}
RECORD_KEYS = {"m", "r", "d", "b", "q", "p", "i"}

# "[M1:text]", "[V:text|attrs]", "[B2:text|type]", or a class tag "{a}".
_TOKEN = re.compile(r"\[([MVUB])(\d*):([^\[\]{}|]+?)(?:\|([^\[\]{}]*))?\]|\{([alcto])\}")


class AnnotationError(ValueError):
    pass


@dataclass
class Mark:
    label: str
    start: int
    end: int
    ident: str  # "" when the span has no number
    attrs: str | None
    line: int


@dataclass
class Parsed:
    header: dict[str, str]
    text: str
    marks: list[Mark]
    tags: list[tuple[int, str, int]]  # (offset, class, line)
    problems: list[str] = field(default_factory=list)


def parse(source: str, name: str = "<ann>") -> Parsed:
    """Header, plain text, entity marks and class tags of an .ann file."""
    header: dict[str, str] = {}
    lines = source.split("\n")
    body_line = None
    for number, line in enumerate(lines):
        if line.strip() == "---":
            body_line = number + 1
            break
        match = re.match(r"^#\s*([\w-]+)\s*:\s*(.*)$", line)
        if match:
            header[match.group(1)] = match.group(2).strip()
    if body_line is None:
        raise AnnotationError(f"{name}: no '---' line between the header and the text")
    body = "\n".join(lines[body_line:])
    plain: list[str] = []
    marks: list[Mark] = []
    tags: list[tuple[int, str, int]] = []
    problems: list[str] = []
    length = 0
    cursor = 0
    for match in _TOKEN.finditer(body):
        before = body[cursor:match.start()]
        plain.append(before)
        length += len(before)
        line = body_line + 1 + body.count("\n", 0, match.start())
        if match.group(5):
            tags.append((length, CLASS_TAGS[match.group(5)], line))
        else:
            code, ident, inner, attrs = match.group(1), match.group(2), match.group(3), match.group(4)
            if inner != inner.strip():
                problems.append(f"{name}:{line}: span {match.group(0)!r} starts or ends with a space")
            marks.append(Mark(LABEL_CODES[code], length, length + len(inner), ident, attrs, line))
            plain.append(inner)
            length += len(inner)
        cursor = match.end()
    plain.append(body[cursor:])
    text = "".join(plain)
    for char in "[]{}|":
        at = text.find(char)
        if at >= 0:
            line = body_line + 1 + text.count("\n", 0, at)
            problems.append(f"{name}:~{line}: stray {char!r} in the text (broken markup?): {text[max(0, at - 30):at + 30]!r}")
    return Parsed(header, text, marks, tags, problems)


def _parse_attrs(attrs: str | None) -> dict[str, str]:
    result = {}
    for item in (attrs or "").split():
        key, _, value = item.partition("=")
        result[key] = value.replace("_", " ")
    return result


def to_document(parsed: Parsed, name: str, structure_settings: dict | None = None, rules: dict | None = None) -> tuple[dict, list[str]]:
    """The gold corpus document of a parsed .ann file, and its problems."""
    from pipeline.io.legacy_text import modern_tone_placement
    from pipeline.io.read import RawDocument, normalise_text
    from pipeline.components.structure import analyse

    problems = list(parsed.problems)
    text = parsed.text
    # The text as the read stage gives it (NFC, plain line ends, modern tone
    # placement): the gold's offsets must hold for the .txt built from it.
    as_read = modern_tone_placement(normalise_text(text))
    if as_read != text:
        first = next((i for i, (a, b) in enumerate(zip(as_read, text)) if a != b), min(len(as_read), len(text)))
        problems.append(f"{name}: the text changes when read (NFC, modern tone placement) near {text[max(0, first - 20):first + 20]!r}; write it the way the read stage gives it")
    structure = analyse(RawDocument(source=name, text=text, format="txt"), structure_settings)
    sentences = structure.sentences
    rules = rules or rules_config()

    def sentence_at(offset: int) -> int | None:
        for index, sentence in enumerate(sentences):
            if sentence.start <= offset < sentence.end:
                return index
        return None

    # Class tags: each sentence gets exactly one, at its start.
    labels: dict[int, str] = {}
    starts = {s.start: i for i, s in enumerate(sentences)}
    for offset, label, line in parsed.tags:
        position = offset
        while position < len(text) and text[position] in " \t\ufffd":
            position += 1
        index = starts.get(position)
        if index is None:
            inside = sentence_at(position)
            if inside is None:
                problems.append(f"{name}:{line}: class tag {{{TAG_OF_CLASS[label]}}} stands on a heading or outside any sentence: {text[position:position + 60]!r}")
            else:
                s = sentences[inside]
                problems.append(f"{name}:{line}: class tag {{{TAG_OF_CLASS[label]}}} is inside sentence {inside}, not at its start; that sentence is {text[s.start:s.end][:80]!r}...")
            continue
        if index in labels:
            problems.append(f"{name}:{line}: sentence {index} has two class tags")
        labels[index] = label
    for index, sentence in enumerate(sentences):
        if index not in labels:
            line = _text_line(text, sentence.start)
            problems.append(f"{name}:{line}: sentence {index} has no class tag: {text[sentence.start:sentence.end][:100]!r}")

    # Entities, grouped by sentence, with their numbers.
    by_sentence: dict[int, list[Mark]] = {}
    for mark in parsed.marks:
        index = sentence_at(mark.start)
        if index is None or mark.end > sentences[index].end:
            problems.append(f"{name}:{mark.line}: {mark.label} {text[mark.start:mark.end]!r} is not inside one sentence (a heading, or across a sentence end)")
            continue
        by_sentence.setdefault(index, []).append(mark)
    entities = []
    records = []
    for index in sorted(by_sentence):
        marks = by_sentence[index]
        numbered: dict[tuple[str, str], Mark] = {}
        for mark in marks:
            entities.append({"start": mark.start, "end": mark.end, "label": mark.label})
            if mark.label in ("METRIC", "BASELINE"):
                if not mark.ident:
                    problems.append(f"{name}:{mark.line}: {mark.label} {text[mark.start:mark.end]!r} has no number ([{CODE_OF_LABEL[mark.label]}1:...])")
                elif (mark.label, mark.ident) in numbered:
                    problems.append(f"{name}:{mark.line}: {CODE_OF_LABEL[mark.label]}{mark.ident} is used twice in sentence {index}")
                numbered[(mark.label, mark.ident)] = mark
            if mark.label == "BASELINE" and (mark.attrs or "").strip() not in BASELINE_TYPES:
                problems.append(f"{name}:{mark.line}: BASELINE {text[mark.start:mark.end]!r} needs a type (|{'|'.join(BASELINE_TYPES)}), has {mark.attrs!r}")
            if mark.label in ("METRIC", "UNIT") and mark.attrs is not None:
                problems.append(f"{name}:{mark.line}: {mark.label} {text[mark.start:mark.end]!r} takes no attributes")
        units = {mark.start: mark for mark in marks if mark.label == "UNIT"}
        for mark in marks:
            if mark.label != "VALUE":
                continue
            record, record_problems = _record(mark, text, numbered, units, index, name, rules)
            problems.extend(record_problems)
            if record is not None:
                records.append(record)
    entities.sort(key=lambda e: e["start"])
    for previous, entity in zip(entities, entities[1:]):
        if entity["start"] < previous["end"]:
            problems.append(f"{name}: {entity['label']} {text[entity['start']:entity['end']]!r} overlaps {previous['label']}")

    header = parsed.header
    doc_id = header.get("doc_id") or Path(name).stem
    document = {
        "doc_id": doc_id,
        "source": header.get("source") or f"corpus/documents/{doc_id}.txt",
        "split": header.get("split", "train"),
        "origin": header.get("origin", "written for the project from published figures; see corpus/README.md"),
        "form": header.get("form"),
        "text": text,
        "headings": [{"start": h.start, "end": h.end, "level": h.level, "kind": h.kind} for h in structure.headings],
        "sentences": [
            {"start": s.start, "end": s.end, "label": labels.get(i), "section": s.section, "is_footnote": s.is_footnote, "footnote": s.footnote}
            for i, s in enumerate(sentences)
        ],
        "entities": entities,
        "records": records,
    }
    return document, problems


def _text_line(text: str, offset: int) -> str:
    """Where an offset is, for a message: the line of the plain text (the file's
    line is that plus the header and the markup before it)."""
    return f"~{text.count(chr(10), 0, offset) + 1} of the text"


def _record(mark: Mark, text: str, numbered: dict, units: dict, sentence: int, name: str, rules: dict) -> tuple[dict | None, list[str]]:
    problems = []
    where = f"{name}:{mark.line}: VALUE {text[mark.start:mark.end]!r}"
    attrs = _parse_attrs(mark.attrs)
    unknown = set(attrs) - RECORD_KEYS
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)} (use m r d b q p i)")
    if "m" not in attrs:
        problems.append(f"{where}: no metric decision (m=N or m=-)")
    if attrs.get("r") not in RELATIONS:
        problems.append(f"{where}: relation r={attrs.get('r')!r} is not one of {', '.join(RELATIONS)}")
    if attrs.get("d") not in (None, "up", "down"):
        problems.append(f"{where}: direction d={attrs.get('d')!r} is not up or down")
    try:
        parsed = parse_value(text[mark.start:mark.end])
    except ValueError:
        problems.append(f"{where}: not a number in Vietnamese notation")
        return None, problems

    def linked(key: str, label: str) -> Mark | None:
        ident = attrs.get(key)
        if ident in (None, "-", ""):
            return None
        target = numbered.get((label, ident))
        if target is None:
            problems.append(f"{where}: {key}={ident} names no {CODE_OF_LABEL[label]}{ident} in its sentence")
        return target

    position = mark.end
    while position < len(text) and text[position] == " ":
        position += 1
    unit = units.get(position)
    if attrs.get("r") == "ratio" and parsed["denominator"] and unit is None:
        # "bằng 1/3 so với cùng kỳ": nothing is counted, so the fraction is the ratio.
        parsed = {**parsed, "value": parsed["value"] / parsed["denominator"], "denominator": None}
    metric = linked("m", "METRIC")
    parent = linked("p", "METRIC")
    baseline = linked("b", "BASELINE")
    unit_text = text[unit.start:unit.end] if unit else None
    record = {
        "metric": text[metric.start:metric.end] if metric else None,
        "value": parsed["value"],
        "unit": unit_text,
        "relation": attrs.get("r"),
        "direction": attrs.get("d"),
        "baseline": text[baseline.start:baseline.end] if baseline else None,
        "baseline_type": (baseline.attrs or "").strip() if baseline else None,
        "qualifier": attrs.get("q"),
        "denominator": parsed["denominator"],
        "upper": parsed["upper"],
        "span": [mark.start, mark.end],
        "parent_metric": text[parent.start:parent.end] if parent else None,
    }
    if metric is not None:
        record["metric_span"] = [metric.start, metric.end]
    if baseline is not None:
        record["baseline_span"] = [baseline.start, baseline.end]
    scale = _scale(unit_text, rules)
    if scale is not None:
        record["base_value"] = parsed["value"] * scale[0]
        record["base_unit"] = scale[1] or None
    if "i" in attrs:
        # The reviewed indicator: a catalogue id, or "none" (reviewed, no
        # catalogue indicator). Without the key the record was not reviewed.
        from pipeline.components.indicators import catalogue_ids

        indicator = attrs["i"]
        if indicator != "none" and indicator not in catalogue_ids():
            problems.append(f"{where}: indicator i={indicator!r} is not in pipeline/config/indicators.csv (or i=none)")
        record["indicator"] = None if indicator == "none" else indicator
    record["sentence"] = sentence
    return record, problems


def load(path: str | Path, structure_settings: dict | None = None, nlp=None) -> tuple[dict, list[str]]:
    """The gold document of an .ann file and every problem with it; with a
    tokenizer ``nlp``, spans off token boundaries are problems too."""
    path = Path(path)
    source = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    parsed = parse(source, str(path))
    document, problems = to_document(parsed, str(path), structure_settings)
    if nlp is not None and not problems:
        from pipeline.corpus.documents import misaligned_entities

        text = document["text"]
        for entity, message in misaligned_entities(document, nlp):
            line = text.count("\n", 0, entity["start"]) + 1
            problems.append(f"{path}: text line {line}: {entity['label']} {text[entity['start']:entity['end']]!r} {message}")
    return document, problems


def to_ann(document: dict) -> str:
    """An .ann file from a gold document, with each record's links as numbers
    (the inverse of ``load``; used to move existing gold into this format)."""
    text = document["text"]
    header = [f"# doc_id: {document['doc_id']}", f"# split: {document.get('split', 'train')}"]
    for key in ("form", "source", "origin"):
        if document.get(key):
            header.append(f"# {key}: {document[key]}")
    records = {tuple(r["span"]): r for r in document.get("records", [])}
    insertions: list[tuple[int, int, str]] = []  # (offset, order, string)
    for index, sentence in enumerate(document["sentences"]):
        insertions.append((sentence["start"], 0, "{" + TAG_OF_CLASS[sentence["label"]] + "}"))
        inside = [e for e in document["entities"] if sentence["start"] <= e["start"] < sentence["end"]]
        inside.sort(key=lambda e: e["start"])
        numbers: dict[tuple[str, int], int] = {}
        counters = {"METRIC": 0, "BASELINE": 0}
        for entity in inside:
            if entity["label"] in counters:
                counters[entity["label"]] += 1
                numbers[(entity["label"], entity["start"])] = counters[entity["label"]]

        def number_of(label: str, span_text: str | None, span: list | None, value: dict) -> str:
            """The number of the span a record names by its text only (a
            proposal, an import): a METRIC the nearest before the value, else
            the first after it; a BASELINE, which follows its figure ("tăng 5%
            so với cùng kỳ"), the first after the value, else the nearest before."""
            if span_text is None:
                return "-"
            if span:
                return str(numbers[(label, span[0])])
            candidates = [e for e in inside if e["label"] == label and text[e["start"]:e["end"]] == span_text]
            if not candidates:
                raise AnnotationError(f"{document['doc_id']}: sentence {index}: {label} {span_text!r} of a record is not a span of its sentence")
            before = [e for e in candidates if e["start"] < value["start"]][::-1]
            after = [e for e in candidates if e["start"] >= value["end"]]
            chosen = (after + before if label == "BASELINE" else before + after)[0]
            return str(numbers[(label, chosen["start"])])

        for entity in inside:
            label = entity["label"]
            code = CODE_OF_LABEL[label]
            span_text = text[entity["start"]:entity["end"]]
            if label == "METRIC":
                opening = f"[{code}{numbers[(label, entity['start'])]}:"
                closing = "]"
            elif label == "BASELINE":
                opening = f"[{code}{numbers[(label, entity['start'])]}:"
                record_types = [r.get("baseline_type") for r in records.values() if r.get("baseline_span") == [entity["start"], entity["end"]]]
                kind = record_types[0] if record_types and record_types[0] else _guess_baseline_type(span_text)
                closing = f"|{kind}]"
            elif label == "VALUE":
                record = records[(entity["start"], entity["end"])]
                parts = [f"m={number_of('METRIC', record.get('metric'), record.get('metric_span'), entity)}", f"r={record['relation']}"]
                if record.get("direction"):
                    parts.append(f"d={record['direction']}")
                if record.get("baseline"):
                    parts.append(f"b={number_of('BASELINE', record['baseline'], record.get('baseline_span'), entity)}")
                if record.get("qualifier"):
                    parts.append("q=" + record["qualifier"].replace(" ", "_"))
                if record.get("parent_metric"):
                    parts.append(f"p={number_of('METRIC', record['parent_metric'], None, entity)}")
                if "indicator" in record:
                    parts.append("i=" + (record["indicator"] or "none"))
                opening = f"[{code}:"
                closing = "|" + " ".join(parts) + "]"
            else:
                opening, closing = f"[{code}:", "]"
            insertions.append((entity["start"], 1, opening))
            insertions.append((entity["end"], -1, closing))
    # Closings before openings and tags at the same offset.
    pieces, cursor = [], 0
    for offset, order, string in sorted(insertions, key=lambda item: (item[0], item[1])):
        pieces.append(text[cursor:offset])
        pieces.append(string)
        cursor = offset
    pieces.append(text[cursor:])
    return "\n".join(header) + "\n---\n" + "".join(pieces)


def _guess_baseline_type(baseline: str) -> str:
    from pipeline.components.linking import baseline_type

    return baseline_type(baseline) or "other"


def _table(document: dict) -> str:
    text = document["text"]
    rows = []
    for record in document["records"]:
        s, e = record["span"]
        rows.append(
            f"{record['sentence']:>4}  {text[s:e]:>12} {record['unit'] or '':<16} {record['relation']:<10} {record['direction'] or '':<4} "
            f"metric={record['metric']!r} parent={record['parent_metric']!r} baseline={record['baseline']!r}/{record['baseline_type']} q={record['qualifier']!r}"
            + (f" i={record['indicator'] or 'none'}" if "indicator" in record else "")
        )
    return "\n".join(rows)


def default_annotation_files() -> list[Path]:
    from pipeline.corpus.documents import corpus_dir

    return sorted((corpus_dir() / "review").glob("*.ann"))


def _tokenizer():
    import warnings

    from pipeline.language import tokenizer_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tokenizer_pipeline()


def summary(document: dict) -> str:
    counts = {label: sum(1 for e in document["entities"] if e["label"] == label) for label in LABEL_CODES.values()}
    return (f"{len(document['text'])} characters, {len(document['sentences'])} sentences, "
            + ", ".join(f"{k} {v}" for k, v in counts.items()) + f", {len(document['records'])} records")


def write_document(document: dict, corpus: Path) -> None:
    """The text (for a written document) and the gold of one built document."""
    from pipeline.corpus.documents import save_documents

    if document["source"].startswith("corpus/documents/"):
        (corpus / "documents").mkdir(parents=True, exist_ok=True)
        (corpus / "documents" / f"{document['doc_id']}.txt").write_text(document["text"], encoding="utf-8")
    save_documents([document], corpus / "gold" / f"{document['doc_id']}.jsonl")


def build_files(files: list[Path], corpus: Path | None, check_tokens: bool = True, records: bool = False) -> int:
    """Check every .ann file, print its problems (or its record table), and with
    ``corpus`` write the text and gold of those without problems; 1 if any had
    problems (nothing is written for those)."""
    nlp = _tokenizer() if check_tokens else None
    failed = 0
    for file in files:
        try:
            document, problems = load(file, nlp=nlp)
        except AnnotationError as error:
            print(f"error: {error}")
            failed += 1
            continue
        if records:
            print(_table(document))
        for problem in problems:
            print(problem)
        if problems:
            failed += 1
            print(f"{file}: {len(problems)} problems")
            continue
        if corpus is not None:
            write_document(document, corpus)
        print(f"{file}: ok — {summary(document)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.corpus.authoring check|records|text|build FILE ...``: the
    annotator's loop while writing an .ann file."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.corpus.authoring", description="Check, show and build .ann gold files.")
    parser.add_argument("command", choices=["check", "text", "records", "build"])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--no-tokens", action="store_true", help="skip the token-boundary check (faster)")
    parser.add_argument("--corpus", default="corpus", type=Path, help="corpus folder for build (documents/ and gold/)")
    args = parser.parse_args(argv)
    if args.command == "text":
        for file in args.files:
            sys.stdout.write(load(file)[0]["text"])
        return 0
    return build_files(args.files, args.corpus if args.command == "build" else None,
                       check_tokens=args.command != "records" and not args.no_tokens, records=args.command == "records")


if __name__ == "__main__":
    sys.exit(main())
