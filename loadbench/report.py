"""Figures of finished runs: percentiles, the printed table, JSON files and the plot."""

import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

# (section, figure, label, better when) for the table and the ratios; None: no ratio, the
# figure only tells whether the machine itself was the limit.
TABLE = [
    ("latency_ms", "p50", "post→display p50 ms", "lower"),
    ("latency_ms", "p95", "post→display p95 ms", "lower"),
    ("latency_ms", "p99", "post→display p99 ms", "lower"),
    ("latency_ms", "max", "post→display max ms", "lower"),
    ("delivery", "fraction_min", "delivered, worst viewer", "higher"),
    ("delivery", "fraction_mean", "delivered, mean viewer", "higher"),
    # Under a sampling tier the feed is the sample: the share of it each viewer got.
    ("delivery", "published_fraction_min", "of the live feed, worst viewer", "higher"),
    ("throughput", "deliveries_per_s", "comment-deliveries/s", "higher"),
    ("delivery", "frames_per_viewer_s", "live frames per viewer/s", None),
    ("throughput", "accepted_per_s", "accepted comments/s", "higher"),
    ("comments", "stored", "comments stored (rows)", None),
    # With --rules: posts the rules held (meant to be none, so delivery stays comparable).
    ("comments", "held", "held for review", None),
    ("ack_latency_ms", "p50", "ack p50 ms", "lower"),
    ("ack_latency_ms", "p95", "ack p95 ms", "lower"),
    ("gateway", "cpu_percent_mean", "gateway CPU % (posting)", "lower"),
    ("gateway", "cpu_s_per_million_deliveries", "gateway CPU s per M deliveries", "lower"),
    ("gateway", "rss_max_mb", "gateway RSS max MB", "lower"),
    ("gateway", "memory_per_socket_kb", "gateway KB per socket", "lower"),
    # The viewers' join storm before the posting: how long, and the gateways' CPU per join.
    ("gateway", "join_s", "viewers' join s", "lower"),
    ("gateway", "cpu_ms_per_join", "gateway CPU ms per join", "lower"),
    ("loadgen", "cpu_percent_mean", "load generator CPU %", None),
    ("machine", "other_cpu_percent_mean", "other CPU % (db, redis…)", None),
]


# The figures set beside the floor's (loadbench.floor): what ours costs, as a multiple of
# what a bare server costs for the same deliveries.
FLOOR_RATIOS = [
    ("gateway", "cpu_s_per_million_deliveries"),
    ("latency_ms", "p95"),
    ("gateway", "memory_per_socket_kb"),
]


# The figures set side by side by --rules both: with the rules as a multiple of without.
RULES_RATIOS = [
    ("gateway", "cpu_percent_mean"),
    ("gateway", "cpu_s_per_million_deliveries"),
    ("latency_ms", "p95"),
    ("ack_latency_ms", "p95"),
]


def percentiles(histogram: dict[int, int], points=(50, 95, 99)) -> dict[str, float | int | None]:
    """Nearest-rank percentiles, max and mean of a {milliseconds: count} histogram."""
    total = sum(histogram.values())
    if not total:
        return {"count": 0, **{f"p{p}": None for p in points}, "max": None, "mean": None}
    figures: dict[str, float | int | None] = {"count": total}
    ranks = {p: max(1, -(-total * p // 100)) for p in points}
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        for p, rank in ranks.items():
            if f"p{p}" not in figures and seen >= rank:
                figures[f"p{p}"] = value
    figures["max"] = max(histogram)
    figures["mean"] = round(sum(v * c for v, c in histogram.items()) / total, 1)
    return figures


def scenario_key(run: dict) -> tuple:
    s = run["scenario"]
    return (
        s["viewers"],
        s["rate"],
        s["posters"],
        s["duration"],
        s["gateways"],
        s.get("streams", 1),
        s.get("server", "daphne"),
        s.get("delivery_policy", "seed"),
        tuple(map(tuple, s.get("gateway_env", ()))),
        s.get("rules", ""),  # last: _rules_comparisons pairs runs on everything before it
    )


def setup_label(run: dict) -> str:
    """Target, server, and what else sets a run apart from another at the same size."""
    s = run["scenario"]
    # The floor is served by websockets whatever --server picked for ours.
    server = "websockets" if run["target"] == "floor" else s.get("server", "daphne")
    label = f"{run['target']} {server}"
    if s["gateways"] > 1:
        label += f" x{s['gateways']}"
    if s.get("streams", 1) > 1:
        label += f" {s['streams']} streams"
    if s.get("delivery_policy", "seed") != "seed":
        label += f" policy {s['delivery_policy']}"
    if s.get("rules"):
        label += f" rules {s['rules']}"
    for name, value in s.get("gateway_env", ()):
        label += f" {name}={value}"
    return label


def is_complete(run: dict) -> bool:
    """Whether every socket joined: a run whose gateway refused sockets measures nothing."""
    return run["sockets"]["joined"] == run["sockets"]["planned"]


def medians(runs: list[dict]) -> dict:
    """One run-shaped dict whose numeric figures are the medians of `runs` (same scenario).

    Runs in which some socket never joined are left out, and counted in `incomplete`.
    """
    complete = [run for run in runs if is_complete(run)] or runs
    merged = json.loads(json.dumps(complete[0]))
    merged["repeats"] = len(complete)
    merged["incomplete"] = len(runs) - len(complete) if complete is not runs else len(runs)
    for section, value in merged.items():
        if not isinstance(value, dict) or section == "scenario":
            continue
        for name in value:
            values = [
                r[section][name]
                for r in complete
                if isinstance(r[section].get(name), int | float)
                and not isinstance(r[section].get(name), bool)
            ]
            if values:
                value[name] = round(statistics.median(values), 3)
    return merged


def summarise(runs: list[dict]) -> list[dict]:
    """Median each (target, scenario) group of runs."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        groups[(run["target"], *scenario_key(run))].append(run)
    return [medians(group) for _, group in sorted(groups.items())]


def ratio(ours, baseline, better: str) -> float | None:
    """How many times better ours is (>1 is better), or None when it cannot be said."""
    if ours is None or baseline is None:
        return None
    if better == "higher":
        return round(ours / baseline, 2) if baseline else None
    return round(baseline / ours, 2) if ours else None


def multiple_of(value, reference) -> float | None:
    """`value` as a multiple of `reference` (ours of the floor's, with rules of without:
    >1 costs more), or None when it cannot be said."""
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return None
    return round(value / reference, 2) if reference else None


def comparisons(summary: list[dict]) -> list[dict]:
    """Ours against the baseline (how many times better) and against the floor (ours/floor)."""
    by_scenario: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for run in summary:
        by_scenario[scenario_key(run)][run["target"]] = run
    found = []
    for _, runs in sorted(by_scenario.items()):
        ours = runs.get("ours")
        if ours is None:
            continue
        if "baseline" in runs:
            baseline = runs["baseline"]
            found.append(
                {
                    "against": "baseline",
                    "scenario": ours["scenario"],
                    "ratios": {
                        f"{section}.{name}": ratio(
                            ours.get(section, {}).get(name),
                            baseline.get(section, {}).get(name),
                            better,
                        )
                        for section, name, _, better in TABLE
                        if better is not None
                    },
                }
            )
        if "floor" in runs:
            floor = runs["floor"]
            found.append(
                {
                    "against": "floor",
                    "scenario": ours["scenario"],
                    "ratios": {
                        f"{section}.{name}": multiple_of(
                            ours.get(section, {}).get(name), floor.get(section, {}).get(name)
                        )
                        for section, name in FLOOR_RATIOS
                    },
                }
            )
    return found + _rules_comparisons(summary)


def _rules_comparisons(summary: list[dict]) -> list[dict]:
    """Each target with the rules against itself without them, on/off (>1: they cost)."""
    pairs: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for run in summary:
        *key, rules = scenario_key(run)
        pairs[(run["target"], *key)][rules] = run
    return [
        {
            "against": "rules off",
            "scenario": runs["on"]["scenario"],
            "ratios": {
                f"{section}.{name}": multiple_of(
                    runs["on"].get(section, {}).get(name), runs["off"].get(section, {}).get(name)
                )
                for section, name in RULES_RATIOS
            },
        }
        for _, runs in sorted(pairs.items())
        if "on" in runs and "off" in runs
    ]


def table(summary: list[dict]) -> str:
    """The figures of each summarised run as columns, with ratio columns where ours ran beside
    the baseline (how many times better ours is) or the floor (ours/floor: >1 costs more)."""
    columns = [
        (f"{setup_label(r)} {r['scenario']['viewers']}v x {r['scenario']['rate']}/s", r)
        for r in summary
    ]
    ratio_columns = []
    for comparison in comparisons(summary):
        s = comparison["scenario"]
        name = {"baseline": "ratio", "floor": "ours/floor", "rules off": "rules on/off"}[
            comparison["against"]
        ]
        ratio_columns.append((f"{name} {s['viewers']}v x {s['rate']}/s", comparison["ratios"]))
    header = ["figure"] + [name for name, _ in columns] + [name for name, _ in ratio_columns]
    rows = [header]
    for section, name, label, _ in TABLE:
        row = [label]
        for _, run in columns:
            value = run.get(section, {}).get(name)
            # A string says why there is no figure ("not stored").
            row.append("-" if value is None else value if isinstance(value, str) else f"{value:g}")
        for _, ratios in ratio_columns:
            value = ratios.get(f"{section}.{name}")
            row.append("-" if value is None else f"{value:g}x")
        rows.append(row)
    return _aligned(rows)


# (section, figure, label) of each stream's row in `streams_table`.
STREAM_COLUMNS = [
    ("delivery", "viewers_joined", "viewers"),
    ("throughput", "accepted_per_s", "accepted/s"),
    ("delivery", "fraction_min", "delivered, worst viewer"),
    ("throughput", "deliveries_per_s", "deliveries/s"),
    ("latency_ms", "p50", "p50 ms"),
    ("latency_ms", "p95", "p95 ms"),
    ("latency_ms", "p99", "p99 ms"),
    ("ack_latency_ms", "p95", "ack p95 ms"),
]


def streams_table(run: dict) -> str:
    """One run's figures stream by stream, and the commands each Redis server executed."""
    rows = [["stream", "shard"] + [label for _, _, label in STREAM_COLUMNS]]
    for stream in run["streams"]:
        row = [str(stream["stream_id"]), "-" if stream["shard"] is None else str(stream["shard"])]
        for section, name, _ in STREAM_COLUMNS:
            value = stream[section][name]
            row.append("-" if value is None else f"{value:g}")
        rows.append(row)
    lines = [_aligned(rows)]
    if run["redis"]:
        lines.append("")
        rows = [["Redis shard", "server", "streams", "commands", "commands/s", "keys after"]]
        for server in run["redis"]:
            rows.append(
                [
                    str(server["shard"]),
                    server["server"],
                    ", ".join(map(str, server["streams"])) or "-",
                    str(server["commands"]),
                    f"{server['commands_per_s']:g}",
                    str(server["keys"]),
                ]
            )
        lines.append(_aligned(rows))
        lines.append(
            "(commands: executed from the start of posting to the end of the drain, by any "
            "client of that server)"
        )
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns, the first row a header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(runs: list[dict], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"loadbench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    summary = summarise(runs)
    path.write_text(
        json.dumps(
            {"runs": runs, "summary": summary, "comparisons": comparisons(summary)}, indent=2
        )
    )
    return path


def load_runs(paths: list[Path]) -> list[dict]:
    runs = []
    for path in paths:
        runs.extend(json.loads(path.read_text())["runs"])
    return runs


def plot(summary: list[dict], path: Path) -> Path:
    """Draw latency percentiles, deliveries/s and delivered fraction against viewers."""
    plt = _pyplot()
    lines: dict[tuple, list[dict]] = defaultdict(list)
    for run in summary:
        lines[(run["target"], setup_label(run), run["scenario"]["rate"])].append(run)
    figure, (latency, throughput, delivered) = plt.subplots(1, 3, figsize=(17, 5.5))
    # One colour family per target, one shade and marker per comment rate.
    markers = "os^Dv"
    styles = {"p50": ":", "p95": "-", "p99": "--"}
    for target in sorted({target for target, _, _ in lines}):
        setups = sorted((setup, rate) for t, setup, rate in lines if t == target)
        for index, (setup, rate) in enumerate(setups):
            runs = sorted(lines[(target, setup, rate)], key=lambda r: r["scenario"]["viewers"])
            viewers = [r["scenario"]["viewers"] for r in runs]
            colour = _colour_map(plt, target)(0.5 + 0.5 * (index + 1) / len(setups))
            style = {"color": colour, "marker": markers[index % len(markers)]}
            label = f"{setup} {rate:g}/s"
            for point, line in styles.items():
                latency.plot(
                    viewers,
                    [r["latency_ms"][point] for r in runs],
                    line,
                    **style,
                    label=f"{label} {point}",
                )
            throughput.plot(
                viewers, [r["throughput"]["deliveries_per_s"] for r in runs], **style, label=label
            )
            delivered.plot(
                viewers,
                [100 * (r["delivery"]["fraction_min"] or 0) for r in runs],
                **style,
                label=label,
            )
    latency.axhline(500, color="grey", linewidth=0.8)
    latency.set(title="post→display latency", xlabel="viewers", ylabel="ms", yscale="log")
    throughput.set(
        title="comment-deliveries/s", xlabel="viewers", ylabel="deliveries/s", yscale="log"
    )
    delivered.set(
        title="accepted comments received, worst viewer",
        xlabel="viewers",
        ylabel="%",
        ylim=(0, 105),
    )
    for axes in (latency, throughput, delivered):
        axes.set_xscale("log")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=6.5, ncol=2 if axes is latency else 1)
    return _save(plt, figure, path)


# What each cost-plot panel sweeps, and what its lines hold fixed.
SWEPT = {"viewers": "rate", "rate": "viewers"}


def cost_lines(summary: list[dict]) -> dict[tuple[str, str, float], list[dict]]:
    """The sweeps among these runs: (swept figure, setup, the fixed one's value) → runs in
    order, for each target and setup whose runs differ only in viewers or in comments/s."""
    lines: dict[tuple[str, str, float], list[dict]] = defaultdict(list)
    for run in summary:
        if run["gateway"]["cpu_s_per_million_deliveries"] is None:
            continue
        for swept, fixed in SWEPT.items():
            lines[(swept, setup_label(run), run["scenario"][fixed])].append(run)
    return {
        key: sorted(runs, key=lambda run: run["scenario"][key[0]])
        for key, runs in lines.items()
        if len({run["scenario"][key[0]] for run in runs}) > 1
    }


def plot_cost(summary: list[dict], path: Path) -> Path:
    """Draw gateway CPU per million deliveries against viewers and against comments/s.

    Flat means the cost is per delivery; falling means a frame's fixed cost is shared by
    more comments."""
    import matplotlib.ticker

    plt = _pyplot()
    figure, panels = plt.subplots(1, 2, figsize=(12, 5))
    by_panel = dict(zip(SWEPT, panels, strict=True))
    lines = cost_lines(summary)
    for (swept, setup, fixed_value), runs in sorted(lines.items()):
        fixed = f"{fixed_value:,} viewers" if swept == "rate" else f"{fixed_value:g} comments/s"
        by_panel[swept].plot(
            [run["scenario"][swept] for run in runs],
            [run["gateway"]["cpu_s_per_million_deliveries"] for run in runs],
            marker="o",
            color=_colour_map(plt, runs[0]["target"])(0.75),
            label=f"{setup}, {fixed}",
        )
    for swept, axes in by_panel.items():
        name = "comments/s" if swept == "rate" else "viewers"
        # The swept sizes themselves as ticks, written out (not 2x10^3).
        sizes = sorted(
            {
                run["scenario"][swept]
                for (s, _, _), runs in lines.items()
                if s == swept
                for run in runs
            }
        )
        axes.set_xscale("log")
        axes.set_xticks(sizes, [f"{size:,g}" for size in sizes])
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axes.set(
            title=f"gateway CPU per delivery against {name}",
            xlabel=name,
            ylabel="CPU s per million deliveries",
            ylim=(0, None),
        )
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    return _save(plt, figure, path)


def _pyplot():
    """matplotlib's pyplot drawing to files (matplotlib is in the dev extra only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colour_map(plt, target: str):
    """One colour family per target: ours blue, the baseline red, the floor green."""
    families = {"ours": plt.cm.Blues, "baseline": plt.cm.Reds, "floor": plt.cm.Greens}
    return families.get(target, plt.cm.Greys)


def _save(plt, figure, path: Path) -> Path:
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
