"""The strategy an optimisation varies: found among the plugins, its ``Param``s, and the
``TrialJob`` every trial of it shares."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from workstation.backtest.data import DataProblem
from workstation.backtest.run import BacktestSettings
from workstation.config import Settings
from workstation.optimize.pool import TrialJob
from workstation.strategies.instances import InstanceSettings
from workstation.strategies.loader import StrategyClass
from workstation.strategy import Param


def strategy_class(name: str, plugin_dirs: list[Path] | tuple[Path, ...]) -> StrategyClass:
    """The plugin offering ``name``: its class, version and file hash (DataProblem when no
    plugin offers it)."""
    from workstation.strategies.guard import Watchdog
    from workstation.strategies.loader import Catalog, plugin_files

    catalog = Catalog()
    catalog.load(plugin_files(list(plugin_dirs)), Watchdog(1.0))
    offered = catalog.strategies.get(name)
    if offered is None:
        raise DataProblem(f"unknown strategy {name!r}; loaded: "
                          f"{', '.join(catalog.names()) or 'none'}")
    return offered


def strategy_params(instance: InstanceSettings,
                    plugin_dirs: list[Path]) -> tuple[dict[str, Param], tuple[str, ...]]:
    """The strategy's declared parameters and its default symbols."""
    offered = strategy_class(instance.strategy, plugin_dirs)
    return offered.cls.declared_params(), tuple(offered.cls.symbols)


def prepare_job(settings: Settings, home: Path | None, instance: InstanceSettings,
                timeframe: str, first: date, last: date, source: str = "sim",
                options: BacktestSettings | None = None,
                plugin_dirs: list[Path] | None = None) -> tuple[TrialJob, dict[str, Param]]:
    from workstation.strategies.loader import plugin_folders

    dirs = plugin_dirs if plugin_dirs is not None else plugin_folders(home)
    declared, symbols = strategy_params(instance, dirs)
    instance = instance.model_copy(update={"symbols": instance.symbols or symbols,
                                           "timeframes": (timeframe,)})
    job = TrialJob(settings, home, tuple(dirs), instance, timeframe, first, last, source,
                   options or BacktestSettings())
    return job, declared
