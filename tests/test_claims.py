"""gdlens.claims: a true claim passes, a false one raises naming itself, every expectation at its edges."""

import json
import math

import numpy as np
import pytest

from gdlens import claims
from gdlens.claims import (
    ClaimFailed,
    above,
    below,
    between,
    claim,
    fitted_slope,
    fraction_above,
    monotone,
    near,
    near_se,
    slope_near,
)
from gdlens.repro import chapter_seed


@pytest.fixture(autouse=True)
def no_log(monkeypatch):
    monkeypatch.delenv(claims.LOG_ENV, raising=False)


def test_a_true_claim_returns_its_value():
    assert claim("t_true", "half is half", 0.5, near(0.5, atol=1e-12)) == 0.5


def test_a_false_claim_raises_naming_the_claim_the_value_and_the_expectation():
    with pytest.raises(ClaimFailed) as info:
        claim("t_false", "the rate is one half", 0.6, near(0.5, rtol=0.01))
    message = str(info.value)
    assert "t_false" in message and "the rate is one half" in message
    assert "0.6" in message and "0.5 ± 0.01 rel" in message


@pytest.mark.parametrize(
    ("value", "held"),
    [(1.0 + 0.02, True), (1.0 - 0.02, True), (1.0 + 0.0200001, False), (math.nan, False), (math.inf, False)],
)
def test_near_is_inclusive_at_its_tolerance_and_rejects_non_finite(value, held):
    assert near(1.0, atol=0.02).check(value)[0] is held


def test_near_combines_relative_and_absolute_tolerance():
    expect = near(100.0, rtol=0.01, atol=0.5)  # 1.5 in all
    assert expect.check(101.5)[0] and not expect.check(101.6)[0]


def test_near_needs_a_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        near(1.0)


def test_near_se_counts_standard_errors_and_states_its_false_alarm_rate():
    expect = near_se(0.5, se=0.01, k=4)
    assert expect.check(0.54)[0] and not expect.check(0.5401)[0]
    assert "false alarm 6e-05" in expect.text


def test_near_se_false_alarm_rate_matches_a_simulation():
    # At k = 2 the two-sided Gaussian false-alarm rate is 4.55%; 20 000 draws give it to ±0.15% (1 SE).
    rng = np.random.default_rng(0)
    draws = rng.standard_normal(20_000)
    expect = near_se(0.0, se=1.0, k=2.0)
    misses = np.mean([not expect.check(x)[0] for x in draws])
    assert abs(misses - math.erfc(2 / math.sqrt(2))) < 4 * 0.0015


def test_bounds_and_intervals():
    assert above(1.0).check(1.01)[0] and not above(1.0).check(1.0)[0]
    assert above(1.0, strict=False).check(1.0)[0]
    assert below(1.0).check(0.99)[0] and not below(1.0).check(1.0)[0]
    assert below(1.0, strict=False).check(1.0)[0]
    assert between(0, 1).check(0)[0] and between(0, 1).check(1)[0] and not between(0, 1).check(1.0001)[0]


def test_monotone_measures_the_worst_step_against_the_trend():
    held, worst = monotone("decreasing").check([3.0, 2.0, 1.5])
    assert held and worst == -0.5
    assert not monotone("decreasing").check([3.0, 3.0, 1.0])[0]
    assert monotone("decreasing", strict=False).check([3.0, 3.0, 1.0])[0]
    assert monotone("increasing", tol=0.1).check([1.0, 0.95, 2.0])[0]
    assert not monotone("increasing", tol=0.01).check([1.0, 0.95, 2.0])[0]


def test_fitted_slope_recovers_a_line_and_its_uncertainty():
    x = np.arange(10.0)
    slope, se = fitted_slope(x, 2.0 * x + 1.0)
    assert slope == pytest.approx(2.0, abs=1e-12) and se == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(1)
    noisy = 2.0 * x + rng.standard_normal(10)
    slope, se = fitted_slope(x, noisy)
    # Closed form: SE = s / sqrt(Sxx) with Sxx = 82.5 for x = 0..9 and s ≈ 1.
    assert 0.05 < se < 0.2 and abs(slope - 2.0) < 4 * se


def test_slope_near_on_log_axes():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    assert slope_near(2.0, atol=0.01).check((h, 3 * h**2))[0]
    assert not slope_near(1.0, atol=0.1).check((h, 3 * h**2))[0]
    with pytest.raises(ValueError, match="positive"):
        slope_near(1.0, atol=0.1).check((h, -h))


def test_fraction_above():
    values = np.array([0.1, 0.6, 0.7, 0.9])
    held, frac = fraction_above(0.5, at_least=0.75).check(values)
    assert held and frac == 0.75
    assert not fraction_above(0.5, at_most=0.5).check(values)[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: near("1", atol=0.1),
        lambda: near(1.0, rtol=-0.1),
        lambda: near(math.nan, atol=0.1),
        lambda: near_se(1.0, se=0.0),
        lambda: between(1.0, 0.0),
        lambda: above(1.0, strict="yes"),
        lambda: monotone("up"),
        lambda: slope_near(1.0, atol=0.0),
        lambda: fraction_above(0.5),
        lambda: fraction_above(0.5, at_least=1.5),
        lambda: fraction_above(0.5, at_least=0.8, at_most=0.2),
    ],
)
def test_bad_expectations_are_rejected(make):
    with pytest.raises((TypeError, ValueError)):
        make()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("not a name", "s", 1.0, near(1.0, atol=1)), ValueError),
        (("t_x", "", 1.0, near(1.0, atol=1)), ValueError),
        (("t_x", "s", 1.0, "near"), TypeError),
        (("t_x", "s", "1.0", near(1.0, atol=1)), TypeError),
        (("t_x", "s", [1.0, 2.0], near(1.0, atol=1)), TypeError),
        (("t_x", "s", [1.0], monotone("increasing")), ValueError),
    ],
)
def test_bad_claims_are_rejected(args, error):
    with pytest.raises(error):
        claim(*args)


def test_under_a_log_a_failing_claim_is_recorded_not_raised(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(claims.LOG_ENV, str(log))
    monkeypatch.setenv("GDLENS_SEED", "3")
    claim("t_logged_ok", "holds", 1.0, near(1.0, atol=0.1))
    claim("t_logged_bad", "fails", 2.0, near(1.0, atol=0.1))
    records = claims.read_log(log)
    assert [r["name"] for r in records] == ["t_logged_ok", "t_logged_bad"]
    assert [r["held"] for r in records] == [True, False]
    assert records[1]["seed"] == "3" and records[1]["measured"] == 2.0
    json.dumps(records)  # a record is plain JSON


def test_checked_table_lists_claims_by_prefix():
    claim("tbl_one", "first", 1.0, near(1.0, atol=0.1))
    table = claims.checked_table("tbl_")
    assert "| first | 1 | 1 ± 0.1 | yes |" in table
    assert "t_true" not in table


def test_chapter_seed_reads_the_environment(monkeypatch):
    monkeypatch.delenv("GDLENS_SEED", raising=False)
    assert chapter_seed(7) == 7
    monkeypatch.setenv("GDLENS_SEED", "42")
    assert chapter_seed(7) == 42
    for bad in ("-1", "x", "1.5"):
        monkeypatch.setenv("GDLENS_SEED", bad)
        with pytest.raises(ValueError, match="GDLENS_SEED"):
            chapter_seed(7)
    with pytest.raises(ValueError, match="default"):
        chapter_seed(True)
