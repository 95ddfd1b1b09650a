import os
import signal
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


def corpus_paragraphs() -> list[str]:
    """The prose paragraphs of the repo's reports, to build long inputs from."""
    from pipeline.read import read_document

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
    not a timing test)."""
    def expired(signum, frame):
        pytest.fail(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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
