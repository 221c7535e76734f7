"""Backtests on the engine that trades live: the same strategy host, signal engine,
risk gate, paper broker, portfolio and trade tracker, on a SimClock driven by
historical bars or ticks (DESIGN.md: backtest and replay wire the same objects)."""
