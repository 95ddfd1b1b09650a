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
# The words the learned parts read as features; a trained pipeline records its hash.
FEATURES_PATH = DEFAULT_CONFIG_PATH.parent / "features.toml"


class ConfigError(Exception):
    """A settings file that cannot be used. The message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@lru_cache(maxsize=8)
def _read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a folder, not a settings file") from None
    except OSError as error:
        raise ConfigError(path, f"cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(path, f"not valid TOML: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, f"not valid TOML: {error}") from None


def load_toml(path: str | Path) -> dict:
    """A fresh copy of any TOML settings file (raises ConfigError naming it)."""
    return copy.deepcopy(_read(str(path)))


def missing_settings(config: dict, defaults: dict) -> list[str]:
    """Settings (``section.key``) the packaged config has and ``config`` lacks.

    Two levels only: below a setting, tables are data (word lists, tag maps)
    that a config may shorten.
    """
    missing = []
    for section, settings in defaults.items():
        if section not in config:
            missing.append(section)
        elif isinstance(settings, dict) and isinstance(config[section], dict):
            missing.extend(f"{section}.{key}" for key in settings if key not in config[section])
    return missing


def load_config(path: str | Path | None = None) -> dict:
    """Return a fresh copy of the config (callers may change it freely).

    A config given by ``path`` replaces the packaged one, so it must hold every
    setting the packaged one does: a copy made before a setting was added is
    refused with the names of the missing settings (ConfigError), not a
    KeyError in the middle of a run.
    """
    config = load_toml(path or DEFAULT_CONFIG_PATH)
    if path is not None and Path(path).resolve() != DEFAULT_CONFIG_PATH.resolve():
        missing = missing_settings(config, _read(str(DEFAULT_CONFIG_PATH)))
        if missing:
            raise ConfigError(path, f"missing setting(s) {', '.join(missing)}; copy them from {DEFAULT_CONFIG_PATH}")
    return config
