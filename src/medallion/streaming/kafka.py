"""Kafka → Spark Structured Streaming → bronze Delta, exactly once.

:class:`KafkaSource` describes where to read (servers, topics, offsets, security) and keeps
its secrets out of ``repr`` and logs. :func:`stream_to_bronze` starts a query that parses each
message against a bronze table's schema and writes, per micro-batch and as Delta transactions
keyed by the query's name and the batch id:

* the parsed rows to the bronze table, with Kafka's metadata (``_kafka_topic``,
  ``_kafka_partition``, ``_kafka_offset``, ``_kafka_timestamp``, ``_kafka_key``), the ingestion
  metadata and a ``_late`` flag;
* the messages that cannot be parsed (not JSON, a value that does not fit its column's type, a
  null in a NOT NULL column, an empty message) to the layer's dead-letter table
  (``<root>/<layer>/_dead_letters``) with the raw bytes and the reason;
* one run-log row (rows read, written and dead-lettered).

Every message read ends up in exactly one of the two tables, once: the checkpoint records the
offsets of each micro-batch, and a micro-batch replayed after a crash finds its writes already
committed and skips them.

Late data: with ``event_time`` and ``watermark``, the writer keeps a watermark (the latest
event time written, minus the delay; after a restart it starts from the bronze table's latest
event time), and a row whose event time is older than the watermark at the start of its
micro-batch is written with ``_late = true``. Bronze never drops a late row: Spark's own
``withWatermark`` drops late rows only in stateful operators (aggregations, deduplication),
and bronze has none. What late data means (a correction to an earlier day, say) is decided
downstream, with the flag: the silver and gold steps recompute the days late rows belong to.

Example:
    ::

        source = KafkaSource("127.0.0.1:9092", "transactions", starting_offsets="earliest")
        query = stream_to_bronze(
            spark, source, BRONZE_TRANSACTIONS, "lakehouse",
            checkpoint="lakehouse/_checkpoints/transactions",
            event_time="event_time", watermark="10 minutes",
            trigger="5 seconds",
        )
        query.awaitTermination()
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion.columns import KAFKA_COLUMNS
from medallion.delta.ops import DeltaOps
from medallion.errors import StreamDefinitionError
from medallion.ingest.files import _mismatched
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.layers import Layer
from medallion.runner.context import StepContext
from medallion.runner.executor import Batch, RunInfo, Work, execute, utcnow
from medallion.runner.results import RunResult
from medallion.runner.runlog import write_run_log
from medallion.schema import as_string_schema
from medallion.secrets import Secret, names_secret
from medallion.streaming.batches import start_micro_batches
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

__all__ = [
    "DEAD_LETTER_SCHEMA",
    "KAFKA_COLUMNS",
    "BronzeStreamWriter",
    "KafkaSource",
    "Secret",
    "dead_letter_location",
    "kafka_bronze_table",
    "stream_to_bronze",
]

#: The columns of a dead-letter table.
DEAD_LETTER_SCHEMA = T.StructType(
    [
        T.StructField("table", T.StringType(), False),
        T.StructField("topic", T.StringType(), True),
        T.StructField("partition", T.IntegerType(), True),
        T.StructField("offset", T.LongType(), True),
        T.StructField("kafka_timestamp", T.TimestampType(), True),
        T.StructField("key", T.BinaryType(), True),
        T.StructField("value", T.BinaryType(), True),
        T.StructField("reason", T.StringType(), False),
        T.StructField("run_id", T.StringType(), False),
        T.StructField("dead_lettered_at", T.TimestampType(), False),
    ]
)

_CORRUPT = "__corrupt"


def _secret(value: Secret | str | None) -> Secret | None:
    return None if value is None else Secret(value)


def _topics(value: str | Iterable[str]) -> tuple[str, ...]:
    topics = (value,) if isinstance(value, str) else tuple(value)
    if not topics or any(not t.strip() for t in topics):
        raise StreamDefinitionError("a KafkaSource needs at least one non-empty topic")
    return topics


def _options(value: Mapping[str, str | Secret | int | float]) -> Mapping[str, str | Secret]:
    """Extra options as text, every value whose name names a secret wrapped as a Secret."""
    options: dict[str, str | Secret] = {}
    for key, option in value.items():
        if isinstance(option, bool):
            option = str(option).lower()
        elif isinstance(option, (int, float)):
            option = str(option)
        elif not isinstance(option, (str, Secret)):
            # The value is not shown: it may be secret without its name saying so.
            raise StreamDefinitionError(
                f"KafkaSource option {key!r} must be a string or a Secret, "
                f"not {type(option).__name__}"
            )
        options[key] = Secret(option) if names_secret(key) else option
    return options


def _jaas_quoted(value: str) -> str:
    r"""A value quoted for a JAAS configuration (Kafka reads ``\\`` and ``\"`` in quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


@attrs.frozen(repr=False)
class KafkaSource:
    """Where a stream reads from: a Kafka cluster's servers, topics and starting offsets.

    Its credentials are :class:`~medallion.secrets.Secret` values: ``repr``, ``attrs.asdict``
    and error messages never hold their text, and pickling a source that has one raises
    ``TypeError``. Only :meth:`spark_options` reveals them, to hand them to Spark.

    Attributes:
        bootstrap_servers: ``host:port[,host:port...]``.
        topics: A topic or several.
        starting_offsets: ``"earliest"``, ``"latest"`` or Spark's JSON of offsets per
            partition; used only when the query starts without a checkpoint.
        max_offsets_per_trigger: At most this many messages per micro-batch (``None``: all
            available).
        security_protocol: ``SASL_SSL``, ``SSL``, ``SASL_PLAINTEXT`` (``None``: plaintext).
        sasl_mechanism: ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512`` (with ``username``
            and ``password``), or another one configured by ``kafka.sasl.jaas.config`` in
            ``options``.
        username: The SASL user.
        password: The SASL password: a :class:`~medallion.secrets.Secret` (a string is
            wrapped in one).
        options: More ``kafka.*`` or source options (numbers and booleans are turned into
            text); a value whose name names a secret (:func:`~medallion.secrets.names_secret`:
            ``kafka.sasl.jaas.config``, ``kafka.ssl.truststore.password``,
            ``kafka.ssl.keystore.key``, ...) is wrapped in a
            :class:`~medallion.secrets.Secret`; pass a ``Secret`` yourself for any other.
        fail_on_data_loss: Fail when offsets the checkpoint expects are gone (retention), rather
            than skip them silently.

    Raises:
        StreamDefinitionError: No topic; a ``username`` without a ``password`` or the other
            way round, or either without a ``PLAIN`` or ``SCRAM`` ``sasl_mechanism``; an option
            that is not text (its value is not shown).

    Example:
        >>> import attrs
        >>> source = KafkaSource("b1:9092", "orders", security_protocol="SASL_SSL",
        ...                      sasl_mechanism="PLAIN", username="app", password="hunter2",
        ...                      options={"kafka.ssl.truststore.password": "changeit"})
        >>> source  # doctest: +NORMALIZE_WHITESPACE
        KafkaSource(bootstrap_servers='b1:9092', topics=('orders',), starting_offsets='earliest',
            security_protocol='SASL_SSL', sasl_mechanism='PLAIN', username='app',
            password=Secret('****'), options={'kafka.ssl.truststore.password': Secret('****')})
        >>> attrs.asdict(source)["password"], attrs.asdict(source)["options"]
        (Secret('****'), {'kafka.ssl.truststore.password': Secret('****')})
        >>> source.spark_options()["kafka.sasl.jaas.config"]  # for Spark only
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="hunter2";'
    """  # noqa: E501

    bootstrap_servers: str
    topics: tuple[str, ...] = attrs.field(converter=_topics)
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    username: str | None = None
    password: Secret | None = attrs.field(default=None, converter=_secret)
    options: Mapping[str, str | Secret] = attrs.field(factory=dict, converter=_options)
    fail_on_data_loss: bool = True

    def __attrs_post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise StreamDefinitionError(
                "a KafkaSource needs both a username and a password, or neither"
            )
        mechanism = (self.sasl_mechanism or "").upper()
        if self.username is not None and mechanism not in _LOGIN_MODULES:
            raise StreamDefinitionError(
                f"a KafkaSource's username and password need sasl_mechanism PLAIN, "
                f"SCRAM-SHA-256 or SCRAM-SHA-512, not {self.sasl_mechanism!r}; for another "
                "mechanism, pass kafka.sasl.jaas.config in options"
            )

    def __repr__(self) -> str:
        shown = [
            f"bootstrap_servers={self.bootstrap_servers!r}",
            f"topics={self.topics!r}",
            f"starting_offsets={self.starting_offsets!r}",
        ]
        if self.max_offsets_per_trigger is not None:
            shown.append(f"max_offsets_per_trigger={self.max_offsets_per_trigger}")
        for name in ("security_protocol", "sasl_mechanism", "username", "password"):
            if getattr(self, name) is not None:
                shown.append(f"{name}={getattr(self, name)!r}")  # a Secret shows as Secret('****')
        if self.options:
            shown.append(f"options={dict(self.options)!r}")
        if not self.fail_on_data_loss:
            shown.append("fail_on_data_loss=False")
        return f"KafkaSource({', '.join(shown)})"

    def spark_options(self) -> dict[str, str]:
        r"""The options of Spark's Kafka source, secrets revealed: for Spark, never for a log.

        The SASL credentials become ``kafka.sasl.jaas.config``, quoted (a ``"`` or ``\`` in
        the password is escaped).

        Returns:
            ``kafka.bootstrap.servers``, ``subscribe``, ``startingOffsets``, ... .

        Example:
            >>> source = KafkaSource("b1:9092", ["orders", "refunds"], max_offsets_per_trigger=500)
            >>> options = source.spark_options()
            >>> options["subscribe"], options["maxOffsetsPerTrigger"]
            ('orders,refunds', '500')
        """
        options = {
            "kafka.bootstrap.servers": self.bootstrap_servers,
            "subscribe": ",".join(self.topics),
            "startingOffsets": self.starting_offsets,
            "failOnDataLoss": str(self.fail_on_data_loss).lower(),
            "includeHeaders": "false",
        }
        if self.max_offsets_per_trigger is not None:
            options["maxOffsetsPerTrigger"] = str(self.max_offsets_per_trigger)
        if self.security_protocol:
            options["kafka.security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            options["kafka.sasl.mechanism"] = self.sasl_mechanism
        if self.username is not None and self.password is not None:
            module = _LOGIN_MODULES[(self.sasl_mechanism or "").upper()]
            options["kafka.sasl.jaas.config"] = (
                f"{module} required username={_jaas_quoted(self.username)} "
                f"password={_jaas_quoted(self.password.reveal())};"
            )
        for key, value in self.options.items():
            options[key] = value.reveal() if isinstance(value, Secret) else value
        return options

    def read_stream(self, spark: SparkSession) -> DataFrame:
        """The raw stream: ``key``, ``value``, ``topic``, ``partition``, ``offset``, ...

        Args:
            spark: A session with Spark's Kafka connector (``spark_session(kafka=True)``).

        Returns:
            The streaming DataFrame.

        Example:
            >>> stream = KafkaSource("127.0.0.1:9092", "orders").read_stream(spark)
            >>> stream.isStreaming, stream.columns
            (True, ['key', 'value', 'topic', 'partition', 'offset', 'timestamp', 'timestampType'])
        """
        return spark.readStream.format("kafka").options(**self.spark_options()).load()


def dead_letter_location(root: str | os.PathLike[str], layer: Layer | str = Layer.BRONZE) -> str:
    """Where a layer's dead-letter table lives: ``<root>/<layer>/_dead_letters``.

    Args:
        root: The lakehouse root.
        layer: The layer.

    Returns:
        The location.

    Example:
        >>> dead_letter_location("/data/lakehouse")
        '/data/lakehouse/bronze/_dead_letters'
    """
    return Lakehouse.at(root).dead_letters(layer)


def kafka_bronze_table(table: Table) -> Table:
    """The table as stored when fed from Kafka: its columns, then :data:`KAFKA_COLUMNS`.

    Args:
        table: A bronze table with a schema.

    Returns:
        The same table with the Kafka columns added to its schema.

    Raises:
        StreamDefinitionError: The table is not a bronze table with a schema.

    Example:
        >>> from medallion import Table
        >>> orders = Table("orders", "bronze", schema="id STRING")
        >>> kafka_bronze_table(orders).schema.fieldNames()[:4]
        ['id', '_kafka_topic', '_kafka_partition', '_kafka_offset']
    """
    if table.layer is not Layer.BRONZE or table.schema is None:
        raise StreamDefinitionError(
            f"table {table.qualified_name!r}: Kafka ingestion needs a bronze table with a schema"
        )
    names = set(table.schema.fieldNames())
    extra = [f for f in KAFKA_COLUMNS.fields if f.name not in names]
    return attrs.evolve(table, schema=T.StructType([*table.schema.fields, *extra]))


def _parsed(raw: DataFrame, schema: T.StructType) -> DataFrame:
    """Each message's typed columns, and why it cannot be parsed (null when it can).

    One JSON parse per message: typed, with a column that catches what does not parse (not
    JSON, or a value that does not fit its type). Only the messages caught there are parsed a
    second time, as text, to name the columns whose values do not fit.
    """
    text = F.col("value").cast("string")
    options = {
        "mode": "PERMISSIVE",
        "allowSingleQuotes": "false",
        "columnNameOfCorruptRecord": _CORRUPT,
    }
    corrupt = T.StructField(_CORRUPT, T.StringType())
    typed = F.from_json(text, T.StructType([*schema.fields, corrupt]), options)
    strings = F.from_json(text, T.StructType([*as_string_schema(schema).fields, corrupt]), options)
    bad = F.col("__typed").isNull() | F.col("__typed")[_CORRUPT].isNotNull()
    # Separate projections: each parse runs once per message (Spark does not merge a
    # projection into the next one that reads its expensive column twice).
    parsed = raw.withColumn("__typed", typed).withColumn("__strings", F.when(bad, strings))
    not_json = F.col("__strings").isNull() | F.col("__strings")[_CORRUPT].isNotNull()
    mismatched = _mismatched(schema.fields, F.col("__strings"), lambda n: F.col("__typed")[n])
    required = [f.name for f in schema.fields if not f.nullable]
    nulls = F.concat_ws(", ", *[F.when(F.col("__typed")[n].isNull(), F.lit(n)) for n in required])
    reason: Column = (
        F.when(F.col("value").isNull(), F.lit("empty message"))
        .when(~F.trim(text).startswith("{") | (bad & not_json), F.lit("malformed JSON message"))
        .when(
            bad & (mismatched != ""),
            F.concat(F.lit("value does not fit its column type: "), mismatched),
        )
        .when(nulls != "", F.concat(F.lit("null in NOT NULL column(s): "), nulls))
    )
    return parsed.withColumn("__reason", reason).drop("__strings")


@attrs.define(eq=False)
class BronzeStreamWriter:
    """The ``foreachBatch`` function of :func:`stream_to_bronze` (usable on its own).

    Attributes:
        table: The bronze table.
        root: The lakehouse root.
        query_name: Names the Delta transactions; stable across restarts.
        event_time: The column of event time, for the ``_late`` flag.
        watermark: How late an event may be (``"10 minutes"``) before it is flagged.
        log_runs: Append one run-log row per micro-batch.
        batches: ``(batch_id, rows, dead letters)`` of the micro-batches this process wrote.

    Example:
        A micro-batch as Spark's Kafka source gives it, one message of it not JSON:

        >>> from medallion import Table
        >>> orders = Table("orders", "bronze", schema="id STRING, amount DOUBLE")
        >>> writer = BronzeStreamWriter(orders, lakehouse, "orders-from-kafka", log_runs=False)
        >>> batch = spark.createDataFrame(
        ...     [(b'{"id": "o1", "amount": 5.0}', 0), (b"not json", 1)], "value BINARY, offset LONG"
        ... ).selectExpr("CAST(NULL AS BINARY) AS key", "value", "'orders' AS topic",
        ...              "0 AS partition", "offset", "current_timestamp() AS timestamp")
        >>> writer(batch, 0)
        >>> writer.batches
        [(0, 1, 1)]
    """

    table: Table
    root: str
    query_name: str
    event_time: str | None = None
    watermark: str | None = None
    log_runs: bool = True
    batches: list[tuple[int, int, int]] = attrs.field(factory=list, init=False)
    _watermark_at: dt.datetime | None = attrs.field(default=None, init=False)
    _watermark_known: bool = attrs.field(default=False, init=False)

    def _delay(self) -> dt.timedelta:
        assert self.watermark is not None
        number, _, unit = self.watermark.strip().partition(" ")
        unit = unit.strip().lower().rstrip("s") or "second"
        seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit)
        if seconds is None:
            raise StreamDefinitionError(
                f"table {self.table.qualified_name!r}: watermark {self.watermark!r} is not like "
                "'10 minutes'"
            )
        return dt.timedelta(seconds=float(number) * seconds)

    def _current_watermark(self, spark: SparkSession) -> dt.datetime | None:
        """The watermark before this batch: from the rows already in bronze (after a restart)."""
        if not self._watermark_known and self.event_time is not None and self.watermark:
            ops = DeltaOps(spark, self.table.location(self.root))
            if ops.exists():
                latest = ops.read().agg(F.max(self.event_time)).first()
                if latest is not None and latest[0] is not None:
                    self._watermark_at = latest[0] - self._delay()
            self._watermark_known = True
        return self._watermark_at

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Parse, split and write one micro-batch.

        Args:
            batch: The raw Kafka rows of the micro-batch.
            batch_id: Its id (a replay has the same id).
        """
        spark = batch.sparkSession
        run = RunInfo(f"{self.query_name}:{batch_id}", self.query_name, utcnow())
        stored = kafka_bronze_table(self.table)
        assert self.table.schema is not None
        watermark = self._current_watermark(spark)
        parsed = _parsed(batch, self.table.schema).persist()
        counts: list[Row] = []

        def produce(ctx: StepContext) -> DataFrame:
            assert self.table.schema is not None
            late: Column = F.lit(False)
            if self.event_time is not None and watermark is not None:
                late = F.coalesce(
                    F.col("__typed")[self.event_time] < F.lit(watermark), F.lit(False)
                )
            found = parsed.agg(
                F.count(F.lit(1)).alias("read"),
                F.count_if(F.col("__reason").isNotNull()).alias("dead"),
                F.max(F.col("__typed")[self.event_time]).alias("latest")
                if self.event_time
                else F.lit(None).alias("latest"),
            ).first()
            assert found is not None
            counts.append(found)
            if found["dead"]:
                ctx.dead_letter(
                    parsed.where(F.col("__reason").isNotNull()).select(
                        F.lit(self.table.qualified_name).alias("table"),
                        "topic",
                        "partition",
                        "offset",
                        F.col("timestamp").alias("kafka_timestamp"),
                        "key",
                        "value",
                        F.col("__reason").alias("reason"),
                        F.lit(ctx.run_id).alias("run_id"),
                        F.lit(_utc(run.started_at)).cast("timestamp").alias("dead_lettered_at"),
                    )
                )
            return parsed.where(F.col("__reason").isNull()).select(
                *[F.col("__typed")[f.name].alias(f.name) for f in self.table.schema.fields],
                F.col("topic").alias("_kafka_topic"),
                F.col("partition").alias("_kafka_partition"),
                F.col("offset").alias("_kafka_offset"),
                F.col("timestamp").alias("_kafka_timestamp"),
                F.col("key").cast("string").alias("_kafka_key"),
                late.alias("_late"),
                F.lit(_utc(run.started_at)).cast("timestamp").alias("_ingested_at"),
                F.lit(ctx.run_id).alias("_run_id"),
                F.concat(F.lit("kafka:"), F.col("topic"), F.lit("/"), F.col("partition")).alias(
                    "_source_file"
                ),
                F.col("timestamp").alias("_source_modified_at"),
                F.lit(None).cast("string").alias("_rescued_data"),
                F.lit(None).cast("string").alias("_rescue_reason"),
                F.col("offset").alias("_source_position"),
            )

        work = Work(f"{self.query_name} batch {batch_id}", stored, produce)
        marker = Batch(self.query_name, batch_id, target_part="bronze")
        try:
            outcome = execute(Lakehouse(spark, self.root), work, run, batch=marker)
        finally:
            parsed.unpersist()
        if outcome.error is not None:
            raise outcome.error
        found = counts[0]
        read, dead = int(found["read"]), int(found["dead"])
        if self.watermark and found["latest"] is not None:
            candidate = found["latest"] - self._delay()
            if self._watermark_at is None or candidate > self._watermark_at:
                self._watermark_at = candidate
        self.batches.append((batch_id, read - dead, dead))
        if self.log_runs:
            step = attrs.evolve(outcome.run, rows_read=read, rows_dropped=0)
            ended = step.ended_at or utcnow()
            log = RunResult(run.run_id, self.query_name, run.started_at, ended, (step,))
            write_run_log(spark, self.root, log, transaction=marker.transaction("runs"))


def _utc(value: dt.datetime) -> dt.datetime:
    """A naive UTC time made aware, so that Spark does not read it as local time."""
    return value.replace(tzinfo=dt.timezone.utc)


def stream_to_bronze(
    spark: SparkSession,
    source: KafkaSource,
    table: Table,
    root: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    query_name: str | None = None,
    trigger: str | None = "10 seconds",
    available_now: bool = False,
    event_time: str | None = None,
    watermark: str | None = None,
    log_runs: bool = True,
) -> StreamingQuery:
    """Start a query that ingests Kafka messages into a bronze table, exactly once.

    Args:
        spark: A session with Spark's Kafka connector.
        source: The topics.
        table: The bronze table whose schema the messages' JSON values follow.
        root: The lakehouse root.
        checkpoint: The query's checkpoint folder: keep it to continue where it stopped.
        query_name: Names the query and its Delta transactions; defaults to
            ``"<table>-from-kafka"``. Keep it stable across restarts.
        trigger: A processing-time interval (``"10 seconds"``); ignored with
            ``available_now``.
        available_now: Read everything available, in micro-batches, then stop (catch-up);
            the call returns when it has stopped.
        event_time: The column of event time; with ``watermark``, late rows are flagged.
        watermark: How late an event may be, e.g. ``"10 minutes"``.
        log_runs: Append one run-log row per micro-batch.

    Returns:
        The running query.

    Example:
        Started as in the module's example; its arguments are checked first:

        >>> from medallion import Table
        >>> sales = Table("sales", "bronze", schema="id STRING, at TIMESTAMP")
        >>> source = KafkaSource("127.0.0.1:9092", "sales")
        >>> try:
        ...     stream_to_bronze(spark, source, sales, lakehouse,
        ...                      checkpoint=f"{lakehouse}/_checkpoint", watermark="10 minutes")
        ... except StreamDefinitionError as exc:
        ...     print(exc)
        table 'bronze.sales': a watermark needs the event_time column
    """
    name = query_name or f"{table.name}-from-kafka"
    if watermark and not event_time:
        raise StreamDefinitionError(
            f"table {table.qualified_name!r}: a watermark needs the event_time column"
        )
    writer = BronzeStreamWriter(
        table,
        resolve_root(root),
        name,
        event_time=event_time,
        watermark=watermark,
        log_runs=log_runs,
    )
    return start_micro_batches(
        source.read_stream(spark),
        writer,
        query_name=name,
        checkpoint=checkpoint,
        trigger=trigger,
        available_now=available_now,
    )
