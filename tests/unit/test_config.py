"""``[tool.medallion]`` in a project's pyproject.toml: discovery, values, precedence, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from medallion.config import ConfigError, ProjectConfig, find_config, load_config

PROJECT = """
[project]
name = "shop"

[tool.medallion]
pipeline = "shop.pipeline:pipeline"
root = "lakehouse"
jars_dir = "jars"
master = "local[2]"
driver_memory = "3g"

[tool.medallion.params]
landing = "data/landing"
days = 7

[tool.medallion.spark]
"spark.sql.shuffle.partitions" = 8
"spark.sql.adaptive.enabled" = false
"""


def project(tmp_path: Path, text: str = PROJECT) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "src" / "shop").mkdir(parents=True)
    return tmp_path


def test_the_nearest_project_file_with_the_table_is_read_from_a_subfolder(tmp_path: Path) -> None:
    folder = project(tmp_path)
    config = load_config(folder / "src" / "shop")
    assert config == ProjectConfig(
        path=folder / "pyproject.toml",
        pipeline="shop.pipeline:pipeline",
        root=str(folder / "lakehouse"),  # relative to the file, wherever the command runs
        jars_dir=str(folder / "jars"),
        master="local[2]",
        driver_memory="3g",
        params={"landing": "data/landing", "days": "7"},
        spark={"spark.sql.shuffle.partitions": "8", "spark.sql.adaptive.enabled": "false"},
    )


def test_a_project_file_without_the_table_is_passed_over(tmp_path: Path) -> None:
    outer = project(tmp_path)
    inner = outer / "sub"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert find_config(inner) == outer / "pyproject.toml"
    assert load_config(tmp_path / "src").path == outer / "pyproject.toml"


def test_no_project_file_means_nothing_set(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None  # (no pyproject.toml above the temporary folder)
    assert load_config(tmp_path) == ProjectConfig()


def test_a_uri_root_is_kept_as_it_is(tmp_path: Path) -> None:
    folder = project(tmp_path, '[tool.medallion]\nroot = "s3a://bucket/lake"\n')
    assert load_config(folder).root == "s3a://bucket/lake"


def test_flag_over_environment_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(project(tmp_path))
    monkeypatch.delenv("MEDALLION_ROOT", raising=False)
    assert config.setting("root", None, "MEDALLION_ROOT") == str(tmp_path / "lakehouse")
    monkeypatch.setenv("MEDALLION_ROOT", "/from/env")
    assert config.setting("root", None, "MEDALLION_ROOT") == "/from/env"
    assert config.setting("root", "/from/flag", "MEDALLION_ROOT") == "/from/flag"
    assert ProjectConfig().setting("master", None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.medallion]\npipline = "x"\n', "key 'pipline' in [tool.medallion] (did you mean 'pipeline'?)"),  # noqa: E501
        ("[tool.medallion]\nroot = 3\n", "[tool.medallion] root must be a string"),
        ('[tool.medallion]\nparams = "x"\n', "[tool.medallion.params] must be a table of settings"),
        ("[tool.medallion]\nroot = \n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_table_is_an_error_naming_the_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'pyproject.toml'}: ")
    assert message in str(caught.value)
