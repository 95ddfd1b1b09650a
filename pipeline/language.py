"""Building, loading and saving the one spaCy ``Language`` of vnreport.

- ``load(path)``: a trained pipeline saved by ``nlp.to_disk`` (``models/vnreport``);
- ``load("rules")``: the rule baseline, built from pipeline/config/rules.cfg;
- ``tokenizer_pipeline()``: the tokenizer alone (corpus tools, token checks);
- ``assemble(...)``: the trained parts (NER, linker, classifier) put into a
  pipeline built from pipeline/config/pipeline.cfg, saved as one artifact.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from pipeline import __version__
from pipeline.config import DEFAULT_CONFIG_PATH, FEATURES_PATH
from pipeline.errors import ModelMissingError, ModelVersionError
from pipeline.resources import shipped_path

CONFIG_DIR = DEFAULT_CONFIG_PATH.parent
PIPELINE_CONFIG = CONFIG_DIR / "pipeline.cfg"
RULES_CONFIG = CONFIG_DIR / "rules.cfg"
MODEL_NAME = "vnreport"


def default_model_path() -> Path:
    return shipped_path("models", MODEL_NAME)


def load_config(path: str | Path = PIPELINE_CONFIG):
    """A pipeline config; one without ``[nlp.tokenizer]`` (rules.cfg) takes
    pipeline.cfg's, so every pipeline tokenises alike."""
    from thinc.api import Config

    config = Config().from_disk(path)
    if "tokenizer" not in config["nlp"]:
        config["nlp"]["tokenizer"] = Config().from_disk(PIPELINE_CONFIG)["nlp"]["tokenizer"]
    return config


def _from_config(config, max_length: int | None = None):
    import spacy

    import pipeline.components  # noqa: F401  registers the tokenizer and components

    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    if max_length:
        nlp.max_length = max_length
    return nlp


def _max_length() -> int:
    """The longest text the reader lets through (read.max_chars), so spaCy's
    own limit never refuses a text the reader accepted."""
    from pipeline.config import load_config as load_settings

    return load_settings()["read"]["max_chars"] + 1


def tokenizer_pipeline():
    """A pipeline with pipeline.cfg's tokenizer and no components."""
    config = load_config()
    config["nlp"]["pipeline"] = []
    config["components"] = {}
    return _from_config(config, _max_length())


def rules_pipeline():
    """The rule baseline: structure, rule entities, hand-written linker, rule classes."""
    nlp = _from_config(load_config(RULES_CONFIG), _max_length())
    nlp.meta.update({"name": "vnreport_rules", "version": __version__})
    return nlp


def features_hash() -> str:
    import hashlib

    return hashlib.sha256(FEATURES_PATH.read_bytes()).hexdigest()


def check_meta(path: Path, meta: dict) -> None:
    made_with = meta.get("vnreport_version")
    if made_with is None or made_with.split(".")[:2] != __version__.split(".")[:2]:
        raise ModelVersionError(
            f"{path}: the pipeline was made by vnreport {made_with}, this is vnreport {__version__}; "
            "retrain it with `vnreport train` or install the version it was made with")
    if meta.get("features_sha256") not in (None, features_hash()):
        raise ModelVersionError(
            f"{path}: {FEATURES_PATH} has changed since the pipeline was trained (its learned parts read "
            "those words as features); retrain it with `vnreport train` or restore the file")


def check_model(path: str | Path | None = None) -> Path:
    """The folder of a usable trained pipeline, checked from its files alone
    (no library loaded): raises ModelMissingError or ModelVersionError."""
    path = Path(path) if path else default_model_path()
    if not (path / "config.cfg").exists() or not (path / "meta.json").exists():
        hint = " (an old models/ layout: retrain with `vnreport train`)" if (path / "ner").exists() else ""
        raise ModelMissingError(
            f"{path}: no trained vnreport pipeline here (config.cfg and meta.json){hint}; "
            "build one with `vnreport train`, or give the folder of one")
    check_meta(path, json.loads((path / "meta.json").read_text(encoding="utf-8")))
    return path


def load(path: str | Path | None = None, config: dict | None = None):
    """The trained pipeline at ``path`` (default ``models/vnreport``), or the
    rule baseline for ``path="rules"``. ``config``: overrides of the saved
    config (``{"components.entities.batch_size": 32}``)."""
    import spacy

    import pipeline.components  # noqa: F401

    if str(path) == "rules":
        return rules_pipeline()
    path = check_model(path)
    nlp = spacy.load(path, config=config or {})
    nlp.max_length = _max_length()
    return nlp


def model_versions(path: str | Path | None = None) -> dict:
    """What a batch compares to decide whether a file is done, read from the
    model's meta.json alone (no model loaded): its version and training date."""
    path = Path(path) if path else default_model_path()
    meta_path = path / "meta.json"
    if not meta_path.exists():
        return {}
    return _versions(json.loads(meta_path.read_text(encoding="utf-8")))


def versions_of(nlp) -> dict:
    """``model_versions`` of a loaded pipeline."""
    return _versions(nlp.meta)


def _versions(meta: dict) -> dict:
    """name -> version+training date (a pipeline that is not vnreport's: its version)."""
    if meta.get("name", MODEL_NAME) != MODEL_NAME:
        return {meta.get("name", "pipeline"): meta.get("version")}
    return {MODEL_NAME: f"{meta.get('version')}+{meta.get('date')}"}


def assemble(ner_path: str | Path, linker_path: str | Path, classifier_path: str | Path, out: str | Path,
             meta: dict | None = None, config_path: str | Path = PIPELINE_CONFIG):
    """One pipeline from pipeline.cfg with the trained parts in it, saved to ``out``."""
    from pipeline.components.linker import load_linker
    from pipeline.components.sentence_classes import load_classifier

    nlp = _from_config(load_config(config_path))
    nlp.get_pipe("entities").load_trained(ner_path)
    nlp.get_pipe("records").model = load_linker(linker_path)
    classes = nlp.get_pipe("sentence_classes")
    classes.model, classes.meta = load_classifier(classifier_path)
    nlp.meta.update({
        "name": MODEL_NAME,
        "version": __version__,
        "vnreport_version": __version__,
        "features_sha256": features_hash(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "description": "Figures, entities and statement classes from Vietnamese government reports",
        **(meta or {}),
    })
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    nlp.to_disk(tmp)
    _replace_folder(tmp, out)
    return nlp


def _replace_folder(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in place of ``out`` so that a reader never sees half a model."""
    import shutil

    old = out.with_name(out.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)
