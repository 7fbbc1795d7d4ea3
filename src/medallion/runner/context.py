"""``StepContext``: what a running step gets, and what it hands back besides its rows.

A step reads through its context (tables, the changes of its incremental inputs, new files),
checks its rows against its table's rules, and returns a DataFrame. It writes nothing itself:
the runner writes the rows by the table's policy, and the quarantined rows, file ingestion
records and dead letters the context collected, with the run's id. A context belongs to one
step of one run, and it collects as the step goes: it is not a value to share.

Late-arriving references: when the runner gives the context a :class:`Replay` (an incremental
step whose table has ``exists_in`` rules, after a referenced table changed), the first
:meth:`StepContext.check` also checks the table's open replayable quarantined rows again, in
the same pass. Those that pass now are returned with the step's rows; the runner writes them
and then marks their quarantine rows resolved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import functions as F

from medallion.errors import PipelineDefinitionError, PipelineError
from medallion.ingest.files import FileBatch, FileSource, read_new_files
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.quality.engine import QualityResult, evaluate_table
from medallion.quality.quarantine import REPLAY_KEY, replay_rows
from medallion.runner.inputs import Changes
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Check", "Replay", "StepContext", "replay_consumer"]


def _params(value: Mapping[str, object] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in dict(value or {}).items()})


def _tables(value: Iterable[Table]) -> tuple[Table, ...]:
    return tuple(value)


def _changes(value: Mapping[str, Changes] | None) -> Mapping[str, Changes]:
    return MappingProxyType(dict(value or {}))


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _versions(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(value))


def replay_consumer(reference: str, table: Table) -> str:
    """The name under which a table's commits record what its open rows were replayed against.

    It sits with the versions consumed (``medallion_consumed``): the version of the referenced
    table that the table's open quarantined rows were last checked against.

    Args:
        reference: The referenced table's qualified name.
        table: The table whose rules refer to it.

    Returns:
        ``"<reference>-><table>:replay"``.

    Example:
        >>> from medallion import Table
        >>> replay_consumer("silver.customers", Table("orders", "silver", primary_keys="id"))
        'silver.customers->silver.orders:replay'
    """
    return f"{reference}->{table.qualified_name}:replay"


@attrs.frozen
class Replay:
    """What the reference rules of a step read, and whether to replay quarantined rows.

    The runner makes it for an incremental step whose table has ``exists_in`` rules.

    Attributes:
        versions: The version of each referenced table the rules read, by qualified name
            (pinned, so that the step's write records what its rows were checked against).
        due: Whether a referenced table changed since the table's open replayable rows were
            last replayed (or they never were): the first check replays them.

    Example:
        >>> Replay({"silver.customers": 4}, due=True).versions["silver.customers"]
        4
    """

    versions: Mapping[str, int] = attrs.field(converter=_versions)
    due: bool = False


@attrs.frozen
class Check:
    """One evaluation of rules on a step's rows, whose failures the runner quarantines.

    Attributes:
        result: The evaluation.
        source: Where the rows came from, recorded with the quarantined rows.
        key_ignores: Columns left out of the quarantined records' keys.
        resolved: The record keys of the rows replayed from quarantine that passed (one
            column), when the check replayed any: the runner marks them resolved once the
            rows are written.

    Example:
        >>> from medallion import evaluate
        >>> result = evaluate(spark.range(2), [])
        >>> Check(result, "bronze.orders").result.rows_read
        2
    """

    result: QualityResult = attrs.field(eq=False)
    source: str | None = None
    key_ignores: tuple[str, ...] = attrs.field(default=(), converter=_names)
    resolved: DataFrame | None = attrs.field(default=None, eq=False, repr=False)


@attrs.define(eq=False)
class StepContext:
    """What a running step gets: the session, the lakehouse, the run, and its inputs.

    Attributes:
        spark: The SparkSession of the run.
        root: The lakehouse root.
        run_id: The id of the run, recorded on every row and commit it writes.
        started_at: When the run began (UTC, naive).
        table: The table this step produces.
        inputs: The tables the step declared as inputs.
        params: The run's parameters (``Pipeline.run(..., params={...})``): source folders,
            dates, anything a step needs from outside.
        incremental: The changes of the step's incremental inputs, by qualified name (the
            runner reads them before calling the step; see :meth:`changes`).
        replay: What the table's reference rules read, and whether the first :meth:`check`
            replays the table's open replayable quarantined rows (the runner decides).

    Example:
        A step reads its inputs through the context::

            @pipeline.step(silver_orders, inputs=[bronze_orders])
            def clean_orders(ctx: StepContext) -> DataFrame:
                return ctx.read(bronze_orders).where("_rescued_data IS NULL")

        A test can make one by hand:

        >>> import datetime as dt
        >>> from medallion import Table
        >>> orders = Table("orders", "gold")
        >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders,
        ...                   params={"day": 2})
        >>> ctx.run_id, ctx.params["day"]
        ('r1', '2')
    """

    spark: SparkSession
    root: str = attrs.field(converter=resolve_root)
    run_id: str
    started_at: dt.datetime
    table: Table
    inputs: tuple[Table, ...] = attrs.field(default=(), converter=_tables)
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_params)
    incremental: Mapping[str, Changes] = attrs.field(
        factory=dict, converter=_changes, kw_only=True
    )
    replay: Replay | None = attrs.field(default=None, kw_only=True)
    _replayed: bool = attrs.field(default=False, init=False, repr=False)
    _checks: list[Check] = attrs.field(factory=list, init=False, repr=False)
    _files: list[FileBatch] = attrs.field(factory=list, init=False, repr=False)
    _dead_letters: list[DataFrame] = attrs.field(factory=list, init=False, repr=False)

    @property
    def lakehouse(self) -> Lakehouse:
        """The lakehouse, with the run's session."""
        return Lakehouse(self.spark, self.root)

    @property
    def checks(self) -> tuple[Check, ...]:
        """The evaluations made so far (:meth:`check`), whose failures the runner quarantines."""
        return tuple(self._checks)

    @property
    def quality(self) -> tuple[QualityResult, ...]:
        """The results of the evaluations made so far."""
        return tuple(check.result for check in self._checks)

    @property
    def replayed_against(self) -> Mapping[str, int] | None:
        """The versions the open quarantined rows were replayed against, if a check did.

        The runner records them with the step's write.
        """
        return self.replay.versions if self._replayed and self.replay is not None else None

    @property
    def file_batches(self) -> tuple[FileBatch, ...]:
        """The file batches read so far (:meth:`read_files`)."""
        return tuple(self._files)

    @property
    def dead_letters(self) -> tuple[DataFrame, ...]:
        """The rows handed to :meth:`dead_letter` so far."""
        return tuple(self._dead_letters)

    def read(self, table: Table) -> DataFrame:
        """Read the current version of a table of the lakehouse.

        Args:
            table: The table to read; usually one of the step's inputs.

        Returns:
            The table's rows.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table, write_table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> rows = spark.createDataFrame([("o1", 5.0)], "id STRING, amount DOUBLE")
            >>> _ = write_table(rows, orders, lakehouse)
            >>> ctx.read(orders).collect()
            [Row(id='o1', amount=5.0)]
        """
        return self.lakehouse.read(table)

    def changes(self, table: Table) -> Changes:
        """The changes of an incremental input since this step's table last consumed it.

        Declare the input with ``inputs=[changes(table)]``; the runner reads the changes
        before calling the step (the whole table on the first run) and records the versions
        consumed in the same commit as the step's write.

        Args:
            table: The incremental input.

        Returns:
            Its changes.

        Raises:
            PipelineDefinitionError: The step did not declare ``changes(table)``.

        Example:
            >>> import datetime as dt
            >>> from medallion import Changes, Table
            >>> orders, totals = Table("orders", "gold"), Table("totals", "gold")
            >>> found = Changes("gold.orders", "gold.orders->gold.totals", None, 0,
            ...                 spark.range(3))
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), totals,
            ...                   incremental={"gold.orders": found})
            >>> ctx.changes(orders).is_full
            True
        """
        try:
            return self.incremental[table.qualified_name]
        except KeyError as exc:
            raise PipelineDefinitionError(
                f"the step producing {self.table.qualified_name!r} reads the changes of "
                f"{table.qualified_name!r} without declaring them: register it with "
                f"inputs=[changes({table.name.upper()})]"
            ) from exc

    def read_files(self, source: FileSource) -> DataFrame:
        r"""The records of the files this step's (bronze) table has not ingested yet.

        Return them (or rows made from them): the runner appends them with the run's id and
        start time, and a run where no file is new writes nothing. See
        :func:`~medallion.ingest.read_new_files` for schema enforcement and rescue.

        Args:
            source: The files.

        Returns:
            The records with bronze's metadata columns.

        Raises:
            IngestError: The table is not a bronze table, or the source path does not exist.

        Example:
            >>> import datetime as dt
            >>> from pathlib import Path
            >>> from medallion import FileSource, Table
            >>> landing = Path(lakehouse, "landing")
            >>> landing.mkdir()
            >>> _ = (landing / "1.json").write_text('{"id": "e1"}\n{"id": "e2"}\n')
            >>> events = Table("events", "bronze", schema="id STRING")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), events)
            >>> ctx.read_files(FileSource(landing, "json")).select("id", "_run_id").collect()
            [Row(id='e1', _run_id='r1'), Row(id='e2', _run_id='r1')]
        """
        batch = read_new_files(
            self.spark,
            self.table,
            source,
            self.root,
            run_id=self.run_id,
            ingested_at=self.started_at,
        )
        self._files.append(batch)
        return batch.rows

    def check(
        self,
        df: DataFrame,
        *,
        source: str | None = None,
        max_quarantine_share: float | None = None,
        key_ignores: Iterable[str] = (),
    ) -> DataFrame:
        """Apply the table's quality rules to ``df``; the runner quarantines the rows that fail.

        Reference rules read their tables from the lakehouse; unique rules with
        ``against_target`` read this step's table. The failing rows are written to the
        layer's quarantine table with their reasons when the runner writes the step's rows
        (a record already open there is not written again); the counts are recorded for the
        run.

        When the runner asks for it (see :class:`Replay`), the first check of a step also
        checks the table's open quarantined rows that only reference rules sent there, read
        back into ``df``'s columns: those that pass now are among the rows returned (return
        them to have them written, then marked resolved); the others stay open. They count
        among the rows read, quarantined and written; the quarantine share and dataset rules
        judge ``df``'s rows alone.

        Args:
            df: The rows the step is about to return.
            source: Where the rows came from, recorded with quarantined rows; by default the
                incremental inputs and versions read (``silver.orders@v3-5``).
            max_quarantine_share: Fail the step when more than this share is quarantined;
                defaults to the table's ``max_quarantine_share``.
            key_ignores: Columns that do not make a record different, left out of the key
                that recognises a record already quarantined (with medallion's own columns):
                a load time copied from ``_ingested_at``, say, so that a file landed again
                later does not quarantine its records twice.

        Returns:
            The rows to write.

        Raises:
            QualityFailedError: A ``fail`` rule failed, or the share was exceeded.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> from medallion.quality import checks
            >>> orders = Table("orders", "gold", rules=[checks.in_range("amount", 0, None)])
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> df = spark.createDataFrame([("o1", 5.0), ("o2", -1.0)], "id STRING, amount DOUBLE")
            >>> ctx.check(df).count(), ctx.quality[0].rows_quarantined
            (1, 1)
        """
        ignore = tuple(key_ignores)
        replayed = None
        if self.replay is not None and self.replay.due and not self._replayed:
            self._replayed = True
            replayed = replay_rows(self.spark, self.root, self.table, df.schema, key_ignores=ignore)
        checked = df
        if replayed is not None:
            checked = df.withColumn(REPLAY_KEY, F.lit(None).cast("string")).unionByName(replayed)
        result = evaluate_table(
            checked,
            self.table,
            self.root,
            max_quarantine_share=max_quarantine_share,
            spark=self.spark,
            reference_versions=self.replay.versions if self.replay is not None else None,
            replayed=REPLAY_KEY if replayed is not None else None,
        )
        resolved = None
        if replayed is not None:
            resolved = result.valid.where(F.col(REPLAY_KEY).isNotNull()).select(REPLAY_KEY)
            result = attrs.evolve(result, valid=result.valid.drop(REPLAY_KEY))
        self._checks.append(Check(result, source or self._source(), ignore, resolved))
        return result.valid

    def accept(self, result: QualityResult, *, source: str | None = None) -> DataFrame:
        """Take an evaluation made another way (a Great Expectations suite, say) as a check.

        Its failing rows are quarantined like those of :meth:`check`, and its counts recorded.

        Args:
            result: The evaluation of the step's rows.
            source: Where the rows came from (see :meth:`check`).

        Returns:
            The rows to write.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table, evaluate
            >>> from medallion.quality import checks
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> df = spark.createDataFrame([("o1",), (None,)], "id STRING")
            >>> ctx.accept(evaluate(df, [checks.not_null("id")])).count()
            1
        """
        self._checks.append(Check(result, source or self._source()))
        return result.valid

    def dead_letter(self, rows: DataFrame) -> None:
        """Hand rows to the layer's dead-letter table (rows that could not be read at all).

        The runner appends them, with the step's write. Their columns are the dead-letter
        table's (see :data:`medallion.streaming.kafka.DEAD_LETTER_SCHEMA`).

        Args:
            rows: The dead letters.

        Example:
            >>> import datetime as dt
            >>> from medallion import Table
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2),
            ...                   Table("events", "bronze", schema="id STRING"))
            >>> ctx.dead_letter(spark.range(0))
            >>> len(ctx.dead_letters)
            1
        """
        self._dead_letters.append(rows)

    def release(self) -> None:
        """Free what the checks cached (the runner calls this when the step is done).

        Example:
            >>> import datetime as dt
            >>> from medallion import Table
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2),
            ...                   Table("totals", "gold"))
            >>> ctx.release()
        """
        for check in self._checks:
            check.result.release()

    def param(self, name: str) -> str:
        """A run parameter, or an error naming it and the step's table if it was not given.

        Args:
            name: The parameter's name.

        Returns:
            Its value.

        Raises:
            PipelineError: The run was started without this parameter.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders,
            ...                   params={"day": "2026-01-02"})
            >>> ctx.param("day")
            '2026-01-02'
        """
        try:
            return self.params[name]
        except KeyError as exc:
            given = ", ".join(sorted(self.params)) or "none"
            raise PipelineError(
                f"the step producing {self.table.qualified_name!r} needs the run parameter "
                f"{name!r} (given: {given}); pass params={{{name!r}: ...}} to Pipeline.run "
                f"(on the command line: --param {name}=...)"
            ) from exc

    def location(self, table: Table | None = None) -> str:
        """The storage location of a table (by default, the one this step produces).

        Args:
            table: The table; defaults to :attr:`table`.

        Returns:
            Its path or URI under the lakehouse root.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, "/lake", "r1", dt.datetime(2026, 1, 2), orders)
            >>> ctx.location(), ctx.location(Table("totals", "gold"))
            ('/lake/gold/orders', '/lake/gold/totals')
        """
        return self.lakehouse.location(table or self.table)

    def _source(self) -> str | None:
        """The incremental inputs read, with their versions (``silver.orders@v3-5``)."""
        parts = []
        for found in self.incremental.values():
            versions = (
                f"v{found.to_version}"
                if found.from_version is None
                else f"v{found.from_version}-{found.to_version}"
            )
            parts.append(f"{found.source}@{versions}")
        return ", ".join(parts) or None
