"""Backtest reports: the HTML file is self-contained and shows the run's own data, the trades
CSV has one exact row per trade, and the JSON round-trips with exact values."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pandas as pd
import pytest

from workstation.backtest.metrics import METRICS, compute_metrics, format_metric
from workstation.backtest.report import (
    CSV_COLUMNS,
    run_as_dict,
    write_html,
    write_json,
    write_trades_csv,
)
from workstation.backtest.run import BacktestRun, BacktestSettings
from workstation.trades import TradeRecord


def ns(utc: str) -> int:
    return pd.Timestamp(utc, tz="UTC").as_unit("ns").value


WINNER = TradeRecord(
    trade_id="T-1", symbol="NQ", side="long", qty=2.0, entry=20000.25, exit=20010.5,
    stop=19990.25, target=20020.25, entry_ts=ns("2026-01-05 15:30"),
    exit_ts=ns("2026-01-05 16:45"), mfe_points=12.0, mae_points=-3.0, mfe_r=1.2, mae_r=-0.3,
    r_multiple=1.025, realized_pnl=410.0, commission=8.4, exit_reason="manual",
    break_even_ts=ns("2026-01-05 16:00"), source="strategy", signal_id="sig-1")
LOSER = TradeRecord(
    trade_id="T-2", symbol="ES", side="short", qty=1.0, entry=5000.0, exit=5005.0, stop=5005.0,
    target=None, entry_ts=ns("2026-01-05 17:00"), exit_ts=ns("2026-01-05 19:10"),
    mfe_points=2.5, mae_points=-5.0, mfe_r=0.5, mae_r=-1.0, r_multiple=-1.0,
    realized_pnl=-250.0, commission=4.2, exit_reason="stop", break_even_ts=None,
    source="manual")

# three equity points three hours apart, all in the trading day of Jan 5
CURVE_TS = np.array([ns("2026-01-05 15:00"), ns("2026-01-05 18:00"), ns("2026-01-05 21:00")],
                    dtype=np.int64)
CURVE_EQUITY = np.array([100_000.0, 102_000.0, 99_000.0])


def make_run(**changes) -> BacktestRun:
    equity = pd.Series(CURVE_EQUITY, index=pd.to_datetime(CURVE_TS, unit="ns", utc=True))
    fields = dict(
        strategy="SMA crossover", strategy_version="1.2.0", file_hash="0123456789abcdef" * 4,
        params={"fast": 10, "slow": 30, "mode": "close"}, symbols=("NQ", "ES"),
        timeframe="1m", start_ns=ns("2026-01-05 14:59"), end_ns=ns("2026-01-05 21:00"),
        source="sim", settings=BacktestSettings(commission=4.2),
        metrics=compute_metrics(equity, [WINNER, LOSER], starting_cash=100_000.0,
                                exposure=0.5),
        trades=(WINNER, LOSER), curve_ts=CURVE_TS, curve_equity=CURVE_EQUITY,
        daily=(("2026-01-05", 99_000.0),), bars=361, wall_s=0.25, created_ts=ns("2026-12-03"),
        run_id=7)
    fields.update(changes)
    return BacktestRun(**fields)


# -- HTML ---------------------------------------------------------------------------------------
def test_html_report_draws_the_equity_path_from_the_curve(tmp_path):
    path = tmp_path / "report.html"
    write_html(make_run(), path)
    page = path.read_text(encoding="utf-8")
    # plot area x 80..944 (960 wide, margins 80 and 16), y 12..252 (280 high, margins 12, 28);
    # equity spans 99,000..102,000: 100,000 sits 2/3 of 240 below the top (172), 102,000 at
    # the top, 99,000 at the bottom; the times are evenly spaced: x 80, 512, 944
    line = re.search(r'<polyline id="equity-line" class="equity" points="([^"]*)"', page)
    assert line is not None
    assert line.group(1) == "80.0,172.0 512.0,12.0 944.0,252.0"
    # drawdown: 0, 0, then 99,000 / 102,000 - 1 at the bottom of its 12..102 plot
    area = re.search(r'<polygon id="drawdown-area" class="drawdown" points="([^"]*)"', page)
    assert area is not None
    assert area.group(1) == "80.0,12.0 80.0,12.0 512.0,12.0 944.0,102.0 944.0,12.0"


def test_html_report_lists_every_trade_and_what_was_tested(tmp_path):
    path = tmp_path / "report.html"
    run = make_run()
    write_html(run, path)
    page = path.read_text(encoding="utf-8")
    for trade_id in ("T-1", "T-2"):
        assert f"<td>{trade_id}</td>" in page
    assert "SMA crossover 1.2.0" in page
    assert "0123456789ab…" in page  # the hash's first 12 characters
    assert "<th>fast</th><td>10</td>" in page and "<th>slow</th><td>30</td>" in page
    assert "sim: 2026-01-05 14:59:00 to 2026-01-05 21:00:00 UTC" in page
    assert "<th>Starting cash</th><td>100000.0</td>" in page
    assert '<span class="pos">401.60</span>' in page  # T-1's net: 410 - 8.4
    assert '<span class="neg">-254.20</span>' in page  # T-2's net: -250 - 4.2
    for key, (label, _) in METRICS.items():
        assert f'{label}</span><span class="value' in page
        assert format_metric(key, run.metrics[key]) in page
    assert run.metrics["net_profit"] == -1_000.0
    assert '<span class="value neg">-1,000.00</span>' in page


def test_html_report_colours_the_monthly_returns(tmp_path):
    path = tmp_path / "report.html"
    write_html(make_run(), path)
    page = path.read_text(encoding="utf-8")
    # January 2026: 99,000 / 100,000 - 1 = -1 %, red at 0.15 + 0.5 * (0.01 / 0.1) = 0.20
    assert page.count('<td style="background: rgba(214, 69, 65, 0.20)">-1.00%</td>') == 2
    assert "<th>2026</th>" in page


def test_html_report_opens_offline(tmp_path):
    path = tmp_path / "report.html"
    write_html(make_run(), path)
    page = path.read_text(encoding="utf-8").lower()
    for outside in ("http://", "https://", "src=", "href=", "<script", "@import", "url(",
                    "<link"):
        assert outside not in page, outside
    assert page.count("<svg") == 4  # equity, drawdown, R histogram, MFE/MAE
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_html_report_escapes_text_from_plugins(tmp_path):
    path = tmp_path / "report.html"
    run = make_run(strategy="<script>x</script>", params={"note": 'a "b" & <c> \ud800'},
                   problems=("plugin raised <ValueError>",))
    write_html(run, path)
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a &quot;b&quot; &amp; &lt;c&gt; \ufffd" in page  # the lone surrogate replaced
    assert "<li>plugin raised &lt;ValueError&gt;</li>" in page


def test_html_report_of_a_run_without_trades_or_days_says_so(tmp_path):
    path = tmp_path / "report.html"
    empty = np.zeros(0, dtype=np.int64)
    run = make_run(trades=(), curve_ts=empty, curve_equity=np.zeros(0), daily=(),
                   metrics={key: None for key in METRICS})
    write_html(run, path)
    page = path.read_text(encoding="utf-8")
    for message in ("No trades.", "No equity curve.", "No trading days.",
                    "No trade has an R (no initial stop)."):
        assert message in page
    assert "<svg" not in page


def test_writing_a_report_leaves_no_partial_file(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("an older report", encoding="utf-8")
    write_html(make_run(), path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# -- CSV ----------------------------------------------------------------------------------------
def test_trades_csv_has_a_header_and_one_exact_row_per_trade(tmp_path):
    path = tmp_path / "trades.csv"
    write_trades_csv(make_run(), path)
    with open(path, encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    assert len(rows) == 2
    winner, loser = rows
    assert winner["trade_id"] == "T-1"
    assert winner["entry_time"] == "2026-01-05T15:30:00+00:00"
    assert winner["exit_time"] == "2026-01-05T16:45:00+00:00"
    assert winner["break_even_time"] == "2026-01-05T16:00:00+00:00"
    assert float(winner["entry"]) == 20000.25 and float(winner["exit"]) == 20010.5
    assert float(winner["gross_pnl"]) == 410.0
    assert float(winner["commission"]) == 8.4
    assert float(winner["net_pnl"]) == 410.0 - 8.4
    assert float(winner["r_multiple"]) == 1.025
    assert float(winner["duration_s"]) == 75 * 60
    assert winner["signal_id"] == "sig-1"
    assert loser["side"] == "short" and loser["exit_reason"] == "stop"
    assert float(loser["net_pnl"]) == -254.2
    assert (loser["target"], loser["break_even_time"], loser["signal_id"]) == ("", "", "")


def test_trades_csv_of_no_trades_is_just_the_header(tmp_path):
    path = tmp_path / "trades.csv"
    write_trades_csv(make_run(trades=()), path)
    assert path.read_text(encoding="utf-8") == ",".join(CSV_COLUMNS) + "\n"


# -- JSON ---------------------------------------------------------------------------------------
def test_json_report_round_trips_with_exact_values(tmp_path):
    path = tmp_path / "run.json"
    run = make_run()
    write_json(run, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == run_as_dict(run)
    assert (data["format"], data["version"], data["run_id"]) == ("bracket-backtest", 1, 7)
    assert data["strategy"] == "SMA crossover" and data["symbols"] == ["NQ", "ES"]
    assert data["start"] == "2026-01-05T14:59:00+00:00"
    assert data["end_ns"] == ns("2026-01-05 21:00")
    assert data["created"] == "2026-12-03T00:00:00+00:00"
    assert data["params"] == {"fast": 10, "slow": 30, "mode": "close"}
    assert data["settings"] == BacktestSettings(commission=4.2).as_dict()
    assert data["metrics"] == run.metrics
    assert data["curve"] == {"time": ["2026-01-05T15:00:00+00:00", "2026-01-05T18:00:00+00:00",
                                      "2026-01-05T21:00:00+00:00"],
                             "equity": [100_000.0, 102_000.0, 99_000.0]}
    assert data["daily"] == {"day": ["2026-01-05"], "equity": [99_000.0]}
    first = data["trades"][0]
    assert first == {**WINNER.as_dict(), "entry_time": "2026-01-05T15:30:00+00:00",
                     "exit_time": "2026-01-05T16:45:00+00:00",
                     "break_even_time": "2026-01-05T16:00:00+00:00",
                     "net_pnl": 410.0 - 8.4, "duration_s": 4500.0}
    assert TradeRecord(**{k: data["trades"][1][k] for k in LOSER.__slots__}) == LOSER


def test_json_report_stays_valid_json_with_numpy_and_nan_values(tmp_path):
    path = tmp_path / "run.json"
    run = make_run(params={"fast": np.int64(10), "ratio": float("nan"), "band": (1.5, 2)},
                   extra={"seed_used": np.int32(7), "limit": np.float64("inf")})
    write_json(run, path)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["params"] == {"fast": 10, "ratio": None, "band": [1.5, 2]}
    assert data["extra"] == {"seed_used": 7, "limit": None}


def test_json_keeps_nanoseconds_in_iso_times():
    run = make_run(start_ns=ns("2026-01-05 14:59") + 1)
    assert run_as_dict(run)["start"] == "2026-01-05T14:59:00.000000001+00:00"


@pytest.mark.parametrize("writer", [write_json, write_trades_csv, write_html])
def test_a_report_into_a_missing_folder_fails_without_leaving_files(tmp_path, writer):
    with pytest.raises(OSError):
        writer(make_run(), tmp_path / "missing" / "out")
    assert list(tmp_path.iterdir()) == []
