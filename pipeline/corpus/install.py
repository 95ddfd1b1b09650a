"""A safe retrain: the new pipeline is trained into its own folder, compared
with the installed one on the test split (the bootstrap of compare.py), and put
in place of it only when it is not worse beyond noise on any headline score.

A pipeline trained on more labels can still be worse: a careless import, a
document labelled under another guide, an unlucky NER run. The guard keeps
the pipeline users run from getting worse silently; the refused one stays in
its folder to be inspected (``vnreport evaluate --models OLD --models NEW``).
"""
from __future__ import annotations

import datetime
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.corpus.compare import RESAMPLES, SEED


def versioned_folder(current: str | Path, now: datetime.datetime | None = None) -> Path:
    """``models/vnreport-YYYYMMDD-HHMMSS`` beside ``models/vnreport``."""
    current = Path(current)
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return current.with_name(f"{current.name}-{stamp}")


@dataclass
class Decision:
    install: bool
    reason: str
    comparison: dict | None = None
    worse: list[str] = field(default_factory=list)


def decide(new: str | Path, current: str | Path, test_documents: list[dict], force: bool = False,
           resamples: int = RESAMPLES, seed: int = SEED) -> Decision:
    """Whether ``new`` may replace ``current``, from their comparison on ``test_documents``."""
    import pipeline
    from pipeline.corpus.compare import compare_pipelines, worse_beyond_noise
    from pipeline.errors import ModelMissingError, ModelVersionError

    if not Path(current).exists():
        return Decision(True, f"no pipeline installed at {current} yet")
    if not test_documents:
        return Decision(force, "no test documents to compare the two pipelines on"
                        + ("; installed because of --force-install" if force else ""))
    try:
        current_nlp = pipeline.load(current)
    except (ModelMissingError, ModelVersionError) as error:
        return Decision(force, f"the installed pipeline cannot be loaded to compare with ({error})"
                        + ("; installed because of --force-install" if force else ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = compare_pipelines(test_documents, current_nlp, pipeline.load(new), resamples, seed)
    worse = worse_beyond_noise(comparison)
    if not worse:
        return Decision(True, "not worse beyond noise on any headline score", comparison)
    names = ", ".join(worse)
    if force:
        return Decision(True, f"worse beyond noise on {names}; installed because of --force-install", comparison, worse)
    return Decision(False, f"worse beyond noise on {names}", comparison, worse)


def install(new: str | Path, current: str | Path) -> None:
    """A copy of ``new`` in place of ``current``, swapped in whole (a reader
    never sees half a pipeline); ``new`` stays where it is."""
    from pipeline.language import _replace_folder

    new, current = Path(new), Path(current)
    tmp = current.with_name(current.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(new, tmp)
    current.parent.mkdir(parents=True, exist_ok=True)
    _replace_folder(tmp, current)
