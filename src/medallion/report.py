"""One self-contained HTML page about a pipeline run, built from its run log rows.

The page shows the run (pipeline, id, start, duration, how it ended), each step (status,
timings, rows read, written, quarantined and dropped, rows inserted, updated and deleted, the
Delta version written), where each step's rows went (read = written + quarantined + dropped,
drawn as stacked bars, with the steps where the counts differ flagged), the quality rules and
their failures, and charts of the pipeline's recent runs (duration, rows written, rows
quarantined). Everything is inline: CSS and SVG, no script, font or stylesheet from elsewhere,
so the file opens offline, from disk, and can be mailed or archived as it is.

The rows are the run log's (see ``medallion.runner.runlog``) as plain dicts: from Spark
(``read_run_log(spark, root).collect()``, each ``row.asDict(recursive=True)``) or read without
a JVM with ``medallion.readonly``. This module needs neither Spark nor Delta.

Example:
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    >>> row = {"run_id": "r1", "pipeline": "sales", "step": "clean", "table": "silver.sales",
    ...        "layer": "silver", "run_started_at": at, "started_at": at,
    ...        "ended_at": at + dt.timedelta(seconds=2), "status": "succeeded",
    ...        "rows_read": 10, "rows_written": 8, "rows_quarantined": 2, "rows_dropped": 0,
    ...        "rule_metrics": [{"rule": "positive", "action": "quarantine",
    ...                          "rows_checked": 10, "rows_failed": 2}]}
    >>> page = build_report([row])
    >>> "10 read = 8 written + 2 quarantined + 0 dropped" in page
    True
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from medallion._version import __version__
from medallion.errors import RunNotFoundError

__all__ = ["build_report", "report_run_id", "write_report"]

# How a run ended: the first of these states any of its steps is in, else "succeeded" (as
# `medallion runs` says it).
_RUN_STATES = ("running", "abandoned", "cancelled", "failed")
_COMMITTED = ("succeeded",)
_MISSING = "\u2013"  # an en dash: no value


# --- the run log's rows, read -------------------------------------------------------------


@attrs.frozen
class _Rule:
    rule: str
    action: str
    checked: int
    failed: int

    @property
    def rate(self) -> float | None:
        return self.failed / self.checked if self.checked else None


@attrs.frozen
class _Step:
    name: str
    table: str
    status: str
    started: dt.datetime | None
    ended: dt.datetime | None
    error: str | None
    note: str | None
    read: int | None
    written: int | None
    quarantined: int
    dropped: int
    inserted: int | None
    updated: int | None
    deleted: int | None
    version: int | None
    version_before: int | None
    rules: tuple[_Rule, ...]

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max((self.ended - self.started).total_seconds(), 0.0)

    @property
    def accounted(self) -> int:
        return (self.written or 0) + self.quarantined + self.dropped


@attrs.frozen
class _Run:
    run_id: str
    pipeline: str
    started: dt.datetime | None
    steps: tuple[_Step, ...]

    @property
    def ended(self) -> dt.datetime | None:
        ends = [s.ended for s in self.steps if s.ended is not None]
        if not ends or any(s.status == "running" for s in self.steps):
            return None
        return max(ends)

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max((self.ended - self.started).total_seconds(), 0.0)

    @property
    def state(self) -> str:
        statuses = {s.status for s in self.steps}
        for state in _RUN_STATES:
            if state in statuses:
                return state
        return "failed" if "skipped" in statuses else "succeeded"

    def total(self, count: Callable[[_Step], int | None]) -> int:
        return sum(count(s) or 0 for s in self.steps)


def _time(value: Any) -> dt.datetime | None:
    """A time in UTC. A naive one is taken as local time: PySpark's ``collect()`` gives those."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a time: {value!r}")
    return value.astimezone(dt.timezone.utc)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _field(item: Any, name: str, index: int) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return item[index]  # a (rule, action, rows_checked, rows_failed) tuple


def _plain(row: Any) -> Mapping[str, Any]:
    as_dict = getattr(row, "asDict", None)  # a pyspark Row, given as it is
    return as_dict(recursive=True) if callable(as_dict) else row  # type: ignore[no-any-return]


def _step(row: Mapping[str, Any]) -> _Step:
    metrics = row.get("rule_metrics", row.get("rules")) or ()
    return _Step(
        name=str(row.get("step") or row.get("table") or "?"),
        table=str(row.get("table") or ""),
        status=str(row.get("status") or "?"),
        started=_time(row.get("started_at")),
        ended=_time(row.get("ended_at")),
        error=row.get("error"),
        note=row.get("note"),
        read=_int(row.get("rows_read")),
        written=_int(row.get("rows_written")),
        quarantined=_int(row.get("rows_quarantined")) or 0,
        dropped=_int(row.get("rows_dropped")) or 0,
        inserted=_int(row.get("rows_inserted")),
        updated=_int(row.get("rows_updated")),
        deleted=_int(row.get("rows_deleted")),
        version=_int(row.get("delta_version")),
        version_before=_int(row.get("version_before")),
        rules=tuple(
            _Rule(
                str(_field(m, "rule", 0)),
                str(_field(m, "action", 1)),
                int(_field(m, "rows_checked", 2) or 0),
                int(_field(m, "rows_failed", 3) or 0),
            )
            for m in metrics
        ),
    )


_FAR = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
_NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _runs(rows: Sequence[Mapping[str, Any]]) -> list[_Run]:
    """The runs the rows hold, oldest first, each with its steps in the order they started."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in map(_plain, rows):
        grouped.setdefault(str(row["run_id"]), []).append(row)
    runs = []
    for run_id, members in grouped.items():
        steps = [_step(r) for r in members]
        order = sorted(range(len(steps)), key=lambda i: (steps[i].started or _FAR, i))
        starts = [t for t in (_time(r.get("run_started_at")) for r in members) if t is not None]
        runs.append(
            _Run(
                run_id=run_id,
                pipeline=str(members[0].get("pipeline") or ""),
                started=min(starts) if starts else None,
                steps=tuple(steps[i] for i in order),
            )
        )
    runs.sort(key=lambda r: (r.started or _NEVER, r.run_id))
    return runs


def _select(runs: list[_Run], run_id: str | None) -> _Run:
    if not runs:
        raise RunNotFoundError("the run log holds no run")
    if run_id is None:
        return runs[-1]
    for run in runs:
        if run.run_id == run_id:
            return run
    raise RunNotFoundError(f"run {run_id!r} is not in the run log")


# --- formatting ----------------------------------------------------------------------------


def _e(value: object) -> str:
    """Text made safe for HTML and SVG, in text and in attribute values."""
    return html.escape(str(value), quote=True)


def _n(value: int | None) -> str:
    return _MISSING if value is None else f"{value:,}"


def _when(value: dt.datetime | None) -> str:
    return _MISSING if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _clock(value: dt.datetime | None) -> str:
    return _MISSING if value is None else f"{value:%H:%M:%S}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return _MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _rate(rule: _Rule) -> str:
    rate = rule.rate
    if rate is None:
        return _MISSING
    if rule.failed and rate < 0.0001:
        return "<0.01%"
    return f"{rate:.2%}".replace(".00%", "%")


def _badge(status: str) -> str:
    return f'<span class="badge s-{_e(status)}">{_e(status.replace("_", " "))}</span>'


def _f(value: float) -> str:
    """A coordinate for SVG."""
    return f"{value:.1f}".removesuffix(".0")


# --- the page's parts ----------------------------------------------------------------------


def _header(run: _Run) -> str:
    steps = run.steps
    by_status: dict[str, int] = {}
    for step in steps:
        by_status[step.status] = by_status.get(step.status, 0) + 1
    breakdown = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in by_status.items())
    facts = [
        ("Run id", f"<code>{_e(run.run_id)}</code>"),
        ("Started", _e(_when(run.started))),
        ("Ended", _e(_when(run.ended))),
        ("Duration", _e(_duration(run.seconds))),
        ("Steps", _e(f"{len(steps)}: {breakdown}" if steps else "0")),
        ("Rows read", _n(run.total(lambda s: s.read))),
        ("Rows written", _n(run.total(lambda s: s.written))),
        ("Rows quarantined", _n(run.total(lambda s: s.quarantined))),
        ("Rows dropped", _n(run.total(lambda s: s.dropped))),
    ]
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    alerts = []
    for step in steps:
        if step.status in ("failed", "cancelled", "abandoned"):
            why = step.error or step.note or step.status
            first = why.strip().splitlines()[0] if why.strip() else step.status
            alerts.append(
                f'<p class="alert">Step <b>{_e(step.name)}</b> ({_e(step.table)}) '
                f"{_e(step.status)}: {_e(first)}</p>"
            )
    return (
        '<header class="run">'
        '<p class="eyebrow">medallion run report</p>'
        f'<h1><span class="pipeline">{_e(run.pipeline)}</span> {_badge(run.state)}</h1>'
        f'<dl class="facts">{items}</dl>{"".join(alerts)}</header>'
    )


def _timeline(step: _Step, run: _Run) -> str:
    """A small bar: when the step ran, within the run."""
    width, height = 80, 10
    total = run.seconds
    if step.started is None or run.started is None or not total:
        return ""
    start = (step.started - run.started).total_seconds() / total
    length = (step.seconds or 0) / total
    x = max(0.0, min(start, 1.0)) * width
    w = max(length * width, 1.5)
    w = min(w, width - x) if x < width else 1.5
    return (
        f'<svg class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(f"ran {_duration(step.seconds)} of the run")}">'
        f'<rect x="0" y="3" width="{width}" height="4" class="track"/>'
        f'<rect x="{_f(x)}" y="1" width="{_f(w)}" height="8" rx="2" class="t-{_e(step.status)}"/>'
        "</svg>"
    )


def _version(step: _Step) -> str:
    if step.version is None:
        return _MISSING
    if step.version_before is None:
        return f"v{step.version}"
    return f"v{step.version_before} → v{step.version}"


def _steps_table(run: _Run) -> str:
    head = (
        "<tr><th>Step</th><th>Status</th><th>Started</th><th>Duration</th>"
        '<th class="timeline-h">Timeline</th>'
        '<th class="num">Read</th><th class="num">Written</th><th class="num">Quarantined</th>'
        '<th class="num">Dropped</th><th class="num">Inserted</th><th class="num">Updated</th>'
        '<th class="num">Deleted</th><th>Version</th></tr>'
    )
    body = []
    for step in run.steps:
        cells = [
            ("rows_read", step.read),
            ("rows_written", step.written),
            ("rows_quarantined", step.quarantined),
            ("rows_dropped", step.dropped),
            ("rows_inserted", step.inserted),
            ("rows_updated", step.updated),
            ("rows_deleted", step.deleted),
        ]
        note = f'<span class="note">{_e(step.note)}</span>' if step.note else ""
        numbers = "".join(
            f'<td class="num {name}{" zero" if not value else ""}">{_n(value)}</td>'
            for name, value in cells
        )
        body.append(
            f'<tr class="step" data-step="{_e(step.name)}">'
            f'<td><span class="name">{_e(step.name)}</span>'
            f'<span class="table">{_e(step.table)}</span>{note}</td>'
            f'<td class="status">{_badge(step.status)}</td>'
            f'<td class="started">{_e(_clock(step.started))}</td>'
            f'<td class="duration">{_e(_duration(step.seconds))}</td>'
            f'<td class="timeline-c">{_timeline(step, run)}</td>'
            f'{numbers}<td class="version">{_e(_version(step))}</td></tr>'
        )
        if step.error:
            body.append(
                f'<tr class="detail error"><td colspan="13"><pre>{_e(step.error)}</pre></td></tr>'
            )
    if not body:
        body.append('<tr><td colspan="13">The run has no step.</td></tr>')
    return (
        '<section id="steps"><h2>Steps</h2>'
        '<div class="scroll"><table class="steps">'
        f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table></div></section>"
    )


def _balance(step: _Step) -> tuple[str, str]:
    """How a step's rows add up: ``(kind, sentence)``.

    The kind is ``ok``, ``differs``, ``uncounted`` (no rows read counted) or ``none``.
    """
    if step.status not in _COMMITTED:
        reasons = {
            "up_to_date": "up to date: nothing new to read",
            "skipped": "skipped: an earlier step failed",
            "failed": "failed: nothing was committed",
            "cancelled": "cancelled: nothing was committed",
            "running": "still running",
            "abandoned": "abandoned: its run's driver died",
        }
        return "none", reasons.get(step.status, step.status)
    written = step.written or 0
    if step.read is None:
        return "uncounted", f"{written:,} written; rows read not counted (no quality checks)"
    sentence = (
        f"{step.read:,} read = {written:,} written + {step.quarantined:,} quarantined "
        f"+ {step.dropped:,} dropped"
    )
    if step.read == step.accounted:
        return "ok", sentence
    difference = step.accounted - step.read
    sentence = sentence.replace(" = ", " ≠ ", 1)
    if step.updated or step.deleted:
        why = (
            "a merge counts the rows it inserts and updates: matched rows left unchanged are "
            "not written, and an SCD2 merge also updates the versions it closes"
        )
    elif difference < 0:
        why = (
            "fewer rows written than kept: expected when the step aggregates, filters or "
            "de-duplicates after its checks, or its merge found rows unchanged"
        )
    else:
        why = (
            "more rows written than kept: expected when the step joins or explodes after its "
            "checks"
        )
    gap = f"{-difference:,} fewer" if difference < 0 else f"{difference:,} more"
    return "differs", f"{sentence} ({gap} than read): {why}"


def _conservation_bars(step: _Step) -> str:
    """Two bars to one scale: what the step read, and what became of it.

    Only the second when the step did not count what it read.
    """
    width, bar, gap = 360, 12, 4
    scale = max(step.read or 0, step.accounted, 1)
    top = 2

    def segment(x: float, value: int, y: int, kind: str) -> tuple[str, float]:
        if value <= 0:
            return "", x
        w = max(value / scale * width, 2.0)
        rect = (
            f'<rect x="{_f(x)}" y="{y}" width="{_f(w)}" height="{bar}" class="c-{kind}">'
            f"<title>{_e(f'{value:,} {kind}')}</title></rect>"
        )
        return rect, x + w

    parts = []
    if step.read is not None:
        parts.append(f'<rect x="0" y="{top}" width="{width}" height="{bar}" class="c-track"/>')
        parts.append(segment(0, step.read, top, "read")[0])
        top += bar + gap
    parts.append(f'<rect x="0" y="{top}" width="{width}" height="{bar}" class="c-track"/>')
    x = 0.0
    for value, kind in (
        (step.written or 0, "written"),
        (step.quarantined, "quarantined"),
        (step.dropped, "dropped"),
    ):
        rect, x = segment(x, value, top, kind)
        parts.append(rect)
    height = top + bar + 2
    return (
        f'<svg class="bars" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(_balance(step)[1])}">{"".join(parts)}</svg>'
    )


def _conservation(run: _Run) -> str:
    rows, idle = [], []
    for step in run.steps:
        kind, sentence = _balance(step)
        if kind == "none":
            idle.append(
                f'<li data-step="{_e(step.name)}"><b>{_e(step.name)}</b> {_e(sentence)}</li>'
            )
            continue
        mark = {"ok": "✓", "differs": "≠", "uncounted": "·"}[kind]
        rows.append(
            f'<div class="balance b-{kind}" data-step="{_e(step.name)}">'
            f'<div class="who"><span class="name">{_e(step.name)}</span>'
            f'<span class="table">{_e(step.table)}</span></div>'
            f'<div class="picture">{_conservation_bars(step)}</div>'
            f'<div class="sum"><span class="mark">{mark}</span> {_e(sentence)}</div></div>'
        )
    legend = "".join(
        f'<span><i class="c-{kind}"></i>{label}</span>'
        for kind, label in (
            ("read", "read"),
            ("written", "written (inserted + updated)"),
            ("quarantined", "quarantined"),
            ("dropped", "dropped"),
        )
    )
    flagged = sum(_balance(s)[0] == "differs" for s in run.steps)
    summary = (
        f'<p class="flagged">{flagged} step(s) do not add up: the difference and its likely '
        "reason are next to each.</p>"
        if flagged
        else ""
    )
    drawn = f'<div class="balances">{"".join(rows)}</div>' if rows else ""
    others = (
        f'<p class="muted">Nothing to draw for:</p><ul class="idle">{"".join(idle)}</ul>'
        if idle
        else ""
    )
    return (
        '<section id="conservation"><h2>Where the rows went</h2>'
        "<p>For each step, the rows its quality checks read (top bar) and what became of them "
        "(bottom bar), to one scale: <b>read = written + quarantined + dropped</b>. This holds "
        "for a step that writes the rows it checked (an append, an overwrite, a merge of new "
        "keys). A merge that finds matched rows unchanged, an SCD2 merge, or a step that "
        "aggregates or joins after its checks legitimately writes a different number of rows: "
        "such steps are marked <b>≠</b> with the difference. A step without quality checks "
        "does not count the rows it reads: only what it wrote is drawn.</p>"
        f'<p class="legend">{legend}</p>{summary}{drawn}{others}</section>'
    )


def _rule_row(step: _Step, rule: _Rule) -> str:
    share = max(min(rule.rate or 0.0, 1.0) * 100, 1.5 if rule.failed else 0.0)
    bar = f'<span class="rate"><i style="width:{share:.1f}%"></i></span>'
    return (
        f'<tr class="rule{" failing" if rule.failed else ""}" '
        f'data-step="{_e(step.name)}" data-rule="{_e(rule.rule)}">'
        f'<td class="rule-name"><code>{_e(rule.rule)}</code></td>'
        f'<td class="action"><span class="act a-{_e(rule.action)}">{_e(rule.action)}</span></td>'
        f'<td class="num rows_checked">{_n(rule.checked)}</td>'
        f'<td class="num rows_failed">{_n(rule.failed)}</td>'
        f'<td class="num failure_rate">{_e(_rate(rule))}{bar}</td></tr>'
    )


def _rules(run: _Run) -> str:
    failing: list[str] = []
    passing: list[str] = []
    total = failed = 0
    for step in run.steps:
        group = (
            f'<tr class="group"><th colspan="5">{_e(step.name)} '
            f'<span class="table">{_e(step.table)}</span></th></tr>'
        )
        rules = sorted(step.rules, key=lambda r: -r.failed)  # stable: in declared order
        total += len(rules)
        failed += sum(r.failed > 0 for r in rules)
        for rows, chosen in ((failing, [r for r in rules if r.failed]),
                             (passing, [r for r in rules if not r.failed])):  # fmt: skip
            if chosen:
                rows.append(group + "".join(_rule_row(step, r) for r in chosen))
    if not total:
        return '<section id="rules"><h2>Quality rules</h2><p>No quality rule ran.</p></section>'
    head = (
        '<thead><tr><th>Rule</th><th>Action</th><th class="num">Checked</th>'
        '<th class="num">Failed</th><th class="num">Failure rate</th></tr></thead>'
    )
    content = f'<p class="summary">{failed} of {total} rule(s) failed rows in this run.</p>'
    if failing:
        content += (
            f'<div class="scroll"><table class="rules failing">{head}'
            f'<tbody>{"".join(failing)}</tbody></table></div>'
        )
    if passing:
        content += (
            f"<details><summary>{total - failed} rule(s) every row passed</summary>"
            f'<div class="scroll"><table class="rules passing">{head}'
            f'<tbody>{"".join(passing)}</tbody></table></div></details>'
        )
    return f'<section id="rules"><h2>Quality rules</h2>{content}</section>'


def _nice(value: float, *, whole: bool = False) -> float:
    """The round number (1, 2, 2.5 or 5 times a power of ten) at or above a value.

    With ``whole``, a whole number (the step of an axis of counts).
    """
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        candidate = step * power
        if value <= candidate and not (whole and candidate != round(candidate)):
            return candidate
    return 10.0 * power


@attrs.frozen
class _Point:
    run: _Run
    value: float | None
    text: str
    current: bool


def _chart(
    chart_id: str,
    title: str,
    y_title: str,
    points: list[_Point],
    *,
    kind: str,
    tick: Callable[[float], str],
    whole: bool = False,
) -> str:
    width, height = 380, 230
    left, right, top, bottom = 58, 12, 16, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points if p.value is not None]
    step = _nice(max(values, default=0.0) / 4, whole=whole)
    y_max = step * 4
    n = max(len(points), 1)
    slot = plot_w / n

    def y(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    parts = [
        f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
    ]
    for i in range(5):
        value = step * i
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(value))}" y2="{_f(y(value))}" '
            f'class="{"axis" if i == 0 else "grid"}"/>'
            f'<text x="{left - 6}" y="{_f(y(value) + 4)}" class="tick" text-anchor="end">'
            f"{_e(tick(value))}</text>"
        )
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" class="axis"/>'
        f'<text class="axis-title" text-anchor="middle" '
        f'transform="translate(14 {_f(top + plot_h / 2)}) rotate(-90)">{_e(y_title)}</text>'
        f'<text class="axis-title" text-anchor="middle" x="{_f(left + plot_w / 2)}" '
        f'y="{height - 6}">run start (UTC), oldest to latest</text>'
    )
    every = math.ceil(n / 6)
    for i, point in enumerate(points):
        if i % every and i != n - 1:
            continue
        if i != n - 1 and n - 1 - i < every:
            continue  # keep the latest run's label clear
        cx = left + slot * (i + 0.5)
        started = point.run.started
        day = f"{started:%m-%d}" if started else "?"
        hour = f"{started:%H:%M}" if started else ""
        parts.append(
            f'<text class="tick{" current" if point.current else ""}" text-anchor="middle" '
            f'x="{_f(cx)}" y="{top + plot_h + 16}">{_e(day)}'
            f'<tspan x="{_f(cx)}" dy="12">{_e(hour)}</tspan></text>'
        )
    if kind == "bar":
        bar_w = min(slot * 0.7, 30)
        for i, point in enumerate(points):
            if point.value is None:
                continue
            cx = left + slot * (i + 0.5)
            top_y = y(point.value)
            h = max(top + plot_h - top_y, 1.0 if point.value else 0.0)
            classes = f"bar s-{_e(point.run.state)}{' current' if point.current else ''}"
            parts.append(
                f'<rect x="{_f(cx - bar_w / 2)}" y="{_f(top + plot_h - h)}" width="{_f(bar_w)}" '
                f'height="{_f(h)}" class="{classes}"><title>{_e(point.text)}</title></rect>'
            )
    else:
        coordinates = [
            (left + slot * (i + 0.5), y(p.value))
            for i, p in enumerate(points)
            if p.value is not None
        ]
        if len(coordinates) > 1:
            line = " ".join(f"{_f(x)},{_f(yy)}" for x, yy in coordinates)
            parts.append(f'<polyline points="{line}" class="line"/>')
        for i, point in enumerate(points):
            if point.value is None:
                continue
            cx = left + slot * (i + 0.5)
            classes = f"dot s-{_e(point.run.state)}{' current' if point.current else ''}"
            parts.append(
                f'<circle cx="{_f(cx)}" cy="{_f(y(point.value))}" '
                f'r="{5 if point.current else 3.5}" class="{classes}">'
                f"<title>{_e(point.text)}</title></circle>"
            )
    parts.append("</svg>")
    caption = f"<figcaption>{_e(title)}</figcaption>"
    return f'<figure class="chart-box">{caption}{"".join(parts)}</figure>'


def _count_tick(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _trends(runs: list[_Run], run: _Run, recent: int) -> str:
    same = [r for r in runs if r.pipeline == run.pipeline]
    upto = same[: same.index(run) + 1][-max(recent, 1) :]

    def points(value: Callable[[_Run], float | None], text: Callable[[_Run], str]) -> list[_Point]:
        return [
            _Point(
                r,
                value(r),
                f"run {r.run_id} ({r.state}), {_when(r.started)}: {text(r)}",
                r is run,
            )
            for r in upto
        ]

    def written(r: _Run) -> int:
        return r.total(lambda s: s.written)

    def quarantined(r: _Run) -> int:
        return r.total(lambda s: s.quarantined)

    longest = max((r.seconds or 0.0 for r in upto), default=0.0)
    unit, label = (3600, "h") if longest >= 7200 else (60, "min") if longest >= 120 else (1, "s")

    def duration(r: _Run) -> float | None:
        return None if r.seconds is None else r.seconds / unit

    charts = [
        _chart(
            "chart-duration",
            "Duration per run",
            f"duration ({label})",
            points(duration, lambda r: _duration(r.seconds)),
            kind="line",
            tick=lambda value: f"{value:g}",
        ),
        _chart(
            "chart-written",
            "Rows written per run (all steps)",
            "rows written",
            points(written, lambda r: f"{written(r):,} rows written"),
            kind="bar",
            tick=_count_tick,
            whole=True,
        ),
        _chart(
            "chart-quarantined",
            "Rows quarantined per run (all steps)",
            "rows quarantined",
            points(quarantined, lambda r: f"{quarantined(r):,} rows quarantined"),
            kind="bar",
            tick=_count_tick,
            whole=True,
        ),
    ]
    body = []
    for r in reversed(upto):
        body.append(
            f'<tr class="{"current" if r is run else ""}" data-run="{_e(r.run_id)}">'
            f"<td><code>{_e(r.run_id)}</code>{' <em>this run</em>' if r is run else ''}</td>"
            f"<td>{_e(_when(r.started))}</td><td>{_badge(r.state)}</td>"
            f'<td class="num">{_e(_duration(r.seconds))}</td>'
            f'<td class="num">{len(r.steps)}</td>'
            f'<td class="num">{_n(written(r))}</td><td class="num">{_n(quarantined(r))}</td></tr>'
        )
    only = (
        '<p class="muted">Only one run of this pipeline so far: the charts fill in as it runs '
        "again.</p>"
        if len(upto) == 1
        else ""
    )
    return (
        f'<section id="trends"><h2>Recent runs</h2><p>The last {len(upto)} run(s) of '
        f"<b>{_e(run.pipeline)}</b> up to this one (outlined). Runs that did not succeed are "
        f"drawn red (failed) or orange (cancelled, abandoned); hover a bar or point for its "
        f'run.</p>{only}<div class="charts">{"".join(charts)}</div>'
        '<div class="scroll"><table class="runs"><thead><tr><th>Run</th><th>Started</th>'
        '<th>State</th><th class="num">Duration</th><th class="num">Steps</th>'
        '<th class="num">Written</th><th class="num">Quarantined</th></tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div></section>'
    )


_CSS = """
:root{--ink:#1e293b;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;
--ok:#16a34a;--warn:#d97706;--bad:#dc2626;--info:#2563eb;--idle:#94a3b8;
--read:#64748b;--written:#16a34a;--quarantined:#f59e0b;--dropped:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:20px 20px 36px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:12.5px}
h1{margin:2px 0 14px;font-size:26px;display:flex;align-items:center;gap:12px}
h2{font-size:18px;margin:0 0 10px}
section,header.run{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:16px 18px;margin:0 0 16px}
table.steps{font-size:13px}
.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;
font-size:11px;font-weight:600}
nav{margin:0 0 18px;display:flex;gap:18px;font-size:13px}
nav a{color:var(--info);text-decoration:none}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px 18px;
margin:0}
.facts dt{color:var(--muted);font-size:12px}
.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.alert{margin:14px 0 0;padding:10px 12px;border-left:4px solid var(--bad);background:#fef2f2;
border-radius:4px;white-space:pre-wrap;word-break:break-word}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;
color:#fff;background:var(--idle);white-space:nowrap}
h1 .badge{font-size:14px;padding:3px 12px}
.s-succeeded{background:var(--ok);fill:var(--ok)}.s-up_to_date{background:#0ea5e9;fill:#0ea5e9}
.s-failed{background:var(--bad);fill:var(--bad)}.s-skipped{background:var(--idle);fill:var(--idle)}
.s-running{background:var(--info);fill:var(--info)}
.s-abandoned,.s-cancelled{background:var(--warn);fill:var(--warn)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:6px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.zero{color:var(--idle)}
.name{display:block;font-weight:600}.table{display:block;color:var(--muted);font-size:12px}
tr.detail td{border-bottom:1px solid var(--line);padding-top:0}
tr.step:has(+ tr.detail) td{border-bottom:none}
tr.error pre{margin:0;padding:8px 10px;background:#fef2f2;color:#991b1b;border-radius:4px;
white-space:pre-wrap;word-break:break-word}
.note{display:block;color:var(--muted);font-size:12px;font-style:italic;max-width:260px}
.timeline .track{fill:var(--line)}
.t-succeeded{fill:var(--ok)}.t-up_to_date{fill:#0ea5e9}.t-failed{fill:var(--bad)}
.t-running{fill:var(--info)}.t-cancelled,.t-abandoned{fill:var(--warn)}.t-skipped{fill:var(--idle)}
.legend{display:flex;flex-wrap:wrap;gap:16px;font-size:12.5px;color:var(--muted)}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;
vertical-align:-2px}
i.c-read{background:var(--read)}i.c-written{background:var(--written)}
i.c-quarantined{background:var(--quarantined)}i.c-dropped{background:var(--dropped)}
rect.c-track{fill:#f1f5f9}rect.c-read{fill:var(--read)}rect.c-written{fill:var(--written)}
rect.c-quarantined{fill:var(--quarantined)}rect.c-dropped{fill:var(--dropped)}
.balance{display:grid;grid-template-columns:220px 370px 1fr;gap:14px;align-items:center;
padding:6px 0;border-bottom:1px solid var(--line)}
ul.idle{margin:4px 0 0;padding:0;list-style:none;columns:2 320px;font-size:12.5px;
color:var(--muted)}
ul.idle b{color:var(--ink);font-weight:600}
details{margin-top:10px}summary{cursor:pointer;color:var(--muted)}
.balance .sum{font-size:13px}.balance .mark{font-weight:700;display:inline-block;width:14px}
.b-ok .mark{color:var(--ok)}.b-differs .mark{color:var(--warn)}
.b-differs .sum{color:#92400e}.b-none .sum,.b-uncounted .sum{color:var(--muted)}
.flagged{color:#92400e;font-weight:600}
.rate{display:block;height:4px;background:#f1f5f9;border-radius:2px;margin-top:3px}
.rate i{display:block;height:4px;background:var(--quarantined);border-radius:2px}
tr.rule:not(.failing) td{color:var(--muted)}
table.rules td{padding:4px 6px}table.rules td.failure_rate{width:160px}
tr.group th{padding:10px 6px 4px;color:var(--ink);font-size:13px}
tr.group .table{display:inline;font-weight:400;margin-left:6px}
tr.rule.failing .rows_failed{color:var(--bad);font-weight:700}
.act{font-size:12px;padding:1px 7px;border-radius:4px;background:#f1f5f9}
.a-quarantine{background:#fef3c7}.a-drop{background:#fee2e2}.a-fail{background:#fecaca}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:14px;
margin:6px 0 16px}
.chart-box{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 8px 4px}
.chart-box figcaption{font-weight:600;font-size:13px;margin:0 0 4px 6px}
svg.chart{width:100%;height:auto;display:block}
svg text{font-family:inherit}
.chart .grid{stroke:#eef2f7}.chart .axis{stroke:#94a3b8}
.chart .tick{font-size:10.5px;fill:var(--muted)}
.chart .tick.current{fill:var(--ink);font-weight:700}
.chart .axis-title{font-size:11px;fill:var(--muted)}
.chart .line{fill:none;stroke:var(--info);stroke-width:2}
.chart .dot{stroke:#fff;stroke-width:1.5}.chart .dot.s-succeeded{fill:var(--info)}
.chart .bar{opacity:.55}.chart .bar.current{opacity:1}
#chart-written .bar.s-succeeded{fill:var(--written)}
#chart-quarantined .bar.s-succeeded{fill:var(--quarantined)}
.chart rect.current,.chart circle.current{stroke:var(--ink);stroke-width:1.5}
table.runs tr.current td{background:#eff6ff}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;text-align:center}
@media print{body{background:#fff}section,header.run{break-inside:avoid}}
"""


def report_run_id(rows: Sequence[Mapping[str, Any]], run_id: str | None = None) -> str:
    """The run a report of these rows shows: ``run_id`` if the rows hold it, else the latest.

    Args:
        rows: Run log rows (dicts, as in ``build_report``).
        run_id: A run's id; ``None`` for the run that started last.

    Returns:
        The run's id.

    Raises:
        RunNotFoundError: The rows hold no run, or not that one.

    Example:
        >>> import datetime as dt
        >>> rows = [{"run_id": r, "pipeline": "p", "step": "s", "table": "gold.t",
        ...          "run_started_at": dt.datetime(2026, 1, d, tzinfo=dt.timezone.utc),
        ...          "status": "succeeded"} for r, d in (("b", 2), ("a", 1))]
        >>> report_run_id(rows), report_run_id(rows, "a")
        ('b', 'a')
        >>> report_run_id(rows, "zz")
        Traceback (most recent call last):
        ...
        medallion.errors.RunNotFoundError: run 'zz' is not in the run log
    """
    return _select(_runs(rows), run_id).run_id


def build_report(
    rows: Sequence[Mapping[str, Any]], run_id: str | None = None, *, recent: int = 20
) -> str:
    """One self-contained HTML page about a run: its steps, rows, rules and recent trends.

    The page has inline CSS and SVG charts only (no script, no font or file from elsewhere),
    and every string from the run log (names, errors, notes) is escaped.

    Args:
        rows: The run log's rows, one per step of every run, as dicts with its columns
            (``run_id``, ``pipeline``, ``step``, ``table``, ``run_started_at``, ``started_at``,
            ``ended_at``, ``status``, ``error``, ``rows_read``, ``rows_written``,
            ``rows_quarantined``, ``rows_dropped``, ``rule_metrics`` (or ``rules``),
            ``delta_version``, ``version_before``, ``rows_inserted``, ``rows_updated``,
            ``rows_deleted``, ``note``); PySpark ``Row`` objects are accepted too. Naive times
            are taken as local time (what PySpark's ``collect()`` returns); the page shows UTC.
        run_id: The run to show; ``None`` for the run that started last.
        recent: How many runs of the pipeline, up to this one, the trend charts show.

    Returns:
        The HTML document.

    Raises:
        RunNotFoundError: The rows hold no run, or not that one.

    Example:
        >>> import datetime as dt
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> def row(run, step, seconds, status="succeeded", **counts):
        ...     return {"run_id": run, "pipeline": "sales", "step": step,
        ...             "table": f"silver.{step}", "run_started_at": at,
        ...             "started_at": at, "ended_at": at + dt.timedelta(seconds=seconds),
        ...             "status": status, "rows_quarantined": 0, "rows_dropped": 0, **counts}
        >>> rows = [row("r1", "orders", 4, rows_read=10, rows_written=9, rows_quarantined=1),
        ...         row("r1", "totals", 5, "failed", error="x < 0: <b>bad</b>")]
        >>> page = build_report(rows)
        >>> page.startswith("<!DOCTYPE html>"), "<script" in page, "<b>bad</b>" in page
        (True, False, False)
        >>> "x &lt; 0: &lt;b&gt;bad&lt;/b&gt;" in page
        True
    """
    runs = _runs(rows)
    run = _select(runs, run_id)
    generated = dt.datetime.now(dt.timezone.utc)
    title = f"{run.pipeline}: run {run.run_id} ({run.state})"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="medallion">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"{_header(run)}"
        '<nav><a href="#steps">Steps</a><a href="#conservation">Where the rows went</a>'
        '<a href="#rules">Quality rules</a><a href="#trends">Recent runs</a></nav>'
        f"{_steps_table(run)}{_conservation(run)}{_rules(run)}{_trends(runs, run, recent)}"
        f"<footer>Generated {_e(_when(generated))} by medallion {_e(__version__)} from the "
        "run log.</footer></main></body></html>\n"
    )


def write_report(html_text: str, path: str | os.PathLike[str]) -> Path:
    """Write a report to a file (UTF-8), creating its folder.

    Args:
        html_text: The page, from ``build_report``.
        path: The file to write.

    Returns:
        The file's absolute path (``path.as_uri()`` opens it in a browser).

    Example:
        >>> import os
        >>> written = write_report("<!DOCTYPE html><title>run</title>",
        ...                        os.path.join(lakehouse, "reports", "r1.html"))
        >>> written.name, written.read_text(encoding="utf-8")[:15]
        ('r1.html', '<!DOCTYPE html>')
    """
    target = Path(path).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html_text, encoding="utf-8")
    return target
