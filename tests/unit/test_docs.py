"""The documentation site: it builds without warnings, and its runnable examples pass.

A ```python block right after a line ``<!-- run -->`` in ``docs/`` is executed; the blocks of
one page run in order in one namespace. They must need no JVM: these are unit tests, so the
test also checks that no SparkContext was started.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_MARKER = re.compile(r"^<!-- run -->[ \t]*$", re.M)
_RUNNABLE = re.compile(r"^<!-- run -->[ \t]*\n```python[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def runnable_blocks(page: Path) -> list[tuple[int, str]]:
    """The ``(line, code)`` of each block of a page marked to run."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in _RUNNABLE.finditer(text)
    ]


PAGES = sorted(p for p in DOCS.rglob("*.md") if runnable_blocks(p))


def test_runnable_blocks_are_found() -> None:
    # The convention is in use, and a marked block is never silently skipped: every
    # ``<!-- run -->`` marker is followed by a python fence the pattern above recognises.
    assert len(PAGES) >= 5
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert len(_MARKER.findall(text)) == len(runnable_blocks(page)), page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_runnable_blocks_pass(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))  # the walkthrough imports examples.ecommerce
    from pyspark import SparkContext

    # In a full run the shared session may already be up; a block must not start one.
    before = SparkContext._active_spark_context
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, code in runnable_blocks(page):
        filename = f"{page.relative_to(ROOT)}:{line}"
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, filename, "exec"), namespace)

    assert SparkContext._active_spark_context is before, f"{page.name} started Spark"


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "api" / "quality" / "index.html").is_file()
