"""griffe extensions for the API reference, applied while docstrings are loaded.

- ``ExampleSections``: medallion's docstrings head their doctests ``Example:`` (singular),
  which griffe's Google parser does not know as a section, so the doctest lines would be
  rendered as Markdown text. This renames the heading.
- ``SphinxRoles``: the docstrings name other objects with Sphinx roles
  (``:class:`~medallion.Table```, ``:meth:`DeltaOps.merge```), which Markdown would show raw.
  This turns each into a code span of the name a reader would write (``Table``,
  ``DeltaOps.merge``).

Nothing is imported, and ``src/`` is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
#: ``:role:`target```, ``:role:`~a.b.target``` or ``:role:`text <target>```.
_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`([^`]+)`")


def _code_span(match: re.Match[str]) -> str:
    text = match.group(1).strip()
    if text.endswith(">") and " <" in text:  # `shown text <target>`
        text = text[: text.rindex(" <")]
    elif text.startswith("~"):  # `~a.b.Name`: the last part only
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text}`"


def rewrite_roles(text: str) -> str:
    """Replace every Sphinx cross-reference role in ``text`` with a code span."""
    return _ROLE.sub(_code_span, text)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:``."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the heading in one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the heading in a top-level package's docstring."""
        self.on_object(obj=pkg)


class SphinxRoles(griffe.Extension):
    """Turn Sphinx cross-reference roles into Markdown code spans."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the roles in one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite_roles(obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the roles in a top-level package's docstring."""
        self.on_object(obj=pkg)
