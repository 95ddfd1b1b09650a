"""Where the files the package ships (sample report, models) are found.

Looked up in the current folder (a project checkout), beside the package (an
editable install), then under ``<prefix>/share/vnreport`` where a regular
install puts them (see ``[tool.setuptools.data-files]``).
"""
from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_REPORT = "bac-giang-2020-h1-report.txt"


def _roots() -> list[Path]:
    # The project folder the command runs in comes first, so that in a checkout
    # `vnreport train` writes to and `vnreport annotate` reads ./models, and the
    # corpus commands default to ./corpus/gold; then an editable install's
    # checkout; then the copy a regular install puts under <prefix>/share.
    return [Path.cwd(), Path(__file__).resolve().parent.parent, Path(sys.prefix) / "share" / "vnreport"]


def shipped_path(*parts: str) -> Path:
    """The first existing shipped file or folder; the checkout's path if none exists."""
    for root in _roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    return _roots()[0].joinpath(*parts)


def sample_report() -> Path:
    return shipped_path("corpus", SAMPLE_REPORT)
