"""The dashboard's SVG charts (checkout.charts): scale, escaping, gaps."""

import re
from decimal import Decimal

import pytest

from checkout import charts


@pytest.mark.parametrize(("value", "ceiling"), [
    (0, 1), (0.3, 0.5), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (24, 25), (26, 50), (101, 200), (4999, 5000),
])
def test_nice_ceiling_is_the_next_round_number(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def heights(svg: str, css: str) -> list[float]:
    return [float(h) for h in re.findall(rf'<rect class="{css}" [^>]*height="([\d.]+)"', svg)]


def test_stacked_columns_are_proportional_and_stack_in_order():
    svg = charts.stacked_columns(
        "c", title="T", description="D", labels=["a", "b", "c"],
        series=[charts.Series("done", "s-a", [10, 20, 0]), charts.Series("left", "s-b", [5, 0, 0])],
        tick_label=lambda v: f"{v:,.0f}")
    done, left = heights(svg, "s-a"), heights(svg, "s-b")
    assert len(done) == 2 and len(left) == 1  # zero values draw nothing
    assert done[1] == pytest.approx(2 * done[0], abs=0.1) and left[0] == pytest.approx(done[0] / 2, abs=0.1)
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert "<title>a: 10 done</title>" in svg


def test_labels_are_escaped():
    evil = '<script>alert("x")</script>'
    svg = charts.overlaid_bars("b", title=evil, description=evil, rows=[(evil, 4, 1)],
                               outer=charts.Series("created", "s-created", ()),
                               inner=charts.Series("completed", "s-completed", ()))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_overlaid_bars_draw_the_part_inside_the_whole():
    svg = charts.overlaid_bars("b", title="T", description="D", rows=[("x", 8, 2), ("y", 4, 4)],
                               outer=charts.Series("created", "s-created", ()),
                               inner=charts.Series("completed", "s-completed", ()))
    widths = [float(w) for w in re.findall(r'<rect class="s-(?:created|completed)" [^>]*width="([\d.]+)"', svg)]
    whole_x, part_x, whole_y, part_y = widths
    assert part_x == pytest.approx(whole_x / 4, abs=0.1) and part_y == pytest.approx(whole_y, abs=0.1)
    assert whole_y == pytest.approx(whole_x / 2, abs=0.1)
    assert "2 / 8 (25.0%)" in svg and "4 / 4 (100.0%)" in svg


def test_line_leaves_a_gap_where_there_is_nothing_to_measure():
    svg = charts.line("l", title="T", description="D", labels=["a", "b", "c", "d"],
                      values=[Decimal("0.5"), None, Decimal("1"), Decimal("0")])
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 3
    assert "<title>a: 50.0%</title>" in svg and "<title>d: 0.0%</title>" in svg


def test_stacked_columns_with_nothing_to_draw_says_so_instead_of_an_axis():
    from checkout import charts

    svg = charts.stacked_columns("c", title="t", description="d", labels=["a", "b"],
                                 series=[charts.Series("n", "s", [0, 0])], tick_label=lambda v: f"{v:,.0f}",
                                 whole=True)
    assert "No sessions in this period." in svg and 'class="tick" x="58"' not in svg and "<rect" not in svg


def test_stacked_columns_of_small_counts_label_each_tick_with_a_distinct_whole_number():
    import re

    from checkout import charts

    svg = charts.stacked_columns("c", title="t", description="d", labels=["a"],
                                 series=[charts.Series("n", "s", [1])], tick_label=lambda v: f"{v:,.0f}", whole=True)
    ticks = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    assert ticks == ["0", "1", "2", "3", "4"]


def test_funnel_bars_are_shares_of_the_first_step():
    from checkout import charts

    svg = charts.funnel("f", title="t", description="d", steps=[("Created", 10), ("Opened", 5), ("Paid", 0)])
    assert "10 (100%)" in svg and "5 (50%)" in svg and "0 (0%)" in svg and "50% of the step before" in svg
    assert "No sessions in this period." in charts.funnel("f", title="t", description="d", steps=[("Created", 0)])
