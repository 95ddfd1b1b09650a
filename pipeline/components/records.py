"""Records stage: one record per VALUE entity, linked to its METRIC, UNIT,
BASELINE and parent metric, in ``doc._.records`` (ANNOTATION.md section 3).

``linker = "learned"`` (the trained pipeline) chooses the links with the
scikit-learn models of linker.py; ``linker = "rules"`` (the rule baseline) with
the hand-written linker of linking.py. Both read the rules of rules.toml for
units, numbers and qualifiers; the rules are saved with the pipeline.
"""
from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.linker import LearnedLinker, load_linker, save_linker
from pipeline.components.linking import Entity, link_records, rules_config, within_spans
from pipeline.components.rules import load_rules, save_rules
from pipeline.errors import ModelMissingError

LINKERS = ("learned", "rules")


class Records:
    def __init__(self, linker: str = "learned", rules: dict | None = None):
        if linker not in LINKERS:
            raise ValueError(f"linker {linker!r} is not one of {', '.join(LINKERS)}")
        self.linker = linker
        self.rules = rules or rules_config()
        self.model: LearnedLinker | None = None
        # Set by pre-annotation (proposals with scores), never saved: each learned
        # record then carries the probability of its metric link.
        self.link_scores = False

    def link(self, text: str, spans: list[tuple[int, int]], groups: list[list[Entity]]) -> list[list[dict]]:
        """Records of each sentence (``groups``: the entities inside each)."""
        if self.linker == "rules":
            return [link_records(text, span, entities, self.rules) for span, entities in zip(spans, groups)]
        if self.model is None:
            raise ModelMissingError("the records component has no trained linker: build the pipeline with "
                                    "`vnreport train` or load a trained one with pipeline.load()")
        return self.model.link_sentences(text, spans, groups, self.rules, link_scores=self.link_scores)

    def __call__(self, doc: Doc) -> Doc:
        sentences = list(doc.spans.get("sentences", []))
        spans = [(s.start_char, s.end_char) for s in sentences]
        entities = [Entity(e.start_char, e.end_char, e.label_) for e in doc.ents]
        records = []
        for index, sentence_records in enumerate(self.link(doc.text, spans, within_spans(spans, entities))):
            for record in sentence_records:
                record.pop("baseline_span", None)
                record.update(sentence=index, section=sentences[index]._.section)
                records.append(record)
        doc._.records = records
        return doc

    def to_disk(self, path, exclude=()) -> None:
        path = Path(path)
        save_rules(self.rules, path)
        if self.linker == "learned":
            if self.model is None:
                raise ModelMissingError("the records component has no trained linker to save")
            save_linker(self.model, path / "linker", {})

    def from_disk(self, path, exclude=()) -> "Records":
        path = Path(path)
        self.rules = load_rules(path)
        if self.linker == "learned":
            self.model = load_linker(path / "linker")
        return self


@Language.factory("vnreport_records_v1", assigns=["doc._.records"], requires=["doc.ents", "doc.spans"],
                  default_config={"linker": "learned"})
def make_records(nlp: Language, name: str, linker: str) -> Records:
    return Records(linker)
