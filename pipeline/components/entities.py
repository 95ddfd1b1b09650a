"""Entities stage: the trained NER (METRIC, VALUE, UNIT, BASELINE) as one
component of the pipeline.

The NER is spaCy's own ``tok2vec`` + ``ner``, trained by ``spacy train`` on one
Doc per sentence (pipeline/config/ner.cfg). It is kept whole, as the nested
pipeline it was trained as, and run on each sentence of the document: the
transition-based NER then steps through the sentences of many documents side by
side in one batch, instead of through one report of thousands of tokens at a
time. Training also gives it one Doc per sentence, but tokenises each sentence
alone, while here the sentences are cut from the tokens of their whole line:
where underthesea joins or tags words differently with the rest of the line
around them, the NER sees slightly other tokens than in training.
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

    def entity_scores(self, docs: list[Doc]) -> list[list[float]]:
        """The probability of each entity of ``doc.ents``, for each document.

        The NER is a greedy transition-based parser: at each word it takes the
        most probable of the transitions valid there (begin, go on with, end,
        or be a one-word entity of a label, or none). An entity's score is the
        product, over its words, of the probability of the transition taken,
        softmax over the valid ones: how sure the parser was all along the
        span. The sentences are parsed again a step at a time to read those
        probabilities; the entities are the greedy parse's own (an entity the
        replay did not find would score 0; the tests check there is none).
        For proposing labels to correct (``corpus pre-annotate``, ``annotate
        --entity-scores``), not on the default annotation path.
        """
        ner = self._require()
        scored: list[list[float]] = []
        for doc in docs:
            sentences = list(doc.spans.get("sentences", []))
            probabilities: dict[tuple[int, int, str], float] = {}
            for first in range(0, len(sentences), self.batch_size):
                batch = sentences[first:first + self.batch_size]
                found = transition_probabilities(ner, [sentence_doc(ner.vocab, s) for s in batch])
                for sentence, entities in zip(batch, found):
                    for (start, end, label), probability in entities.items():
                        probabilities[(sentence.start + start, sentence.start + end, label)] = probability
            # unrounded: most scores are within 1e-4 of 1, and their order is what ranks them
            scored.append([probabilities.get((e.start, e.end, e.label_), 0.0) for e in doc.ents])
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


def transition_probabilities(ner: Language, docs: list[Doc]) -> list[dict[tuple[int, int, str], float]]:
    """The greedy parse of ``docs`` by the NER pipeline ``ner`` (its tok2vec,
    then its ``ner``), made a step at a time: for each doc, its entities
    (start, end, label in its tokens) with the product of the probabilities of
    the transitions that made them."""
    import numpy

    for name, component in ner.pipeline:
        if name != "ner":
            docs = list(component.pipe(docs))
    parser = ner.get_pipe("ner")
    moves = parser.moves
    names = [moves.get_class_name(i) for i in range(moves.n_moves)]
    step = parser.model.predict(docs)
    states = moves.init_batch(docs)
    # every transition of the NER reads one word: the n-th taken is the n-th word's
    taken: list[list[float]] = [[] for _ in states]
    active = [(i, state) for i, state in enumerate(states) if not state.is_final()]
    while active:
        scores = numpy.ascontiguousarray(step.predict([state for _, state in active]), dtype="f")
        for row, (i, state) in zip(scores, active):
            valid = numpy.flatnonzero([moves.is_valid(state, name) for name in names])
            values = row[valid]
            best = int(numpy.argmax(values))  # the transition the greedy parse takes (the first best valid)
            exp = numpy.exp(values - values[best])
            taken[i].append(float(exp[best] / exp.sum()))
        parser.transition_states([state for _, state in active], scores)
        active = [(i, state) for i, state in active if not state.is_final()]
    step.clear_memory()
    parser.set_annotations(docs, states)
    return [{(e.start, e.end, e.label_): float(numpy.prod(probabilities[e.start:e.end])) for e in doc.ents}
            for doc, probabilities in zip(docs, taken)]


@Language.factory("vnreport_sentence_ner_v1", assigns=["doc.ents"], requires=["doc.spans"],
                  default_config={"batch_size": 64})
def make_sentence_ner(nlp: Language, name: str, batch_size: int) -> SentenceNER:
    return SentenceNER(batch_size)
