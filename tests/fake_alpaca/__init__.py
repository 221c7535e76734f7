"""A fake Alpaca on 127.0.0.1 for tests and benches (see shared ALPACA.md for the wire)."""

from tests.fake_alpaca.server import FakeAlpaca, quote_msg, trade_msg

__all__ = ["FakeAlpaca", "quote_msg", "trade_msg"]
