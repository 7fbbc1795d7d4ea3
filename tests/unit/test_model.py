"""Unit tests of the typed model: Layer, write policies, QualityRule, Table and the errors."""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import attrs
import pytest
from pyspark.sql import types as T

import medallion
from medallion import errors
from medallion.errors import (
    CycleError,
    MedallionError,
    MedallionWarning,
    PipelineDefinitionError,
    PipelineError,
    RuleDefinitionError,
    SchemaError,
    StepFailedError,
    TableDefinitionError,
    UnknownStepError,
)
from medallion.layers import Layer, LayerConventions
from medallion.policies import (
    SCD2,
    Append,
    DeleteAction,
    Merge,
    Overwrite,
    ReplacePartitions,
    WriteMode,
    as_policy,
)
from medallion.quality import Action, QualityRule
from medallion.table import METADATA_COLUMNS, Table


def table_error(**fields: object) -> str:
    with pytest.raises(TableDefinitionError) as info:
        Table(**fields)  # type: ignore[arg-type]
    return str(info.value)


def rule_error(name: object, expression: object, action: object = "warn") -> str:
    with pytest.raises(RuleDefinitionError) as info:
        QualityRule(name, expression, action)  # type: ignore[arg-type]
    return str(info.value)


# --- Layer and WriteMode -------------------------------------------------------------------


def test_layer_values() -> None:
    assert [layer.value for layer in Layer] == ["bronze", "silver", "gold"]


def test_layer_converts_from_its_name() -> None:
    assert Layer("bronze") is Layer.BRONZE
    assert Layer("silver") is Layer.SILVER
    assert Layer("gold") is Layer.GOLD


def test_layer_rejects_unknown_names() -> None:
    with pytest.raises(ValueError):
        Layer("platinum")


def test_layer_is_a_string_equal_to_its_value() -> None:
    silver: str = "silver"
    assert isinstance(Layer.SILVER, str)
    assert silver == Layer.SILVER


def test_layer_str_is_its_value() -> None:
    assert str(Layer.BRONZE) == "bronze"
    assert f"{Layer.GOLD}" == "gold"
    assert f"{Layer.SILVER}/orders" == "silver/orders"


def test_layers_compare_in_data_flow_order() -> None:
    assert Layer.BRONZE < Layer.SILVER < Layer.GOLD
    assert Layer.GOLD > Layer.SILVER > Layer.BRONZE
    assert Layer.SILVER <= Layer.SILVER <= Layer.GOLD
    assert Layer.SILVER >= Layer.SILVER >= Layer.BRONZE
    assert not Layer.GOLD < Layer.SILVER
    assert not Layer.BRONZE > Layer.SILVER
    assert not Layer.GOLD <= Layer.BRONZE
    assert not Layer.BRONZE >= Layer.GOLD


def test_layers_sort_in_data_flow_order_not_alphabetically() -> None:
    assert sorted([Layer.GOLD, Layer.BRONZE, Layer.SILVER]) == [
        Layer.BRONZE,
        Layer.SILVER,
        Layer.GOLD,
    ]
    assert max(Layer) is Layer.GOLD
    assert min(Layer) is Layer.BRONZE


def test_layer_comparison_with_a_non_string_is_not_implemented() -> None:
    assert Layer.BRONZE.__lt__(1) is NotImplemented
    assert Layer.BRONZE.__le__(1) is NotImplemented
    assert Layer.BRONZE.__gt__(1) is NotImplemented
    assert Layer.BRONZE.__ge__(1) is NotImplemented
    with pytest.raises(TypeError):
        _ = Layer.BRONZE < 1


def test_layer_comparison_with_names_follows_the_data_flow() -> None:
    assert not Layer.GOLD < "silver"
    assert Layer.BRONZE < "gold"
    with pytest.raises(TypeError, match="not a layer name"):
        _ = Layer.GOLD < "platinum"


def test_layer_conventions() -> None:
    assert Layer.BRONZE.conventions == LayerConventions(
        write=Append(),
        requires_primary_keys=False,
        adds_ingestion_metadata=True,
        append_only=True,
    )
    assert Layer.SILVER.conventions == LayerConventions(
        write=Merge(),
        requires_primary_keys=True,
        adds_ingestion_metadata=False,
        append_only=False,
    )
    assert Layer.GOLD.conventions == LayerConventions(
        write=Overwrite(),
        requires_primary_keys=False,
        adds_ingestion_metadata=False,
        append_only=False,
    )


def test_layer_conventions_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Layer.BRONZE.conventions.append_only = False  # type: ignore[misc]


def test_write_mode_values() -> None:
    assert [mode.value for mode in WriteMode] == [
        "append",
        "merge",
        "overwrite",
        "replace_partitions",
        "scd2",
    ]
    assert WriteMode("replace_partitions") is WriteMode.REPLACE_PARTITIONS
    merge: str = "merge"
    assert merge == WriteMode.MERGE
    with pytest.raises(ValueError):
        WriteMode("upsert")


# --- QualityRule: names -------------------------------------------------------------------
# (The syntax check of expressions is tested in test_rule_expressions.py.)


@pytest.mark.parametrize(
    "name", ["", "1st", "has space", "kebab-case", "dotted.name", "x" * 129, "naïve"]
)
def test_quality_rule_rejects_bad_names(name: str) -> None:
    assert rule_error(name, "a > 0") == (
        f"rule {name!r}: a rule name must start with a letter or '_' and contain only "
        "letters, digits and '_' (at most 128 characters)"
    )


def test_quality_rule_rejects_a_non_string_name() -> None:
    assert rule_error(7, "a > 0").startswith("rule 7: a rule name must start with")


@pytest.mark.parametrize("name", ["a", "_private", "Rule_2", "x" * 128])
def test_quality_rule_accepts_identifier_names(name: str) -> None:
    assert QualityRule(name, "a > 0").name == name


# --- QualityRule: actions, immutability, equality -------------------------------------------


def test_quality_rule_defaults() -> None:
    rule = QualityRule("positive", "qty > 0")
    assert rule.action is Action.WARN
    assert rule.description == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("warn", Action.WARN),
        ("DROP", Action.DROP),
        ("Quarantine", Action.QUARANTINE),
        ("fAiL", Action.FAIL),
        (Action.QUARANTINE, Action.QUARANTINE),
    ],
)
def test_quality_rule_converts_actions_case_insensitively(given: str, expected: Action) -> None:
    assert QualityRule("r", "a > 0", action=given).action is expected


def test_action_values() -> None:
    assert [a.value for a in Action] == ["warn", "drop", "quarantine", "fail"]


def test_quality_rule_rejects_an_unknown_action_listing_the_choices() -> None:
    message = rule_error("positive", "qty > 0", "explode")
    assert message == (
        "rule 'positive': unknown action 'explode'; choose one of warn, drop, quarantine, fail"
    )


def test_quality_rule_unknown_action_message_names_the_rule() -> None:
    assert "'positive'" in rule_error("positive", "qty > 0", "explode")


def test_quality_rule_is_frozen() -> None:
    rule = QualityRule("positive", "qty > 0")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rule.name = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rule.action = Action.FAIL  # type: ignore[misc]
    assert rule.name == "positive"


def test_quality_rules_with_equal_fields_are_equal_and_hash_alike() -> None:
    first = QualityRule("positive", "qty > 0", action="drop", description="no returns")
    second = QualityRule("positive", "qty > 0", action=Action.DROP, description="no returns")
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


def test_quality_rules_differing_in_any_field_are_not_equal() -> None:
    base = QualityRule("positive", "qty > 0")
    assert base != QualityRule("positive", "qty > 0", action="fail")
    assert base != QualityRule("positive", "qty >= 0")
    assert base != QualityRule("nonnegative", "qty > 0")
    assert base != QualityRule("positive", "qty > 0", description="why")


# --- Table: construction ----------------------------------------------------------------


def silver_orders(**overrides: object) -> Table:
    fields: dict[str, object] = {
        "name": "orders",
        "layer": Layer.SILVER,
        "schema": "order_id STRING NOT NULL, order_date DATE, customer_id STRING, amount DOUBLE",
        "primary_keys": ["order_id"],
    }
    fields.update(overrides)
    return Table(**fields)  # type: ignore[arg-type]


def test_table_fields_are_normalised() -> None:
    table = Table(
        "orders",
        "silver",
        schema="order_id STRING NOT NULL, day DATE",
        primary_keys="order_id",
        partition_by=["day"],
        # Table.rules uses converter=tuple, which mypy's attrs plugin types as Iterable[_T_co].
        rules=[QualityRule("has_id", "order_id IS NOT NULL")],  # type: ignore[list-item]
    )
    assert table.layer is Layer.SILVER
    assert table.primary_keys == ("order_id",)
    assert table.partition_by == ("day",)
    assert table.zorder_by == ()
    assert table.rules == (QualityRule("has_id", "order_id IS NOT NULL"),)
    assert table.schema == T.StructType(
        [
            T.StructField("order_id", T.StringType(), False),
            T.StructField("day", T.DateType(), True),
        ]
    )
    assert table.write == Merge(keys=("order_id",))
    assert table.catalog_name is None
    assert table.comment == ""
    assert dict(table.properties) == {}


def test_table_layer_given_as_string_equals_layer_given_as_enum() -> None:
    assert Table("events", "bronze", schema="id STRING") == Table(
        "events", Layer.BRONZE, schema="id STRING"
    )


def test_table_schema_as_ddl_or_struct_type_gives_equal_tables() -> None:
    from_ddl = silver_orders(schema="order_id STRING NOT NULL, amount DOUBLE")
    from_struct = silver_orders(
        schema=T.StructType(
            [
                T.StructField("order_id", T.StringType(), False),
                T.StructField("amount", T.DoubleType(), True),
            ]
        )
    )
    assert from_ddl == from_struct
    assert hash(from_ddl) == hash(from_struct)


def test_table_properties_normalise_bools_and_other_values_to_strings() -> None:
    table = silver_orders(
        properties={
            "delta.enableChangeDataFeed": True,
            "delta.appendOnly": False,
            "delta.logRetentionDuration": "interval 30 days",
            "delta.deletedFileRetentionDuration": 7,
        }
    )
    assert dict(table.properties) == {
        "delta.enableChangeDataFeed": "true",
        "delta.appendOnly": "false",
        "delta.logRetentionDuration": "interval 30 days",
        "delta.deletedFileRetentionDuration": "7",
    }
    assert silver_orders(properties={"delta.enableChangeDataFeed": True}) == silver_orders(
        properties={"delta.enableChangeDataFeed": "true"}
    )


def test_table_properties_are_read_only() -> None:
    table = silver_orders(properties={"k": "v"})
    assert isinstance(table.properties, MappingProxyType)
    with pytest.raises(TypeError):
        table.properties["k"] = "w"  # type: ignore[index]


def test_tables_are_hashable_and_usable_as_dict_keys() -> None:
    owners = {silver_orders(): "sales", Table("events", "bronze", schema="id STRING"): "web"}
    assert owners[silver_orders()] == "sales"
    assert owners[Table("events", Layer.BRONZE, schema="id STRING")] == "web"
    with_props = silver_orders(properties={"a": "1"})
    assert hash(with_props) == hash(silver_orders(properties={"a": "2"}))
    assert with_props != silver_orders(properties={"a": "2"})


def test_table_is_frozen() -> None:
    table = silver_orders()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        table.name = "other"  # type: ignore[misc]


def test_table_schema_may_be_omitted_outside_bronze() -> None:
    table = Table("daily_revenue", "gold", primary_keys="day")
    assert table.schema is None
    assert table.primary_keys == ("day",)


# --- Table: validation -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "1orders", "_orders", "my orders", "my-orders", "a" * 129])
def test_table_rejects_bad_names(name: str) -> None:
    assert table_error(name=name, layer="gold") == (
        f"table {name!r}: a table name must start with a letter and contain only letters, "
        "digits and '_' (at most 128 characters)"
    )


def test_table_rejects_a_non_string_name() -> None:
    assert table_error(name=42, layer="gold").startswith("table 42: a table name must start")


def test_table_accepts_a_128_character_name() -> None:
    assert Table("a" * 128, "gold").name == "a" * 128


def test_table_rejects_an_unknown_layer_naming_the_table() -> None:
    assert table_error(name="orders", layer="platinum") == (
        "table 'orders': unknown layer 'platinum'; choose one of bronze, silver, gold"
    )


def test_table_layer_names_are_lower_case() -> None:
    assert "unknown layer 'GOLD'" in table_error(name="orders", layer="GOLD")


def test_table_rejects_an_unparsable_schema_with_a_schema_error_naming_the_table() -> None:
    with pytest.raises(SchemaError) as info:
        Table("orders", "gold", schema="id INT,")
    assert str(info.value) == (
        "table 'orders': cannot parse schema 'id INT,': expected a column name, "
        "found 'end of input'"
    )
    assert isinstance(info.value.__cause__, SchemaError)


def test_table_rejects_a_schema_of_the_wrong_type_naming_the_table() -> None:
    with pytest.raises(SchemaError) as info:
        Table("orders", "gold", schema=42)  # type: ignore[arg-type]
    assert str(info.value) == (
        "table 'orders': a schema must be a StructType or a DDL string, not int"
    )


def test_silver_table_needs_primary_keys() -> None:
    assert table_error(name="orders", layer="silver", schema="id STRING") == (
        "table 'orders': a silver table needs primary_keys (they are its MERGE keys)"
    )


def test_bronze_table_needs_a_schema() -> None:
    assert table_error(name="events", layer="bronze") == (
        "table 'events': a bronze table needs a schema (ingestion enforces it)"
    )


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("primary_keys", "primary key"),
        ("partition_by", "partition column"),
        ("zorder_by", "Z-order column"),
    ],
)
def test_table_key_and_layout_columns_must_be_schema_columns(field: str, label: str) -> None:
    fields: dict[str, object] = {
        "name": "sales",
        "layer": "gold",
        "schema": "day DATE, store STRING, revenue DOUBLE",
        field: ["day", "missing"] if field != "zorder_by" else ["store", "missing"],
    }
    assert table_error(**fields) == (
        f"table 'sales': {label} 'missing' is not a column of its schema (day, store, revenue)"
    )


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("primary_keys", "primary key"),
        ("partition_by", "partition column"),
        ("zorder_by", "Z-order column"),
    ],
)
def test_table_key_and_layout_columns_may_not_repeat(field: str, label: str) -> None:
    assert table_error(
        name="sales", layer="gold", schema="day DATE, store STRING", **{field: ["store", "STORE"]}
    ) == (f"table 'sales': {label} 'STORE' is listed twice")


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("primary_keys", "primary key"),
        ("partition_by", "partition column"),
        ("zorder_by", "Z-order column"),
    ],
)
def test_table_key_and_layout_columns_must_be_non_empty_strings(field: str, label: str) -> None:
    assert table_error(name="sales", layer="gold", **{field: ["day", ""]}) == (
        f"table 'sales': {label} '' is not a column name"
    )
    assert table_error(name="sales", layer="gold", **{field: ["day", 3]}) == (
        f"table 'sales': {label} 3 is not a column name"
    )


def test_table_column_references_are_case_insensitive() -> None:
    table = silver_orders(primary_keys=["ORDER_ID"], partition_by="Order_Date")
    assert table.primary_keys == ("ORDER_ID",)
    assert table.partition_by == ("Order_Date",)


def test_table_key_columns_are_not_checked_without_a_schema() -> None:
    assert Table("sales", "gold", partition_by="anything").partition_by == ("anything",)


def test_table_rejects_zorder_by_a_partition_column() -> None:
    assert table_error(
        name="orders",
        layer="silver",
        schema="id STRING, day DATE, region STRING",
        primary_keys="id",
        partition_by=["day", "region"],
        zorder_by=["id", "DAY"],
    ) == (
        "table 'orders': Z-order column(s) day are partition columns; "
        "Delta cannot Z-order by a partition column"
    )


@pytest.mark.parametrize("column", [c.name for c in METADATA_COLUMNS.fields] + ["_RUN_ID"])
def test_bronze_table_may_not_declare_metadata_columns(column: str) -> None:
    assert table_error(name="events", layer="bronze", schema=f"id STRING, {column} STRING") == (
        f"table 'events': column(s) {column} are reserved for bronze metadata"
    )


def test_silver_table_may_declare_columns_named_like_bronze_metadata() -> None:
    table = Table("events", "silver", schema="id STRING, _run_id STRING", primary_keys="id")
    assert table.schema is not None
    assert table.schema.fieldNames() == ["id", "_run_id"]


def test_table_rejects_a_rule_declared_twice() -> None:
    rule = QualityRule("positive", "amount > 0")
    assert table_error(
        name="orders",
        layer="silver",
        schema="id STRING, amount DOUBLE",
        primary_keys="id",
        rules=[rule, QualityRule("positive", "amount >= 0", action="drop")],
    ) == ("table 'orders': rule 'positive' is declared twice")


def test_table_rejects_rules_that_are_not_quality_rules() -> None:
    assert table_error(
        name="orders",
        layer="silver",
        schema="id STRING, amount DOUBLE",
        primary_keys="id",
        rules=["amount > 0"],
    ) == ("table 'orders': rules must be QualityRule, got 'amount > 0'")


@pytest.mark.parametrize("catalog_name", ["", "a.b.c.d", "1db.orders", "db..orders", "db.my-t"])
def test_table_rejects_catalog_names_that_are_not_identifiers(catalog_name: str) -> None:
    assert table_error(name="orders", layer="gold", catalog_name=catalog_name) == (
        f"table 'orders': catalog_name {catalog_name!r} is not an identifier "
        "like 'db.table' or 'catalog.db.table'"
    )


@pytest.mark.parametrize("catalog_name", ["orders", "shop.orders", "main.shop.silver_orders"])
def test_table_accepts_catalog_identifiers(catalog_name: str) -> None:
    assert Table("orders", "gold", catalog_name=catalog_name).catalog_name == catalog_name


def test_table_write_takes_a_policy() -> None:
    table = silver_orders(write=Merge(sequence_by="day", delete_when="op = 'D'"))
    assert table.write == Merge(keys=("order_id",), sequence_by=("day",), delete_when="op = 'D'")


def test_table_refuses_a_write_that_is_not_a_policy() -> None:
    assert table_error(name="orders", layer="gold", write="upsert").startswith(
        "table 'orders': write must be Append(), Overwrite(), ReplacePartitions(), Merge(...) "
        "or SCD2(...), not 'upsert'"
    )


def test_table_merge_needs_keys() -> None:
    assert table_error(name="sales", layer="gold", write=Merge()) == (
        "table 'sales': Merge() needs keys or primary_keys"
    )


def test_table_merge_keys_must_be_columns() -> None:
    assert table_error(
        name="sales", layer="gold", schema="day DATE, n INT", write=Merge(keys="id")
    ).startswith("table 'sales': merge key 'id' is not a column of its schema")


def test_table_replace_partitions_needs_partition_by() -> None:
    assert table_error(name="sales", layer="gold", write=ReplacePartitions()) == (
        "table 'sales': ReplacePartitions() needs partition_by"
    )


@pytest.mark.parametrize("policy", [Overwrite(), Merge(), ReplacePartitions()])
def test_bronze_tables_are_append_only(policy: object) -> None:
    assert table_error(
        name="events",
        layer="bronze",
        schema="id STRING, day DATE",
        primary_keys="id",
        partition_by="day",
        write=policy,
    ) == ("table 'events': bronze tables are append-only (write=Append())")


def test_bronze_table_accepts_an_explicit_append() -> None:
    assert Table("events", "bronze", schema="id STRING", write=Append()).write == Append()


SCD2_SCHEMA = (
    "id STRING, city STRING, email STRING, at TIMESTAMP, valid_from TIMESTAMP, "
    "valid_to TIMESTAMP, is_current BOOLEAN"
)


def test_scd2_keys_default_to_the_primary_keys_without_valid_from() -> None:
    dim = Table("dim", "gold", schema=SCD2_SCHEMA, primary_keys=("id", "valid_from"), write=SCD2())
    assert dim.write == SCD2(keys=("id",))
    assert dim.write.mode is WriteMode.SCD2


def test_scd2_columns_must_be_in_the_schema_with_their_types() -> None:
    assert table_error(
        name="dim", layer="gold", schema="id STRING, city STRING", write=SCD2(keys="id")
    ).startswith("table 'dim': SCD2 column 'valid_from' is not a column of its schema")
    wrong = SCD2_SCHEMA.replace("is_current BOOLEAN", "is_current STRING")
    assert table_error(name="dim", layer="gold", schema=wrong, write=SCD2(keys="id")) == (
        "table 'dim': SCD2 column 'is_current' is string, not boolean"
    )
    assert table_error(
        name="dim", layer="gold", schema=SCD2_SCHEMA, write=SCD2(keys="id", tracked="town")
    ).startswith("table 'dim': tracked column 'town' is not a column of its schema")


def test_scd2_refuses_a_column_both_tracked_and_in_place() -> None:
    with pytest.raises(TableDefinitionError, match="cannot be both tracked and in place"):
        SCD2(keys="id", tracked=["city"], in_place=["city", "email"])


def test_policies_name_the_source_columns_they_read() -> None:
    assert Merge(sequence_by="seq", delete_when="s.op = 'D' AND _change_type = 'delete'").columns(
    ) == ("seq", "op", "_change_type")
    assert SCD2(keys="id", effective_at="at", delete_when="op = 'D'").columns() == ("at", "op")
    assert SCD2(keys="id").on_delete is DeleteAction.CLOSE
    assert Append().columns() == Overwrite().columns() == ReplacePartitions().columns() == ()


def test_a_malformed_delete_condition_is_refused_when_declared() -> None:
    with pytest.raises(TableDefinitionError, match=r"Merge.delete_when 'op =' is malformed"):
        Merge(delete_when="op =")


def test_as_policy_turns_mode_names_into_policies() -> None:
    assert as_policy("merge", ["id"]) == Merge(keys=("id",))
    assert as_policy(WriteMode.REPLACE_PARTITIONS) == ReplacePartitions()
    assert as_policy("scd2", ["id", "valid_from"]) == SCD2(keys=("id",))
    with pytest.raises(TableDefinitionError, match="a MERGE needs key columns"):
        as_policy("merge")
    with pytest.raises(ValueError):
        as_policy("upsert")


def test_table_definition_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Table("orders", "silver", schema="id STRING")


# --- Table: derived values ----------------------------------------------------------------


def test_table_qualified_name() -> None:
    assert silver_orders().qualified_name == "silver.orders"
    assert Table("events", "bronze", schema="id STRING").qualified_name == "bronze.events"
    assert Table("daily", Layer.GOLD).qualified_name == "gold.daily"


def test_table_location_makes_a_relative_local_root_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert silver_orders().location("lake") == os.path.join(os.getcwd(), "lake", "silver", "orders")
    assert silver_orders().location(Path("lake")) == silver_orders().location("lake")
    assert silver_orders().location("./lake/") == silver_orders().location("lake")


def test_table_location_under_an_absolute_root() -> None:
    assert silver_orders().location("/data/lakehouse") == "/data/lakehouse/silver/orders"
    assert silver_orders().location("/data/lakehouse/") == "/data/lakehouse/silver/orders"
    assert silver_orders().location(Path("/data/lakehouse")) == "/data/lakehouse/silver/orders"


def test_table_location_under_a_uri_root_is_kept_as_is() -> None:
    events = Table("events", "bronze", schema="id STRING")
    assert events.location("s3a://bucket/lake/") == "s3a://bucket/lake/bronze/events"
    assert events.location("s3a://bucket/lake") == "s3a://bucket/lake/bronze/events"
    assert events.location("abfss://c@acct.dfs.core.windows.net/lake") == (
        "abfss://c@acct.dfs.core.windows.net/lake/bronze/events"
    )
    assert events.location("file:///tmp/lake/") == "file:///tmp/lake/bronze/events"


@pytest.mark.parametrize(
    ("table", "mode"),
    [
        (Table("events", "bronze", schema="id STRING"), WriteMode.APPEND),
        (Table("orders", "silver", schema="id STRING", primary_keys="id"), WriteMode.MERGE),
        (Table("daily", "gold"), WriteMode.OVERWRITE),
        (Table("daily", "gold", partition_by="day"), WriteMode.REPLACE_PARTITIONS),
        (Table("daily", "gold", partition_by="day", write=Overwrite()), WriteMode.OVERWRITE),
        (Table("daily", "gold", primary_keys="day", write=Merge()), WriteMode.MERGE),
        (Table("orders", "silver", primary_keys="id", write=Overwrite()), WriteMode.OVERWRITE),
        (Table("orders", "silver", primary_keys="id", partition_by="day"), WriteMode.MERGE),
        (
            Table("events", "bronze", schema="id STRING, day DATE", partition_by="day"),
            WriteMode.APPEND,
        ),
    ],
)
def test_table_write_policy_defaults_to_the_layer_convention(table: Table, mode: WriteMode) -> None:
    assert table.write.mode is mode


def test_bronze_storage_schema_appends_the_metadata_columns() -> None:
    events = Table("events", "bronze", schema="id STRING NOT NULL, payload STRING")
    assert events.storage_schema == T.StructType(
        [
            T.StructField("id", T.StringType(), False),
            T.StructField("payload", T.StringType(), True),
            *METADATA_COLUMNS.fields,
        ]
    )


def test_metadata_columns() -> None:
    assert METADATA_COLUMNS.fieldNames() == [
        "_ingested_at",
        "_run_id",
        "_source_file",
        "_source_modified_at",
        "_rescued_data",
        "_rescue_reason",
        "_source_position",
    ]


def test_silver_and_gold_storage_schema_is_the_declared_schema() -> None:
    orders = silver_orders()
    assert orders.storage_schema is orders.schema
    gold = Table("daily", "gold", schema="day DATE, revenue DOUBLE")
    assert gold.storage_schema is gold.schema
    assert Table("daily", "gold").storage_schema is None


def test_require_schema() -> None:
    orders = silver_orders()
    assert orders.require_schema() is orders.schema
    with pytest.raises(SchemaError) as info:
        Table("daily", "gold").require_schema()
    assert str(info.value) == "table 'gold.daily' has no declared schema"


def test_describe_a_full_table() -> None:
    table = silver_orders(
        partition_by="order_date",
        zorder_by=["customer_id", "amount"],
        rules=[
            QualityRule("positive_amount", "amount > 0"),
            QualityRule("has_customer", "customer_id IS NOT NULL"),
        ],
    )
    assert table.describe() == (
        "silver.orders keys=(order_id) partitioned by (order_date) "
        "z-order (customer_id, amount) 2 rule(s) write=merge"
    )


def test_describe_a_minimal_table() -> None:
    assert Table("daily", "gold").describe() == "gold.daily write=overwrite"
    assert Table("daily", "gold", partition_by=["year", "month"]).describe() == (
        "gold.daily partitioned by (year, month) write=replace_partitions"
    )


# --- errors and the package ----------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in errors.__all__ if n != "MedallionWarning"])
def test_every_error_is_a_medallion_error(name: str) -> None:
    error = getattr(errors, name)
    assert issubclass(error, MedallionError)
    assert issubclass(error, Exception)


def test_medallion_warning_is_a_user_warning_not_an_error() -> None:
    assert issubclass(MedallionWarning, UserWarning)
    assert not issubclass(MedallionWarning, MedallionError)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (TableDefinitionError, ValueError),
        (RuleDefinitionError, ValueError),
        (SchemaError, ValueError),
        (PipelineDefinitionError, ValueError),
        (UnknownStepError, KeyError),
        (errors.SessionError, RuntimeError),
        (errors.DeltaNotConfiguredError, errors.SessionError),
        (errors.JarResolutionError, errors.SessionError),
        (CycleError, PipelineDefinitionError),
        (PipelineDefinitionError, PipelineError),
        (UnknownStepError, PipelineError),
        (StepFailedError, PipelineError),
    ],
)
def test_error_hierarchy(error: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(error, builtin)


def test_unknown_step_error_str_is_not_quoted() -> None:
    error = UnknownStepError("no step or table named 'x'; known: a, b")
    assert str(error) == "no step or table named 'x'; known: a, b"
    assert str(KeyError("no step")) == "'no step'"
    assert str(UnknownStepError()) == ""


def test_cycle_error_carries_the_cycle() -> None:
    error = CycleError("a cycle", ("gold.a", "gold.b", "gold.a"))
    assert error.cycle == ("gold.a", "gold.b", "gold.a")
    assert str(error) == "a cycle"


def test_step_failed_error_carries_step_table_and_result() -> None:
    error = StepFailedError("it failed", "clean_orders", "silver.orders", result="r")
    assert (error.step, error.table, error.result, str(error)) == (
        "clean_orders",
        "silver.orders",
        "r",
        "it failed",
    )
    assert StepFailedError("x", "s", "t").result is None


def test_import_medallion_exposes_the_core_names() -> None:
    assert medallion.Layer is Layer
    assert medallion.Table is Table
    assert medallion.QualityRule is QualityRule
    assert medallion.Action is Action
    assert medallion.Pipeline.__name__ == "Pipeline"
    assert medallion.__version__ == "0.1.0"


@pytest.mark.parametrize("name", medallion.__all__)
def test_every_name_in_medallion_all_resolves(name: str) -> None:
    assert getattr(medallion, name) is not None


def test_medallion_all_has_no_duplicates() -> None:
    assert len(medallion.__all__) == len(set(medallion.__all__))


def test_table_max_quarantine_share_must_be_a_share() -> None:
    with pytest.raises(TableDefinitionError, match="'t': max_quarantine_share must be between"):
        Table("t", "gold", max_quarantine_share=1.5)
    assert Table("t", "gold", max_quarantine_share=0.1).max_quarantine_share == 0.1
