"""Type aliases shared across medallion's modules (private: import the public names)."""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column
from pyspark.sql.types import StructType

#: A column given as a SQL expression string or a PySpark ``Column``.
ExprLike = str | Column
#: A schema given as a ``StructType`` or as a DDL string (``"id INT NOT NULL, name STRING"``).
SchemaLike = StructType | str
#: The file formats bronze ingestion reads.
FileFormat = Literal["json", "csv", "parquet"]

__all__ = ["ExprLike", "FileFormat", "SchemaLike"]
