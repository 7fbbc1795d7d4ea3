"""``QualityRule``: a named SQL condition that every row of a table must meet.

Example:
    >>> from medallion import Action, QualityRule, RuleDefinitionError
    >>> rule = QualityRule("positive_quantity", "quantity > 0", action=Action.QUARANTINE)
    >>> rule.action.value
    'quarantine'
    >>> try:
    ...     QualityRule("bad", "qty >")
    ... except RuleDefinitionError as exc:
    ...     print(exc)
    rule 'bad': malformed expression 'qty >': it ends with the operator '>'
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, cast

import attrs

from medallion._sql import expression_problem
from medallion.errors import RuleDefinitionError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

__all__ = ["Action", "QualityRule", "RuleKind", "TableRef"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class RuleKind(str, enum.Enum):
    """How a rule is evaluated.

    Attributes:
        ROW: ``expression`` is a boolean SQL expression over one row.
        UNIQUE: ``columns`` identify a row: no two rows of a batch (and, optionally, no row of
            the target table) may share them.
        REFERENCE: ``columns`` must exist in ``reference_columns`` of the ``reference`` table.
        DATASET: ``expression`` is a boolean SQL expression over aggregates of the whole batch
            (``count(*) > 0``); it passes or fails the batch, not single rows.

    Example:
        >>> from medallion.quality import checks
        >>> checks.unique("id").kind, checks.row_count(minimum=1).kind.value
        (<RuleKind.UNIQUE: 'unique'>, 'dataset')
    """

    ROW = "row"
    UNIQUE = "unique"
    REFERENCE = "reference"
    DATASET = "dataset"


class TableRef(Protocol):
    """What a reference rule needs of the table it looks values up in; a ``Table`` is one.

    Example:
        >>> from medallion import Table
        >>> customers: TableRef = Table("customers", "silver", primary_keys="id")
        >>> customers.qualified_name, customers.location("/lake")
        ('silver.customers', '/lake/silver/customers')
    """

    @property
    def qualified_name(self) -> str:
        """``"<layer>.<name>"``."""
        ...

    def location(self, root: str | os.PathLike[str]) -> str:
        """Where the table's Delta files live under a lakehouse root.

        Args:
            root: The lakehouse root.

        Example:
            >>> from medallion import Table
            >>> Table("customers", "silver", primary_keys="id").location("/lake")
            '/lake/silver/customers'
        """
        ...


class Action(str, enum.Enum):
    """What happens to a row that fails a rule.

    Attributes:
        WARN: Keep the row and record the failure.
        DROP: Remove the row and count it as dropped.
        QUARANTINE: Remove the row from the target and write it, with the names and messages of
            the rules it failed, to the layer's quarantine table.
        FAIL: Stop the step with an error naming the rule and the counts; nothing is written.

    Example:
        >>> QualityRule("positive", "qty > 0", action="quarantine").action is Action.QUARANTINE
        True
        >>> Action("drop")
        <Action.DROP: 'drop'>
    """

    WARN = "warn"
    DROP = "drop"
    QUARANTINE = "quarantine"
    FAIL = "fail"


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_name(instance: QualityRule, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise RuleDefinitionError(
            f"rule {value!r}: a rule name must start with a letter or '_' and contain only "
            "letters, digits and '_' (at most 128 characters)"
        )


def _check_expression(instance: QualityRule, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise RuleDefinitionError(
            f"rule {instance.name!r}: the expression must be a SQL string, "
            f"not {type(value).__name__}"
        )
    if instance.kind in (RuleKind.UNIQUE, RuleKind.REFERENCE):
        return  # a description ('unique(`id`)'), never run: these rules are evaluated by columns
    problem = expression_problem(value)
    if problem is not None:
        raise RuleDefinitionError(
            f"rule {instance.name!r}: malformed expression {value!r}: {problem}"
        )


class _UnknownAction(str):
    """An action name no :class:`Action` has; :class:`QualityRule` reports it with its name."""


def _to_action(value: Action | str) -> Action:
    if isinstance(value, Action):
        return value
    try:
        return Action(str(value).lower())
    except ValueError:
        return cast(Action, _UnknownAction(value))


@attrs.frozen
class QualityRule:
    """A named SQL boolean condition that each row of a table must meet.

    A row passes a rule when ``expression`` evaluates to ``TRUE`` for it; ``FALSE`` and ``NULL``
    both fail it (write ``col IS NULL OR col > 0`` to accept nulls). When the rule is created, the
    expression is parsed (by sqlglot's Spark dialect, without a JVM) and must be one well-formed
    Spark SQL expression: no alias, no second expression or statement, no subquery. It is checked
    against the table's columns by :meth:`check` (the pipeline's dry run does this).

    Attributes:
        name: An identifier, unique within its table; it names the rule in errors, metrics and
            quarantined rows.
        expression: A Spark SQL boolean expression over the table's columns (for a dataset
            rule, over aggregates of them; for unique and reference rules, a description, which
            is not parsed).
        action: What happens to a failing row (see :class:`Action`); defaults to ``WARN``.
        description: A sentence for people: what the rule protects.
        kind: How the rule is evaluated (:class:`RuleKind`); the constructors in
            :mod:`medallion.quality.checks` set it.
        columns: The columns of a unique or reference rule.
        reference: The table a reference rule looks values up in.
        reference_columns: The columns of ``reference`` that ``columns`` must match.
        against_target: For a unique rule, also fail rows whose key the target table already
            holds (for append-only tables).

    Example:
        >>> rule = QualityRule("known_status", "status IN ('paid', 'sent')", action="drop")
        >>> rule.action
        <Action.DROP: 'drop'>
    """

    name: str = attrs.field(validator=_check_name)
    expression: str = attrs.field(validator=_check_expression)
    action: Action = attrs.field(default=Action.WARN, converter=_to_action)
    description: str = ""
    kind: RuleKind = attrs.field(default=RuleKind.ROW, converter=RuleKind)
    columns: tuple[str, ...] = attrs.field(default=(), converter=_names)
    reference: TableRef | None = None
    reference_columns: tuple[str, ...] = attrs.field(default=(), converter=_names)
    against_target: bool = False

    def __attrs_post_init__(self) -> None:
        where = f"rule {self.name!r}"
        if isinstance(self.action, _UnknownAction):
            choices = ", ".join(a.value for a in Action)
            raise RuleDefinitionError(
                f"{where}: unknown action {str(self.action)!r}; choose one of {choices}"
            )
        if self.kind in (RuleKind.UNIQUE, RuleKind.REFERENCE) and not self.columns:
            raise RuleDefinitionError(f"{where}: a {self.kind.value} rule needs columns")
        if self.kind is RuleKind.REFERENCE:
            if self.reference is None:
                raise RuleDefinitionError(f"{where}: a reference rule needs the reference table")
            if len(self.reference_columns) != len(self.columns):
                raise RuleDefinitionError(
                    f"{where}: {len(self.columns)} column(s) cannot reference "
                    f"{len(self.reference_columns)} column(s) of {self.reference.qualified_name}"
                )
        if self.kind is RuleKind.DATASET and self.action not in (Action.WARN, Action.FAIL):
            raise RuleDefinitionError(
                f"{where}: a dataset rule judges the whole batch, so its action is warn or fail, "
                f"not {self.action.value}"
            )

    def check(self, spark: SparkSession, schema: StructType, table: str | None = None) -> None:
        """Check the expression against a schema with Spark's own parser and analyzer.

        No data is read: the expression is resolved over an empty DataFrame of ``schema``.

        Args:
            spark: Any SparkSession.
            schema: The columns the expression may use.
            table: The table's name, for the error message.

        Raises:
            RuleDefinitionError: The expression does not parse, names an unknown column, or
                is not boolean.

        Example:
            >>> from pyspark.sql.types import StructType
            >>> schema = StructType.fromDDL("id STRING, qty INT")
            >>> QualityRule("positive", "qty > 0").check(spark, schema)
            >>> QualityRule("positive", "amount > 0").check(spark, schema)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.errors.RuleDefinitionError: rule 'positive': invalid expression ...
        """
        from pyspark.errors import PySparkException
        from pyspark.sql import functions as F
        from pyspark.sql.types import BooleanType

        where = f"table {table!r}, " if table else ""
        empty = spark.createDataFrame([], schema)
        if self.kind in (RuleKind.UNIQUE, RuleKind.REFERENCE):
            missing = [c for c in self.columns if c not in schema.fieldNames()]
            if missing:
                raise RuleDefinitionError(
                    f"{where}rule {self.name!r}: column(s) {', '.join(missing)} are not in the "
                    "table"
                )
            return
        try:
            if self.kind is RuleKind.DATASET:
                data_type = empty.agg(F.expr(self.expression)).schema[0].dataType
            else:
                data_type = empty.select(F.expr(self.expression)).schema[0].dataType
        except PySparkException as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise RuleDefinitionError(
                f"{where}rule {self.name!r}: invalid expression {self.expression!r}: {first_line}"
            ) from exc
        if not isinstance(data_type, BooleanType):
            raise RuleDefinitionError(
                f"{where}rule {self.name!r}: expression {self.expression!r} is "
                f"{data_type.simpleString()}, not boolean"
            )
