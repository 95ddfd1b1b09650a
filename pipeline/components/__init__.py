"""The components of the vnreport spaCy pipeline; importing this package
registers the tokenizer, the component factories and the Doc/Span attributes."""
from pipeline.components import extensions, tokenizer  # noqa: F401
from pipeline.components import context, entities, records, rules, sentence_classes, structure  # noqa: F401
