import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = ROOT / "corpus" / "bac-giang-2020-h1-report.txt"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_documents


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return SEED


@pytest.fixture(scope="session")
def seed_raw():
    from pipeline.read import read_document

    return read_document(SEED)


@pytest.fixture(scope="session")
def seed_structure(seed_raw):
    from pipeline.structure import analyse

    return analyse(seed_raw)


@pytest.fixture(scope="session")
def models():
    from pipeline.annotate import load_pipeline

    return load_pipeline()


@pytest.fixture(scope="session")
def nlp(models):
    """The spaCy pipeline: underthesea tokenizer (+ the shipped NER)."""
    return models.nlp


@pytest.fixture(scope="session")
def seed_annotated(models, seed_raw):
    from pipeline.annotate import annotate_document

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return annotate_document(seed_raw, models=models)


def sentence_texts(raw, structure):
    return [raw.text[s.start:s.end] for s in structure.sentences]
