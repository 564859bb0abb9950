import argparse

import run


def rounds_of(*rates):
    return [{"per_second": rate} for rate in rates]


def test_ratio_is_the_median_of_side_by_side_rounds():
    # A noisy middle round moves both servers; pairing keeps the ratio steady.
    ours, ceiling = rounds_of(300, 100, 310), rounds_of(600, 200, 620)
    assert run.paired_ratio(ours, ceiling) == 0.5


def test_no_ratios_without_rounds_of_ours():
    rounds = {"ceiling": rounds_of(600), "ours": [], "peer": rounds_of(50)}
    assert run.ratios(rounds, {}) == {}


def test_ceiling_and_ours_swap_places_every_round(monkeypatch, tmp_path):
    """A round run straight after another is the slower one: neither server
    may always come second."""
    order = []
    monkeypatch.setattr(run, "settle", lambda: None)
    monkeypatch.setattr(run.ceiling, "measure", lambda *args: order.append("ceiling") or {"per_second": 2})
    monkeypatch.setattr(run, "ours", lambda *args: order.append("ours") or {"per_second": 1})
    args = argparse.Namespace(rounds=4, concurrency=8, processes=2, skip_peer=True)
    rounds = run.measure_rounds(tmp_path, tmp_path, [], args)
    assert order == ["ceiling", "ours", "ours", "ceiling", "ceiling", "ours", "ours", "ceiling"]
    assert len(rounds["ours"]) == len(rounds["ceiling"]) == 4
