"""Historical bars from Alpaca's REST data API (stocks and crypto), as engine Bars.

Used to backfill a feed's gap after a reconnect and by ``bracket history``. Calls run on
a RestRunner's thread; the SDK follows ``next_page_token`` itself.
"""

from __future__ import annotations

from datetime import datetime

from alpaca.data.enums import DataFeed as AlpacaDataFeed
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from workstation.alpaca.credentials import Credentials
from workstation.alpaca.rest import RestRunner, bounded
from workstation.alpaca.settings import AlpacaSettings
from workstation.bars import Timeframe
from workstation.model import NS_PER_SECOND, Bar, datetime_to_ns, ns_to_datetime

MINUTE_NS = 60 * NS_PER_SECOND


def alpaca_timeframe(timeframe: Timeframe) -> TimeFrame:
    """1m -> 1Min, 2h -> 2Hour, 1d -> 1Day; anything Alpaca has no bars for is refused."""
    seconds = timeframe.size if timeframe.kind == "time" else 0
    if timeframe.kind == "session" or seconds == 86_400:
        return TimeFrame(1, TimeFrameUnit.Day)
    if seconds and seconds % 3_600 == 0 and seconds // 3_600 <= 23:
        return TimeFrame(seconds // 3_600, TimeFrameUnit.Hour)
    if seconds and seconds % 60 == 0 and seconds // 60 <= 59:
        return TimeFrame(seconds // 60, TimeFrameUnit.Minute)
    raise ValueError(f"Alpaca has no {timeframe.label} bars; use minutes (1m-59m), hours "
                     "(1h-23h) or 1d")


def is_crypto(symbol: str) -> bool:
    return "/" in symbol


class AlpacaHistory:
    def __init__(self, credentials: Credentials, settings: AlpacaSettings,
                 runner: RestRunner) -> None:
        url = settings.data_url()
        self._feed = AlpacaDataFeed.SIP if settings.feed == "sip" else AlpacaDataFeed.IEX
        timeout = settings.rest_timeout_s
        self._stocks = bounded(StockHistoricalDataClient(
            credentials.key_id, credentials.secret, raw_data=True, url_override=url), timeout)
        self._crypto = bounded(CryptoHistoricalDataClient(
            credentials.key_id, credentials.secret, raw_data=True, url_override=url), timeout)
        self._runner = runner

    def close(self) -> None:
        self._runner.close()

    async def bars(self, symbols: list[str], timeframe: Timeframe, start_ns: int,
                   end_ns: int) -> dict[str, list[Bar]]:
        """Bars opening in [start, end), oldest first, per symbol."""
        frame = alpaca_timeframe(timeframe)
        start, end = ns_to_datetime(start_ns), ns_to_datetime(end_ns)
        found: dict[str, list[Bar]] = {}
        stocks = [s for s in symbols if not is_crypto(s)]
        crypto = [s for s in symbols if is_crypto(s)]
        if stocks:
            request = StockBarsRequest(symbol_or_symbols=stocks, timeframe=frame, start=start,
                                       end=end, feed=self._feed)
            raw = await self._runner.call(lambda: self._stocks.get_stock_bars(request),
                                          f"history of {', '.join(stocks)}")
            found.update(_bars(raw, timeframe))
        if crypto:
            request = CryptoBarsRequest(symbol_or_symbols=crypto, timeframe=frame, start=start,
                                        end=end)
            raw = await self._runner.call(lambda: self._crypto.get_crypto_bars(request),
                                          f"history of {', '.join(crypto)}")
            found.update(_bars(raw, timeframe))
        return {symbol: [b for b in rows if start_ns <= b.ts < end_ns]
                for symbol, rows in found.items()}


def _bars(raw: object, timeframe: Timeframe) -> dict[str, list[Bar]]:
    if not isinstance(raw, dict):
        return {}
    length = timeframe.nominal_ns
    out: dict[str, list[Bar]] = {}
    for symbol, rows in raw.items():
        bars = []
        for row in rows or ():
            ts = datetime_to_ns(datetime.fromisoformat(str(row["t"]).replace("Z", "+00:00")))
            bars.append(Bar(symbol, timeframe.label, ts, ts + length, float(row["o"]),
                            float(row["h"]), float(row["l"]), float(row["c"]),
                            float(row["v"]), int(row.get("n") or 0)))
        out[symbol] = sorted(bars, key=lambda bar: bar.ts)
    return out
