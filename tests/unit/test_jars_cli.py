"""Unit tests of medallion.jars and the ``medallion`` command, without a JVM or Maven."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest

from medallion import __version__
from medallion.cli import build_parser, main
from medallion.errors import JarResolutionError, MedallionError, SessionError
from medallion.jars import (
    _artifact,
    _pom,
    compatibility_warnings,
    delta_package,
    fetch_jars,
    jar_files,
    kafka_package,
    spark_jars_dir,
)

POM = "{http://maven.apache.org/POM/4.0.0}"


def installed_spark_major_minor() -> str:
    return ".".join(metadata.version("pyspark").split(".")[:2])


# --- coordinates -------------------------------------------------------------------------


def test_delta_package_for_given_versions() -> None:
    assert delta_package("4.1.4", "4.4.0") == "io.delta:delta-spark_4.1_2.13:4.4.0"
    assert delta_package("4.0.1", "4.0.0") == "io.delta:delta-spark_4.0_2.13:4.0.0"
    assert delta_package("4.1", "4.4.0") == "io.delta:delta-spark_4.1_2.13:4.4.0"


def test_delta_package_defaults_to_the_installed_versions() -> None:
    expected = (
        f"io.delta:delta-spark_{installed_spark_major_minor()}_2.13:"
        f"{metadata.version('delta-spark')}"
    )
    assert delta_package() == expected
    assert delta_package(delta_version="9.9.9") == (
        f"io.delta:delta-spark_{installed_spark_major_minor()}_2.13:9.9.9"
    )
    assert (
        delta_package("4.0.0") == f"io.delta:delta-spark_4.0_2.13:{metadata.version('delta-spark')}"
    )


def test_kafka_package_for_a_given_version() -> None:
    assert kafka_package("4.2.0") == "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"
    # Maven Central has no connector of 4.1.4 (nor 4.0.5): the newest of the line stands in.
    assert kafka_package("4.1.4") == "org.apache.spark:spark-sql-kafka-0-10_2.13:4.1.3"
    assert kafka_package("4.0.5") == "org.apache.spark:spark-sql-kafka-0-10_2.13:4.0.4"


def test_known_problems_of_a_spark_release_are_named() -> None:
    assert compatibility_warnings("4.1.3", kafka=True) == []
    assert compatibility_warnings("4.0.4", kafka=True) == []
    assert compatibility_warnings("4.1.2") == []  # without Kafka the connector's bug is moot
    (bug,) = compatibility_warnings("4.1.2", kafka=True)
    assert "SPARK-55271" in bug and "4.1.3" in bug
    (line,) = compatibility_warnings("3.5.7")
    assert "Spark 3.5.7 is not supported" in line and "4.0, 4.1, 4.2" in line
    (substitute,) = compatibility_warnings("4.1.4", kafka=True)
    assert "uses 4.1.3's" in substitute


def test_kafka_package_defaults_to_the_installed_spark_version() -> None:
    assert kafka_package() == (
        f"org.apache.spark:spark-sql-kafka-0-10_2.13:{metadata.version('pyspark')}"
    )


def test_spark_jars_dir_is_the_folder_of_jars_inside_pyspark() -> None:
    folder = spark_jars_dir()
    assert folder.name == "jars"
    assert folder.parent.name == "pyspark"
    assert folder.is_dir()
    assert any(p.name.startswith("spark-core_2.13-") for p in folder.glob("*.jar"))


# --- jar names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("zstd-jni-1.5.7-3.jar", "zstd-jni"),
        ("delta-spark_4.1_2.13-4.4.0.jar", "delta-spark_4.1_2.13"),
        ("delta-storage-4.4.0.jar", "delta-storage"),
        ("spark-core_2.13-4.1.4.jar", "spark-core_2.13"),
        ("scala-library-2.13.16.jar", "scala-library"),
        ("antlr4-runtime-4.13.1.jar", "antlr4-runtime"),
        ("commons-lang3-3.17.0.jar", "commons-lang3"),
        ("netty-all-4.2.7.Final.jar", "netty-all"),
        ("netty-codec-native-quic-4.2.7.Final-linux-x86_64.jar", "netty-codec-native-quic"),
        ("netty-codec-native-quic-4.2.7.Final-osx-aarch_64.jar", "netty-codec-native-quic"),
        (
            "netty-transport-native-epoll-4.1.118.Final-linux-aarch_64.jar",
            "netty-transport-native-epoll",
        ),
        ("kafka-clients-3.9.0.jar", "kafka-clients"),
        ("unversioned.jar", "unversioned"),
    ],
)
def test_artifact_of_a_jar_file_name(jar: str, artifact: str) -> None:
    assert _artifact(jar) == artifact


def test_artifact_of_an_artifact_id_containing_dash_digit_segments() -> None:
    # The Kafka connector's artifact id is spark-sql-kafka-0-10_2.13, version 4.1.4.
    assert _artifact("spark-sql-kafka-0-10_2.13-4.1.4.jar") == "spark-sql-kafka-0-10_2.13"
    assert _artifact("spark-token-provider-kafka-0-10_2.13-4.1.4.jar") == (
        "spark-token-provider-kafka-0-10_2.13"
    )


# --- the pom -----------------------------------------------------------------------------


def test_pom_lists_each_package_as_a_dependency() -> None:
    pom = ET.fromstring(_pom(["io.delta:delta-spark_4.1_2.13:4.4.0", "g.h:art:1.0-rc1"]))
    dependencies = [
        (
            d.findtext(f"{POM}groupId"),
            d.findtext(f"{POM}artifactId"),
            d.findtext(f"{POM}version"),
        )
        for d in pom.iter(f"{POM}dependency")
    ]
    assert dependencies == [
        ("io.delta", "delta-spark_4.1_2.13", "4.4.0"),
        ("g.h", "art", "1.0-rc1"),
    ]
    assert pom.findtext(f"{POM}packaging") == "pom"


def test_pom_of_no_packages_has_no_dependencies() -> None:
    pom = ET.fromstring(_pom([]))
    assert list(pom.iter(f"{POM}dependency")) == []


@pytest.mark.parametrize(
    "package",
    ["", "io.delta", "io.delta:delta-spark", "a:b:c:d", ":b:1", "a::1", "a:b:", "a:b:c:jar:1"],
)
def test_pom_rejects_malformed_coordinates(package: str) -> None:
    with pytest.raises(JarResolutionError) as info:
        _pom(["io.delta:delta-spark_4.1_2.13:4.4.0", package])
    assert str(info.value) == (
        f"package {package!r} is not Maven coordinates 'group:artifact:version'"
    )


def test_jar_resolution_error_is_a_session_error() -> None:
    assert issubclass(JarResolutionError, SessionError)
    assert issubclass(JarResolutionError, MedallionError)


# --- fetching and listing ----------------------------------------------------------------


def test_fetch_jars_without_maven_says_it_is_not_on_path(tmp_path: Path) -> None:
    dest = tmp_path / "jars"
    with pytest.raises(JarResolutionError) as info:
        fetch_jars(dest, ["io.delta:delta-spark_4.1_2.13:4.4.0"], mvn="definitely-not-mvn")
    assert str(info.value) == (
        "cannot fetch io.delta:delta-spark_4.1_2.13:4.4.0: Maven ('definitely-not-mvn') is not "
        "on PATH; install Maven, or let Spark resolve the packages itself (leave jars_dir unset)"
    )
    assert not dest.exists()


def test_fetch_jars_without_maven_names_the_default_package(tmp_path: Path) -> None:
    with pytest.raises(JarResolutionError, match="PATH") as info:
        fetch_jars(tmp_path, mvn="definitely-not-mvn")
    assert delta_package() in str(info.value)


def test_jar_files_on_a_missing_folder_raises(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(JarResolutionError) as info:
        jar_files(missing)
    assert str(info.value) == f"jars folder {str(missing)!r} does not exist"


def test_jar_files_on_a_file_raises(tmp_path: Path) -> None:
    file = tmp_path / "a.jar"
    file.write_bytes(b"")
    with pytest.raises(JarResolutionError, match="does not exist"):
        jar_files(file)


def test_jar_files_lists_only_jars_sorted_and_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["b-1.0.jar", "a-2.0.jar", "notes.txt", "c.jar.sha1"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nested-1.0.jar").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert jar_files(".") == [
        str((tmp_path / "a-2.0.jar").resolve()),
        str((tmp_path / "b-1.0.jar").resolve()),
    ]


def test_jar_files_of_an_empty_folder_is_empty(tmp_path: Path) -> None:
    assert jar_files(tmp_path) == []


# --- the command -------------------------------------------------------------------------


def test_cli_version_exits_zero_and_prints_the_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"medallion {__version__}\n"


def test_cli_jars_list_prints_both_coordinates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jars", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{delta_package()}\n{kafka_package()}\n"
    assert captured.err == ""


def test_cli_jars_fetch_without_maven_reports_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dest = str(tmp_path / "jars")
    assert main(["jars", "fetch", "--dest", dest, "--mvn", "definitely-not-mvn"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("medallion: error: ")
    assert captured.err == (
        f"medallion: error: cannot fetch {delta_package()}: Maven ('definitely-not-mvn') is not "
        "on PATH; install Maven, or let Spark resolve the packages itself (leave jars_dir unset)\n"
    )


def test_cli_jars_fetch_with_kafka_and_extra_packages_names_them_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["jars", "fetch", "--dest", str(tmp_path), "--mvn", "definitely-not-mvn", "--kafka"]
    argv += ["--package", "g:a:1", "--package", "h:b:2"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"cannot fetch {delta_package()}, {kafka_package()}, g:a:1, h:b:2: " in err


@pytest.mark.parametrize("argv", [[], ["jars"], ["jars", "fetch"], ["nope"]])
def test_cli_bad_usage_exits_two(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: medallion" in capsys.readouterr().err


def test_cli_parser_defaults() -> None:
    args = build_parser().parse_args(["jars", "fetch", "--dest", "out"])
    assert (args.dest, args.kafka, args.package, args.mvn) == ("out", False, None, "mvn")
