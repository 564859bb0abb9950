import pytest

import run


def rounds_of(*rates):
    return [{"per_second": rate} for rate in rates]


def test_ratio_is_the_median_of_side_by_side_rounds():
    # A noisy middle round moves both servers; pairing keeps the ratio steady.
    ours, ceiling = rounds_of(300, 100, 310), rounds_of(600, 200, 620)
    assert run.paired_ratio(ours, ceiling) == 0.5


def test_no_ratios_while_ours_is_not_wired():
    rounds = {"ceiling": rounds_of(600), "ours": [], "peer": rounds_of(50)}
    assert run.ratios(rounds, {}) == {}


def test_ours_says_it_is_not_wired_yet():
    with pytest.raises(run.NotWired, match="not wired yet"):
        run.ours(None, None, 8)
