"""Searches over a ``Grid``: every combination, or a guided search with Optuna (TPE by
default, NSGA-II as the genetic option) for spaces too big for a grid.

Trials run on a runner (``workstation.optimize.pool``). A guided search asks Optuna
for a fixed batch of trials, runs the batch in parallel and reports the results back in
the order they were asked: the same seed gives the same trials whatever the number of
workers or the order in which they finish. A combination the grid refuses is skipped
with its reason (and reported to Optuna as failed); one already run is not run again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workstation.config import ConfigError
from workstation.optimize.grid import Grid, ParamRange
from workstation.optimize.objective import Constraints, score
from workstation.optimize.pool import Runner, TrialOutcome, TrialTask

METHODS = ("grid", "tpe", "nsga2")
BATCH = 8  # trials Optuna proposes before it hears back (fixed: results never depend on cores)


@dataclass(frozen=True, slots=True)
class Trial:
    """One combination. ``status``: "ok" (scored), "excluded" (ran but broke a constraint
    or has no objective value), "skipped" (never ran: an invalid combination), "error"."""

    number: int
    params: dict[str, Any]
    status: str
    score: float | None = None
    metrics: dict[str, Any] | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "params": self.params, "status": self.status,
                "score": self.score, "reason": self.reason, "metrics": self.metrics}


@dataclass(slots=True)
class SearchResult:
    method: str
    objective: str
    varied: list[str] = field(default_factory=list)  # the parameters the search moved
    trials: list[Trial] = field(default_factory=list)

    @property
    def best(self) -> Trial | None:
        """The highest score (the earliest trial among equals)."""
        scored = [t for t in self.trials if t.score is not None]
        return max(scored, key=lambda t: (t.score, -t.number)) if scored else None

    @property
    def skipped(self) -> list[Trial]:
        return [t for t in self.trials if t.status == "skipped"]

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {"method": self.method, "objective": self.objective, "varied": self.varied,
                "best": best.as_dict() if best else None,
                "trials": [t.as_dict() for t in self.trials]}


# (done, total, best so far, the trial just finished)
Progress = Callable[[int, int, Trial | None, Trial], None]


def _judge(outcome: TrialOutcome, objective: str, constraints: Constraints,
           params: dict[str, Any]) -> Trial:
    if outcome.error is not None or outcome.metrics is None:
        return Trial(outcome.number, params, "error", None, outcome.metrics, outcome.error)
    value, reason = score(outcome.metrics, objective, constraints)
    status = "ok" if value is not None else "excluded"
    return Trial(outcome.number, params, status, value, outcome.metrics, reason)


class _Tracker:
    """Counts finished trials and keeps the best for the progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress
        self.best: Trial | None = None

    def add(self, trial: Trial) -> None:
        self.done += 1
        if trial.score is not None and (self.best is None or trial.score > self.best.score
                                        or (trial.score == self.best.score
                                            and trial.number < self.best.number)):
            self.best = trial
        if self.progress is not None:
            self.progress(self.done, self.total, self.best, trial)


def grid_search(runner: Runner, grid: Grid, objective: str, constraints: Constraints, *,
                window: tuple[int, int] | None = None,
                progress: Progress | None = None) -> SearchResult:
    """Every combination, numbered in grid order (the last parameter fastest)."""
    result = SearchResult("grid", objective, [r.name for r in grid.ranges])
    tracker = _Tracker(grid.size, progress)
    tasks: list[TrialTask] = []
    full: dict[int, dict[str, Any]] = {}
    for number, (params, reason) in enumerate(grid.combos()):
        if reason is not None:
            trial = Trial(number, params, "skipped", reason=reason)
            result.trials.append(trial)
            tracker.add(trial)
        else:
            full[number] = params
            tasks.append(TrialTask(number, params, window))
    for outcome in runner.map(tasks):
        trial = _judge(outcome, objective, constraints, full[outcome.number])
        result.trials.append(trial)
        tracker.add(trial)
    result.trials.sort(key=lambda t: t.number)
    return result


def _distribution(item: ParamRange) -> Any:
    import optuna

    values = item.values
    if item.numeric and len(values) > 1:
        steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
        if len(steps) == 1 and next(iter(steps)) > 0:
            step = next(iter(steps))
            if all(isinstance(v, int) for v in values):
                return optuna.distributions.IntDistribution(values[0], values[-1],
                                                            step=int(step))
            return optuna.distributions.FloatDistribution(values[0], values[-1], step=step)
    return optuna.distributions.CategoricalDistribution(values)


def _sampler(method: str, seed: int) -> Any:
    import optuna

    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=BATCH * 2)
    raise ConfigError(f"search {method!r}: use one of {', '.join(METHODS)}")


def guided_search(runner: Runner, grid: Grid, objective: str, constraints: Constraints, *,
                  method: str = "tpe", trials: int = 100, seed: int = 0,
                  window: tuple[int, int] | None = None,
                  progress: Progress | None = None) -> SearchResult:
    """``trials`` proposals from Optuna's sampler, seeded."""
    import optuna

    if trials < 1:
        raise ConfigError(f"--trials {trials}: must be at least 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = _sampler(method, seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    space = {item.name: _distribution(item) for item in grid.ranges}
    result = SearchResult(method, objective, [r.name for r in grid.ranges])
    tracker = _Tracker(trials, progress)
    seen: dict[tuple, Trial] = {}
    while tracker.done < trials:
        asked = [study.ask(space) for _ in range(min(BATCH, trials - tracker.done))]
        tasks, planned, batch_keys = [], {}, set()
        for proposal in asked:
            params, reason = grid.check(_plain(proposal.params))
            key = tuple(sorted(proposal.params.items()))
            planned[proposal.number] = (params, reason, key)
            if reason is None and key not in seen and key not in batch_keys:
                batch_keys.add(key)
                tasks.append(TrialTask(proposal.number, params, window))
        outcomes = {o.number: o for o in runner.map(tasks)}
        for proposal in asked:
            params, reason, key = planned[proposal.number]
            if reason is not None:
                trial = Trial(proposal.number, params, "skipped", reason=reason)
            elif proposal.number in outcomes:
                trial = _judge(outcomes[proposal.number], objective, constraints, params)
                seen[key] = trial
            else:  # the same combination ran before: the same result
                first = seen[key]
                trial = Trial(proposal.number, params, first.status, first.score,
                              first.metrics, first.reason)
            if trial.score is None:
                study.tell(proposal, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(proposal, trial.score)
            result.trials.append(trial)
            tracker.add(trial)
    return result


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's numpy-free values as the Params expect them (a float step may round)."""
    return {k: round(v, 10) if isinstance(v, float) else v for k, v in params.items()}


def run_search(runner: Runner, grid: Grid, objective: str, constraints: Constraints, *,
               method: str = "grid", trials: int = 100, seed: int = 0,
               window: tuple[int, int] | None = None,
               progress: Progress | None = None) -> SearchResult:
    if method == "grid":
        return grid_search(runner, grid, objective, constraints, window=window,
                           progress=progress)
    return guided_search(runner, grid, objective, constraints, method=method, trials=trials,
                         seed=seed, window=window, progress=progress)


def ranking(trials: Iterable[Trial]) -> list[Trial]:
    """Scored trials best first, then the rest in trial order."""
    trials = list(trials)
    scored = sorted((t for t in trials if t.score is not None),
                    key=lambda t: (-t.score, t.number))
    return scored + [t for t in trials if t.score is None]
