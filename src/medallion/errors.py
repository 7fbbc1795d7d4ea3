"""The errors and warnings medallion raises.

Every error derives from :class:`MedallionError`, so ``except MedallionError`` catches all of
them. Where the meaning of a builtin exception fits, the error subclasses it too (a bad table
definition is also a :class:`ValueError`), so code written against the builtins keeps working.
Messages name the table, column, rule or step concerned.

Example:
    >>> from medallion.errors import MedallionError, TableDefinitionError
    >>> issubclass(TableDefinitionError, ValueError)
    True
    >>> try:
    ...     raise TableDefinitionError("table 'orders': primary key 'id' is not a column")
    ... except MedallionError as exc:
    ...     print(exc)
    table 'orders': primary key 'id' is not a column
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConcurrentWriteError",
    "CycleError",
    "DeltaNotConfiguredError",
    "DeltaOperationError",
    "DuplicateKeyError",
    "ExpectationError",
    "IngestError",
    "JarResolutionError",
    "LakehouseBusyError",
    "MedallionError",
    "MedallionWarning",
    "MissingParamsError",
    "PipelineDefinitionError",
    "PipelineError",
    "QualityFailedError",
    "QueryFailedError",
    "RuleDefinitionError",
    "RunCancelledError",
    "RunNotFoundError",
    "SchemaError",
    "SchemaEvolutionError",
    "SessionError",
    "StepFailedError",
    "StreamDefinitionError",
    "TableDefinitionError",
    "TableNotFoundError",
    "UnaddressableRootError",
    "UnknownStepError",
    "UnsupportedOnConnectError",
]


class MedallionError(Exception):
    """The root of every error medallion raises.

    Example:
        >>> from medallion import Table
        >>> try:
        ...     Table("orders", "silver", schema="id STRING")
        ... except MedallionError as exc:
        ...     print(type(exc).__name__)
        TableDefinitionError
    """


class MedallionWarning(UserWarning):
    """The root of every warning medallion emits.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("error", MedallionWarning)
        ...     try:
        ...         warnings.warn("rule 'positive' was skipped", MedallionWarning)
        ...     except MedallionWarning as warning:
        ...         print(warning)
        rule 'positive' was skipped
    """


class TableDefinitionError(MedallionError, ValueError):
    """A :class:`~medallion.Table` was declared with invalid fields.

    Example:
        >>> from medallion import Table
        >>> try:
        ...     Table("orders", "silver", schema="id STRING")
        ... except TableDefinitionError as exc:
        ...     print(exc)
        table 'orders': a silver table needs primary_keys (they are its MERGE keys)
    """


class UnaddressableRootError(TableDefinitionError):
    """A lakehouse root that Spark cannot read or write through: it has a character it loses.

    Every table location derives from the root, so it is refused before anything is written.

    Attributes:
        root: The root.
        character: The first character Spark cannot address.

    Example:
        >>> from medallion._names import check_root
        >>> try:
        ...     check_root("/data/l\u00e9ger", encoding="ascii")  # a JVM in the C locale
        ... except UnaddressableRootError as exc:
        ...     print(exc.root, exc.character)
        /data/léger é
    """

    def __init__(self, message: str, root: str, character: str) -> None:
        super().__init__(message)
        self.root = root
        self.character = character


class RuleDefinitionError(MedallionError, ValueError):
    """A :class:`~medallion.QualityRule` was declared with invalid fields or expression.

    Example:
        >>> from medallion import QualityRule
        >>> try:
        ...     QualityRule("positive_amount", "amount >")
        ... except RuleDefinitionError as exc:
        ...     print(exc)
        rule 'positive_amount': malformed expression 'amount >': it ends with the operator '>'
    """


class SchemaError(MedallionError, ValueError):
    """A schema cannot be parsed, or data does not fit the schema it must have.

    Example:
        >>> from medallion.schema import parse_ddl
        >>> try:
        ...     parse_ddl("id STRNG")
        ... except SchemaError as exc:
        ...     print(exc)
        cannot parse schema 'id STRNG': expected a data type, found 'STRNG'
    """


class SchemaEvolutionError(SchemaError):
    """Data written to a table differs from its schema in a way the table does not allow.

    Attributes:
        changes: Every difference found (:class:`~medallion.schema.SchemaChange`).

    Example:
        >>> from medallion import Table
        >>> from medallion.io import conform
        >>> daily = Table("daily", "gold", schema="day DATE, revenue DOUBLE")
        >>> try:
        ...     conform(spark.createDataFrame([], "day DATE, revenue STRING"), daily)
        ... except SchemaEvolutionError as exc:
        ...     print([str(change) for change in exc.changes])
        ["column 'revenue': string in the data cannot be stored as double without loss"]
    """

    def __init__(self, message: str, changes: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.changes = changes


class ConcurrentWriteError(MedallionError, RuntimeError):
    """A write kept conflicting with concurrent writes to the same table, retries included.

    :class:`~medallion.DeltaOps` raises it once its :class:`~medallion.RetryPolicy` is used
    up; the Delta conflict is chained as ``__cause__``.

    Example:
        >>> try:
        ...     raise ConcurrentWriteError("table 'silver.orders': MERGE still conflicted")
        ... except RuntimeError as exc:
        ...     print(type(exc).__name__, isinstance(exc, MedallionError))
        ConcurrentWriteError True
    """


class DeltaOperationError(MedallionError, ValueError):
    """A Delta operation was asked for something it cannot do (a bad version, a short VACUUM).

    Example:
        >>> from medallion import DeltaOps
        >>> try:
        ...     DeltaOps.of(spark, f"{lakehouse}/orders").vacuum(retention_hours=1)
        ... except DeltaOperationError as exc:
        ...     print(str(exc).split(". ")[-1])
        Pass force=True to do it anyway
    """


class TableNotFoundError(DeltaOperationError, LookupError):
    """A table an operation needs has no Delta table at its location.

    Example:
        >>> from medallion import DeltaOps
        >>> try:
        ...     DeltaOps.of(spark, f"{lakehouse}/nothing").history()
        ... except TableNotFoundError as exc:
        ...     print(str(exc).replace(lakehouse, "<lake>"))
        table '<lake>/nothing': no Delta table at <lake>/nothing
    """


class DuplicateKeyError(DeltaOperationError):
    """Rows of one key tie on everything that orders them, with different values.

    A MERGE keeps the latest row of each key: by the policy's ``sequence_by`` columns, then by
    where the rows came from (medallion's source columns). When two rows of a key still tie
    and differ, nothing says which is the latest, so nothing is written.

    Attributes:
        keys: A few of the keys concerned, as ``{column: value}`` mappings.

    Example:
        >>> error = DuplicateKeyError("table 'silver.orders': 2 keys tie", [{"id": "o1"}])
        >>> isinstance(error, ValueError), error.keys
        (True, [{'id': 'o1'}])
    """

    def __init__(self, message: str, keys: Any = ()) -> None:
        super().__init__(message)
        self.keys = list(keys)


class QualityFailedError(MedallionError):
    """A ``fail`` quality rule failed, or too many rows were quarantined; nothing was written.

    Attributes:
        metrics: The metrics of every rule of the batch.

    Example:
        >>> error = QualityFailedError("table 'silver.orders': quality check failed")
        >>> isinstance(error, MedallionError), error.metrics
        (True, ())
    """

    def __init__(self, message: str, metrics: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.metrics = metrics


class SessionError(MedallionError, RuntimeError):
    """A Spark session could not be built or is not usable by medallion.

    Example:
        >>> issubclass(DeltaNotConfiguredError, SessionError)
        True
        >>> issubclass(SessionError, RuntimeError)
        True
    """


class DeltaNotConfiguredError(SessionError):
    """The Spark session lacks Delta Lake's SQL extension or catalog.

    Example:
        >>> from medallion.session import ensure_delta
        >>> try:
        ...     ensure_delta(spark)  # raises for a session without Delta
        ... except DeltaNotConfiguredError as exc:
        ...     print(exc)
        ... else:
        ...     print("Delta is configured")
        Delta is configured
    """


class UnsupportedOnConnectError(SessionError, NotImplementedError):
    """Something medallion cannot do through a Spark Connect session, named in the message.

    Example:
        >>> issubclass(UnsupportedOnConnectError, NotImplementedError)
        True
    """


class JarResolutionError(SessionError):
    """The JVM jars medallion needs could not be found or fetched.

    Example:
        >>> from medallion.jars import jar_files
        >>> try:
        ...     jar_files("/no/such/jars")
        ... except JarResolutionError as exc:
        ...     print(exc)
        jars folder '/no/such/jars' does not exist
    """


class IngestError(MedallionError):
    """Files could not be ingested into a bronze table.

    Example:
        >>> from medallion import FileSource
        >>> try:
        ...     FileSource("landing/orders", "xml")
        ... except IngestError as exc:
        ...     print(exc)
        unknown file format 'xml'; choose one of json, csv, parquet
    """


class ExpectationError(MedallionError, RuntimeError):
    """Great Expectations did not give the results a suite's expectations call for.

    Example:
        >>> issubclass(ExpectationError, RuntimeError)
        True
    """


class StreamDefinitionError(MedallionError, ValueError):
    """A streaming source or writer was declared with invalid settings (topics, watermark).

    Example:
        >>> from medallion.streaming.kafka import KafkaSource
        >>> try:
        ...     KafkaSource("127.0.0.1:9092", [" "])
        ... except StreamDefinitionError as exc:
        ...     print(exc)
        a KafkaSource needs at least one non-empty topic
    """


class QueryFailedError(MedallionError, RuntimeError):
    """A streaming query stopped with an error.

    Example:
        >>> issubclass(QueryFailedError, RuntimeError)
        True
    """


class PipelineError(MedallionError):
    """The root of the errors of pipeline definition and execution.

    Example:
        >>> from medallion import Pipeline
        >>> try:
        ...     Pipeline("shop").plan("/tmp/lake", ["silver.orders"])
        ... except PipelineError as exc:
        ...     print(type(exc).__name__)
        UnknownStepError
    """


class PipelineDefinitionError(PipelineError, ValueError):
    """A pipeline's steps do not form a valid plan (duplicate outputs, bad inputs).

    Example:
        >>> from medallion import Pipeline, Table
        >>> daily = Table("daily", "gold")
        >>> pipeline = Pipeline("shop")
        >>> first = pipeline.step(daily, name="first")(lambda ctx: None)
        >>> try:
        ...     pipeline.step(daily, name="again")(lambda ctx: None)
        ... except PipelineDefinitionError as exc:
        ...     print("both produce table 'gold.daily'" in str(exc))
        True
    """


class CycleError(PipelineDefinitionError):
    """The steps of a pipeline depend on each other in a cycle.

    Attributes:
        cycle: The tables on the cycle, in order, the first repeated at the end.

    Example:
        >>> from medallion import Pipeline, Table
        >>> a, b = Table("a", "gold"), Table("b", "gold")
        >>> pipeline = Pipeline("loop")
        >>> make_a = pipeline.step(a, inputs=[b], name="make_a")(lambda ctx: None)
        >>> make_b = pipeline.step(b, inputs=[a], name="make_b")(lambda ctx: None)
        >>> try:
        ...     pipeline.plan("/tmp/lake")
        ... except CycleError as exc:
        ...     print(exc.cycle)
        ('gold.a', 'gold.b', 'gold.a')
    """

    def __init__(self, message: str, cycle: tuple[str, ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


class UnknownStepError(PipelineError, KeyError):
    """A selection names a table or step that the pipeline does not have.

    Example:
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("shop")
        >>> daily = pipeline.step(Table("daily", "gold"), name="daily")(lambda ctx: None)
        >>> try:
        ...     pipeline.plan("/tmp/lake", ["weekly"])
        ... except KeyError as exc:
        ...     print(exc)
        no step or table named 'weekly'; known: daily, gold.daily
    """

    def __str__(self) -> str:
        # KeyError's str() quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class MissingParamsError(PipelineError, ValueError):
    """A run was started without run parameters its pipeline declares as required.

    Raised before anything runs (no Spark job, no lease, no run-log row).

    Attributes:
        pipeline: The pipeline's name.
        missing: The names of the missing parameters.

    Example:
        >>> from medallion import Pipeline
        >>> try:
        ...     Pipeline("shop", params=["landing"]).check_params({})
        ... except MissingParamsError as exc:
        ...     print(exc.missing)
        ...     print(str(exc).split(": ")[0])
        ...     print(str(exc).split(": ", 1)[1])  # doctest: +NORMALIZE_WHITESPACE
        ('landing',)
        pipeline 'shop' needs the run parameter 'landing'
        pass params={'landing': ...} to Pipeline.run (on the command line: --param landing=...)
    """

    def __init__(self, pipeline: str, missing: tuple[str, ...]) -> None:
        self.pipeline = pipeline
        self.missing = missing
        names = ", ".join(repr(name) for name in missing)
        python = ", ".join(f"{name!r}: ..." for name in missing)
        flags = " ".join(f"--param {name}=..." for name in missing)
        super().__init__(
            f"pipeline {pipeline!r} needs the run parameter{'s' if len(missing) > 1 else ''} "
            f"{names}: pass params={{{python}}} to Pipeline.run (on the command line: {flags})"
        )


class RunNotFoundError(PipelineError, LookupError):
    """A run id that the lakehouse's run log does not hold.

    Example:
        >>> from medallion.runner.rollback import rollback_run
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("numbers")
        >>> _ = pipeline.step(Table("numbers", "gold"), name="n")(lambda ctx: ctx.spark.range(1))
        >>> _ = pipeline.run(spark, lakehouse, run_id="first")
        >>> try:
        ...     rollback_run(spark, lakehouse, "second")
        ... except RunNotFoundError as exc:
        ...     print(str(exc).replace(lakehouse, "<lake>"))
        run 'second' is not in the run log at <lake>/_medallion/runs
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StepFailedError(PipelineError):
    """A step of a pipeline run failed; its cause is chained as ``__cause__``.

    Attributes:
        step: The name of the step that failed.
        table: The qualified name of the table the step produces.
        result: The run's :class:`~medallion.RunResult`, with the steps that succeeded, failed
            and were skipped.

    Example:
        >>> error = StepFailedError("step 'clean_orders' failed", "clean_orders", "silver.orders")
        >>> error.step, error.table
        ('clean_orders', 'silver.orders')
    """

    def __init__(self, message: str, step: str, table: str, result: Any = None) -> None:
        super().__init__(message)
        self.step = step
        self.table = table
        self.result = result


class LakehouseBusyError(PipelineError, RuntimeError):
    """Another run holds the lakehouse's lease (see :mod:`medallion.runner.lease`).

    Attributes:
        holder: The run holding it (a :class:`~medallion.runner.lease.Holder`).

    Example:
        >>> issubclass(LakehouseBusyError, RuntimeError)
        True
    """

    def __init__(self, message: str, holder: Any = None) -> None:
        super().__init__(message)
        self.holder = holder


class RunCancelledError(PipelineError):
    """A run was stopped by a signal (Ctrl-C, SIGTERM) between steps.

    Attributes:
        signal: The signal's number (2 for SIGINT, 15 for SIGTERM).
        result: The run's :class:`~medallion.RunResult`: steps that ran, and those cancelled.

    Example:
        >>> RunCancelledError("run r1 cancelled", 15).exit_code
        143
    """

    def __init__(self, message: str, signal: int, result: Any = None) -> None:
        super().__init__(message)
        self.signal = signal
        self.result = result

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by the signal: 128 + its number."""
        return 128 + self.signal
