"""Turns the raw findings of `make bench` into docs/PERFORMANCE.md (the table with goals,
met or not, growth with size), docs/performance.png and docs/performance.json."""

from __future__ import annotations

import functools
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import scenarios
from bench.seed.plan import GOAL_CONTRIBUTIONS, GOAL_DECISIONS, GOAL_MEMBERS, GOAL_TASKS, Plan

NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of fewer than 100 samples is their maximum)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(value: float) -> str:
    """A duration in milliseconds, written with its unit: `8.2 ms`, `246 ms`, `1.99 s`."""
    if math.isnan(value):
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def times(ratio: float) -> str:
    """A ratio to a baseline: one decimal under 10 (so 2.3× is not shown as a met 2×)."""
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:.0f}×"


@dataclass(frozen=True)
class Verdict:
    met: bool
    why: str


Check = Callable[[dict[str, Any], dict[str, Any]], Verdict]


def _p99_under(limit: float) -> Check:
    def check(row: dict[str, Any], _: dict[str, Any]) -> Verdict:
        p99 = pct(row["samples_ms"], 99)
        return Verdict(p99 <= limit, f"p99 {ms(p99)} vs ≤ {ms(limit)}")

    return check


def _ratio_under(limit: float) -> Check:
    def check(row: dict[str, Any], run: dict[str, Any]) -> Verdict:
        ratio = pct(row["samples_ms"], 50) / pct(run["commands"]["baseline"]["samples_ms"], 50)
        return Verdict(ratio <= limit, f"p50 {times(ratio)} a bare insert+commit vs ≤ {limit:g}×")

    return check


CHECKS: dict[str, Check] = {
    "vote_new": _ratio_under(2),
    "vote_changed": _ratio_under(2),
    "show": _p99_under(20),
    "member_list": _p99_under(20),
    "task_claim": _p99_under(20),
    "task_done": _p99_under(20),
    "kudos": _p99_under(20),
    "tally_week": _p99_under(250),
    "tally_month": _p99_under(250),
    "tally_all": _p99_under(250),
    "summary": _p99_under(1000),
    "close_proposal": _p99_under(100),
    "close_ranked": _p99_under(200),
}


def _largest(runs: list[dict[str, Any]], database: str) -> dict[str, Any] | None:
    mine = [r for r in runs if r["database"] == database and "commands" in r]
    return max(mine, key=lambda r: r["fraction"]) if mine else None


NOT_MET = "**not met**"


def _mark(verdict: Verdict) -> str:
    return "met" if verdict.met else NOT_MET


def _labelled(runs: list[dict[str, Any]]) -> list[Any]:
    """The scenarios, labelled with the sizes of the largest run."""
    return scenarios(Plan.at(max((r["fraction"] for r in runs), default=1.0)))


def _main_table(runs: list[dict[str, Any]], databases: list[str]) -> list[str]:
    largest = {db: _largest(runs, db) for db in databases}
    head = "| command | goal |"
    rule = "|---|---|"
    for db in databases:
        run = largest[db]
        size = f" at {run['fraction'] * 100:g} %" if run else ""
        head += f" {NAMES[db]}{size}: p50 / p99 | stmts | × bare | |"
        rule += "---|---|---|---|"
    lines = [head, rule]
    for scenario in _labelled(runs):
        line = f"| {scenario.label} | {scenario.goal} |"
        for db in databases:
            run = largest[db]
            row = run["commands"]["scenarios"].get(scenario.key) if run else None
            if not row or not row["samples_ms"] or run is None:
                line += " – | – | – | |"
                continue
            base = pct(run["commands"]["baseline"]["samples_ms"], 50)
            p50, p99 = pct(row["samples_ms"], 50), pct(row["samples_ms"], 99)
            stmts = statistics.median(row["statements"])
            verdict = CHECKS[scenario.key](row, run)
            note = f" ({len(row['samples_ms'])} runs)" if len(row["samples_ms"]) < 20 else ""
            line += (
                f" {ms(p50)} / {ms(p99)}{note} | {stmts:g} | {times(p50 / base)} |"
                f" {_mark(verdict)} |"
            )
        lines.append(line)
    for label, goal, cell in _extra_rows(runs):
        line = f"| {label} | {goal} |"
        for db in databases:
            run = largest[db]
            line += cell(run) if run else " – | – | – | |"
        lines.append(line)
    return lines


def _extra_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str, Callable[[Any], str]]]:
    """The table's rows that are not one command's timings: (label, goal, cell of a run)."""
    return [
        ("weekly summary, first in a fresh process", "≤ 1 s", _first_summary),
        ("export 1M contributions (time; extra peak memory)", "≤ 1.5× raw read, ≤ 50 MB", _export),
        ("raw streamed read of the same rows", "(reference)", _raw),
        *[
            (f"process memory, {KIND_NAMES[kind]}: after imports / peak", MEMORY_GOAL, cell)
            for kind, cell in _memory_cells(runs)
        ],
        (
            "weekly chart, drawn in its short-lived child process (40 bars): drawing;"
            " matplotlib's import; the child's peak; start to exit",
            "drawing ≤ 300 ms",
            _chart_child,
        ),
        ("bare insert+commit (baseline)", "(reference)", _bare),
    ]


def _first_summary(run: dict[str, Any]) -> str:
    first = run.get("summary_first")
    if not first:
        return " – | – | – | |"
    met = Verdict(first["ms"] <= 1000, "")
    return f" {ms(first['ms'])} | {first['statements']} | | {_mark(met)} |"


def _export(run: dict[str, Any]) -> str:
    exp, raw = run.get("export"), run.get("raw_read")
    if not exp or not raw:
        return " – | – | – | |"
    ratio = exp["ms"] / raw["ms"]
    met = Verdict(ratio <= 1.5 and exp["extra_mb"] <= 50, "")
    return f" {ms(exp['ms'])}; +{exp['extra_mb']:.0f} MB | | {ratio:.2f}× raw read | {_mark(met)} |"


def _raw(run: dict[str, Any]) -> str:
    raw = run.get("raw_read")
    if not raw:
        return " – | – | – | |"
    return f" {ms(raw['ms'])}; +{raw['extra_mb']:.0f} MB | | | |"


MEMORY_GOAL = "≤ 70 MB / ≤ 150 MB"
KIND_NAMES = {
    "console": "console bot",
    "matrix": "Matrix bot",
    "discord": "Discord bot",
    "all": "both chat adapters imported",
}


def _kinds(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The memory after imports of each kind of bot process; a run from before the kinds
    were measured apart has one figure, with both chat adapters imported."""
    imported = run.get("imports", {})
    if "kinds" in imported:
        return dict(imported["kinds"])
    return {"all": imported} if imported else {}


def _memory_cells(runs: list[dict[str, Any]]) -> list[tuple[str, Callable[[Any], str]]]:
    kinds: list[str] = []
    for run in runs:
        kinds += [kind for kind in _kinds(run) if kind not in kinds]
    return [(kind, functools.partial(_memory, kind=kind)) for kind in kinds]


def _memory(run: dict[str, Any], kind: str) -> str:
    """After imports, measured in a process of that kind; the peak of the commands process
    (a console bot) plus what the kind imports beyond a console bot (its chat libraries are
    loaded before the commands run, so they add to the peak as they add at start)."""
    kinds = _kinds(run)
    imported = kinds.get(kind, {}).get("rss_mb", math.nan)
    peak = run["commands"].get("peak_mb", math.nan)
    console = kinds.get("console", {}).get("rss_mb")
    estimated = kind not in ("console", "all") and console is not None
    if estimated:
        peak += imported - console
    met = Verdict(imported <= 70 and peak <= 150, "")
    mark = " (est.)" if estimated else ""
    floor = kinds.get(kind, {}).get("floor_mb")
    notes = [f"libraries alone {floor:.0f} MB"] if floor is not None else []
    if rise := _peak_rise(run):
        notes.append(f"peak set by {rise[0]} (+{rise[1]:.0f} MB)")
    if child := _chart_child_of(run):
        notes.append(f"chart drawn in its own process ({child['peak_mb']:.0f} MB peak)")
    noted = f" {'; '.join(notes)} " if notes else " "
    return f" {imported:.0f} MB / {peak:.0f} MB{mark} | |{noted}| {_mark(met)} |"


def _peak_rise(run: dict[str, Any]) -> tuple[str, float] | None:
    """The scenario that raised the commands process's peak most, and by how much (runs
    recorded before the peak was taken after each scenario have none)."""
    commands = run["commands"]
    before = commands.get("rss_start_mb")
    rises: list[tuple[float, str]] = []
    for key, found in commands.get("scenarios", {}).items():
        after = found.get("peak_after_mb")
        if after is None or before is None:
            return None
        rises.append((after - before, key))
        before = max(before, after)
    if not rises:
        return None
    rise, key = max(rises)
    return key, rise


def _chart_child_of(run: dict[str, Any]) -> dict[str, Any] | None:
    """The chart child's own measure (runs from before the chart had a process of its own,
    when the commands process's peak included it, have none)."""
    found: dict[str, Any] | None = run.get("imports", {}).get("chart_child")
    return found


def _chart_child(run: dict[str, Any]) -> str:
    child = _chart_child_of(run)
    if not child:
        return " – | | drawn in the bot's own process: in its peak | |"
    drawing = child.get("draw_ms")
    if drawing is None:  # runs from before the drawing was timed on its own
        return (
            f" {child['peak_mb']:.0f} MB; {ms(child['ms'])} | | its own process, not in the"
            " bot's peak | |"
        )
    met = Verdict(drawing <= 300, "")
    return (
        f" {ms(drawing)}; {ms(child['import_ms'])}; {child['peak_mb']:.0f} MB;"
        f" {ms(child['ms'])} | | median of {len(child['draw_ms_runs'])} fresh processes;"
        f" its own process, not in the bot's peak | {_mark(met)} |"
    )


def _chart_child_text(runs: list[dict[str, Any]]) -> str:
    """What the memory rows leave out, and where it is shown instead."""
    child = next((c for r in runs if (c := _chart_child_of(r))), None)
    if child is None:
        return ""
    return (
        " The weekly chart is drawn in a short-lived child process (`python -m "
        "bot.render.chart_child`), which the summary starts as it begins gathering and which "
        "exits once it has written the PNG: the bot's own process never imports matplotlib, "
        "so the peaks above do not include the chart. That child's own peak, drawing the "
        f"largest chart (40 bars), is {child['peak_mb']:.0f} MB, for about "
        f"{ms(child['ms'])} once a week per co-op (its row in the table; measured from a "
        "bare launcher, as getrusage sees a child's peak only through its parent)."
    )


def _bare(run: dict[str, Any]) -> str:
    samples = run["commands"]["baseline"]["samples_ms"]
    return f" {ms(pct(samples, 50))} / {ms(pct(samples, 99))} | 2 | 1× | |"


def _growth(runs: list[dict[str, Any]], databases: list[str]) -> list[str]:
    fractions = sorted({r["fraction"] for r in runs})
    head = "| command |"
    rule = "|---|"
    for db in databases:
        for f in fractions:
            head += f" {NAMES[db]} {f * 100:g} % |"
            rule += "---|"
    lines = [head, rule]
    for scenario in _labelled(runs):
        line = f"| {scenario.short} |"
        for db in databases:
            for f in fractions:
                run = next((r for r in runs if r["database"] == db and r["fraction"] == f), None)
                row = run["commands"]["scenarios"].get(scenario.key) if run else None
                line += f" {ms(pct(row['samples_ms'], 50))} |" if row else " – |"
        lines.append(line)
    line = "| statements per vote (new) |"
    for db in databases:
        for f in fractions:
            run = next((r for r in runs if r["database"] == db and r["fraction"] == f), None)
            row = run["commands"]["scenarios"].get("vote_new") if run else None
            line += f" {statistics.median(row['statements']):g} |" if row else " – |"
    lines.append(line)
    return lines


def _seeding(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| database | size | seed time | rows (members / decisions / votes / entries) |"]
    lines.append("|---|---|---|---|")
    for run in runs:
        rows = run["seed"]["rows"]
        lines.append(
            f"| {NAMES[run['database']]} | {run['fraction'] * 100:g} % | "
            f"{run['seed']['seconds']:.1f} s | {rows.get('members', 0):,} / "
            f"{rows.get('decisions', 0):,} / {rows.get('votes', 0):,} / "
            f"{rows.get('contributions', 0):,} |"
        )
    return lines


def _harness(runs: list[dict[str, Any]]) -> list[str]:
    """Where `make bench` spent its own time: seeding and each measuring process."""
    phases = ("seed", "commands", "summary_first", "raw_read", "export")
    lines = ["| database | size | " + " | ".join(phases) + " | total |"]
    lines.append("|---|---|" + "---|" * (len(phases) + 1))
    for run in runs:
        spent = run.get("phases_s", {})
        cells = [f"{spent[p]:.0f} s" if p in spent else "–" for p in phases]
        lines.append(
            f"| {NAMES[run['database']]} | {run['fraction'] * 100:g} % | "
            + " | ".join(cells)
            + f" | {sum(spent.values()):.0f} s |"
        )
    return lines


def _not_met(runs: list[dict[str, Any]], databases: list[str]) -> list[str]:
    lines = []
    for db in databases:
        run = _largest(runs, db)
        if run is None:
            continue
        for scenario in _labelled(runs):
            row = run["commands"]["scenarios"].get(scenario.key)
            if row and row["samples_ms"]:
                verdict = CHECKS[scenario.key](row, run)
                if not verdict.met:
                    lines.append(f"- {NAMES[db]}, {scenario.label}: {verdict.why}.")
        for label, goal, cell in _extra_rows(runs):
            cells = [part.strip() for part in cell(run).split("|")]
            if NOT_MET in cells:
                shown = ", ".join(part for part in cells if part and part != NOT_MET)
                lines.append(f"- {NAMES[db]}, {label}: {shown} vs {goal}.")
    for run in runs:  # an answer a member would not expect counts at every size
        for scenario in _labelled(runs):
            row = run["commands"]["scenarios"].get(scenario.key)
            if row and row.get("wrong"):
                lines.append(
                    f"- {NAMES[run['database']]} at {run['fraction'] * 100:g} %, "
                    f"{scenario.label}: unexpected answer {row['wrong']}"
                )
    return lines


def _matrix(path: Path) -> list[str]:
    """The Matrix comparison (bench/matrix_compare.py), when it has been run."""
    if not path.exists():
        return []
    found = json.loads(path.read_text())
    latency, burst = found["latency"], found["burst"]
    bot, echo = burst["bot"], burst["echo"]
    drained = bot["answered"] == bot["sent"]
    return [
        "## On a real Synapse, against a bare matrix-nio echo bot",
        "",
        "Same Synapse, same room, same run (`make bench-matrix`); the co-op is small "
        f"({found['members']} members): this measures the reply path, not the data size. "
        f"Load average: {found.get('load', 'not recorded')}; on a shared machine the latency "
        "ratio moves by ±0.3 between runs.",
        "",
        "| measure | coopbot | echo bot | ratio | goal | |",
        "|---|---|---|---|---|---|",
        f"| `!vote` reply latency, p50 of {latency['runs']} | {ms(latency['bot_p50_ms'])} | "
        f"{ms(latency['echo_p50_ms'])} | {latency['ratio']:.2f}× | ≤ 1.2× | "
        f"{_mark(Verdict(latency['ratio'] <= 1.2, ''))} |",
        f"| {bot['sent']}-message burst from {found['members']} members, drain time | "
        f"{bot['drain_s']:.1f} s ({bot['answered']} answered) | {echo['drain_s']:.1f} s "
        f"({echo['answered']} answered) | {burst['ratio']:.2f}× | ≤ 1.2×, 0 lost | "
        f"{_mark(Verdict(burst['ratio'] <= 1.2 and drained, ''))} |",
        "",
        *([found["note"], ""] if found.get("note") else []),
        *_matrix_history(found.get("history", [])),
    ]


def _matrix_history(runs: list[dict[str, Any]]) -> list[str]:
    """The last few runs of the comparison, with the machine's load during each."""
    if len(runs) < 2:
        return []
    rows = [
        f"| {r['date']} | {r['load']} | {r['bot_p50_ms']:.0f} / {r['echo_p50_ms']:.0f} ms | "
        f"{r['reply_ratio']:.2f}× | {r['bot_drain_s']:.0f} / {r['echo_drain_s']:.0f} s | "
        f"{r['burst_ratio']:.2f}× | {r['lost']} |"
        for r in runs
    ]
    return [
        "The last runs (load average: 1, 5 and 15 minutes; the table above is the last):",
        "",
        "| run | load before, after | reply p50 coopbot / echo | ratio | burst coopbot / echo "
        "| ratio | lost |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def write(results: dict[str, Any], out: Path) -> None:
    """docs/PERFORMANCE.md, docs/performance.png and docs/performance.json under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "performance.json").write_text(json.dumps(results, indent=1) + "\n")
    runs = results["runs"]
    databases = [db for db in ("sqlite", "postgres") if any(r["database"] == db for r in runs)]
    chart = draw(runs, databases, out / "performance.png")
    meta = results["meta"]
    text = [
        "# Performance at scale",
        "",
        "Generated by `make bench` (bench/run.py); do not edit by hand. "
        f"Run {meta['date']} on commit `{meta['commit']}`, {meta['cpus']} CPUs, load average "
        f"{meta['load_before']} before and {meta['load_after']} after the run "
        f"(other work on the machine inflates absolute times; the ratios to the bare "
        f"insert+commit measured in the same run are steadier). "
        f"Whole run: {meta['seconds'] / 60:.1f} min"
        + (
            f"; 1-minute load average after each step: {meta['load_steps']}."
            if meta.get("load_steps")
            else "."
        ),
        "",
        *([meta["note"], ""] if meta.get("note") else []),
        f"The goal size (issue 11) is one co-op with {GOAL_MEMBERS:,} members, "
        f"{GOAL_DECISIONS:,} decisions, {GOAL_CONTRIBUTIONS:,} contribution entries and "
        f"{GOAL_TASKS:,} tasks. `bench/seed` loads it through the app's own migrations, then "
        "bulk rows, then derived rows; every command below goes through `Core.handle` (parse, "
        "dedupe, authorise, the command's transaction, the stored answer) on that database, "
        "as a console member. p50/p99 are nearest-rank over the runs (the closes have five "
        "runs each, so their p99 is the slowest); *stmts* is the median number of SQL "
        "statements a command sends (SQLAlchemy `before_cursor_execute`, BEGIN included); "
        "*× bare* is p50 over the p50 of a bare insert+commit on the same database in the "
        "same run.",
        "",
        "The export row is `exports.write_csv` (what `coopbot export contributions` runs) "
        "writing into a file, in its own process; the raw read streams the same rows through "
        "the same engine in partitions of 2,000 and formats each as a CSV line.",
        "",
        "## The table",
        "",
        *_main_table(runs, databases),
        "",
        "## Goals not met",
        "",
        *(_not_met(runs, databases) or ["- none"]),
        "",
        "## Growth with size (p50)",
        "",
        *_growth(runs, databases),
        "",
        f"![p50 by size]({chart.name})" if chart else "(no chart: matplotlib is not installed)",
        "",
        *_matrix(out / "performance-matrix.json"),
        "## Seeding",
        "",
        "Goal: full size in under 2 minutes on each database.",
        "",
        *_seeding(runs),
        "",
        "## Where the harness spends its time",
        "",
        "Each measuring step is its own process (its memory and first-use costs are its "
        "own); a scenario runs until its time budget (`BENCH_BUDGET`, 5 s at full size, 2 s "
        "below) or 200 runs. The memory after imports is measured once per run, for each kind "
        "of bot process in a fresh process of its own: a console bot (the core, its runner "
        "and CLI, the console adapter), a Matrix bot (the same with the Matrix adapter and its "
        "pre-flight checks, so matrix-nio, not discord.py) and a Discord bot (discord.py, not "
        "matrix-nio). The peak is the commands process's, which imports what a console bot "
        "does; a Matrix or Discord bot's peak (est.) adds what its chat library adds at "
        "start. Beside each kind, `libraries alone` is the floor under its memory after "
        "imports: a bare interpreter that imported only the libraries that kind runs on "
        "(SQLAlchemy's asyncio extension, aiosqlite, pydantic-settings, APScheduler, Typer, "
        "and aiohttp with matrix-nio or discord.py), none of coopbot's own code; `peak set "
        "by` names the scenario that raised the commands process's peak most."
        + _chart_child_text(runs),
        "",
        *_harness(runs),
        "",
        "Reproduce: `make bench` (all sizes, both databases; PostgreSQL at "
        "`BENCH_POSTGRES_URL`, default `postgresql+asyncpg://postgres@127.0.0.1:5432`), or "
        "`make bench SCALE=1 DATABASES=sqlite` for a quick run. Raw samples: "
        "`docs/performance.json`.",
        "",
    ]
    (out / "PERFORMANCE.md").write_text("\n".join(text))


def draw(runs: list[dict[str, Any]], databases: list[str], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    axes = figure.subplots(1, max(1, len(databases)), sharey=True, squeeze=False)[0]
    for ax, db in zip(axes, databases, strict=False):
        mine = sorted((r for r in runs if r["database"] == db), key=lambda r: r["fraction"])
        for n, scenario in enumerate(scenarios(Plan.at(1.0))):
            points = [
                (
                    r["fraction"] * 100,
                    pct(r["commands"]["scenarios"][scenario.key]["samples_ms"], 50),
                )
                for r in mine
                if scenario.key in r["commands"]["scenarios"]
                and r["commands"]["scenarios"][scenario.key]["samples_ms"]
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                style = "-" if n < 10 else "--"  # the colour cycle repeats after ten
                ax.plot(xs, ys, marker="o", linestyle=style, label=scenario.short)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(NAMES[db])
        ax.set_xlabel("size, % of the goal (10k members, 1M entries)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("p50 ms through Core.handle")
    axes[-1].legend(fontsize=7, loc="upper left")
    figure.savefig(path, dpi=90)
    return path


def main(argv: list[str]) -> int:
    """`python -m bench.report docs/performance.json [note]`: write the docs again from the
    raw results (with a note on the run, such as what else loaded the machine)."""
    if not argv:
        print(main.__doc__)
        return 2
    path = Path(argv[0])
    results = json.loads(path.read_text())
    if len(argv) > 1:
        results["meta"]["note"] = argv[1]
    write(results, path.parent)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
