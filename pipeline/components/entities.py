"""Entities stage: the trained NER (METRIC, VALUE, UNIT, BASELINE) as one
component of the pipeline.

The NER is spaCy's own ``tok2vec`` + ``ner``, trained by ``spacy train`` on one
Doc per sentence (pipeline/config/ner.cfg). It is kept whole, as the nested
pipeline it was trained as, and run on each sentence of the document: the
transition-based NER then steps through the sentences of many documents side by
side in one batch, instead of through one report of thousands of tokens at a
time, and sees the sentences exactly as in training.
"""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.errors import ModelMissingError


def sentence_doc(vocab, sentence) -> Doc:
    """A Doc of a sentence's own tokens (``Span.as_doc`` would copy the whole
    document's arrays once per sentence)."""
    tokens = list(sentence)
    return Doc(vocab, words=[t.text for t in tokens],
               spaces=[bool(t.whitespace_) for t in tokens[:-1]] + [False],
               tags=[t.tag_ for t in tokens], pos=[t.pos_ for t in tokens])


class SentenceNER:
    """Runs the trained NER pipeline on every sentence (``doc.spans["sentences"]``)
    and sets ``doc.ents`` in the document's own offsets."""

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self.ner: Language | None = None

    def _require(self) -> Language:
        if self.ner is None:
            raise ModelMissingError("the entities component has no trained NER: build the pipeline with "
                                    "`vnreport train` or load a trained one with pipeline.load()")
        return self.ner

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 8) -> Iterator[Doc]:
        ner = self._require()
        docs = iter(docs)
        while True:
            batch = list(islice(docs, batch_size))
            if not batch:
                return
            sentences, owners = [], []
            for index, doc in enumerate(batch):
                for sentence in doc.spans.get("sentences", []):
                    sentences.append(sentence_doc(ner.vocab, sentence))
                    owners.append((index, sentence.start))
            found: list[list[Span]] = [[] for _ in batch]
            for (index, first), predicted in zip(owners, ner.pipe(sentences, batch_size=self.batch_size)):
                found[index].extend(Span(batch[index], first + ent.start, first + ent.end, label=ent.label_)
                                    for ent in predicted.ents)
            for doc, spans in zip(batch, found):
                doc.ents = spans
                yield doc

    def entity_scores(self, docs: list[Doc], beam_width: int = 16) -> list[list[float]]:
        """The probability of each entity of ``doc.ents``, for each document.

        The greedy parser that labels the entities keeps no probability, so the
        sentences are parsed again with a beam: an entity's score is the summed
        probability of the beam's analyses that contain it (0 when none does).
        For proposing labels to correct (``corpus pre-annotate``), not on the
        annotation path: it costs several greedy parses.
        """
        ner = self._require()
        scored: list[list[float]] = []
        for doc in docs:
            sentences = list(doc.spans.get("sentences", []))
            parsed = [sentence_doc(ner.vocab, sentence) for sentence in sentences]
            for name, component in ner.pipeline:
                if name != "ner":
                    parsed = list(component.pipe(parsed))
            recogniser = ner.get_pipe("ner")
            probabilities = {}
            if parsed:
                beams = recogniser.beam_parse(parsed, beam_width=beam_width)
                for sentence, found in zip(sentences, recogniser.scored_ents(beams)):
                    for (start, end, label), probability in found.items():
                        key = (sentence.start + start, sentence.start + end, recogniser.vocab.strings[label]
                               if isinstance(label, int) else label)
                        probabilities[key] = probabilities.get(key, 0.0) + probability
            scored.append([round(min(1.0, probabilities.get((e.start, e.end, e.label_), 0.0)), 4) for e in doc.ents])
        return scored

    def to_disk(self, path, exclude=()) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self._require().to_disk(Path(path) / "ner")

    def from_disk(self, path, exclude=()) -> "SentenceNER":
        import spacy

        self.ner = spacy.load(Path(path) / "ner")
        return self

    def load_trained(self, path) -> None:
        """Take the NER pipeline ``spacy train`` wrote (its model-best folder)."""
        import spacy

        self.ner = spacy.load(path)


@Language.factory("vnreport_sentence_ner_v1", assigns=["doc.ents"], requires=["doc.spans"],
                  default_config={"batch_size": 64})
def make_sentence_ner(nlp: Language, name: str, batch_size: int) -> SentenceNER:
    return SentenceNER(batch_size)
