"""Entities stage: the trained spaCy NER (METRIC, VALUE, UNIT, BASELINE), run
sentence by sentence as it was trained, on the tokens the document already has."""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

# The entities stage runs every component of the NER pipeline, the rule hints included.

def sentence_entities(nlp: Language, doc: Doc, spans: list[tuple[int, int]], batch_size: int = 64) -> list[dict]:
    """Entities of each character span of ``doc`` (its sentences), in document offsets.

    Each sentence becomes a Doc of its own tokens (``Span.as_doc`` would copy
    the whole document's arrays once per sentence) and the NER runs over them
    in batches.
    """
    if not nlp.pipeline:
        return []
    sentence_docs, offsets = [], []
    for start, end in spans:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or not len(span):
            continue
        tokens = list(span)
        sentence_docs.append(Doc(
            nlp.vocab,
            words=[t.text for t in tokens],
            spaces=[bool(t.whitespace_) for t in tokens[:-1]] + [False],
            tags=[t.tag_ for t in tokens],
            pos=[t.pos_ for t in tokens],
        ))
        offsets.append(span.start_char)
    entities = []
    for offset, sentence_doc in zip(offsets, nlp.pipe(sentence_docs, batch_size=batch_size)):
        entities.extend(
            {"start": offset + ent.start_char, "end": offset + ent.end_char, "label": ent.label_}
            for ent in sentence_doc.ents
        )
    return entities


class RuleHints:
    """Writes the rule annotator's proposal for each token into ``token.lemma_``
    ("R_VALUE", "R_METRIC", ... or "O"), a feature the NER's embedding reads.

    The NER then learns where the rules are right instead of relearning number
    and unit patterns from a few hundred sentences. ``lemma_`` is free: nothing
    else in the Vietnamese pipeline sets it.
    """

    def __init__(self):
        from pipeline.components.rules import RuleAnnotator

        self.rules = RuleAnnotator()

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = "O"
        for entity in self.rules.entities(doc, doc.text, (0, len(doc.text))):
            span = doc.char_span(entity.start, entity.end, alignment_mode="expand")
            if span is not None:
                for token in span:
                    token.lemma_ = f"R_{entity.label}"
        return doc


@Language.factory("vnreport_rule_hints_v1")
def make_rule_hints(nlp: Language, name: str) -> RuleHints:
    return RuleHints()
