"""medallion.scaffold without Spark: names, folders, the files written and their style.

The generated project's own tests run in ``tests/spark/test_scaffold.py``. (This file has
another name: test modules are imported by their base name, and two alike would clash.)
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from medallion import __version__
from medallion.errors import MedallionError
from medallion.scaffold import ScaffoldError, create_project, package_name

FILES = [
    ".gitignore",
    "README.md",
    "data/landing/orders/2026-11-01.csv",
    "data/landing/orders/2026-11-02.csv",
    "data/landing/orders/2026-11-03.csv",
    "pyproject.toml",
    "src/shop_orders/__init__.py",
    "src/shop_orders/pipeline.py",
    "tests/test_pipeline.py",
]


def _files(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("name", "package"),
    [("demo", "demo"), ("my-shop", "my_shop"), ("Shop.Orders_v2", "shop_orders_v2")],
)
def test_package_names(name: str, package: str) -> None:
    assert package_name(name) == package


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("2fast", "starting with a letter"),
        ("my shop", "starting with a letter"),
        ("shop-", "ending with a letter or digit"),
        ("../shop", "not a path"),
        ("a/b", "not a path"),
        ("", "starting with a letter"),
        ("class", "not a Python identifier"),
        ("json", "would hide the module"),
        ("medallion", "would hide the module"),
        ("Tests", "would hide the module"),
    ],
)
def test_unusable_names_are_refused(name: str, why: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=why):
        create_project(name, tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_project_files_are_rendered(tmp_path: Path) -> None:
    project = create_project("shop-orders", tmp_path / "new" / "parent")
    assert project == tmp_path / "new" / "parent" / "shop-orders"
    assert _files(project) == FILES
    for name in FILES:
        text = (project / name).read_text(encoding="utf-8")
        assert "{{" not in text and "}}" not in text, name
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"medallion-lakehouse[testing]>={__version__}"' in pyproject
    assert 'pipeline = "shop_orders.pipeline:pipeline"' in pyproject
    assert 'packages = ["src/shop_orders"]' in pyproject
    assert 'name = "shop-orders"' in pyproject
    assert "from shop_orders.pipeline import" in (project / "tests/test_pipeline.py").read_text()
    # The sample data: a header and a few dozen orders, one of them with a bad quantity.
    lines = [
        line
        for csv in sorted((project / "data/landing/orders").glob("*.csv"))
        for line in csv.read_text(encoding="utf-8").splitlines()[1:]
    ]
    assert len(lines) == 30
    assert [line.split(",")[0] for line in lines if int(line.split(",")[3]) <= 0] == ["o1019"]


def test_an_existing_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "shop-orders").mkdir()  # empty: fine
    project = create_project("shop-orders", tmp_path)
    (project / "src/shop_orders/pipeline.py").write_text("# mine\n")
    (project / "notes.txt").write_text("keep me\n")

    with pytest.raises(ScaffoldError, match="exists and is not empty") as info:
        create_project("shop-orders", tmp_path)
    assert isinstance(info.value, MedallionError) and isinstance(info.value, ValueError)
    assert (project / "src/shop_orders/pipeline.py").read_text() == "# mine\n"

    create_project("shop-orders", tmp_path, force=True)
    assert "Pipeline(" in (project / "src/shop_orders/pipeline.py").read_text()
    assert (project / "notes.txt").read_text() == "keep me\n"

    (tmp_path / "a-file").write_text("")
    with pytest.raises(ScaffoldError, match="not a folder"):
        create_project("a-file", tmp_path, force=True)


def test_the_generated_code_is_lint_clean(tmp_path: Path) -> None:
    project = create_project("shop-orders", tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--line-length=100",
            "--select=E,F,I,B,UP,D,SIM,RUF",
            "--ignore=D105,D107",
            "--config=lint.pydocstyle.convention='google'",
            "--config=lint.per-file-ignores={'tests/**' = ['D']}",
            ".",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_pipeline_plans_without_spark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = create_project("shop-orders", tmp_path)
    monkeypatch.syspath_prepend(str(project / "src"))
    module = importlib.import_module("shop_orders.pipeline")
    try:
        plan = module.pipeline.dry_run(str(tmp_path / "lakehouse"))
        assert plan.ok
        assert [planned.step.name for planned in plan.steps] == [
            "ingest_orders",
            "clean_orders",
            "revenue_per_day",
        ]
        assert module.ORDERS.primary_keys == ("order_id",)
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "shop_orders"]:
            del sys.modules[name]
