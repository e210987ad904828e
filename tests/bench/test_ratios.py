"""Ratios taken in pairs (bench/ratios.py) and the load slices' pairing (bench/load.py)."""

from __future__ import annotations

import pytest

from bench.load import Rate, Slices, load_figures, schedule
from bench.ratios import median, median_ratio, pair_ratios, spread


def test_median_of_odd_and_even_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError, match="no values"):
        median([])


def test_pair_ratios_divide_each_pair_and_skip_empty_denominators() -> None:
    assert pair_ratios([2.0, 3.0, 5.0], [4.0, 0.0, 10.0]) == [0.5, 0.5]
    with pytest.raises(ValueError, match="2 numerators for 1 denominators"):
        pair_ratios([1.0, 2.0], [1.0])
    assert median_ratio([1.0], [0.0]) is None


def test_one_disturbed_pair_moves_the_median_not_the_figure() -> None:
    """Ingest at 300/s beside a ceiling of 1,000/s in every pair but one, where the disk
    stalled (ingest 60/s): the ratio of the totals drops to 27.6%, the median stays 30%."""
    ingest = [300.0, 300.0, 60.0, 300.0, 300.0]
    ceiling = [1000.0] * 5
    assert sum(ingest) / sum(ceiling) == pytest.approx(0.252)
    assert median_ratio(ingest, ceiling) == pytest.approx(0.30)
    assert spread(pair_ratios(ingest, ceiling), scale=100, unit="%") == (
        "median of 5 pairs (6.0-30.0%)"
    )
    assert spread([0.41, 0.47]) == "median of 2 pairs (0.41-0.47x)"
    assert spread([]) == "no pairs"


def test_schedule_puts_healthz_between_every_two_reads() -> None:
    h = "healthz"
    assert schedule(["a", "b"], 2) == [h, "a", h, "b", h, "a", h, "b", h]
    assert schedule(["a"], 1) == [h, "a", h]


def rate(per_second: float) -> Rate:
    return Rate(int(per_second), 1.0)


def test_each_read_slice_is_compared_with_the_healthz_slices_beside_it() -> None:
    """The machine slows down steadily (healthz 1000 -> 600/s) while the read costs twice a
    health check throughout: against the /healthz slices beside it every read slice says
    0.5x, whatever the drift."""
    order = schedule(["read"], 2)
    found = Slices(order, [rate(1000), rate(450), rate(800), rate(350), rate(600)])
    assert found.ratios("read") == [pytest.approx(0.5), pytest.approx(0.5)]
    assert found.total("read") == Rate(800, 2.0)
    assert found.total("healthz").per_second == pytest.approx(800.0)
    figures = {f.key: f for f in load_figures("reads", "1M", 8, found)}
    ratio = figures["reads.load.8.read_healthz_ratio"]
    assert ratio.value == pytest.approx(0.5)
    assert ratio.status == "met"
    assert ratio.note == "margin 1.00x the line (+0.00); median of 2 pairs (0.50-0.50x)"
    assert figures["reads.load.8.read_rps"].value == 400.0
    assert figures["reads.load.8.healthz_rps"].value == pytest.approx(800.0)


def test_a_read_slice_with_one_healthz_neighbour_uses_that_one() -> None:
    found = Slices(["read", "healthz"], [rate(200), rate(1000)])
    assert found.ratios("read") == [0.2]
    assert Slices(["read"], [rate(200)]).ratios("read") == []
    [_, ratio] = load_figures("x", "here", 8, Slices(["read"], [rate(200)]))
    assert ratio.value is None and ratio.status == "NOT MEASURED"
