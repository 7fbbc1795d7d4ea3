"""A real Apache Kafka broker (a Java process, no Docker, no mock) from medallion.testing.kafka.

The first run fetches Kafka's jars with mvn (about 45 MB); later runs use the cache. No
SparkSession is created here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

import medallion.testing.kafka as kafka_module
from medallion.errors import JarResolutionError
from medallion.testing import KafkaBroker, KafkaBrokerError, kafka_jars

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    with KafkaBroker(num_partitions=2) as running:
        yield running


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: list[Message] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            received.append(message)
    finally:
        consumer.close()
    return received


def test_produce_and_consume_100_keyed_messages(broker: KafkaBroker) -> None:
    host, port = broker.bootstrap_servers.split(":")
    assert host == "127.0.0.1"
    assert int(port) == broker.port
    broker.create_topic("orders", partitions=3)

    delivered: list[tuple[bytes, bytes, int]] = []
    errors: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            errors.append(error)
            return
        key, value = message.key(), message.value()
        assert isinstance(key, bytes) and isinstance(value, bytes)
        delivered.append((key, value, message.partition() or 0))

    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all"})
    expected = {f"key-{i:03d}".encode(): f"value-{i}".encode() for i in range(100)}
    for key, value in expected.items():
        producer.produce("orders", key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []
    assert len(delivered) == 100
    assert {partition for _, _, partition in delivered} == {0, 1, 2}  # keys spread out

    received = consume(broker.bootstrap_servers, "orders", 100)
    got = {message.key(): message.value() for message in received}
    assert len(received) == 100
    assert got == expected


def test_auto_created_topics_get_num_partitions(broker: KafkaBroker) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    producer.produce("auto-created", key=b"k", value=b"v")
    assert producer.flush(30) == 0
    topic = broker.admin().list_topics(topic="auto-created", timeout=10).topics["auto-created"]
    assert len(topic.partitions) == 2


def test_create_existing_topic_fails_clearly(broker: KafkaBroker) -> None:
    broker.create_topic("twice")
    with pytest.raises(KafkaBrokerError, match="could not create topic 'twice'"):
        broker.create_topic("twice")


def test_stop_ends_the_process_frees_the_port_and_removes_the_folder() -> None:
    broker = KafkaBroker()
    with pytest.raises(KafkaBrokerError, match="not running"):
        _ = broker.bootstrap_servers
    broker.stop()  # never started: nothing to do
    began = time.monotonic()
    with broker:
        started = time.monotonic() - began
        pid, port, folder = broker.pid, broker.port, broker.directory
        assert pid is not None and port is not None and folder is not None
        assert (folder / "server.properties").is_file()
        assert "kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        assert os.getpgid(pid) == pid  # its own process group
    assert started < 30, f"the broker took {started:.1f} s to start"
    assert not broker.running and broker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert port_is_free("127.0.0.1", port)
    assert not folder.exists()
    broker.stop()  # idempotent


def test_a_kept_directory_is_reused_with_its_topics(tmp_path: Path) -> None:
    with KafkaBroker(directory=tmp_path / "kafka") as first:
        first.create_topic("kept", partitions=2)
    assert (tmp_path / "kafka" / "data" / "meta.properties").is_file()
    assert (tmp_path / "kafka" / "server.log").stat().st_size > 0
    with KafkaBroker(directory=tmp_path / "kafka") as second:
        topics = second.admin().list_topics(timeout=10).topics
        assert len(topics["kept"].partitions) == 2


def test_a_broker_that_cannot_start_reports_its_log() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = KafkaBroker(port=port, start_timeout=60)
        with pytest.raises(KafkaBrokerError, match="exited with code") as failure:
            broker.start()
    assert "server.log" in str(failure.value) or "kafka.out" in str(failure.value)
    assert "Address already in use" in str(failure.value) or "BindException" in str(failure.value)
    assert not broker.running and broker.directory is None


def test_command_line_start_prints_servers_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [str(REPO / "scripts" / "kafka-broker"), "--dir", str(tmp_path / "cli")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        servers = process.stdout.readline().strip()
        host, port = servers.split(":")
        producer = Producer({"bootstrap.servers": servers})
        producer.produce("cli", value=b"hello")
        assert producer.flush(30) == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert port_is_free(host, int(port))
        assert (tmp_path / "cli" / "server.log").is_file()  # --dir is kept
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_jars_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = kafka_jars()  # fetched by the broker fixture, or now

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("kafka_jars() ran a command although the jars are cached")

    monkeypatch.setattr(subprocess, "run", no_network)
    monkeypatch.setattr(shutil, "which", no_network)
    began = time.monotonic()
    assert kafka_jars() == folder
    assert time.monotonic() - began < 0.5
    assert (folder / "kafka_2.13-4.1.1.jar").is_file()
    assert (folder / "log4j-slf4j-impl-2.24.3.jar").is_file()
    monkeypatch.setenv("MEDALLION_KAFKA_JARS", str(folder))
    assert kafka_jars() == folder


def test_missing_maven_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JarResolutionError, match="Maven"):
        kafka_jars(cache_dir=tmp_path / "jars", mvn="no-such-mvn-here")


def test_fetch_command_prints_the_cached_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert kafka_module.main(["fetch"]) == 0
    assert capsys.readouterr().out.strip() == str(kafka_jars())


def test_the_module_runs_with_python_dash_m() -> None:
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-m", "medallion.testing.kafka", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert completed.returncode == 0, completed.stderr
    assert "start" in completed.stdout and "fetch" in completed.stdout
