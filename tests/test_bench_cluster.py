"""bench.cluster judges a throughput goal on the median of paired rounds, each ratio taken
against the static file's run just before it: one slow round neither passes nor fails a goal,
and a run with errors (a lost session answers fast 302s) never passes it."""

from __future__ import annotations

from bench import wrk
from bench.cluster import Paired, judge


def run(rps: float, errors: int = 0) -> wrk.Result:
    scenario = wrk.get("signed-in doc list, nginx", "/docs/", 8)
    return wrk.Result(scenario, requests=int(rps * 3), seconds=3, bytes=0, errors=errors)


def paired(*rounds: tuple[float, float, int]) -> Paired:
    """Rounds of (static file's req/s, the page's req/s, the page's errors)."""
    kind = Paired("http://127.0.0.1:8080", run(0).scenario, "replica", 0.25)
    kind.runs = [(ceiling, run(rps, errors)) for ceiling, rps, errors in rounds]
    return kind


def test_each_ratio_is_taken_against_its_own_rounds_static_run():
    kind = paired((2000, 600, 0), (1000, 400, 0), (4000, 800, 0))
    assert kind.ratios == [0.3, 0.4, 0.2]


def test_the_median_decides_so_one_slow_round_does_not():
    met = judge(paired((2000, 600, 0), (2000, 300, 0), (2000, 700, 0)))
    assert met.ok, met.detail
    assert "median 0.300× over 3 paired rounds (0.150–0.350)" in met.detail


def test_a_median_under_the_goal_is_missed_even_with_one_fast_round():
    missed = judge(paired((2000, 400, 0), (2000, 900, 0), (2000, 480, 0)))
    assert not missed.ok
    assert "median 0.240×" in missed.detail


def test_errors_fail_the_goal_whatever_the_rate():
    failed = judge(paired((2000, 900, 0), (2000, 900, 3), (2000, 900, 0)))
    assert not failed.ok
    assert "3 errors" in failed.detail


def test_no_rounds_is_not_a_pass():
    assert not judge(paired()).ok
