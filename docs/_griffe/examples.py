"""A griffe extension for the API reference: read ``Example:`` as the Google ``Examples:`` section.

medallion's docstrings head their doctests ``Example:`` (singular), which griffe's Google
parser does not know as a section, so the doctest lines would be rendered as Markdown text. This
renames the heading while the docstring is loaded; nothing is imported, and ``src/`` is
unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:``."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the heading in one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the heading in a top-level package's docstring."""
        self.on_object(obj=pkg)
