"""Serve plotly.js from the installed plotly package, not from a CDN.

`collectstatic` copies it into STATIC_ROOT like any other file, so whitenoise
serves a compressed, fingerprinted copy whose version always matches the
plotly.py that builds the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "vendor/plotly.min.js"


def _package_data() -> Path:
    return Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(_package_data()))

    def check(self, **kwargs: Any) -> list:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path != PLOTLY_JS:
            # An empty list, not None: staticfiles.finders.find() wraps a
            # None into [None] and would hand that on as a match.
            return []
        match = str(_package_data() / "plotly.min.js")
        return [match] if find_all else match

    def list(self, ignore_patterns: Any) -> Any:
        storage = FileSystemStorage(location=str(_package_data()))
        storage.prefix = "vendor"  # collected as vendor/plotly.min.js
        yield "plotly.min.js", storage
