"""Unit tests of ``medallion.graph``: the lineage of the e-commerce pipeline, its three renderings
and the lineage guide's diagrams, without Spark.

The diagrams of ``docs/guides/lineage.md`` are generated from the code: this test fails when they
differ, and ``python -m tests.unit.test_graph`` rewrites them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from examples.ecommerce import streaming
from examples.ecommerce.pipeline import pipeline as ecommerce
from medallion import Layer, Pipeline, Table, changes, checks
from medallion.errors import PipelineDefinitionError
from medallion.graph import (
    FORMATS,
    Edge,
    EdgeKind,
    Graph,
    Node,
    NodeKind,
    build_graph,
    from_json,
    graph_command,
    to_dot,
    to_json,
    to_mermaid,
)
from medallion.pipeline import graph as step_graph
from medallion.policies import WriteMode

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guides" / "lineage.md"
#: The pipelines whose diagrams the lineage guide shows, in page order.
DOC_PIPELINES = (ecommerce, streaming.pipeline)
_MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n^```[ \t]*$", re.M | re.S)
_JSON_BLOCK = re.compile(r"^```json\n(.*?)\n^```[ \t]*$", re.M | re.S)


def expected_edges(pipeline: Pipeline) -> set[tuple[str, str, str]]:
    """The edges, derived from the steps: inputs (whole or changes), then rule references."""
    edges: set[tuple[str, str, str]] = set()
    for step in pipeline.steps:
        target = step.table.qualified_name
        incremental = {t.qualified_name for t in step.changes_of}
        inputs = {t.qualified_name for t in step.inputs}
        for source in inputs:
            edges.add((source, target, "changes" if source in incremental else "reads"))
        for ref in step_graph.references(step):
            if ref.qualified_name not in inputs:
                edges.add((ref.qualified_name, target, "references"))
    return edges


def edge_set(graph: Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind.value) for e in graph.edges}


# -- the model, from the e-commerce pipeline ---------------------------------------------------


def test_a_node_per_step_with_its_tables_declaration() -> None:
    graph = build_graph(ecommerce)
    assert graph.pipeline == "ecommerce"
    assert len(ecommerce.steps) == 14
    assert {n.id for n in graph.nodes} == {s.table.qualified_name for s in ecommerce.steps}
    for step in ecommerce.steps:
        node = graph.node(step.table.qualified_name)
        assert node.kind is NodeKind.TABLE
        assert (node.name, node.layer, node.step) == (step.table.name, step.table.layer, step.name)
        assert node.write is step.table.write.mode
        assert node.primary_keys == step.table.primary_keys
        assert node.partition_by == step.table.partition_by
        assert node.params == step.params
        assert node.description == step.description
        assert node.comment == step.table.comment


def test_a_few_facts_of_the_ecommerce_graph() -> None:
    graph = build_graph(ecommerce)
    assert graph.upstream("gold.customer_rfm") == ("silver.transactions",)
    assert graph.upstream("gold.product_performance") == ("silver.products", "silver.transactions")
    assert graph.upstream("silver.transactions") == (
        "bronze.transactions",
        "silver.customers",
        "silver.products",
    )
    assert [graph.upstream(f"bronze.{n}") for n in ("customers", "products", "transactions")] == [
        (),
        (),
        (),
    ]
    assert set(graph.downstream("silver.transactions")) == {
        "gold.customer_rfm",
        "gold.daily_sales",
        "gold.dim_dates",
        "gold.monthly_sales",
        "gold.product_performance",
        "gold.weekly_sales",
    }
    assert ("silver.customers", "silver.transactions", "references") in edge_set(graph)
    assert ("silver.transactions", "gold.customer_rfm", "changes") in edge_set(graph)
    assert graph.node("gold.dim_customers").write is WriteMode.SCD2
    assert graph.node("gold.customer_rfm").write is WriteMode.OVERWRITE
    assert graph.node("bronze.transactions").write is WriteMode.APPEND
    assert graph.node("gold.daily_sales").partition_by == ("order_year",)
    assert graph.node("gold.daily_sales").write is WriteMode.MERGE
    assert graph.node("gold.customer_rfm").step == "gold_customer_rfm"
    assert [n.params for n in graph.nodes if n.params] == [("landing",)] * 3
    assert all(n.layer is Layer.BRONZE for n in graph.nodes if n.params)


def test_edges_are_the_steps_inputs_and_references() -> None:
    graph = build_graph(ecommerce)
    assert edge_set(graph) == expected_edges(ecommerce)
    assert len(graph.edges) == len(edge_set(graph)) == 14
    # Every input of the example is read incrementally.
    assert {e.kind for e in graph.edges} == {EdgeKind.CHANGES, EdgeKind.REFERENCES}


def test_edges_agree_with_the_plans_dependencies() -> None:
    """An edge between produced tables is exactly a step dependency of the plan."""
    graph = build_graph(ecommerce)
    producer = {s.table.qualified_name: s.name for s in ecommerce.steps}
    from_graph = {(producer[e.source], producer[e.target]) for e in graph.edges}
    dependencies = step_graph.dependencies(ecommerce.steps)
    assert from_graph == {(up, step) for step, ups in dependencies.items() for up in ups}
    order = [p.step.table.qualified_name for p in ecommerce.plan("/lake").steps]
    assert all(order.index(e.source) < order.index(e.target) for e in graph.edges)


def test_order_is_by_layer_then_name() -> None:
    graph = build_graph(ecommerce)
    keys = [(list(Layer).index(n.layer), n.name) for n in graph.nodes]
    assert keys == sorted(keys)
    position = {n.id: i for i, n in enumerate(graph.nodes)}
    edge_keys = [(position[e.source], position[e.target]) for e in graph.edges]
    assert edge_keys == sorted(edge_keys)


def test_the_order_of_registration_does_not_change_the_graph() -> None:
    reversed_pipeline = Pipeline("ecommerce")
    for step in reversed(ecommerce.steps):
        reversed_pipeline.add(step)
    assert build_graph(reversed_pipeline) == build_graph(ecommerce)
    for fmt in FORMATS:
        assert graph_command(reversed_pipeline, fmt) == graph_command(ecommerce, fmt)


def test_tables_no_step_produces_are_external() -> None:
    graph = build_graph(streaming.pipeline)
    external = {n.id for n in graph.nodes if n.kind is NodeKind.EXTERNAL}
    assert external == {"bronze.transaction_events", "silver.customers", "silver.products"}
    assert (
        edge_set(graph)
        == expected_edges(streaming.pipeline)
        == {
            ("bronze.transaction_events", "silver.transaction_events", "changes"),
            ("silver.customers", "silver.transaction_events", "references"),
            ("silver.products", "silver.transaction_events", "references"),
        }
    )
    bronze = graph.node("bronze.transaction_events")
    assert (bronze.step, bronze.write, bronze.layer) == (None, WriteMode.APPEND, Layer.BRONZE)


def test_a_plain_input_reads_and_an_input_that_is_also_referenced_gives_one_edge() -> None:
    customers = Table("customers", "silver", schema="id STRING", primary_keys="id")
    raw = Table("orders", "bronze", schema="id STRING, customer_id STRING")
    orders = Table(
        "orders",
        "silver",
        schema="id STRING, customer_id STRING",
        primary_keys="id",
        rules=[checks.exists_in("customer_id", customers, "id")],
    )
    pipeline = Pipeline("shop")
    pipeline.step(orders, inputs=[raw, customers], name="clean")(lambda ctx: None)
    graph = build_graph(pipeline)
    assert edge_set(graph) == {
        ("bronze.orders", "silver.orders", "reads"),
        ("silver.customers", "silver.orders", "reads"),
    }
    assert [n.kind for n in graph.nodes] == [NodeKind.EXTERNAL, NodeKind.EXTERNAL, NodeKind.TABLE]


def test_run_parameters_of_the_pipeline_and_of_its_steps() -> None:
    pipeline = Pipeline("shop", params={"landing": None, "days": "7"})
    raw = Table("orders", "bronze", schema="id STRING")
    pipeline.step(raw, name="load", params=["landing"])(lambda ctx: None)
    graph = build_graph(pipeline)
    assert graph.params == {"landing": None, "days": "7"}
    assert graph.node("bronze.orders").params == ("landing",)
    assert json.loads(to_json(graph))["params"] == {"landing": None, "days": "7"}
    assert from_json(to_json(graph)) == graph
    _, labels, _ = mermaid_structure(to_mermaid(graph))
    assert labels == {"bronze__orders": "bronze.orders<br/>append<br/>params: landing"}
    assert '"bronze.orders" [label="bronze.orders\\nappend\\nparams: landing"];' in to_dot(graph)


def test_an_empty_pipeline() -> None:
    graph = build_graph(Pipeline("nothing"))
    assert graph == Graph("nothing", (), ())
    assert to_mermaid(graph).splitlines()[0] == "flowchart LR"
    assert from_json(to_json(graph)) == graph


def test_a_graph_checks_its_nodes_and_edges() -> None:
    node = Node("gold.a", "a", "gold", "table")
    with pytest.raises(PipelineDefinitionError, match="repeated"):
        Graph("p", (node, node), ())
    with pytest.raises(PipelineDefinitionError, match=r"'gold\.b', which is not a node"):
        Graph("p", (node,), (Edge("gold.a", "gold.b", "reads"),))
    with pytest.raises(KeyError, match=r"no table 'gold\.b'"):
        Graph("p", (node,), ()).node("gold.b")


# -- JSON ---------------------------------------------------------------------------------------


def test_json_round_trips_and_has_the_documented_layout() -> None:
    graph = build_graph(ecommerce)
    text = to_json(graph)
    assert from_json(text) == graph
    assert to_json(from_json(text)) == text
    document = json.loads(text)
    assert list(document) == ["version", "pipeline", "params", "nodes", "edges"]
    assert document["version"] == 1 and document["pipeline"] == "ecommerce"
    assert all(
        list(node)
        == [
            "id",
            "name",
            "layer",
            "kind",
            "write",
            "primary_keys",
            "partition_by",
            "step",
            "params",
            "description",
            "comment",
        ]
        for node in document["nodes"]
    )
    assert all(list(edge) == ["source", "target", "kind"] for edge in document["edges"])
    assert {(e["source"], e["target"], e["kind"]) for e in document["edges"]} == expected_edges(
        ecommerce
    )
    rfm = next(n for n in document["nodes"] if n["id"] == "gold.customer_rfm")
    assert (rfm["layer"], rfm["kind"], rfm["write"], rfm["primary_keys"]) == (
        "gold",
        "table",
        "overwrite",
        ["customer_id"],
    )


def test_json_of_external_and_reference_only_nodes_round_trips() -> None:
    graph = build_graph(streaming.pipeline)
    assert from_json(to_json(graph)) == graph
    bare = Graph("p", (Node("silver.a", "a", "silver", "external"),), ())
    assert json.loads(to_json(bare))["nodes"][0]["write"] is None
    assert from_json(to_json(bare)) == bare


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "a JSON object"),
        ('{"version": 2, "pipeline": "p", "nodes": [], "edges": []}', "version 2"),
        ('{"version": 1, "pipeline": "p", "nodes": {}, "edges": []}', "'nodes' must be a list"),
        (
            '{"version": 1, "pipeline": "p", "params": {}, "nodes": [{"id": "x"}], "edges": []}',
            "no 'name'",
        ),
        ('{"version": 1, "pipeline": 3, "params": {}, "nodes": [], "edges": []}', "a string"),
        ('{"version": 1, "pipeline": "p", "nodes": [], "edges": []}', "'params' must map"),
        ('{"version": 1, "pipeline": "p", "params": {"a": 1}, "nodes": [], "edges": []}', "map"),
    ],
)
def test_json_that_is_not_a_graph_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_json(text)


# -- Mermaid ------------------------------------------------------------------------------------


def mermaid_structure(text: str) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    """``({subgraph: [node ids]}, {node id: label}, [other lines])``; fails on anything that is
    not a subgraph, a node, an edge, a style, a class or a comment line."""
    subgraphs: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    rest: list[str] = []
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    current: str | None = None
    for line in lines[1:]:
        if m := re.fullmatch(r'  subgraph (\w+)\["(\w+)"\]', line):
            assert current is None and m[1] == m[2] and m[1] not in subgraphs
            current = m[1]
            subgraphs[current] = []
        elif line == "  end":
            assert current is not None
            current = None
        elif m := re.fullmatch(r'    (\w+)\["([^"]*)"\]', line):
            assert current is not None, line
            subgraphs[current].append(m[1])
            labels[m[1]] = m[2]
        else:
            assert current is None, line
            assert re.fullmatch(
                r"  (%% .*|\w+ (-->|==>|-\. references \.->) \w+"
                r"|style \w+ fill:#\w{6},stroke:#\w{6}"
                r"|classDef external stroke-dasharray: 5 5|class [\w,]+ external)",
                line,
            ), line
            rest.append(line.strip())
    assert current is None
    return subgraphs, labels, rest


def test_mermaid_has_one_subgraph_per_layer_and_every_edge() -> None:
    graph = build_graph(ecommerce)
    text = to_mermaid(graph)
    subgraphs, labels, rest = mermaid_structure(text)
    assert list(subgraphs) == ["bronze", "silver", "gold"]
    for layer, members in subgraphs.items():
        assert sorted(members) == sorted(
            n.id.replace(".", "__") for n in graph.nodes if n.layer.value == layer
        )
    assert labels["silver__transactions"] == "silver.transactions<br/>merge"
    assert labels["gold__daily_sales"] == "gold.daily_sales<br/>merge<br/>partitioned by order_year"
    assert labels["gold__dim_customers"] == "gold.dim_customers<br/>scd2"
    arrows = {"reads": "-->", "changes": "==>", "references": "-. references .->"}
    edge_lines = [line for line in rest if re.search(r"(->|==>) ", line)]
    assert edge_lines == [
        f"{s.replace('.', '__')} {arrows[k]} {t.replace('.', '__')}"
        for s, t, k in ((e.source, e.target, e.kind.value) for e in graph.edges)
    ]
    assert len(edge_lines) == len(expected_edges(ecommerce))
    assert "class" not in " ".join(rest)  # no external table in the batch pipeline


def test_mermaid_marks_external_tables() -> None:
    subgraphs, labels, rest = mermaid_structure(to_mermaid(build_graph(streaming.pipeline)))
    assert list(subgraphs) == ["bronze", "silver"]  # no empty gold subgraph
    assert labels["silver__customers"] == "silver.customers<br/>external"
    externals = "bronze__transaction_events,silver__customers,silver__products"
    assert rest[-1] == f"class {externals} external"


def test_labels_are_escaped() -> None:
    node = Node("gold.x", "x", "gold", "table", WriteMode.OVERWRITE, partition_by=['a"b<c>#'])
    text = to_mermaid(Graph('we"ird\nname', (node,), ()))
    _, labels, _ = mermaid_structure(text)
    assert labels["gold__x"] == "gold.x<br/>overwrite<br/>partitioned by a#quot;b#lt;c#gt;#35;"
    dot = to_dot(Graph('we"ird', (node,), ()))
    assert 'digraph "we\\"ird" {' in dot
    assert '[label="gold.x\\noverwrite\\npartitioned by a\\"b<c>#"];' in dot
    check_dot(dot)


# -- DOT ----------------------------------------------------------------------------------------

_DOT_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->)|([{}\[\];=,])|([A-Za-z_][\w.]*|\d+))')


def dot_tokens(text: str) -> list[str]:
    """DOT's tokens (quoted strings kept quoted); fails on any character DOT would refuse."""
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _DOT_TOKEN.match(text, position)
        assert match is not None and match.end() > position, text[position : position + 40]
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


def check_dot(text: str) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    """Parse the subset of DOT that ``to_dot`` writes; ``({cluster: [nodes]}, [(a, b, attrs)])``.

    Statements: ``graph|node|edge [attrs];``, ``key=value;``, ``"id" [attrs];``,
    ``"a" -> "b" [attrs];`` and ``subgraph "cluster_x" { ... }``.
    """
    tokens = dot_tokens(text)
    assert tokens[0] == "digraph" and tokens[1].startswith('"') and tokens[2] == "{"
    assert tokens[-1] == "}"
    clusters: dict[str, list[str]] = {}
    edges: list[tuple[str, str, str]] = []
    i, cluster = 3, None

    def attributes(i: int) -> tuple[int, str]:
        if tokens[i] != "[":
            return i, ""
        j = tokens.index("]", i)
        body = tokens[i + 1 : j]
        k = 0
        while k < len(body):  # key=value, key=value
            assert re.fullmatch(r"\w+", body[k]) and body[k + 1] == "=", body
            assert body[k + 2] not in "[]{};=,", body
            k += 3
            if k < len(body):
                assert body[k] == ",", body
                k += 1
        return j + 1, " ".join(body)

    while i < len(tokens) - 1:
        token = tokens[i]
        if token == "subgraph":
            assert cluster is None and tokens[i + 2] == "{"
            cluster = tokens[i + 1].strip('"')
            assert cluster.startswith("cluster_") and cluster not in clusters
            clusters[cluster] = []
            i += 3
        elif token == "}":
            assert cluster is not None
            cluster, i = None, i + 1
        elif token in ("graph", "node", "edge"):
            i, _ = attributes(i + 1)
            assert tokens[i] == ";"
            i += 1
        elif tokens[i + 1] == "=":
            assert tokens[i + 3] == ";"
            i += 4
        elif tokens[i + 1] == "->":
            source, target = token, tokens[i + 2]
            i, attrs = attributes(i + 3)
            assert tokens[i] == ";"
            edges.append((json.loads(source), json.loads(target), attrs))
            i += 1
        else:
            assert token.startswith('"') and cluster is not None, token
            i, _ = attributes(i + 1)
            assert tokens[i] == ";"
            clusters[cluster].append(json.loads(token))
            i += 1
    assert cluster is None
    return clusters, edges


def test_dot_has_a_cluster_per_layer_and_every_edge() -> None:
    graph = build_graph(ecommerce)
    text = to_dot(graph)
    clusters, edges = check_dot(text)
    assert list(clusters) == ["cluster_bronze", "cluster_silver", "cluster_gold"]
    for cluster, members in clusters.items():
        layer = cluster.removeprefix("cluster_")
        assert members == [n.id for n in graph.nodes if n.layer.value == layer]
    styles = {"changes": "style = bold", "references": 'style = dashed , label = "references"'}
    assert [(s, t) for s, t, _ in edges] == [(e.source, e.target) for e in graph.edges]
    assert {(s, t, a) for s, t, a in edges} == {
        (s, t, styles[k]) for s, t, k in expected_edges(ecommerce)
    }
    assert '"gold.daily_sales" [label="gold.daily_sales\\nmerge\\npartitioned by order_year"];' in (
        text
    )


def test_dot_marks_external_tables() -> None:
    text = to_dot(build_graph(streaming.pipeline))
    clusters, _ = check_dot(text)
    assert clusters == {
        "cluster_bronze": ["bronze.transaction_events"],
        "cluster_silver": ["silver.customers", "silver.products", "silver.transaction_events"],
    }
    dashed = re.findall(r'^    "([\w.]+)" \[.*style="rounded,filled,dashed"\];$', text, re.M)
    assert dashed == ["bronze.transaction_events", "silver.customers", "silver.products"]


def test_graphviz_reads_the_dot_when_it_is_installed(tmp_path: Path) -> None:
    # Graphviz is not a dependency: without it the structure is checked above, textually.
    text = to_dot(build_graph(ecommerce))
    dot = shutil.which("dot")
    if dot is None:
        check_dot(text)
        return
    source = tmp_path / "ecommerce.dot"
    source.write_text(text, encoding="utf-8")
    result = subprocess.run([dot, "-Tjson", str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    names = {o["name"] for o in rendered["objects"] if "nodes" not in o}
    assert {n.id for n in build_graph(ecommerce).nodes} <= names


# -- the command --------------------------------------------------------------------------------


def test_graph_command_renders_each_format() -> None:
    graph = build_graph(ecommerce)
    assert FORMATS == ("mermaid", "dot", "json")
    assert graph_command(ecommerce) == graph_command(ecommerce, "mermaid") == to_mermaid(graph)
    assert graph_command(ecommerce, "dot") == to_dot(graph)
    assert from_json(graph_command(ecommerce, "json")) == graph
    with pytest.raises(ValueError, match="unknown graph format 'png'"):
        graph_command(ecommerce, "png")


def test_rendering_builds_from_changes_and_plain_inputs_alike() -> None:
    raw = Table(
        "orders",
        "bronze",
        schema="id STRING",
        properties={"delta.enableChangeDataFeed": "true"},
    )
    clean = Table("orders", "silver", primary_keys="id")
    pipeline = Pipeline("orders")
    pipeline.step(raw, name="load")(lambda ctx: None)
    pipeline.step(clean, inputs=[changes(raw)], name="clean")(lambda ctx: None)
    pipeline.step(Table("report", "gold"), inputs=[clean], name="report")(lambda ctx: None)
    assert edge_set(build_graph(pipeline)) == {
        ("bronze.orders", "silver.orders", "changes"),
        ("silver.orders", "gold.report", "reads"),
    }
    assert "  silver__orders --> gold__report" in to_mermaid(build_graph(pipeline)).splitlines()


# -- no PySpark, no JVM -------------------------------------------------------------------------


def test_the_module_imports_no_pyspark() -> None:
    """``medallion.graph`` itself imports only the standard library, attrs and JVM-free models."""
    tree = ast.parse((ROOT / "src" / "medallion" / "graph.py").read_text(encoding="utf-8"))
    runtime: set[str] = set()
    for statement in tree.body:  # module level; TYPE_CHECKING imports are for types only
        if isinstance(statement, ast.Import):
            runtime.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            runtime.add(statement.module or "")
    assert runtime == {
        "__future__",
        "enum",
        "json",
        "types",
        "collections.abc",
        "typing",
        "attrs",
        "medallion.errors",
        "medallion.layers",
        "medallion.policies",
    }
    assert not [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            name.startswith(("pyspark", "py4j"))
            for name in (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            if name
        )
    ]


def test_rendering_the_example_starts_no_jvm_and_imports_no_pyspark() -> None:
    """In a fresh interpreter: load the example pipelines, then render them.

    Loading them imports PySpark (``import medallion`` does, and so do the example's modules),
    but starts no JVM; rendering imports no further PySpark or Py4J module.
    """
    script = textwrap.dedent(
        """
        import json, sys
        from examples.ecommerce import streaming
        from examples.ecommerce.pipeline import pipeline
        from medallion.graph import graph_command

        before = set(sys.modules)
        texts = [graph_command(p, f) for p in (pipeline, streaming.pipeline)
                 for f in ("mermaid", "dot", "json")]
        added = sorted(m for m in set(sys.modules) - before
                       if m.split(".")[0] in ("pyspark", "py4j"))
        from pyspark import SparkContext
        print(json.dumps({
            "added": added,
            "context": SparkContext._active_spark_context is not None,
            "gateway": SparkContext._gateway is not None,
            "lengths": [len(t) for t in texts],
        }))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == []
    assert report["context"] is False and report["gateway"] is False
    assert all(length > 100 for length in report["lengths"])


# -- the lineage guide --------------------------------------------------------------------------


def doc_diagrams() -> list[str]:
    """The diagrams the lineage guide should show: the command's output for each pipeline."""
    return [to_mermaid(build_graph(p)) for p in DOC_PIPELINES]


def test_the_guides_diagrams_are_generated_from_the_code() -> None:
    blocks = _MERMAID_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert blocks == doc_diagrams(), (
        "docs/guides/lineage.md's diagrams differ from the pipelines: "
        "run `.venv/bin/python -m tests.unit.test_graph` to regenerate them"
    )


def test_the_guides_json_excerpts_are_in_the_document() -> None:
    document = json.loads(to_json(build_graph(ecommerce)))
    excerpts = [json.loads(b) for b in _JSON_BLOCK.findall(PAGE.read_text(encoding="utf-8"))]
    assert len(excerpts) == 2
    assert excerpts[0] in document["nodes"]
    assert excerpts[1] in document["edges"]


def regenerate(page: Path = PAGE) -> bool:
    """Rewrite the page's mermaid blocks with the pipelines' diagrams; whether it changed."""
    text = page.read_text(encoding="utf-8")
    diagrams = iter(doc_diagrams())
    found = len(_MERMAID_BLOCK.findall(text))
    if found != len(DOC_PIPELINES):
        raise SystemExit(f"{page}: {found} mermaid blocks, expected {len(DOC_PIPELINES)}")
    new = _MERMAID_BLOCK.sub(lambda _: f"```mermaid\n{next(diagrams)}\n```", text)
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = regenerate()
    print(f"{PAGE.relative_to(ROOT)}: {'rewritten' if changed else 'up to date'}")
