import os
import sys
import warnings
from contextlib import contextmanager
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
    from pipeline.io.read import read_document

    return read_document(SEED)


@pytest.fixture(scope="session")
def seed_structure(seed_raw):
    from pipeline.components.structure import analyse

    return analyse(seed_raw)


@pytest.fixture(scope="session")
def tokenizer_nlp():
    """The pipeline's tokenizer alone (pipeline/config/pipeline.cfg), for tests of tokens."""
    from pipeline.language import tokenizer_pipeline

    return tokenizer_pipeline()


@pytest.fixture(scope="session")
def nlp():
    """The shipped pipeline (pipeline.load()): tokenizer, structure, NER, records, classes."""
    import pipeline

    return pipeline.load()


@pytest.fixture(scope="session")
def seed_doc(nlp, seed_raw):
    """The seed report through the shipped pipeline."""
    from pipeline.annotate import annotate_documents

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return next(annotate_documents(nlp, [seed_raw]))


@pytest.fixture(scope="session")
def seed_document(seed_doc):
    """The seed report's output document (JSON object)."""
    from pipeline.io.write import document_record

    return document_record(seed_doc)


def sentence_texts(raw, structure):
    return [raw.text[s.start:s.end] for s in structure.sentences]


def corpus_paragraphs() -> list[str]:
    """The prose paragraphs of the repo's reports, to build long inputs from."""
    from pipeline.io.read import read_document

    paths = [SEED, *sorted((ROOT / "corpus" / "documents").glob("*.txt"))]
    return [line.strip() for path in paths for line in read_document(path).text.split("\n") if len(line.strip()) > 40]


def long_text(chars: int, separator: str = "\n") -> str:
    """At least ``chars`` characters of report prose: corpus paragraphs repeated,
    joined by ``separator`` (" " makes one line with no break)."""
    paragraphs = corpus_paragraphs()
    parts, size = [], 0
    while size < chars:
        parts.append(paragraphs[len(parts) % len(paragraphs)])
        size += len(parts[-1]) + len(separator)
    return separator.join(parts)


@contextmanager
def completes_within(seconds: int):
    """Fail the test if the block has not finished after ``seconds`` (a guard
    against a quadratic pass coming back, generous enough for a slow machine;
    not a timing test). The batch stage's own per-file time limit does the timing."""
    from pipeline.batch.worker import _time_limit, _Timeout

    try:
        with _time_limit(seconds):
            yield
    except _Timeout:
        pytest.fail(f"did not finish within {seconds} s")


@pytest.fixture()
def unwritable_folder(tmp_path):
    """A folder nobody can create files in, root included: read-only by its
    mode, and immutable (chattr +i) when the tests run as root, who ignores modes."""
    import shutil
    import subprocess
    import tempfile

    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "existing.jsonl").write_text("a previous run's output\n", encoding="utf-8")
    folder.chmod(0o555)

    def writable() -> bool:
        try:
            handle, probe = tempfile.mkstemp(dir=folder)
        except OSError:
            return False
        os.close(handle)
        os.unlink(probe)
        return True

    immutable = False
    if writable() and shutil.which("chattr"):
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    if writable():
        folder.chmod(0o755)
        pytest.skip("cannot make a folder unwritable here (running as root without chattr)")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def pretend_saved_with_scikit_learn(model_dir, version: str) -> None:
    """Rewrite a saved model's meta.json as if another scikit-learn had saved it."""
    import json

    meta_path = Path(model_dir) / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["versions"]["scikit-learn"] = version
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def write_ann(tmp_path: Path, body: str) -> Path:
    """A one-document .ann file (train split) with ``body`` below its header."""
    path = tmp_path / "cut.ann"
    path.write_text("# doc_id: cut\n# split: train\n---\n" + body, encoding="utf-8")
    return path
