"""Test connection: the account and the market clock, read with the keys given, for the
Connections dialog (the keys are used for these two calls and kept nowhere)."""

from __future__ import annotations

from dataclasses import dataclass

from alpaca.trading.client import TradingClient

from workstation.alpaca.credentials import Credentials
from workstation.alpaca.rest import RestError, RestRunner, RestTimeout, bounded
from workstation.alpaca.settings import AlpacaSettings


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    ok: bool
    text: str  # one line for the dialog: the account and the clock, or what went wrong
    account_number: str = ""
    status: str = ""
    buying_power: float = 0.0
    market_open: bool = False


async def test_connection(credentials: Credentials, settings: AlpacaSettings
                          ) -> ConnectionReport:
    client = bounded(TradingClient(credentials.key_id, credentials.secret,
                                   paper=settings.paper, raw_data=True,
                                   url_override=settings.trading_url()),
                     settings.rest_timeout_s)
    runner = RestRunner("alpaca test", settings.rest_timeout_s, settings.requests_per_minute)
    try:
        account = await runner.call(client.get_account, "read the account")
        clock = await runner.call(client.get_clock, "read the market clock")
    except (RestError, RestTimeout) as exc:
        return ConnectionReport(False, f"failed: {exc}")
    finally:
        runner.close()
    number, status = str(account.get("account_number", "")), str(account.get("status", ""))
    power = float(account.get("buying_power") or 0)
    is_open = bool(clock.get("is_open"))
    kind = "paper" if settings.paper else "LIVE"
    market = "open" if is_open else f"closed, opens {clock.get('next_open', '?')}"
    return ConnectionReport(True, f"{kind} account {number} · {status} · buying power "
                                  f"{power:,.2f} · market {market}", number, status, power,
                            is_open)
