"""medallion: typed bronze -> silver -> gold lakehouse pipelines on Apache Spark and Delta Lake.

Declare :class:`Table` objects in their :class:`Layer`, with :class:`QualityRule` objects,
write plain PySpark functions that produce them, and let a :class:`Pipeline` run them in
dependency order.

Example:
    >>> import medallion
    >>> orders = medallion.Table(
    ...     "orders", medallion.Layer.SILVER, schema="id STRING NOT NULL", primary_keys="id"
    ... )
    >>> orders.qualified_name
    'silver.orders'
"""

from medallion._version import __version__
from medallion.delta import (
    Commit,
    DeltaOps,
    Diff,
    MergeResult,
    OptimizeResult,
    RetryPolicy,
    TableDetail,
    Transaction,
    VacuumResult,
)
from medallion.errors import (
    ConcurrentWriteError,
    CycleError,
    DeltaOperationError,
    LakehouseBusyError,
    MedallionError,
    MissingParamsError,
    PipelineError,
    QualityFailedError,
    RuleDefinitionError,
    RunCancelledError,
    SchemaError,
    SchemaEvolutionError,
    StepFailedError,
    TableDefinitionError,
)
from medallion.ingest import FileSource, IngestResult, ingest_files
from medallion.io import WriteResult, create_table, read_table, write_table
from medallion.lakehouse import Lakehouse
from medallion.layers import Layer, LayerConventions
from medallion.pipeline import (
    Pipeline,
    Plan,
    RunResult,
    Step,
    StepContext,
    StepOutput,
    StepRun,
    StepStatus,
)
from medallion.policies import (
    SCD2,
    Append,
    DeleteAction,
    Merge,
    Overwrite,
    ReplacePartitions,
    WriteMode,
    WritePolicy,
)
from medallion.quality import (
    Action,
    QualityResult,
    QualityRule,
    RuleKind,
    RuleMetric,
    checks,
    evaluate,
    evaluate_table,
)
from medallion.runner.inputs import Changes, ChangesOf, changes
from medallion.secrets import Secret
from medallion.session import delta_builder, ensure_delta, spark_session
from medallion.streaming import CheckedBatchWriter
from medallion.table import METADATA_COLUMNS, Table

__all__ = [
    "METADATA_COLUMNS",
    "SCD2",
    "Action",
    "Append",
    "Changes",
    "ChangesOf",
    "CheckedBatchWriter",
    "Commit",
    "ConcurrentWriteError",
    "CycleError",
    "DeleteAction",
    "DeltaOperationError",
    "DeltaOps",
    "Diff",
    "FileSource",
    "IngestResult",
    "Lakehouse",
    "LakehouseBusyError",
    "Layer",
    "LayerConventions",
    "MedallionError",
    "Merge",
    "MergeResult",
    "MissingParamsError",
    "OptimizeResult",
    "Overwrite",
    "Pipeline",
    "PipelineError",
    "Plan",
    "QualityFailedError",
    "QualityResult",
    "QualityRule",
    "ReplacePartitions",
    "RetryPolicy",
    "RuleDefinitionError",
    "RuleKind",
    "RuleMetric",
    "RunCancelledError",
    "RunResult",
    "SchemaError",
    "SchemaEvolutionError",
    "Secret",
    "Step",
    "StepContext",
    "StepFailedError",
    "StepOutput",
    "StepRun",
    "StepStatus",
    "Table",
    "TableDefinitionError",
    "TableDetail",
    "Transaction",
    "VacuumResult",
    "WriteMode",
    "WritePolicy",
    "WriteResult",
    "__version__",
    "changes",
    "checks",
    "create_table",
    "delta_builder",
    "ensure_delta",
    "evaluate",
    "evaluate_table",
    "ingest_files",
    "read_table",
    "spark_session",
    "write_table",
]
