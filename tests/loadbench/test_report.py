"""The printed table and the JSON comparisons: ours beside the baseline and the floor."""

import pytest

from loadbench import report
from loadbench.runner import NOT_STORED


def run(target: str, *, p95: int, cpu_s: float, kb: float, stored: int | str = 1000) -> dict:
    """A finished run with only the figures these tests read; the others absent."""
    return {
        "target": target,
        "scenario": {
            "viewers": 2000,
            "rate": 100.0,
            "posters": 100,
            "duration": 20.0,
            "gateways": 1,
            "server": "uvicorn",
            "delivery_policy": "seed",
        },
        "latency_ms": {"p50": p95 // 2, "p95": p95},
        "comments": {"stored": stored},
        "gateway": {"cpu_s_per_million_deliveries": cpu_s, "memory_per_socket_kb": kb},
        "sockets": {"joined": 2100, "planned": 2100},
    }


def rows(text: str) -> dict[str, list[str]]:
    """The table's cells by figure label (labels hold single spaces, cells are two apart)."""
    lines = text.splitlines()
    return {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.split("  ") if c.strip()] for line in lines[2:])
    }


def test_ours_beside_the_floor_shows_ours_over_the_floor():
    summary = report.summarise(
        [
            run("ours", p95=300, cpu_s=50.0, kb=28.0),
            run("floor", p95=200, cpu_s=10.0, kb=16.0, stored=NOT_STORED),
        ]
    )

    text = report.table(summary)

    header = text.splitlines()[0]
    assert "floor websockets 2000v x 100.0/s" in header
    assert "ours/floor 2000v x 100.0/s" in header
    # Columns in target order: the floor, ours, then ours/floor.
    table = rows(text)
    assert table["gateway CPU s per M deliveries"] == ["10", "50", "5x"]
    assert table["post→display p95 ms"] == ["200", "300", "1.5x"]
    assert table["gateway KB per socket"] == ["16", "28", "1.75x"]
    # No ratio where the issue asks for none, and the floor's rows said in words.
    assert table["post→display p50 ms"] == ["100", "150", "-"]
    assert table["comments stored (rows)"] == [NOT_STORED, "1000", "-"]


def test_the_comparisons_say_what_ours_is_set_against():
    summary = report.summarise(
        [
            run("ours", p95=300, cpu_s=50.0, kb=28.0),
            run("baseline", p95=3000, cpu_s=500.0, kb=40.0),
            run("floor", p95=200, cpu_s=10.0, kb=16.0, stored=NOT_STORED),
        ]
    )

    found = {c["against"]: c["ratios"] for c in report.comparisons(summary)}

    assert found["floor"] == {
        "gateway.cpu_s_per_million_deliveries": 5.0,
        "latency_ms.p95": 1.5,
        "gateway.memory_per_socket_kb": 1.75,
    }
    # Against the baseline the ratio stays "how many times better ours is".
    assert found["baseline"]["latency_ms.p95"] == 10.0
    assert found["baseline"]["gateway.cpu_s_per_million_deliveries"] == 10.0
    header = report.table(summary).splitlines()[0]
    assert "ratio 2000v x 100.0/s" in header and "ours/floor 2000v x 100.0/s" in header


def test_a_single_target_has_no_ratio_columns():
    text = report.table(report.summarise([run("ours", p95=300, cpu_s=50.0, kb=28.0)]))

    header = text.splitlines()[0]
    assert "ratio" not in header and "floor" not in header
    assert rows(text)["gateway CPU s per M deliveries"] == ["50"]


@pytest.mark.parametrize(("ours", "floor"), [(None, 1.0), (1.0, None), (1.0, 0), (1.0, "x")])
def test_no_ratio_without_both_figures(ours, floor):
    assert report.multiple_of(ours, floor) is None


def test_the_cost_plot_draws_each_sweep_and_skips_lone_runs(tmp_path):
    def sized(target, viewers, rate, cpu_s):
        figures = run(target, p95=200, cpu_s=cpu_s, kb=20.0)
        figures["scenario"] |= {"viewers": viewers, "rate": rate}
        return figures

    summary = report.summarise(
        [sized(target, v, 100.0, cost) for v in (500, 2000) for target, cost in FLOORED]
        + [sized(target, 2000, r, cost) for r in (10.0, 500.0) for target, cost in FLOORED]
        + [sized("baseline", 50, 20.0, 9.0)]  # one size only: no line
    )

    path = report.plot_cost(summary, tmp_path / "cost.png")

    import matplotlib.image

    assert matplotlib.image.imread(path).shape[:2] == (550, 1320)  # two panels at 110 dpi
    assert {label for label in report.cost_lines(summary)} == {
        ("viewers", "ours uvicorn", 100.0),
        ("viewers", "floor websockets", 100.0),
        ("rate", "ours uvicorn", 2000),
        ("rate", "floor websockets", 2000),
    }


FLOORED = (("ours", 2.0), ("floor", 1.0))
