"""A self-contained HTML page to review one annotated document: the text with
its entities highlighted (displaCy's entity style), each sentence's class, and
the records table. No scripts, no external files."""
from __future__ import annotations

import html
import os
from pathlib import Path

from spacy import displacy

ENTITY_COLORS = {"METRIC": "#8ecae6", "VALUE": "#ffb703", "UNIT": "#fb8500", "BASELINE": "#90be6d"}
CLASS_COLORS = {"achievement": "#b7e4c7", "limitation": "#ffccd5", "cause": "#e0aaff", "task": "#caf0f8", "other": "#dddddd", None: "#ffffff"}
_RECORD_FIELDS = ("metric", "value", "unit", "relation", "direction", "baseline", "baseline_type", "qualifier")

_STYLE = """
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; line-height: 1.5; }
.sentence { display: flex; gap: 1em; border-bottom: 1px solid #eee; padding: 0.3em 0; }
.label { flex: 0 0 8em; font-size: 0.85em; padding: 0.2em 0.4em; border-radius: 0.3em; height: fit-content; }
.text { flex: 1; }
.text .entities { line-height: 2.2 !important; padding: 0 !important; }
.footnote { font-size: 0.9em; color: #333; }
h2, h3, h4, h5, h6 { margin-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.85em; margin-top: 1em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
"""


def render_document(document: dict) -> str:
    """The review page of one output document (the JSON object of `vnreport annotate`)."""
    text = document["text"]
    events = [(h["start"], "heading", h) for h in document.get("headings", [])]
    events += [(s["start"], "sentence", s) for s in document["sentences"]]
    parts = [f"<h1>{html.escape(document['doc_id'])}</h1>",
             f"<p class='summary'>{len(document['sentences'])} sentences, {len(document.get('entities', []))} entities, "
             f"{len(document.get('records', []))} records</p>"]
    entities = document.get("entities", [])
    for _, kind, item in sorted(events, key=lambda e: e[0]):
        if kind == "heading":
            level = min(max(item["level"], 1) + 1, 6)
            parts.append(f"<h{level} class='heading'>{html.escape(item['title'])}</h{level}>")
            continue
        start, end = item["start"], item["end"]
        ents = [{"start": e["start"] - start, "end": e["end"] - start, "label": e["label"]}
                for e in entities if start <= e["start"] and e["end"] <= end]
        marked = displacy.render({"text": text[start:end], "ents": ents, "title": None}, style="ent", manual=True,
                                 options={"colors": ENTITY_COLORS}, page=False, jupyter=False)
        label = item.get("label")
        scores = item.get("scores") or {}
        score = f" {scores[label]:.2f}" if label in scores else ""
        css = "sentence footnote" if item.get("is_footnote") else "sentence"
        parts.append(
            f"<div class='{css}' data-index='{item['index']}' data-class='{html.escape(str(label))}'>"
            f"<span class='label' style='background:{CLASS_COLORS.get(label, '#fff')}'>{html.escape(str(label))}{score}</span>"
            f"<div class='text'>{marked}</div></div>"
        )
    parts.append("<h2>Records</h2><table class='records'><tr><th>sentence</th>" +
                 "".join(f"<th>{f}</th>" for f in _RECORD_FIELDS) + "</tr>")
    for record in document.get("records", []):
        cells = "".join(f"<td>{html.escape('' if record.get(f) is None else str(record.get(f)))}</td>" for f in _RECORD_FIELDS)
        parts.append(f"<tr><td>{record.get('sentence')}</td>{cells}</tr>")
    parts.append("</table>")
    return ("<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
            f"<title>{html.escape(document['doc_id'])}: vnreport</title><style>{_STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>")


def write_review_page(document: dict, directory: str | os.PathLike) -> Path:
    from pipeline.io.write import replacing

    path = Path(directory) / f"{document['doc_id']}.html"
    page = render_document(document)
    with replacing(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
