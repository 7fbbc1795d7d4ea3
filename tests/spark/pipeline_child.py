"""A driver process that runs the e-commerce pipeline on a cluster or through Spark Connect.

Run as ``python -m tests.spark.pipeline_child WHERE GENERATED LANDING ROOT`` where WHERE is a
standalone master (``spark://host:port``), a Spark Connect server (``sc://host:port``) or
``s3a`` (local Spark with hadoop-aws; ROOT is an ``s3a://`` URI and the endpoint and keys come
from ``S3_ENDPOINT``, ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``).
It lands the first two transaction batches and runs the pipeline (the full run), lands the
third and runs again (the incremental run). Through Spark Connect and on ``s3a://`` it then
rolls the incremental run back and runs it again; through Spark Connect it also exercises
``DeltaOps`` on tables of its own, and on ``s3a://`` it VACUUMs every table.
The last line it prints is ``FACTS <json>``, for the test to check.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from examples.ecommerce.demo import land
from examples.ecommerce.generator import Manifest
from examples.ecommerce.pipeline import pipeline
from medallion import SCD2, DeltaOps, Table, spark_session, write_table
from medallion.runner.rollback import rollback_run
from medallion.runner.runlog import read_run_log


def main(argv: list[str]) -> int:
    where, generated, landing, root = argv
    if where.startswith("sc://"):
        spark = spark_session("pipeline-child", remote=where)
    elif where == "s3a":
        spark = spark_session(
            "pipeline-child",
            packages=[_hadoop_aws()],
            log_level="ERROR",
            shuffle_partitions=2,
            config={
                "spark.hadoop.fs.s3a.endpoint": os.environ["S3_ENDPOINT"],
                "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
                "spark.hadoop.fs.s3a.access.key": os.environ["AWS_ACCESS_KEY_ID"],
                "spark.hadoop.fs.s3a.secret.key": os.environ["AWS_SECRET_ACCESS_KEY"],
            },
        )
    else:
        spark = spark_session(
            "pipeline-child",
            master=where,
            log_level="ERROR",
            config={"spark.executor.memory": "768m", "spark.cores.max": "2"},
        )
    manifest = Manifest.read(Path(generated) / "manifest.json")
    params = {"landing": landing}
    facts: dict[str, Any] = {"connect": type(spark).__module__.startswith("pyspark.sql.connect")}
    s3a = root.startswith("s3a://")
    land(Path(generated), Path(landing), manifest, 2)
    full = pipeline.run(spark, root, params=params)
    land(Path(generated), Path(landing), manifest, 3)
    incremental = pipeline.run(spark, root, params=params)
    facts["runs"] = [_summary(full), _summary(incremental)]
    if facts["connect"] or s3a:
        undone = rollback_run(spark, root, incremental.run_id)
        facts["rolled_back"] = sorted(
            t.table for t in undone.tables if t.action.value == "restored"
        )
        again = pipeline.run(spark, root, params=params)
        facts["runs"].append(_summary(again))
        log = read_run_log(spark, root).where(f"run_id = '{incremental.run_id}'")
        facts["run_log_rows"] = log.count()
    if facts["connect"]:
        facts["ops"] = _ops(spark, root)
    elif s3a:
        facts["vacuumed"] = _vacuum(spark, root)
    else:
        facts["master"] = spark.sparkContext.master
    spark.stop()
    print("FACTS " + json.dumps(facts), flush=True)
    return 0


def _hadoop_aws() -> str:
    """hadoop-aws of the Hadoop release pyspark ships (its client jar's version)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    client = next(jars.glob("hadoop-client-api-*.jar")).name
    version = client.removeprefix("hadoop-client-api-").removesuffix(".jar")
    return f"org.apache.hadoop:hadoop-aws:{version}"


def _vacuum(spark: Any, root: str) -> dict[str, int]:
    """VACUUM every table of the pipeline with no retention; the files each deleted."""
    deleted = {}
    for step in pipeline.steps:
        ops = DeltaOps.of(spark, step.table.location(root))
        deleted[step.table.qualified_name] = ops.vacuum(0, force=True).files_deleted
    return deleted


def _summary(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "steps": {s.table: [s.status.value, s.rows_read, s.rows_quarantined] for s in run.steps},
    }


def _ops(spark: Any, root: str) -> dict[str, Any]:
    """DeltaOps through the session: MERGE, SCD2, history, time travel, change feed, restore,
    OPTIMIZE with Z-order and VACUUM, on tables of their own."""
    people = Table(
        "people",
        "silver",
        schema="id STRING NOT NULL, city STRING, at TIMESTAMP",
        primary_keys="id",
        properties={"delta.enableChangeDataFeed": "true"},
    )
    rows = "id STRING, city STRING, at TIMESTAMP"
    first = spark.createDataFrame([("1", "Oslo", None), ("2", "Rome", None)], rows)
    write_table(first, people, f"{root}/ops")
    ops = DeltaOps.of(spark, people.location(f"{root}/ops"))
    second = spark.sql("SELECT '2' AS id, 'Pisa' AS city, CAST(NULL AS TIMESTAMP) AS at")
    merged = write_table(second, people, f"{root}/ops")
    history = ops.history()
    changes = ops.changes(history[0].version).where("_change_type != 'update_preimage'")
    facts: dict[str, Any] = {
        "merged": [merged.rows_inserted, merged.rows_updated],
        "operations": [c.operation for c in history],
        "as_of_first": sorted(r.city for r in ops.read(version=history[1].version).collect()),
        "changes": sorted((r.id, r.city, r._change_type) for r in changes.collect()),
    }
    restored = ops.restore(version=history[1].version)
    facts["restored"] = [restored.operation, sorted(r.city for r in ops.read().collect())]
    optimized = ops.optimize(zorder_by=["city"])
    facts["optimized"] = [optimized.files_removed > 0, list(optimized.zorder_by)]
    facts["vacuum"] = ops.vacuum(dry_run=True).dry_run
    dims = Table(
        "dims",
        "gold",
        schema="id STRING NOT NULL, city STRING, at TIMESTAMP, valid_from TIMESTAMP, "
        "valid_to TIMESTAMP, is_current BOOLEAN",
        primary_keys=("id", "valid_from"),
        write=SCD2(tracked=("city",), effective_at="at"),
    )
    versions = [
        ("1", "Oslo", "2026-01-01 00:00:00"),
        ("1", "Bergen", "2026-02-01 00:00:00"),
    ]
    for version in versions:
        batch = spark.sql(
            f"SELECT '{version[0]}' AS id, '{version[1]}' AS city, TIMESTAMP'{version[2]}' AS at"
        )
        write_table(batch, dims, f"{root}/ops")
    current = DeltaOps.of(spark, dims.location(f"{root}/ops")).read()
    facts["scd2"] = sorted((r.city, r.is_current) for r in current.collect())
    return facts


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
