"""The code blocks of the documentation pages, and the markers that say which ones run.

Every ```python block in ``docs/`` and in ``README.md`` has a marker on the line above it:

- ``<!-- run -->``: needs no JVM; ``tests/unit/test_docs.py`` runs it (and the Spark test too,
  when its page has Spark blocks).
- ``<!-- run: spark -->``: needs the Spark session (and, for Kafka, the test broker);
  ``tests/spark/test_docs_examples.py`` runs it.
- ``<!-- run: pytest -->``: a user's test file; ``tests/spark/test_testing_plugin.py`` runs it
  with pytest, in a project of its own.
- ``<!-- not run: why -->``: cannot run here, with the reason (a real cluster, object storage).
"""

from __future__ import annotations

import linecache
import re
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!-- (run|run: spark|run: pytest|not run: [^>]*\S) -->[ \t]*")
_KINDS = {"run": "pure", "run: spark": "spark", "run: pytest": "pytest"}


def python_blocks(page: Path) -> list[tuple[int, str | None, str]]:
    """The ``(line, kind, code)`` of every python block of a page.

    ``kind`` is ``"pure"``, ``"spark"``, ``"pytest"``, ``"not run"`` or ``None`` when the block
    has no marker.
    """
    text = page.read_text(encoding="utf-8")
    blocks: list[tuple[int, str | None, str]] = []
    for match in _BLOCK.finditer(text):
        previous_line = text[: match.start()].removesuffix("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.fullmatch(previous_line)
        kind: str | None = None
        if marker:
            kind = _KINDS.get(marker.group(1), "not run")
        blocks.append((text.count("\n", 0, match.start(1)) + 1, kind, match.group(1)))
    return blocks


def runnable_blocks(page: Path, *, spark: bool) -> list[tuple[int, str]]:
    """The ``(line, code)`` of the blocks to run: the pure ones, and the Spark ones if asked."""
    kinds = {"pure", "spark"} if spark else {"pure"}
    return [(line, code) for line, kind, code in python_blocks(page) if kind in kinds]


def pages() -> list[Path]:
    """Every markdown page of the docs, and the README (its examples are docs too)."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def pytest_files() -> list[tuple[Path, int, str]]:
    """The ``(page, line, code)`` of every block marked as a test file."""
    return [
        (page, line, code)
        for page in pages()
        for line, kind, code in python_blocks(page)
        if kind == "pytest"
    ]


def compiled(page: Path, line: int, code: str) -> types.CodeType:
    """A block compiled under the name ``<page>:<line>``, with its source registered so that a
    failing line shows in the traceback."""
    filename = f"{page.relative_to(ROOT)}:{line}"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    return compile(code, filename, "exec")
