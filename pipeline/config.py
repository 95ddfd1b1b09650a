"""Settings of every stage, read from ``config/pipeline.toml``.

Stages take their section of the config as an argument so tests and trained
models can pass their own; ``load_config()`` gives the packaged defaults.
"""
from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from pathlib import Path

DEFAULT_CONFIG_PATH = Path(__file__).parent / "config" / "pipeline.toml"


@lru_cache(maxsize=8)
def _read(path: str) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_config(path: str | Path | None = None) -> dict:
    """Return a fresh copy of the config (callers may change it freely)."""
    return copy.deepcopy(_read(str(path or DEFAULT_CONFIG_PATH)))
