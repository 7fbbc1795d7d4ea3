"""The documentation site: it builds without warnings, and its runnable examples pass.

Every python block says whether it runs (see ``tests/docblocks.py``). The ``<!-- run -->``
blocks of a page are executed here, in order, in one namespace; they must need no JVM: these are
unit tests, so the test also checks that no SparkContext was started. The Spark blocks run in
``tests/spark/test_docs_examples.py``.
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

from tests.docblocks import ROOT, compiled, pages, python_blocks, runnable_blocks

PAGES = [p for p in pages() if runnable_blocks(p, spark=False)]


def test_every_python_block_says_whether_it_runs() -> None:
    # A block without a marker would be silently untested; a "not run" one names its reason.
    unmarked = [
        f"{page.relative_to(ROOT)}:{line}"
        for page in pages()
        for line, kind, _ in python_blocks(page)
        if kind is None
    ]
    assert not unmarked, f"python blocks without a run marker: {unmarked}"
    kinds = [kind for page in pages() for _, kind, _ in python_blocks(page)]
    assert kinds.count("pure") >= 10 and kinds.count("spark") >= 10
    assert kinds.count("pytest") >= 1  # the testing guide's test file
    assert kinds.count("not run") <= 3  # the exceptions stay exceptions


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_runnable_blocks_pass(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths a page writes stay in the test's folder
    monkeypatch.syspath_prepend(str(ROOT))  # the walkthrough imports examples.ecommerce
    from pyspark import SparkContext

    # In a full run the shared session may already be up; a block must not start one.
    before = SparkContext._active_spark_context
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, code in runnable_blocks(page, spark=False):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compiled(page, line, code), namespace)

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
    # Docstrings cross-reference with Sphinx roles; the site shows the names, never the roles.
    role = re.compile(r":(py:)?(class|meth|func|attr|mod|data|exc|obj|const):(`|<code>)")
    raw = {
        page.relative_to(tmp_path).as_posix(): len(role.findall(page.read_text(encoding="utf-8")))
        for page in tmp_path.rglob("*.html")
    }
    assert {page: count for page, count in raw.items() if count} == {}
