"""Secrets stay out of text: Secret, KafkaSource's credentials and the CLI's --conf settings."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from attrs.exceptions import FrozenInstanceError
from pyspark import cloudpickle

import medallion
from medallion.cli import EXIT_USAGE
from medallion.errors import StreamDefinitionError
from medallion.secrets import SECRET_NAMES, Secret, names_secret, redact
from medallion.streaming.kafka import KafkaSource

TEXT = "hunter2-Zq9"


def test_secret_shows_as_stars_in_every_text() -> None:
    secret = Secret(TEXT)
    assert repr(secret) == "Secret('****')"
    assert str(secret) == "****"
    assert f"{secret}" == "****" and f"{secret!r}" == "Secret('****')"
    assert f"[{secret:>6}]" == "[  ****]"
    assert "%s %r" % (secret, secret) == "**** Secret('****')"  # noqa: UP031
    assert "{}".format(secret) == "****"  # noqa: UP032
    assert repr([secret, {"k": secret}]) == "[Secret('****'), {'k': Secret('****')}]"
    with pytest.raises(TypeError):
        json.dumps({"password": secret})
    assert secret.reveal() == TEXT


def test_secret_in_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("medallion.test_secrets")
    with caplog.at_level(logging.INFO, logger=log.name):
        log.info("connecting with %s", Secret(TEXT))
        log.info("connecting with %r", Secret(TEXT))
        log.info("options %s", {"kafka.sasl.jaas.config": Secret(TEXT)})
        log.info("source %s", KafkaSource("b:9092", "t", sasl_mechanism="PLAIN",
                                          username="u", password=TEXT))  # fmt: skip
    assert [r.getMessage() for r in caplog.records][:3] == [
        "connecting with ****",
        "connecting with Secret('****')",
        "options {'kafka.sasl.jaas.config': Secret('****')}",
    ]
    assert TEXT not in caplog.text


def test_secret_is_frozen_and_compared_by_value() -> None:
    secret = Secret(TEXT)
    assert secret == Secret(TEXT) and secret != Secret("other")
    assert secret != TEXT and TEXT != secret  # noqa: SIM300 (both ways: never its text)
    assert Secret(secret) == secret  # a Secret of a Secret takes its text
    assert hash(secret) == hash(Secret(TEXT)) and {secret: 1}[Secret(TEXT)] == 1
    with pytest.raises(FrozenInstanceError):
        secret._value = "changed"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del secret._value
    assert not hasattr(secret, "__dict__")
    assert copy.copy(secret) is secret and copy.deepcopy({"p": secret})["p"] is secret
    with pytest.raises(TypeError, match="holds a string, not a bytes"):
        Secret(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="holds a string, not a NoneType"):
        Secret(None)  # type: ignore[arg-type]


@attrs.frozen
class _Login:
    user: str
    password: Secret
    extra: dict[str, Secret]


def test_attrs_asdict_and_astuple_keep_the_secret_object() -> None:
    login = _Login("app", Secret(TEXT), {"token": Secret(TEXT)})
    as_dict = attrs.asdict(login)
    assert as_dict == {"user": "app", "password": Secret(TEXT), "extra": {"token": Secret(TEXT)}}
    assert isinstance(as_dict["password"], Secret)
    assert TEXT not in repr(as_dict) and TEXT not in str(attrs.astuple(login))
    assert TEXT not in repr(attrs.asdict(login, recurse=False))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_refuses(protocol: int) -> None:
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        pickle.dumps(Secret(TEXT), protocol=protocol)
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        pickle.dumps({"nested": [Secret(TEXT)]}, protocol=protocol)


def test_spark_closures_holding_a_secret_refuse_to_pickle() -> None:
    # What Spark does with a UDF's closure before sending it to its executors.
    secret = Secret(TEXT)
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        cloudpickle.dumps(lambda value: f"{value}:{secret.reveal()}")
    revealed = secret.reveal()  # revealed on purpose: the closure holds the text, as written
    assert cloudpickle.loads(cloudpickle.dumps(lambda value: value + revealed))("x") == "x" + TEXT


def test_names_secret_covers_spark_s_default_and_more() -> None:
    secret_names = [
        "spark.hadoop.fs.s3a.secret.key",
        "spark.hadoop.fs.s3a.access.key",
        "spark.hadoop.fs.s3a.session.token",
        "spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net",
        "spark.hadoop.fs.azure.account.oauth2.client.secret",
        "spark.hadoop.fs.gs.auth.service.account.private.key",
        "spark.hadoop.fs.s3a.encryption.key",
        "spark.authenticate.secret",
        "spark.ssl.keyStorePassword",
        "kafka.sasl.jaas.config",
        "kafka.ssl.truststore.password",
        "kafka.ssl.keystore.key",
        "credentials",
        "db.passwd",
        "API_KEY",
    ]
    assert [n for n in secret_names if not names_secret(n)] == []
    plain = ["spark.master", "kafka.bootstrap.servers", "kafka.key.deserializer", "primary_keys",
             "spark.sql.shuffle.partitions", "startingOffsets"]  # fmt: skip
    assert [n for n in plain if names_secret(n)] == []
    # A superset of Spark 4.1's default spark.redaction.regex, kept verbatim at its start.
    assert SECRET_NAMES.startswith("(?i)secret|password|")
    assert "token|access[.]?key" in SECRET_NAMES


def test_redact_hides_every_occurrence() -> None:
    text = f"a={TEXT}, b={TEXT}x, c=hunter"
    assert redact(text, [Secret(TEXT), "", "hunter"]) == "a=****, b=****x, c=****"
    assert redact(text, []) == text


def _source(**changes: object) -> KafkaSource:
    arguments: dict[str, object] = {
        "bootstrap_servers": "b1:9092",
        "topics": "orders",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "username": "svc",
        "password": TEXT,
        "options": {
            "kafka.ssl.truststore.password": TEXT + "-trust",
            "kafka.ssl.keystore.key": Secret(TEXT + "-pem"),
            "kafka.client.id": "ingest",
            "kafka.session.timeout.ms": 30000,
        },
    }
    return KafkaSource(**{**arguments, **changes})  # type: ignore[arg-type]


def test_kafka_source_keeps_its_secrets_out_of_repr_asdict_and_pickles() -> None:
    source = _source()
    assert source.password == Secret(TEXT)
    assert source.options["kafka.ssl.truststore.password"] == Secret(TEXT + "-trust")
    shown = repr(source)
    assert TEXT not in shown and TEXT not in str(source)
    assert "password=Secret('****')" in shown and "'kafka.client.id': 'ingest'" in shown
    as_dict = attrs.asdict(source)
    assert TEXT not in repr(as_dict) and TEXT not in repr(attrs.astuple(source))
    assert as_dict["password"] == Secret(TEXT)
    assert as_dict["options"]["kafka.ssl.truststore.password"] == Secret(TEXT + "-trust")
    assert as_dict["options"]["kafka.session.timeout.ms"] == "30000"
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        pickle.dumps(source)
    # Without credentials, a source pickles as before.
    plain = KafkaSource("b1:9092", "orders")
    assert pickle.loads(pickle.dumps(plain)) == plain
    assert attrs.evolve(source, topics="refunds").password == Secret(TEXT)


def test_kafka_source_reveals_its_secrets_only_to_spark() -> None:
    options = _source(password='p"w\\d' + TEXT).spark_options()
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="svc" password="p\\"w\\\\d{TEXT}";'
    )
    assert options["kafka.ssl.truststore.password"] == TEXT + "-trust"
    assert options["kafka.ssl.keystore.key"] == TEXT + "-pem"
    assert options["kafka.session.timeout.ms"] == "30000"
    assert all(isinstance(v, str) for v in options.values())  # what the JVM is given


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": None}, "needs both a username and a password"),
        ({"sasl_mechanism": None}, "need sasl_mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
        ({"sasl_mechanism": "OAUTHBEARER"}, "pass kafka.sasl.jaas.config in options"),
        (
            {"options": {"kafka.ssl.truststore.password": TEXT.encode()}},
            "option 'kafka.ssl.truststore.password' must be a string or a Secret, not bytes",
        ),
        ({"options": {"kafka.client.id": [TEXT]}}, "'kafka.client.id' must be a string"),
    ],
)
def test_kafka_source_errors_never_quote_a_secret(changes: dict[str, object], message: str) -> None:
    with pytest.raises(StreamDefinitionError) as raised:
        _source(**changes)
    assert message in str(raised.value)
    assert TEXT not in str(raised.value) and TEXT not in repr(raised.value)


def test_secret_is_exported() -> None:
    assert medallion.Secret is Secret
    assert "Secret" in medallion.__all__


def _medallion(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed ``medallion`` command, in its own process."""
    script = Path(sys.executable).with_name("medallion")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "medallion.cli"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120)


#: A command that reads --conf before Spark starts (its missing parameter given).
RUN = ("run", "examples.ecommerce.pipeline", "--param", "landing=landing")


def test_an_argument_the_command_does_not_take_is_refused_without_its_secret() -> None:
    # The read-only commands take no Spark settings: argparse's message quotes the argument.
    secret = f"spark.hadoop.fs.s3a.secret.key={TEXT}"
    done = _medallion("history", "silver.orders", "--conf", secret)
    assert done.returncode == EXIT_USAGE
    assert "unrecognized arguments: --conf spark.hadoop.fs.s3a.secret.key=****" in done.stderr
    assert TEXT not in done.stdout and TEXT not in done.stderr


@pytest.mark.parametrize(
    ("conf", "shown"),
    [
        (f"spark.hadoop.fs.s3a.secret.key:{TEXT}", "'spark.hadoop.fs.s3a.secret.key:****'"),
        (f"spark.hadoop.fs.s3a.secret.key {TEXT}", "'spark.hadoop.fs.s3a.secret.key ****'"),
        (f"kafka.sasl.jaas.config:{TEXT}", "'kafka.sasl.jaas.config:****'"),
        (f"={TEXT}-password", "'=****'"),
        (f"{TEXT}-token", "'****' (not shown: it names a secret)"),
    ],
)
def test_cli_never_echoes_a_malformed_secret_conf(conf: str, shown: str) -> None:
    done = _medallion(*RUN, "--conf", conf)
    assert done.returncode == EXIT_USAGE == 2
    assert TEXT not in done.stdout and TEXT not in done.stderr
    assert done.stderr == f"medallion: error: --conf {shown} is not KEY=VALUE\n"


def test_cli_echoes_a_malformed_plain_conf() -> None:
    done = _medallion(*RUN, "--conf", "spark.master:local")
    assert done.returncode == EXIT_USAGE
    assert "--conf 'spark.master:local' is not KEY=VALUE" in done.stderr


def test_cli_errors_never_quote_a_secret_conf_value() -> None:
    # The table argument happens to be the secret: the usage error quoting it is redacted.
    done = _medallion(
        "history", TEXT, "--storage-option", f"aws_secret_access_key={TEXT}", "--verbose"
    )
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("medallion: error: table '****': give LAYER.NAME")
    assert TEXT not in done.stdout and TEXT not in done.stderr
