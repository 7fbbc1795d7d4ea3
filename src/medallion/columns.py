"""medallion's own columns: bronze metadata, Kafka metadata, change-feed metadata.

They tell where a row came from. Bronze tables store them; a step's output may carry them on
(a silver step keeps bronze's ``_source_file`` so that quarantined rows say where they came
from, a gold step reads a change feed with ``_change_type``): the runner then uses them to
order duplicates of a key (:data:`SOURCE_ORDER`) and does not write them, unless the target
table declares them.

Example:
    >>> from medallion.columns import METADATA_COLUMNS, is_medallion_column
    >>> METADATA_COLUMNS.fieldNames()[:3]
    ['_ingested_at', '_run_id', '_source_file']
    >>> is_medallion_column("_commit_version"), is_medallion_column("updated_at")
    (True, False)
"""

from __future__ import annotations

from pyspark.sql import types as T

__all__ = [
    "CHANGE_COLUMNS",
    "KAFKA_COLUMNS",
    "METADATA_COLUMNS",
    "SOURCE_ORDER",
    "is_medallion_column",
]

#: The metadata columns bronze ingestion adds to every row, after the declared columns.
METADATA_COLUMNS = T.StructType(
    [
        T.StructField("_ingested_at", T.TimestampType(), False, {"comment": "when the run began"}),
        T.StructField("_run_id", T.StringType(), False, {"comment": "the run that wrote the row"}),
        T.StructField("_source_file", T.StringType(), True, {"comment": "the file read"}),
        T.StructField(
            "_source_modified_at", T.TimestampType(), True, {"comment": "the file's mtime"}
        ),
        T.StructField(
            "_rescued_data",
            T.StringType(),
            True,
            {"comment": "the raw record, when it did not fit the schema"},
        ),
        T.StructField(
            "_rescue_reason", T.StringType(), True, {"comment": "why the record did not fit"}
        ),
        T.StructField(
            "_source_position",
            T.LongType(),
            True,
            {"comment": "grows with the record's position in its file (its offset for Kafka)"},
        ),
    ]
)

#: The columns a Kafka bronze table stores besides the bronze metadata.
KAFKA_COLUMNS = T.StructType(
    [
        T.StructField("_kafka_topic", T.StringType(), True),
        T.StructField("_kafka_partition", T.IntegerType(), True),
        T.StructField("_kafka_offset", T.LongType(), True),
        T.StructField("_kafka_timestamp", T.TimestampType(), True),
        T.StructField("_kafka_key", T.StringType(), True),
        T.StructField("_late", T.BooleanType(), True),
    ]
)

#: The columns Delta's Change Data Feed adds to each change.
CHANGE_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")

#: The columns that order the rows of one key by where they came from, latest first: a
#: change's commit version, the ingestion time, the Kafka partition and offset, the file's
#: modification time and name, and the record's position in its file.
SOURCE_ORDER = (
    "_commit_version",
    "_ingested_at",
    "_kafka_partition",
    "_kafka_offset",
    "_source_modified_at",
    "_source_file",
    "_source_position",
)

_ALL = frozenset(
    name.lower()
    for name in (*METADATA_COLUMNS.fieldNames(), *KAFKA_COLUMNS.fieldNames(), *CHANGE_COLUMNS)
)


def is_medallion_column(name: str) -> bool:
    """Whether a column is one of medallion's own (bronze, Kafka or change-feed metadata).

    Args:
        name: The column's name.

    Returns:
        ``True`` for medallion's columns.

    Example:
        >>> is_medallion_column("_source_file"), is_medallion_column("_rescued")
        (True, False)
    """
    return name.lower() in _ALL
