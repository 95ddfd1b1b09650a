"""The custom attributes the components set on Doc and Span (``doc._.records``,
``sentence._.label``, ...), registered once.

A Span's values are keyed by its offsets and label, so they are read from the
spans of ``doc.spans["sentences"]``, ``["headings"]`` and ``["footnotes"]``
themselves.
"""
from __future__ import annotations

from spacy.tokens import Doc, Span

DOC_EXTENSIONS = {
    # where the text came from, set by the reader (pipeline.annotate.make_doc)
    "source": None, "format": None, "encoding": None,
    # footnotes a format declares (.docx): [(start, end, cited_at, mark)]; None: find them in the text
    "declared_footnotes": None,
    # sentence spans given with the text (a labelled corpus document): the structure
    # stage keeps them instead of finding its own, so predictions line up with gold
    "given_sentences": None,
    "warnings": None,   # problems met on the way (reader, tokenizer, structure), one string each
    "records": None,    # one dict per VALUE entity (ANNOTATION.md section 3)
    "models": None,     # name -> version+date of the trained parts that made the annotations
    "metadata": None,   # what the report says about itself (the context component)
    # the NER's probability for each of doc.ents, when asked for (annotate --entity-scores)
    "entity_scores": None,
}
SPAN_EXTENSIONS = {
    # sentences
    "section": None, "is_footnote": False, "footnote": None, "cites": None, "label": None, "scores": None,
    # headings
    "level": None,
    # footnotes
    "mark": None, "cited_at": None, "cited_in": None,
}


def register_extensions() -> None:
    for name, default in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)
    for name, default in SPAN_EXTENSIONS.items():
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)


def add_warnings(doc: Doc, problems: list[str]) -> None:
    if problems:
        doc._.warnings = [*(doc._.warnings or []), *problems]


register_extensions()
