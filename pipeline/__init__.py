"""vnreport: figures, entities and statement classes from Vietnamese government reports.

``pipeline.load()`` gives the one spaCy ``Language`` every caller runs:

    tokenizer -> structure -> entities -> records -> sentence_classes -> context

Reading files is ``pipeline.io.read``, writing ``pipeline.io.write``; corpus
tools (convert, evaluate, train) live in ``pipeline.corpus``, folder mode and
Dask in ``pipeline.batch``. Nothing heavy is imported here, so ``vnreport
--help`` answers at once.
"""
__version__ = "0.2.0"


def load(path=None, config=None):
    """The trained pipeline (default: the shipped ``models/vnreport``) as a spaCy
    ``Language``; raises ModelMissingError or ModelVersionError with what to do.
    ``path="rules"`` gives the rule baseline (pipeline/config/rules.cfg)."""
    from pipeline.language import load as load_language

    return load_language(path, config)
