"""Secrets on a real Spark: Spark redacts the settings medallion treats as secret, and Kafka's
own JAAS parser reads back the credentials KafkaSource quotes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from medallion.secrets import SECRET_NAMES
from medallion.streaming.kafka import KafkaSource

TEXT = "hunter2-Zq9"
REDACTED = "*********(redacted)"  # Spark's own replacement text
SETTINGS = [
    "spark.hadoop.fs.s3a.secret.key",  # Spark's default pattern covers it ("secret")
    "spark.hadoop.fs.s3a.access.key",  # and this ("access.key")
    "spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net",  # only medallion's pattern
    "spark.hadoop.fs.gs.auth.service.account.private.key",  # only medallion's pattern
]


@pytest.fixture
def secret_settings(spark: SparkSession) -> Iterator[list[str]]:
    for key in SETTINGS:
        spark.conf.set(key, TEXT)
    yield SETTINGS
    for key in SETTINGS:
        spark.conf.unset(key)


def test_spark_redacts_the_settings_medallion_treats_as_secret(
    spark: SparkSession, secret_settings: list[str]
) -> None:
    assert spark.conf.get("spark.redaction.regex") == SECRET_NAMES  # set by spark_session()
    spark_default = "(?i)secret|password|token|access[.]?key"  # Spark 4.1's own default
    assert not re.search(spark_default, SETTINGS[2]) and not re.search(spark_default, SETTINGS[3])
    shown = {row.key: row.value for row in spark.sql("SET").collect()}
    assert {key: shown[key] for key in secret_settings} == dict.fromkeys(secret_settings, REDACTED)
    assert TEXT not in str(shown)
    for key in secret_settings:
        assert spark.sql(f"SET {key}").first() == (key, REDACTED)
    assert spark.conf.get(SETTINGS[0]) == TEXT  # redacted when shown, not when used


def test_kafka_parses_the_quoted_credentials_back(spark: SparkSession) -> None:
    password = f'a "quoted" \\ back\\slash; {TEXT}'
    source = KafkaSource(
        "127.0.0.1:9092", "t", sasl_mechanism="SCRAM-SHA-256", username='s"v', password=password
    )
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    configs = jvm.java.util.HashMap()
    jaas = source.spark_options()["kafka.sasl.jaas.config"]
    configs.put("sasl.jaas.config", jvm.org.apache.kafka.common.config.types.Password(jaas))
    context = jvm.org.apache.kafka.common.security.JaasContext.loadClientContext(configs)
    entry = context.configurationEntries().get(0)
    assert entry.getLoginModuleName() == "org.apache.kafka.common.security.scram.ScramLoginModule"
    assert entry.getOptions().get("password") == password
    assert entry.getOptions().get("username") == 's"v'


def test_explain_redacts_the_kafka_options_of_the_source_but_not_of_its_fallback(
    spark: SparkSession, capsys: pytest.CaptureFixture[str]
) -> None:
    source = KafkaSource(
        "127.0.0.1:9092", "t", sasl_mechanism="PLAIN", username="svc", password=TEXT,
        options={"kafka.ssl.truststore.password": TEXT},
    )  # fmt: skip
    source.read_stream(spark).explain(extended=True)
    shown = capsys.readouterr().out
    relation, fallback = shown.split("~StreamingRelation DataSource(", 1)
    assert f"kafka.sasl.jaas.config={REDACTED}" in relation
    assert f"kafka.ssl.truststore.password={REDACTED}" in relation
    assert TEXT not in relation
    # Spark 4.1 prints the v1 relation it keeps as a fallback with the options as given (the
    # streaming guide says so): pinned, so that the guide is corrected when Spark redacts them.
    assert TEXT in fallback
