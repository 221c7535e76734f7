"""The parameter grid, objectives and constraints, and the searches over a hand-made
objective (a runner that scores parameters without a backtest)."""

from __future__ import annotations

import pytest

from workstation.optimize.grid import GridProblem, build_grid, param_values
from workstation.optimize.objective import Constraints, objective_value, score
from workstation.optimize.pool import TrialOutcome
from workstation.optimize.search import grid_search, guided_search, ranking
from workstation.strategy import Param, Strategy


class Crossing(Strategy):
    name = "Crossing"
    fast = Param(10, min=2, max=10, step=4, doc="2, 6, 10")
    slow = Param(15, min=5, max=15, step=5, doc="5, 10, 15")
    width = Param(1.0, min=0.5, max=1.5, step=0.25)
    mode = Param("a", choices=("a", "b"))
    short = Param(True)


DECLARED = Crossing.declared_params()


class HandMade:
    """Scores each trial -(fast - 6)^2 - (slow - 10)^2 as its net profit: best at (6, 10)."""

    workers = 1

    def __init__(self) -> None:
        self.ran: list[dict] = []

    def map(self, tasks):
        for task in tasks:
            self.ran.append(task.params)
            p = task.params
            value = -(p["fast"] - 6) ** 2 - (p["slow"] - 10) ** 2
            yield TrialOutcome(task.number, task.params, {
                "net_profit": float(value), "trades": 10, "max_drawdown": -0.05,
                "total_return": value / 1000})

    def close(self) -> None:
        pass


def test_a_params_declared_range_gives_its_values():
    assert param_values(DECLARED["fast"]) == (2, 6, 10)
    assert param_values(DECLARED["width"]) == (0.5, 0.75, 1.0, 1.25, 1.5)
    assert param_values(DECLARED["mode"]) == ("a", "b")
    assert param_values(DECLARED["short"]) == (False, True)


def test_a_range_can_be_narrowed_or_listed():
    assert param_values(DECLARED["fast"], "3:9:3") == (3, 6, 9)
    assert param_values(DECLARED["fast"], "2:10") == (2, 6, 10)  # the Param's own step
    assert param_values(DECLARED["fast"], "7,3,7") == (7, 3)
    assert param_values(DECLARED["width"], "1,2") == (1.0, 2.0)


def test_the_grid_counts_every_combination_and_skips_the_invalid_ones_with_a_reason():
    grid = build_grid(DECLARED, {"fast": None, "slow": None}, ["fast<slow"])
    combos = list(grid.combos())

    assert grid.size == 9
    assert [(p["fast"], p["slow"]) for p, reason in combos if reason is None] == [
        (2, 5), (2, 10), (2, 15), (6, 10), (6, 15), (10, 15)]
    assert [(p["fast"], p["slow"], reason) for p, reason in combos if reason] == [
        (6, 5, "fast<slow does not hold"), (10, 5, "fast<slow does not hold"),
        (10, 10, "fast<slow does not hold")]


def test_a_value_outside_the_params_bounds_is_skipped_with_the_params_reason():
    grid = build_grid(DECLARED, {"fast": "8:12:2"})
    reasons = [reason for _, reason in grid.combos()]

    assert reasons == [None, None, "fast: 12 is above the maximum 10"]


def test_fixed_parameters_are_merged_into_every_combination():
    grid = build_grid(DECLARED, {"fast": "2,6"}, fixed={"width": 1.5})
    assert [p for p, _ in grid.combos()] == [
        {"fast": 2, "slow": 15, "width": 1.5, "mode": "a", "short": True},
        {"fast": 6, "slow": 15, "width": 1.5, "mode": "a", "short": True}]


@pytest.mark.parametrize(("specs", "conditions", "message"), [
    ({"speed": None}, [], "no parameter 'speed' (parameters: fast, slow, width, mode, short)"),
    ({"fast": "9:3"}, [], "parameter fast: empty range 9..3"),
    ({"fast": "1:5:0"}, [], "parameter fast: step 0 must be positive"),
    ({"fast": "a:b"}, [], "parameter fast=a:b: not numbers"),
    ({"fast": "1.5:3:0.5"}, [], "parameter fast: whole numbers only (1.5:3:0.5)"),
    ({"fast": None}, ["fast<<slow"], "condition 'fast<<slow': expected NAME OP NAME"),
    ({"fast": None}, ["fast<speed"], "condition 'fast<speed': no parameter 'speed'"),
    ({}, [], "nothing to vary"),
])
def test_a_bad_range_or_condition_is_refused_with_what_is_wrong(specs, conditions, message):
    with pytest.raises(GridProblem, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        build_grid(DECLARED, specs, conditions)


def test_objectives_read_the_metrics_and_constraints_exclude_trials():
    metrics = {"net_profit": 500.0, "total_return": 0.05, "max_drawdown": -0.02, "trades": 4,
               "sharpe": None}
    assert objective_value(metrics, "return_drawdown") == pytest.approx(2.5)
    assert score(metrics, "net_profit", Constraints()) == (500.0, None)
    assert score(metrics, "sharpe", Constraints()) == (None, "sharpe ratio undefined")
    assert score(metrics, "net_profit", Constraints(min_trades=5)) == (
        None, "4 trades, fewer than 5")
    assert score(metrics, "net_profit", Constraints(max_drawdown=0.01)) == (
        None, "max drawdown 2.00% deeper than 1.00%")


def test_the_grid_search_finds_the_known_best_of_a_hand_made_objective():
    grid = build_grid(DECLARED, {"fast": None, "slow": None}, ["fast<slow"])
    runner = HandMade()
    result = grid_search(runner, grid, "net_profit", Constraints())

    assert len(runner.ran) == 6  # the three skipped combinations never ran
    assert [t.number for t in result.trials] == list(range(9))
    assert result.best is not None
    assert (result.best.number, result.best.params["fast"], result.best.params["slow"],
            result.best.score) == (4, 6, 10, 0.0)
    # (2, 10) scores -16, (6, 15) -25, then (2, 5), (2, 15), (10, 15) -41 each, in order
    assert [t.number for t in ranking(result.trials)][:6] == [4, 1, 5, 0, 2, 8]


def test_a_guided_search_with_the_same_seed_proposes_the_same_trials():
    grid = build_grid(DECLARED, {"fast": "2:10:1", "slow": "5:15:1"}, ["fast<slow"])
    first = guided_search(HandMade(), grid, "net_profit", Constraints(), method="tpe",
                          trials=20, seed=5)
    second = guided_search(HandMade(), grid, "net_profit", Constraints(), method="tpe",
                           trials=20, seed=5)
    other = guided_search(HandMade(), grid, "net_profit", Constraints(), method="tpe",
                          trials=20, seed=6)

    def proposals(result):
        return [(t.params["fast"], t.params["slow"], t.status) for t in result.trials]

    assert len(first.trials) == 20
    assert proposals(first) == proposals(second)
    assert proposals(first) != proposals(other)
    assert all(t.reason == "fast<slow does not hold" for t in first.trials
               if t.status == "skipped")


def test_the_genetic_search_is_reproducible_and_a_repeated_combination_is_not_run_again():
    grid = build_grid(DECLARED, {"fast": None, "slow": None})
    runner = HandMade()
    result = guided_search(runner, grid, "net_profit", Constraints(), method="nsga2",
                           trials=30, seed=1)
    again = guided_search(HandMade(), grid, "net_profit", Constraints(), method="nsga2",
                          trials=30, seed=1)

    assert [t.params for t in result.trials] == [t.params for t in again.trials]
    assert len(runner.ran) == len({(p["fast"], p["slow"]) for p in runner.ran}) <= 9
    assert result.best is not None and result.best.score == 0.0


def test_the_command_line_offers_every_objective():
    from workstation.optimize.cli import OBJECTIVE_NAMES
    from workstation.optimize.objective import OBJECTIVES

    assert tuple(OBJECTIVES) == OBJECTIVE_NAMES
