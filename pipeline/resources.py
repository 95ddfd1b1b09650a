"""Where the files the package ships (sample report, models) are found.

In a checkout they sit beside the package; a non-editable install puts them
under ``<prefix>/share/vnreport`` (see ``[tool.setuptools.data-files]``).
"""
from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_REPORT = "bac-giang-2020-h1-report.txt"


def _roots() -> list[Path]:
    return [Path(__file__).resolve().parent.parent, Path(sys.prefix) / "share" / "vnreport"]


def shipped_path(*parts: str) -> Path:
    """The first existing shipped file or folder; the checkout's path if none exists."""
    for root in _roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    return _roots()[0].joinpath(*parts)


def sample_report() -> Path:
    return shipped_path("corpus", SAMPLE_REPORT)
